//! One JSONL trace row, read without giving up on the first type error.
//!
//! serde's derived deserializers stop at the first bad value and report a column, not a
//! field. Users need the field: a row is therefore read into [`RawRow`], which keeps every
//! known field as a raw [`Value`] (unknown fields are skipped), and the typed accessors below
//! convert them with messages that name the field and show the offending value.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::error::LineError;
use crate::time::SimTime;

/// The known fields of a Mooncake-family row, each still a raw JSON value.
#[derive(Debug, Default)]
pub(crate) struct RawRow {
    pub(crate) timestamp: Option<Value>,
    pub(crate) session_id: Option<Value>,
    pub(crate) input_length: Option<Value>,
    pub(crate) output_length: Option<Value>,
    pub(crate) hash_ids: Option<Value>,
    pub(crate) delay: Option<Value>,
    pub(crate) request_id: Option<Value>,
    pub(crate) wait_for: Option<Value>,
    pub(crate) branches: Option<Value>,
    pub(crate) prefix_reset: Option<Value>,
    pub(crate) tool_wait_ms: Option<Value>,
    /// A field given twice (directly or through an alias).
    pub(crate) duplicate: Option<&'static str>,
}

impl RawRow {
    /// Parses one line; syntax errors become a line error with the column.
    pub(crate) fn parse(line_no: u64, text: &str) -> Result<RawRow, LineError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let row = de
            .deserialize_map(RowVisitor)
            .and_then(|row| de.end().map(|()| row))
            .map_err(|e| LineError::line(line_no, json_message(&e)))?;
        if let Some(field) = row.duplicate {
            return Err(LineError::field(
                line_no,
                field,
                "given more than once (check aliases)",
            ));
        }
        Ok(row)
    }
}

/// serde_json's message without its "at line 1 column N" suffix, with the column instead.
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    match e.classify() {
        serde_json::error::Category::Eof => {
            format!(
                "malformed JSON: line is truncated ({message}, column {})",
                e.column()
            )
        }
        _ => format!("malformed JSON: {message} (column {})", e.column()),
    }
}

struct RowVisitor;

impl<'de> Visitor<'de> for RowVisitor {
    type Value = RawRow;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRow, A::Error> {
        let mut row = RawRow::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let (slot, name) = match key.as_ref() {
                "timestamp" | "created_time" => (&mut row.timestamp, "timestamp"),
                "session_id" => (&mut row.session_id, "session_id"),
                "input_length" | "input_tokens" => (&mut row.input_length, "input_length"),
                "output_length" | "output_tokens" => (&mut row.output_length, "output_length"),
                "hash_ids" => (&mut row.hash_ids, "hash_ids"),
                "delay" | "delay_ms" => (&mut row.delay, "delay"),
                "request_id" => (&mut row.request_id, "request_id"),
                "wait_for" => (&mut row.wait_for, "wait_for"),
                "branches" => (&mut row.branches, "branches"),
                "prefix_reset" => (&mut row.prefix_reset, "prefix_reset"),
                "tool_wait_ms" => (&mut row.tool_wait_ms, "tool_wait_ms"),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let value = map.next_value::<Value>()?;
            if slot.is_some() {
                row.duplicate.get_or_insert(name);
            }
            *slot = Some(value);
        }
        Ok(row)
    }
}

/// A short description of a JSON value for error messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.chars().count() > 40 => {
            format!("string \"{}…\"", s.chars().take(40).collect::<String>())
        }
        Value::String(s) => format!("string \"{s}\""),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// An integer ≥ `min`, also accepting integral floats such as `100.0`.
fn integer(value: &Value) -> Option<i128> {
    let n = value.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 1e30).then_some(f as i128)
}

/// A token count ≥ 1 that fits in `u32`.
pub(crate) fn positive_u32(
    line: u64,
    field: &'static str,
    value: &Value,
) -> Result<u32, LineError> {
    match integer(value) {
        Some(i) if i >= 1 => u32::try_from(i)
            .map_err(|_| LineError::field(line, field, format!("{i} is larger than 4294967295"))),
        _ => Err(LineError::field(
            line,
            field,
            format!("must be a positive integer, got {}", describe(value)),
        )),
    }
}

/// A non-negative, finite number of milliseconds.
pub(crate) fn millis(line: u64, field: &'static str, value: &Value) -> Result<SimTime, LineError> {
    value
        .as_f64()
        .and_then(SimTime::from_millis_f64)
        .ok_or_else(|| {
            LineError::field(
                line,
                field,
                format!(
                    "must be a finite number of milliseconds in [0, {:.3e}), got {}",
                    SimTime::LIMIT.as_millis_f64(),
                    describe(value)
                ),
            )
        })
}

