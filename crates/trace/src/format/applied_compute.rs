//! Applied Compute agentic JSONL: one row is one whole agent session.
//!
//! Fields: `num_turns` (tool-calling turns, ≥ 0), `input_prompt_length`,
//! `assistant_response_length[num_turns]`, `tool_call_output_length[num_turns]`,
//! `tool_call_latency[num_turns]` (seconds) and `final_assistant_response_length`. A row
//! becomes `num_turns + 1` requests, each waiting for the previous one: request `i` outputs
//! `assistant_response_length[i]` tokens (the last one `final_assistant_response_length`),
//! and request `i + 1` starts `tool_call_latency[i]` s after request `i` completes, with a
//! prompt of request `i`'s prompt, its output and `tool_call_output_length[i]` new tokens —
//! so its input is `input_prompt_length + Σ_{j ≤ i} (assistant_j + tool_j)`, as the
//! reference computes it. The context grows cumulatively: each request's prompt extends the
//! previous one's sequence, whose KV (the generated answer included) can be reused; the
//! reference gives the answer fresh ids instead, so it never reuses generated KV. Rows carry
//! no timestamps: replay them closed-loop (`--replay-concurrency`).

use std::io::BufRead;

use serde_json::{Map, Value};

use super::json_row::{describe, positive_u32};
use super::lines::LineReader;
use crate::error::{LineError, TraceError};
use crate::time::SimTime;
use crate::workload::{Content, NodeId, NodeSpec, Workload, WorkloadBuilder};

/// One session row, validated.
struct Session {
    prompt: u32,
    assistant: Vec<u32>,
    tool_output: Vec<u32>,
    tool_latency: Vec<SimTime>,
    final_response: u32,
}

pub(super) fn read<R: BufRead>(
    lines: &mut LineReader<R>,
    trace_block_size: u32,
) -> Result<Workload, TraceError> {
    let mut builder = WorkloadBuilder::new(trace_block_size);
    let mut session_index = 0u32;
    lines.for_each(|line, text| {
        let session = parse_row(line, text)?;
        push_session(&mut builder, &session, session_index, line)
            .map_err(|e| LineError::line(line, e.to_string()))?;
        session_index += 1;
        Ok(())
    })?;
    Ok(builder.finish())
}

fn parse_row(line: u64, text: &str) -> Result<Session, LineError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| LineError::line(line, format!("invalid JSON: {e}")))?;
    let Value::Object(row) = value else {
        return Err(LineError::line(
            line,
            format!("expected a JSON object, got {}", describe(&value)),
        ));
    };
    let required = |field: &'static str| {
        row.get(field)
            .ok_or_else(|| LineError::field(line, field, "is required"))
    };
    let turns = count(line, "num_turns", required("num_turns")?)?;
    let lengths = |field: &'static str, min: u64| -> Result<Vec<u32>, LineError> {
        let values = array(line, field, &row, turns)?;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let n = count(line, field, v).map_err(|e| element(e, i))?;
                if u64::from(n) < min {
                    return Err(element(
                        LineError::field(line, field, format!("must be ≥ {min}, got {n}")),
                        i,
                    ));
                }
                Ok(n)
            })
            .collect()
    };
    let assistant = lengths("assistant_response_length", 1)?;
    let tool_output = lengths("tool_call_output_length", 0)?;
    let tool_latency = array(line, "tool_call_latency", &row, turns)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_f64().and_then(SimTime::from_secs_f64).ok_or_else(|| {
                element(
                    LineError::field(
                        line,
                        "tool_call_latency",
                        format!(
                            "must be a finite number of seconds ≥ 0, got {}",
                            describe(v)
                        ),
                    ),
                    i,
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Session {
        prompt: positive_u32(
            line,
            "input_prompt_length",
            required("input_prompt_length")?,
        )?,
        assistant,
        tool_output,
        tool_latency,
        final_response: positive_u32(
            line,
            "final_assistant_response_length",
            required("final_assistant_response_length")?,
        )?,
    })
}

/// A whole number ≥ 0 that fits in `u32`.
fn count(line: u64, field: &'static str, value: &Value) -> Result<u32, LineError> {
    value
        .as_u64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        })
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            LineError::field(
                line,
                field,
                format!("must be a whole number ≥ 0, got {}", describe(value)),
            )
        })
}

/// The array `field` of `row`, which must hold `turns` elements.
fn array<'a>(
    line: u64,
    field: &'static str,
    row: &'a Map<String, Value>,
    turns: u32,
) -> Result<&'a [Value], LineError> {
    let values = match row.get(field) {
        Some(Value::Array(values)) => values.as_slice(),
        None if turns == 0 => &[],
        None => return Err(LineError::field(line, field, "is required")),
        Some(other) => {
            return Err(LineError::field(
                line,
                field,
                format!("must be an array, got {}", describe(other)),
            ));
        }
    };
    if values.len() != turns as usize {
        return Err(LineError::field(
            line,
            field,
            format!("has {} elements, num_turns is {turns}", values.len()),
        ));
    }
    Ok(values)
}

