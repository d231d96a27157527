//! Mooncake JSONL and its `mooncake-delta` variant.
//!
//! Row fields (aliases after `|`): `timestamp|created_time` (ms), `input_length|input_tokens`,
//! `output_length|output_tokens` (required), `hash_ids` (required), `session_id`,
//! `delay|delay_ms`. Rows sharing a `session_id` are turns of one conversation, in file order;
//! a later turn becomes ready `delay` after the previous turn *completes*. Its delay is the
//! explicit `delay`, else the gap to the previous timestamped turn of the session, else 0.
//! A delay on a session's first turn is an error, as in the reference.
//!
//! In `mooncake-delta`, `input_length`/`hash_ids` of a later turn describe only the new
//! input; the prompt is the previous turn's prompt, its generated output, then the new input.

use std::collections::HashMap;
use std::io::BufRead;

use super::json_row::{self, RawRow};
use super::lines::LineReader;
use crate::error::{LineError, TraceError};
use crate::time::SimTime;
use crate::workload::{Content, NodeId, NodeSpec, Workload, WorkloadBuilder};

/// Where a session stands after its latest valid turn.
struct Session {
    index: u32,
    last: NodeId,
    turns: u32,
    last_timestamp: Option<SimTime>,
}

/// Turns rows into nodes; [`Reader::take_chunk`] hands out what was read so far (streaming).
pub(super) struct Reader {
    builder: WorkloadBuilder,
    sessions: HashMap<String, Session>,
    num_sessions: u32,
    delta: bool,
    block: u32,
    ids: Vec<u64>,
    /// Streaming: every row must be a request of its own (a later turn of a session would
    /// depend on a node of an earlier chunk).
    independent: bool,
}

pub(super) fn read<R: BufRead>(
    lines: &mut LineReader<R>,
    trace_block_size: u32,
    delta: bool,
) -> Result<Workload, TraceError> {
    let mut reader = Reader::new(trace_block_size, delta, false);
    lines.for_each(|line, text| reader.row(line, text))?;
    Ok(reader.builder.finish())
}

impl Reader {
    /// A reader of `trace_block_size`-token hash ids; `independent` rejects later turns.
    pub(super) fn new(trace_block_size: u32, delta: bool, independent: bool) -> Self {
        Reader {
            builder: WorkloadBuilder::new(trace_block_size),
            sessions: HashMap::new(),
            num_sessions: 0,
            delta,
            block: trace_block_size,
            ids: Vec::new(),
            independent,
        }
    }

    /// The nodes read since the last chunk, as a chunk; the next one continues their ids.
    pub(super) fn take_chunk(&mut self) -> Workload {
        let next = NodeId(self.builder.next_id());
        let fresh = WorkloadBuilder::continuing(self.block, next, self.num_sessions);
        std::mem::replace(&mut self.builder, fresh).finish()
    }