/// A non-negative, finite number of seconds.
pub(crate) fn seconds(line: u64, field: &'static str, value: &Value) -> Result<SimTime, LineError> {
    value
        .as_f64()
        .and_then(SimTime::from_secs_f64)
        .ok_or_else(|| {
            LineError::field(
                line,
                field,
                format!(
                    "must be a finite number of seconds in [0, {:.3e}), got {}",
                    SimTime::LIMIT.as_secs_f64(),
                    describe(value)
                ),
            )
        })
}

/// A non-empty list of non-negative integer hash ids.
pub(crate) fn hash_ids(line: u64, value: &Value, out: &mut Vec<u64>) -> Result<(), LineError> {
    const FIELD: &str = "hash_ids";
    let Value::Array(items) = value else {
        return Err(LineError::field(
            line,
            FIELD,
            format!("must be an array of integers, got {}", describe(value)),
        ));
    };
    if items.is_empty() {
        return Err(LineError::field(
            line,
            FIELD,
            "must hold at least one hash id",
        ));
    }
    out.clear();
    for (i, item) in items.iter().enumerate() {
        let id = item.as_u64().ok_or_else(|| {
            LineError::field(
                line,
                FIELD,
                format!(
                    "element {i} must be a non-negative integer, got {}",
                    describe(item)
                ),
            )
        })?;
        out.push(id);
    }
    Ok(())
}

/// A string or integer identifier (session ids, request ids), as a string key.
pub(crate) fn identifier(
    line: u64,
    field: &'static str,
    value: &Value,
) -> Result<String, LineError> {
    match value {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(LineError::field(
            line,
            field,
            format!(
                "must be a non-empty string or a number, got {}",
                describe(value)
            ),
        )),
    }
}

/// A list of identifiers (`wait_for`, `branches`).
pub(crate) fn identifiers(
    line: u64,
    field: &'static str,
    value: &Value,
) -> Result<Vec<String>, LineError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| identifier(line, field, item))
            .collect(),
        _ => Err(LineError::field(
            line,
            field,
            format!("must be an array of request ids, got {}", describe(value)),
        )),
    }
}

/// The required field `name`, or an error saying it is missing.
pub(crate) fn required<'a>(
    line: u64,
    field: &'static str,
    value: &'a Option<Value>,
) -> Result<&'a Value, LineError> {
    value
        .as_ref()
        .ok_or_else(|| LineError::field(line, field, "is required but missing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_fill_the_same_field() {
        let row = RawRow::parse(1, r#"{"created_time": 5, "input_tokens": 3, "x": [1]}"#).unwrap();
        assert_eq!(row.timestamp, Some(Value::from(5)));
        assert_eq!(row.input_length, Some(Value::from(3)));
    }

    #[test]
    fn duplicate_alias_is_an_error() {
        let err = RawRow::parse(4, r#"{"timestamp": 5, "created_time": 6}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "4: field `timestamp`: given more than once (check aliases)"
        );
    }

    #[test]
    fn truncated_line_names_the_problem() {
        let err = RawRow::parse(2, r#"{"timestamp": 5, "hash_ids": [1, 2"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("2: malformed JSON: line is truncated"),
            "{err}"
        );
        let err = RawRow::parse(2, r#"[1, 2]"#).unwrap_err();
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
        let err = RawRow::parse(2, r#"{"a": 1} x"#).unwrap_err();
        assert!(err.to_string().contains("trailing characters"), "{err}");
    }

    #[test]
    fn typed_accessors_name_field_and_value() {
        let err = positive_u32(3, "input_length", &Value::from(-5)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "3: field `input_length`: must be a positive integer, got -5"
        );
        assert_eq!(
            positive_u32(3, "input_length", &serde_json::json!(100.0)).unwrap(),
            100
        );
        assert!(positive_u32(3, "input_length", &serde_json::json!(1.5)).is_err());
        let err = millis(3, "timestamp", &Value::from("abc")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "3: field `timestamp`: must be a finite number of milliseconds in [0, 4.612e15), got string \"abc\""
        );
        let mut ids = Vec::new();
        let err = hash_ids(3, &serde_json::json!([1, -2]), &mut ids).unwrap_err();
        assert_eq!(
            err.to_string(),
            "3: field `hash_ids`: element 1 must be a non-negative integer, got -2"
        );
    }
}
