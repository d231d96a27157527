//! Agentic Mooncake JSONL: one row is one request node of a DAG.
//!
//! Fields: `request_id` (required, unique), `wait_for` (ids of nodes that must complete
//! first), `delay|delay_ms` and `tool_wait_ms` (both waited after the last dependency
//! completes, summed), `timestamp` (arrival of nodes without dependencies), plus the
//! Mooncake length fields. Every row carries its full prompt: KV reuse comes from shared
//! `hash_ids` prefixes. `session_id` groups nodes for statistics; `branches` and
//! `prefix_reset` are structural annotations (validated, not used for scheduling — as in the
//! reference). Rows may appear in any order; they are ordered topologically, stably by line,
//! and a dependency cycle is an error.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::BufRead;

use super::json_row::{self, RawRow};
use super::lines::LineReader;
use super::mooncake::own_tokens;
use crate::error::{LineError, TraceError};
use crate::time::SimTime;
use crate::workload::{Content, NodeId, NodeSpec, Workload, WorkloadBuilder};

struct Row {
    line: u64,
    request_id: String,
    session: Option<String>,
    wait_for: Vec<String>,
    timestamp: Option<SimTime>,
    delay: SimTime,
    own_tokens: u32,
    output_tokens: u32,
    hash_ids: Vec<u64>,
}

pub(super) fn read<R: BufRead>(
    lines: &mut LineReader<R>,
    trace_block_size: u32,
) -> Result<Workload, TraceError> {
    let mut rows = Vec::new();
    lines.for_each(|line, text| {
        rows.push(parse_row(line, text, trace_block_size)?);
        Ok(())
    })?;
    let rows = drop_unresolvable(rows, lines)?;
    let order = topological_order(&rows, lines)?;
    build(&rows, &order, trace_block_size)
}

fn parse_row(line: u64, text: &str, block: u32) -> Result<Row, LineError> {
    let raw = RawRow::parse(line, text)?;
    let request_id = json_row::identifier(
        line,
        "request_id",
        json_row::required(line, "request_id", &raw.request_id)?,
    )?;
    let output_tokens = json_row::positive_u32(
        line,
        "output_length",
        json_row::required(line, "output_length", &raw.output_length)?,
    )?;
    let mut hash_ids = Vec::new();
    json_row::hash_ids(
        line,
        json_row::required(line, "hash_ids", &raw.hash_ids)?,
        &mut hash_ids,
    )?;
    let own_tokens = own_tokens(line, raw.input_length.as_ref(), hash_ids.len(), block)?;
    let ms = |field, value: &Option<serde_json::Value>| {
        value
            .as_ref()
            .map(|v| json_row::millis(line, field, v))
            .transpose()
    };
    let timestamp = ms("timestamp", &raw.timestamp)?;
    let delay = ms("delay", &raw.delay)?.unwrap_or_default()
        + ms("tool_wait_ms", &raw.tool_wait_ms)?.unwrap_or_default();
    let wait_for = match &raw.wait_for {
        Some(v) => json_row::identifiers(line, "wait_for", v)?,
        None => Vec::new(),
    };
    if wait_for.contains(&request_id) {
        return Err(LineError::field(
            line,
            "wait_for",
            format!("request `{request_id}` cannot wait for itself"),
        ));
    }
    if let Some(v) = &raw.branches {
        json_row::identifiers(line, "branches", v)?;
    }
    if let Some(v) = &raw.prefix_reset
        && !v.is_boolean()
    {
        return Err(LineError::field(
            line,
            "prefix_reset",
            format!("must be true or false, got {}", json_row::describe(v)),
        ));
    }
    let session = raw
        .session_id
        .as_ref()
        .map(|v| json_row::identifier(line, "session_id", v))
        .transpose()?;
    Ok(Row {
        line,
        request_id,
        session,
        wait_for,
        timestamp,
        delay,
        own_tokens,
        output_tokens,
        hash_ids,
    })
}