/// `error` about element `i` of its field.
fn element(mut error: LineError, i: usize) -> LineError {
    error.message = format!("element {i}: {}", error.message);
    error
}

fn push_session(
    builder: &mut WorkloadBuilder,
    s: &Session,
    session: u32,
    line: u64,
) -> Result<(), TraceError> {
    let line = u32::try_from(line).unwrap_or(u32::MAX);
    let mut previous: Option<NodeId> = None;
    for turn in 0..=s.assistant.len() {
        let output_tokens = s.assistant.get(turn).copied().unwrap_or(s.final_response);
        let (content, own_tokens, delay) = match turn.checked_sub(1) {
            // The initial prompt is this session's alone: unique content, which costs no
            // memory per token however long it is.
            None => (Content::Unique, s.prompt, SimTime::ZERO),
            Some(t) => (Content::Unique, s.tool_output[t], s.tool_latency[t]),
        };
        let deps = previous.as_slice();
        previous = Some(builder.push(NodeSpec {
            session,
            turn: turn as u32,
            timestamp: None,
            delay,
            deps,
            base: deps.first().copied(),
            content,
            own_tokens,
            output_tokens,
            line,
        })?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::format::{ReadOptions, TraceFormat, parse_trace};
    use crate::{NodeId, SimTime};

    fn read(text: &str) -> Result<crate::Workload, crate::TraceError> {
        let options = ReadOptions {
            format: TraceFormat::AppliedComputeAgentic,
            ..ReadOptions::default()
        };
        parse_trace(text.as_bytes(), "ac.jsonl", &options).map(|t| t.workload)
    }

    #[test]
    fn a_session_expands_into_turns_with_cumulative_context() {
        let w = read(
            r#"{"num_turns": 2, "input_prompt_length": 1000, "assistant_response_length": [50, 60], "tool_call_output_length": [200, 0], "tool_call_latency": [1.5, 0.25], "final_assistant_response_length": 80}"#,
        )
        .unwrap();
        assert_eq!(w.len(), 3);
        let lengths: Vec<(u32, u32)> = w
            .nodes()
            .iter()
            .map(|n| (n.input_tokens, n.output_tokens))
            .collect();
        // 1000; 1000 + 50 + 200; 1250 + 60 + 0.
        assert_eq!(lengths, vec![(1000, 50), (1250, 60), (1310, 80)]);
        assert_eq!(w.deps(NodeId(2)), &[NodeId(1)]);
        assert_eq!(w.node(NodeId(1)).delay, SimTime::from_millis(1500));
        assert_eq!(w.node(NodeId(2)).delay, SimTime::from_millis(250));
        assert!(w.node(NodeId(0)).timestamp.is_none());
        // The second turn's prompt starts with the first turn's whole sequence.
        let first = w.prompt_blocks(NodeId(0), 64).hashes;
        let second = w.prompt_blocks(NodeId(1), 64).hashes;
        assert_eq!(&second[..first.len()], &first[..]);
    }

    #[test]
    fn sessions_do_not_share_content_and_zero_turns_is_one_request() {
        let row =
            r#"{"num_turns": 0, "input_prompt_length": 700, "final_assistant_response_length": 9}"#;
        let w = read(&format!("{row}\n{row}\n")).unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w.num_sessions(), 2);
        assert_ne!(
            w.prompt_blocks(NodeId(0), 64).hashes[0],
            w.prompt_blocks(NodeId(1), 64).hashes[0]
        );
    }

    #[test]
    fn malformed_rows_name_the_line_and_field() {
        let cases = [
            (
                r#"{"num_turns": 1, "input_prompt_length": 10, "assistant_response_length": [5], "tool_call_output_length": [1, 2], "tool_call_latency": [1], "final_assistant_response_length": 3}"#,
                "ac.jsonl:1: field `tool_call_output_length`: has 2 elements, num_turns is 1",
            ),
            (
                r#"{"num_turns": 1, "input_prompt_length": 10, "assistant_response_length": [0], "tool_call_output_length": [1], "tool_call_latency": [1], "final_assistant_response_length": 3}"#,
                "ac.jsonl:1: field `assistant_response_length`: element 0: must be ≥ 1, got 0",
            ),
            (
                r#"{"num_turns": 1, "input_prompt_length": 10, "assistant_response_length": [4], "tool_call_output_length": [1], "tool_call_latency": [-2], "final_assistant_response_length": 3}"#,
                "ac.jsonl:1: field `tool_call_latency`: element 0: must be a finite number of seconds ≥ 0, got -2",
            ),
            (
                r#"{"num_turns": 0, "final_assistant_response_length": 3}"#,
                "ac.jsonl:1: field `input_prompt_length`: is required",
            ),
            (
                r#"[1, 2]"#,
                "ac.jsonl:1: expected a JSON object, got an array",
            ),
        ];
        for (row, expected) in cases {
            let err = read(row).unwrap_err().to_string();
            assert_eq!(err, expected, "{row}");
        }
    }
}
