//! The Azure LLM inference trace CSV (Azure/AzurePublicDataset, 2023 and 2024 releases).
//!
//! Header `TIMESTAMP,ContextTokens,GeneratedTokens` (columns found by name, any order, extra
//! columns ignored). Timestamps are wall-clock date-times: `2023-11-16 18:17:03.9799600`
//! (2023, no zone, taken as UTC) or `2024-05-12 00:00:00.001163+00:00` (2024; the fraction is
//! omitted on whole seconds). The trace carries no prefix information, so every prompt is
//! unique content: no two requests share a KV block.

use std::io::BufRead;

use super::lines::LineReader;
use crate::error::{LineError, TraceError};
use crate::time::SimTime;
use crate::workload::{Content, NodeSpec, Workload, WorkloadBuilder};

struct Columns {
    timestamp: usize,
    context: usize,
    generated: usize,
}

pub(super) fn read<R: BufRead>(
    lines: &mut LineReader<R>,
    trace_block_size: u32,
) -> Result<Workload, TraceError> {
    let mut builder = WorkloadBuilder::new(trace_block_size);
    let mut columns: Option<Columns> = None;
    let mut header_error = None;
    lines.for_each(|line, text| {
        if header_error.is_some() {
            return Ok(());
        }
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        let Some(cols) = &columns else {
            match header(line, &fields) {
                Ok(cols) => columns = Some(cols),
                Err(e) => header_error = Some(e),
            }
            return Ok(());
        };
        let field = |index: usize, name: &'static str| {
            fields
                .get(index)
                .copied()
                .ok_or_else(|| LineError::field(line, name, "is missing (row has too few columns)"))
        };
        let timestamp = parse_datetime(field(cols.timestamp, "TIMESTAMP")?)
            .map_err(|msg| LineError::field(line, "TIMESTAMP", msg))?;
        let count = |name: &'static str, text: &str| {
            text.parse::<u32>().ok().filter(|&n| n > 0).ok_or_else(|| {
                LineError::field(
                    line,
                    name,
                    format!("must be a positive integer, got \"{text}\""),
                )
            })
        };
        let context = count("ContextTokens", field(cols.context, "ContextTokens")?)?;
        let generated = count("GeneratedTokens", field(cols.generated, "GeneratedTokens")?)?;
        let session = u32::try_from(builder.len()).unwrap_or(u32::MAX);
        builder
            .push(NodeSpec {
                session,
                turn: 0,
                timestamp: Some(timestamp),
                delay: SimTime::ZERO,
                deps: &[],
                base: None,
                content: Content::Unique,
                own_tokens: context,
                output_tokens: generated,
                line: u32::try_from(line).unwrap_or(u32::MAX),
            })
            .map_err(|e| LineError::line(line, e.to_string()))?;
        Ok(())
    })?;
    // A bad header makes every row meaningless: never skippable.
    if let Some(error) = header_error {
        return Err(TraceError::at_line(&lines.name, error));
    }
    Ok(builder.finish())
}

fn header(line: u64, fields: &[&str]) -> Result<Columns, LineError> {
    let find = |name: &str| {
        fields.iter().position(|f| f.eq_ignore_ascii_case(name)).ok_or_else(|| {
            LineError::line(
                line,
                format!("CSV header must name the columns TIMESTAMP, ContextTokens and GeneratedTokens; `{name}` not found in \"{}\"", fields.join(",")),
            )
        })
    };
    Ok(Columns {
        timestamp: find("TIMESTAMP")?,
        context: find("ContextTokens")?,
        generated: find("GeneratedTokens")?,
    })
}