/// Rejects duplicate ids and waits on unknown ids; under skip-invalid, drops such rows and,
/// transitively, every row that waits for a dropped one.
fn drop_unresolvable<R: BufRead>(
    mut rows: Vec<Row>,
    lines: &mut LineReader<R>,
) -> Result<Vec<Row>, TraceError> {
    let mut seen: HashMap<&str, u64> = HashMap::new();
    let mut duplicates = Vec::new();
    for row in &rows {
        if let Some(first) = seen.insert(row.request_id.as_str(), row.line) {
            seen.insert(row.request_id.as_str(), first);
            duplicates.push(LineError::field(
                row.line,
                "request_id",
                format!(
                    "`{}` duplicates the request_id of line {first}",
                    row.request_id
                ),
            ));
        }
    }
    let duplicate_lines: Vec<u64> = duplicates.iter().map(|e| e.line).collect();
    for error in duplicates {
        lines.reject(error)?;
    }
    rows.retain(|row| !duplicate_lines.contains(&row.line));
    loop {
        let known: HashMap<&str, ()> = rows.iter().map(|r| (r.request_id.as_str(), ())).collect();
        let unknown: Vec<LineError> = rows
            .iter()
            .filter_map(|row| {
                row.wait_for
                    .iter()
                    .find(|id| !known.contains_key(id.as_str()))
                    .map(|id| {
                        LineError::field(
                            row.line,
                            "wait_for",
                            format!("waits for unknown request_id `{id}`"),
                        )
                    })
            })
            .collect();
        if unknown.is_empty() {
            return Ok(rows);
        }
        let bad: Vec<u64> = unknown.iter().map(|e| e.line).collect();
        for error in unknown {
            lines.reject(error)?;
        }
        rows.retain(|row| !bad.contains(&row.line));
    }
}