    pub(super) fn row(&mut self, line: u64, text: &str) -> Result<(), LineError> {
        let raw = RawRow::parse(line, text)?;
        let output_tokens = json_row::positive_u32(
            line,
            "output_length",
            json_row::required(line, "output_length", &raw.output_length)?,
        )?;
        json_row::hash_ids(
            line,
            json_row::required(line, "hash_ids", &raw.hash_ids)?,
            &mut self.ids,
        )?;
        let own_tokens = own_tokens(line, raw.input_length.as_ref(), self.ids.len(), self.block)?;
        let timestamp = raw
            .timestamp
            .as_ref()
            .map(|v| json_row::millis(line, "timestamp", v))
            .transpose()?;
        let delay = raw
            .delay
            .as_ref()
            .map(|v| json_row::millis(line, "delay", v))
            .transpose()?;
        let key = raw
            .session_id
            .as_ref()
            .map(|v| json_row::identifier(line, "session_id", v))
            .transpose()?;

        let previous = key.as_ref().and_then(|k| self.sessions.get(k));
        if self.independent && previous.is_some() {
            return Err(LineError::field(
                line,
                "session_id",
                "a later turn of a session depends on an earlier request, which a streamed replay has let go; replay this trace without --stream",
            ));
        }
        let (session, turn, node_delay, deps) = match previous {
            Some(prev) => {
                let delay = match (delay, timestamp, prev.last_timestamp) {
                    (Some(d), _, _) => d,
                    (None, Some(t), Some(prev_t)) => t.checked_sub(prev_t).ok_or_else(|| {
                        LineError::field(
                            line,
                            "timestamp",
                            format!(
                                "{} ms is earlier than the previous turn of this session ({} ms)",
                                t.as_millis_f64(),
                                prev_t.as_millis_f64()
                            ),
                        )
                    })?,
                    (None, Some(_), None) => {
                        return Err(LineError::field(
                            line,
                            "timestamp",
                            "cannot infer the inter-turn delay: no earlier turn of this session has a timestamp (give `delay` instead)",
                        ));
                    }
                    (None, None, _) => SimTime::ZERO,
                };
                (prev.index, prev.turns, delay, Some(prev.last))
            }
            None => {
                if delay.is_some_and(|d| d > SimTime::ZERO) {
                    return Err(LineError::field(
                        line,
                        "delay",
                        "must be 0 or absent on the first turn of a session",
                    ));
                }
                self.num_sessions += 1;
                (self.num_sessions - 1, 0, SimTime::ZERO, None)
            }
        };
        let deps: &[NodeId] = match &deps {
            Some(prev) => std::slice::from_ref(prev),
            None => &[],
        };
        let id = self
            .builder
            .push(NodeSpec {
                session,
                turn,
                timestamp,
                delay: node_delay,
                deps,
                base: if self.delta {
                    deps.first().copied()
                } else {
                    None
                },
                content: Content::TraceBlocks(&self.ids),
                own_tokens,
                output_tokens,
                line: u32::try_from(line).unwrap_or(u32::MAX),
            })
            .map_err(|e| LineError::line(line, e.to_string()))?;
        if let Some(key) = key {
            let state = self.sessions.entry(key).or_insert(Session {
                index: session,
                last: id,
                turns: 0,
                last_timestamp: None,
            });
            state.last = id;
            state.turns += 1;
            state.last_timestamp = timestamp.or(state.last_timestamp);
        }
        Ok(())
    }
}