/// Parses `YYYY-MM-DD[ T]HH:MM:SS[.fraction][Z|±HH:MM]` into microseconds since the Unix
/// epoch (UTC). Fractions beyond microseconds are rounded.
pub(crate) fn parse_datetime(text: &str) -> Result<SimTime, String> {
    let bad = || format!("expected a date-time like 2023-11-16 18:17:03.9799600, got \"{text}\"");
    let (date, rest) = text.split_at_checked(10).ok_or_else(bad)?;
    let rest = rest.strip_prefix([' ', 'T']).ok_or_else(bad)?;
    let mut date_parts = date.split('-');
    let mut next_num = |max: i64| -> Result<i64, String> {
        let part = date_parts.next().ok_or_else(bad)?;
        part.parse::<i64>()
            .ok()
            .filter(|n| (0..=max).contains(n))
            .ok_or_else(bad)
    };
    let (year, month, day) = (next_num(9999)?, next_num(12)?, next_num(31)?);
    if year < 1970 || month == 0 || day == 0 {
        return Err(bad());
    }
    // Split off a zone suffix: `Z`, `+HH:MM` or `-HH:MM` after the seconds.
    let (clock, offset_secs) = if let Some(clock) = rest.strip_suffix('Z') {
        (clock, 0)
    } else if let Some(pos) = rest.rfind(['+', '-']) {
        let (clock, zone) = rest.split_at(pos);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (h, m) = zone[1..].split_once(':').ok_or_else(bad)?;
        let h: i64 = h.parse().map_err(|_| bad())?;
        let m: i64 = m.parse().map_err(|_| bad())?;
        (clock, sign * (h * 3600 + m * 60))
    } else {
        (rest, 0)
    };
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut hms_parts = hms.split(':').map(|p| p.parse::<i64>().map_err(|_| bad()));
    let mut next = || hms_parts.next().unwrap_or_else(|| Err(bad()));
    let (hour, minute, second) = (next()?, next()?, next()?);
    if hour > 23 || minute > 59 || second > 60 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let micros_fraction = if fraction.is_empty() {
        0
    } else {
        let digits: f64 = format!("0.{fraction}").parse().map_err(|_| bad())?;
        (digits * 1e6).round() as i64
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    u64::try_from(secs * 1_000_000 + micros_fraction)
        .map(SimTime::from_micros)
        .map_err(|_| bad())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{ReadOptions, TraceFormat, parse_trace};
    use crate::workload::NodeId;

    #[test]
    fn datetimes_of_both_releases() {
        assert_eq!(
            parse_datetime("1970-01-01 00:00:01").unwrap(),
            SimTime::from_secs(1)
        );
        assert_eq!(
            parse_datetime("2023-11-16 18:17:03.9799600")
                .unwrap()
                .as_micros(),
            1_700_158_623_979_960
        );
        assert_eq!(
            parse_datetime("2024-05-12 00:00:00.001163+00:00")
                .unwrap()
                .as_micros(),
            1_715_472_000_001_163
        );
        assert_eq!(
            parse_datetime("2024-05-12 02:00:00+02:00")
                .unwrap()
                .as_micros(),
            1_715_472_000_000_000
        );
        assert_eq!(
            parse_datetime("2024-05-12T00:00:00Z").unwrap().as_micros(),
            1_715_472_000_000_000
        );
        assert!(parse_datetime("yesterday").is_err());
        assert!(parse_datetime("2024-13-12 00:00:00").is_err());
    }

    #[test]
    fn rows_become_unique_single_turn_requests() {
        let text = "TIMESTAMP,ContextTokens,GeneratedTokens\n\
                    2023-11-16 18:15:46.6805900,374,44\n\
                    2023-11-16 18:15:50.9951690,396,109\n";
        let options = ReadOptions {
            format: TraceFormat::Azure,
            trace_block_size: 64,
            skip_invalid: false,
        };
        let w = parse_trace(text.as_bytes(), "az.csv", &options)
            .unwrap()
            .workload;
        assert_eq!(w.len(), 2);
        assert_eq!(w.node(NodeId(1)).input_tokens, 396);
        assert_eq!(w.node(NodeId(1)).output_tokens, 109);
        assert_eq!(w.node(NodeId(1)).line, 3);
        let (a, b) = (
            w.prompt_blocks(NodeId(0), 64),
            w.prompt_blocks(NodeId(1), 64),
        );
        assert_eq!(a.hashes.len(), 5);
        assert_ne!(a.hashes[0], b.hashes[0]);
    }

    #[test]
    fn bad_rows_and_headers_name_the_column() {
        let options = ReadOptions {
            format: TraceFormat::Azure,
            trace_block_size: 64,
            skip_invalid: false,
        };
        let err = parse_trace(
            "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,-3,4\n".as_bytes(),
            "az.csv",
            &options,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "az.csv:2: field `ContextTokens`: must be a positive integer, got \"-3\""
        );
        let err = parse_trace("time,in,out\n".as_bytes(), "az.csv", &options).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("az.csv:1: CSV header must name"),
            "{err}"
        );
    }
}