/// Kahn's algorithm, always taking the ready row with the smallest line first.
fn topological_order<R: BufRead>(
    rows: &[Row],
    lines: &mut LineReader<R>,
) -> Result<Vec<usize>, TraceError> {
    let index: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.request_id.as_str(), i))
        .collect();
    let mut missing: Vec<usize> = rows.iter().map(|r| r.wait_for.len()).collect();
    let mut waiting: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
    for (i, row) in rows.iter().enumerate() {
        for dep in &row.wait_for {
            waiting[index[dep.as_str()]].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..rows.len())
        .filter(|&i| missing[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(rows.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &next in &waiting[i] {
            missing[next] -= 1;
            if missing[next] == 0 {
                ready.push(Reverse(next));
            }
        }
    }
    if order.len() < rows.len() {
        // Rows left over sit on or behind a cycle; cycles are never skippable data errors.
        let stuck = (0..rows.len()).find(|&i| missing[i] > 0).map_or(0, |i| i);
        let row = &rows[stuck];
        let error = LineError::field(
            row.line,
            "wait_for",
            format!(
                "request `{}` is part of (or waits on) a dependency cycle",
                row.request_id
            ),
        );
        return Err(TraceError::at_line(&lines.name, error));
    }
    Ok(order)
}

fn build(rows: &[Row], order: &[usize], block: u32) -> Result<Workload, TraceError> {
    let mut builder = WorkloadBuilder::new(block);
    let mut node_of: HashMap<&str, NodeId> = HashMap::new();
    let mut sessions: HashMap<String, (u32, u32)> = HashMap::new();
    let mut deps = Vec::new();
    for &i in order {
        let row = &rows[i];
        let next_session = u32::try_from(sessions.len()).unwrap_or(u32::MAX);
        let label = row
            .session
            .clone()
            .unwrap_or_else(|| format!("request_{}", row.line));
        let entry = sessions.entry(label).or_insert((next_session, 0));
        let (session, turn) = *entry;
        entry.1 += 1;
        deps.clear();
        deps.extend(row.wait_for.iter().map(|id| node_of[id.as_str()]));
        let id = builder.push(NodeSpec {
            session,
            turn,
            timestamp: row.timestamp,
            delay: row.delay,
            deps: &deps,
            base: None,
            content: Content::TraceBlocks(&row.hash_ids),
            own_tokens: row.own_tokens,
            output_tokens: row.output_tokens,
            line: u32::try_from(row.line).unwrap_or(u32::MAX),
        })?;
        node_of.insert(row.request_id.as_str(), id);
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use crate::format::{ReadOptions, TraceFormat, parse_trace};
    use crate::time::SimTime;
    use crate::workload::NodeId;

    fn options(skip_invalid: bool) -> ReadOptions {
        ReadOptions {
            format: TraceFormat::AgenticMooncake,
            trace_block_size: 4,
            skip_invalid,
        }
    }

    #[test]
    fn dag_with_forward_references_is_ordered_topologically() {
        let text = r#"{"request_id": "join", "wait_for": ["a", "b"], "delay": 2, "tool_wait_ms": 3, "output_length": 1, "hash_ids": [1]}
{"request_id": "a", "timestamp": 0, "output_length": 2, "hash_ids": [1], "branches": ["b"], "prefix_reset": true}
{"request_id": "b", "wait_for": ["a"], "output_length": 2, "hash_ids": [1, 2]}"#;
        let w = parse_trace(text.as_bytes(), "a.jsonl", &options(false))
            .unwrap()
            .workload;
        assert_eq!(w.len(), 3);
        // Order: a (line 2), b (line 3), join (line 1).
        assert_eq!(w.node(NodeId(0)).line, 2);
        assert_eq!(w.node(NodeId(1)).line, 3);
        assert_eq!(w.deps(NodeId(2)), &[NodeId(0), NodeId(1)]);
        assert_eq!(w.node(NodeId(2)).delay, SimTime::from_millis(5));
    }

    #[test]
    fn structural_errors_name_the_line() {
        let cases = [
            (
                "{\"request_id\": \"a\", \"output_length\": 1, \"hash_ids\": [1]}\n{\"request_id\": \"a\", \"output_length\": 1, \"hash_ids\": [1]}",
                "a.jsonl:2: field `request_id`: `a` duplicates the request_id of line 1",
            ),
            (
                "{\"request_id\": \"a\", \"wait_for\": [\"zz\"], \"output_length\": 1, \"hash_ids\": [1]}",
                "a.jsonl:1: field `wait_for`: waits for unknown request_id `zz`",
            ),
            (
                "{\"request_id\": \"a\", \"wait_for\": [\"a\"], \"output_length\": 1, \"hash_ids\": [1]}",
                "a.jsonl:1: field `wait_for`: request `a` cannot wait for itself",
            ),
            (
                "{\"request_id\": \"a\", \"wait_for\": [\"b\"], \"output_length\": 1, \"hash_ids\": [1]}\n{\"request_id\": \"b\", \"wait_for\": [\"a\"], \"output_length\": 1, \"hash_ids\": [1]}",
                "a.jsonl:1: field `wait_for`: request `a` is part of (or waits on) a dependency cycle",
            ),
            (
                "{\"output_length\": 1, \"hash_ids\": [1]}",
                "a.jsonl:1: field `request_id`: is required but missing",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_trace(text.as_bytes(), "a.jsonl", &options(false)).unwrap_err();
            assert_eq!(err.to_string(), expected);
        }
    }

    #[test]
    fn skipping_a_row_drops_its_dependants() {
        let text = "{\"request_id\": \"a\", \"output_length\": 0, \"hash_ids\": [1]}\n\
                    {\"request_id\": \"b\", \"wait_for\": [\"a\"], \"output_length\": 1, \"hash_ids\": [1]}\n\
                    {\"request_id\": \"c\", \"timestamp\": 1, \"output_length\": 1, \"hash_ids\": [1]}";
        let loaded = parse_trace(text.as_bytes(), "a.jsonl", &options(true)).unwrap();
        assert_eq!(loaded.workload.len(), 1);
        assert_eq!(loaded.skipped.count, 2);
    }
}