/// The row's own prompt tokens: `input_length`, or all the tokens its hash ids stand for.
pub(super) fn own_tokens(
    line: u64,
    input_length: Option<&serde_json::Value>,
    num_ids: usize,
    block: u32,
) -> Result<u32, LineError> {
    let capacity = num_ids as u64 * u64::from(block);
    let tokens = match input_length {
        Some(value) => u64::from(json_row::positive_u32(line, "input_length", value)?),
        None => capacity,
    };
    if tokens > capacity {
        return Err(LineError::field(
            line,
            "input_length",
            format!(
                "{tokens} tokens exceed the {capacity} covered by {num_ids} hash_ids × trace block size {block}"
            ),
        ));
    }
    u32::try_from(tokens).map_err(|_| {
        LineError::field(
            line,
            "hash_ids",
            format!("{tokens} tokens is more than 4294967295"),
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::format::{ReadOptions, TraceFormat, parse_trace};
    use crate::time::SimTime;
    use crate::workload::NodeId;

    fn parse(format: TraceFormat, block: u32, text: &str) -> Result<crate::Workload, String> {
        let options = ReadOptions {
            format,
            trace_block_size: block,
            skip_invalid: false,
        };
        parse_trace(text.as_bytes(), "t.jsonl", &options)
            .map(|t| t.workload)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn single_turn_rows() {
        let w = parse(
            TraceFormat::Mooncake,
            512,
            "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [1, 2]}\n\n\
             {\"created_time\": 27.5, \"output_tokens\": 1, \"hash_ids\": [1]}\n",
        )
        .unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w.num_sessions(), 2);
        let second = w.node(NodeId(1));
        assert_eq!(second.input_tokens, 512);
        assert_eq!(second.timestamp, Some(SimTime::from_micros(27_500)));
        assert_eq!(second.line, 3);
    }

    #[test]
    fn session_delays_come_from_delay_or_timestamps() {
        let w = parse(
            TraceFormat::Mooncake,
            4,
            r#"{"session_id": "a", "timestamp": 100, "input_length": 4, "output_length": 2, "hash_ids": [1]}
{"session_id": "b", "timestamp": 110, "input_length": 4, "output_length": 2, "hash_ids": [9]}
{"session_id": "a", "timestamp": 130, "input_length": 8, "output_length": 2, "hash_ids": [1, 2]}
{"session_id": "a", "delay_ms": 7, "input_length": 8, "output_length": 2, "hash_ids": [1, 2]}
{"session_id": "a", "input_length": 8, "output_length": 2, "hash_ids": [1, 2]}"#,
        )
        .unwrap();
        assert_eq!(w.num_sessions(), 2);
        assert_eq!(w.deps(NodeId(2)), &[NodeId(0)]);
        assert_eq!(w.node(NodeId(2)).delay, SimTime::from_millis(30));
        assert_eq!(w.node(NodeId(2)).turn, 1);
        assert_eq!(w.node(NodeId(3)).delay, SimTime::from_millis(7));
        assert_eq!(w.deps(NodeId(3)), &[NodeId(2)]);
        assert_eq!(w.node(NodeId(4)).delay, SimTime::ZERO);
        assert_eq!(w.node(NodeId(1)).session, 1);
    }

    #[test]
    fn delay_on_first_turn_is_rejected() {
        let err = parse(
            TraceFormat::Mooncake,
            4,
            r#"{"session_id": "a", "delay": 5, "output_length": 2, "hash_ids": [1]}"#,
        )
        .unwrap_err();
        assert_eq!(
            err,
            "t.jsonl:1: field `delay`: must be 0 or absent on the first turn of a session"
        );
    }

    #[test]
    fn delta_turns_accumulate_prompt_and_output() {
        // The reference fixture: turn 2 with 2 new tokens after turn 1 (4 in, 2 out) has ISL 8.
        let w = parse(
            TraceFormat::MooncakeDelta,
            4,
            r#"{"session_id": "s", "timestamp": 0, "input_length": 4, "output_length": 2, "hash_ids": [1]}
{"session_id": "s", "delay": 5, "input_length": 2, "output_length": 1, "hash_ids": [2]}"#,
        )
        .unwrap();
        assert_eq!(w.node(NodeId(1)).input_tokens, 8);
        assert_eq!(w.node(NodeId(1)).delay, SimTime::from_millis(5));
        let mut runs = Vec::new();
        w.for_each_run(NodeId(1), |c, l| runs.push((c, l)));
        assert_eq!(runs, vec![(1, 4), (w.output_content(NodeId(0)), 2), (2, 2)]);
    }

    #[test]
    fn invalid_rows_name_line_and_field() {
        let cases = [
            (
                r#"{"timestamp": 0, "output_length": 2}"#,
                "t.jsonl:1: field `hash_ids`: is required but missing",
            ),
            (
                r#"{"timestamp": 0, "hash_ids": [1]}"#,
                "t.jsonl:1: field `output_length`: is required but missing",
            ),
            (
                r#"{"timestamp": 0, "input_length": -3, "output_length": 2, "hash_ids": [1]}"#,
                "t.jsonl:1: field `input_length`: must be a positive integer, got -3",
            ),
            (
                r#"{"timestamp": "soon", "output_length": 2, "hash_ids": [1]}"#,
                "t.jsonl:1: field `timestamp`: must be a finite number of milliseconds in [0, 4.612e15), got string \"soon\"",
            ),
            (
                r#"{"timestamp": 0, "input_length": 9, "output_length": 2, "hash_ids": [1, 2]}"#,
                "t.jsonl:1: field `input_length`: 9 tokens exceed the 8 covered by 2 hash_ids × trace block size 4",
            ),
            (
                r#"{"timestamp": 0, "output_length": 2, "hash_ids": []}"#,
                "t.jsonl:1: field `hash_ids`: must hold at least one hash id",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(TraceFormat::Mooncake, 4, text).unwrap_err(), expected);
        }
    }

    #[test]
    fn empty_trace_is_an_error() {
        assert_eq!(
            parse(TraceFormat::Mooncake, 4, "\n  \n").unwrap_err(),
            "t.jsonl: trace is empty: no request found"
        );
    }

    #[test]
    fn skip_invalid_counts_and_continues() {
        let options = ReadOptions {
            format: TraceFormat::Mooncake,
            trace_block_size: 4,
            skip_invalid: true,
        };
        let text = "{\"timestamp\": 0, \"output_length\": 2, \"hash_ids\": [1]}\n{oops\n\
                    {\"timestamp\": 1, \"output_length\": 0, \"hash_ids\": [1]}\n";
        let loaded = parse_trace(text.as_bytes(), "t.jsonl", &options).unwrap();
        assert_eq!(loaded.workload.len(), 1);
        assert_eq!(loaded.skipped.count, 2);
        assert_eq!(loaded.skipped.first[0].line, 2);
        assert_eq!(loaded.skipped.first[1].field, Some("output_length"));
    }
}
