//! Trace readers: every format, from arbitrary bytes, rows over each format's keys and
//! mutated fixture rows; generated traces round-trip through the Mooncake writer.

use proptest::prelude::*;
use serde_json::Value;
use servesim_trace::synth::{ArrivalProcess, DelayDist, LengthDist, SyntheticSpec};
use servesim_trace::{
    NodeId, ReadOptions, TraceError, TraceFormat, WrittenFormat, parse_trace, write_mooncake,
};

use crate::json::{field_value, object_over, value};
use crate::{bounded, fuzz_config, one_line};

const NAME: &str = "f.jsonl";

const MOONCAKE_KEYS: &[&str] = &[
    "timestamp",
    "created_time",
    "session_id",
    "input_length",
    "output_length",
    "hash_ids",
    "delay",
    "delay_ms",
    "request_id",
    "wait_for",
    "branches",
    "prefix_reset",
    "tool_wait_ms",
];

const APPLIED_COMPUTE_KEYS: &[&str] = &[
    "num_turns",
    "input_prompt_length",
    "assistant_response_length",
    "tool_call_output_length",
    "tool_call_latency",
    "final_assistant_response_length",
];

const WEKA_KEYS: &[&str] = &[
    "block_size",
    "hash_id_scope",
    "requests",
    "t",
    "type",
    "in",
    "out",
    "hash_ids",
    "api_time",
    "status",
    "duration_ms",
];

/// Valid rows of each JSONL format, to mutate.
fn fixture(format: TraceFormat) -> Vec<&'static str> {
    let text = match format {
        TraceFormat::Mooncake | TraceFormat::MooncakeDelta => {
            include_str!("../../../../fixtures/mooncake_conversation_1000.jsonl")
        }
        TraceFormat::AgenticMooncake => include_str!("../../../../fixtures/agentic_mooncake.jsonl"),
        TraceFormat::AppliedComputeAgentic => {
            include_str!("../../../../fixtures/applied_compute_agentic.jsonl")
        }
        TraceFormat::Weka => include_str!("../../../../fixtures/weka_agentic.jsonl"),
        TraceFormat::Azure => {
            "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109"
        }
    };
    text.lines().take(12).collect()
}

fn jsonl_format() -> impl Strategy<Value = TraceFormat> {
    prop::sample::select(vec![
        TraceFormat::Mooncake,
        TraceFormat::MooncakeDelta,
        TraceFormat::AgenticMooncake,
        TraceFormat::AppliedComputeAgentic,
        TraceFormat::Weka,
    ])
}

fn any_format() -> impl Strategy<Value = TraceFormat> {
    prop::sample::select(TraceFormat::ALL.to_vec())
}

/// Parses `text`; a success holds requests, a failure is one line naming the file and, for
/// a line error, a line that exists.
fn check(text: &[u8], format: TraceFormat, skip_invalid: bool) -> Result<(), TestCaseError> {
    let options = ReadOptions {
        format,
        trace_block_size: 16,
        skip_invalid,
    };
    let lines = text.split(|&b| b == b'\n').count() as u64;
    match bounded(|| parse_trace(text, NAME, &options))? {
        Ok(trace) => prop_assert!(!trace.workload.is_empty()),
        Err(error) => {
            let message = error.to_string();
            one_line(&message)?;
            prop_assert!(message.starts_with(NAME), "{message}");
            if let TraceError::Line { error, .. } = &error {
                prop_assert!((1..=lines).contains(&error.line), "{message}");
            }
        }
    }
    Ok(())
}

/// One edit of a row's JSON tree: `path` picks a node (each step an index into the children,
/// modulo their number), whose value is replaced (`Some`) or removed (`None`).
#[derive(Clone, Debug)]
struct TreeEdit {
    path: Vec<usize>,
    replacement: Option<Value>,
}

fn tree_edit() -> impl Strategy<Value = TreeEdit> {
    (
        prop::collection::vec(any::<usize>(), 1..5),
        prop::option::weighted(0.85, field_value()),
    )
        .prop_map(|(path, replacement)| TreeEdit { path, replacement })
}

fn apply(value: &mut Value, path: &[usize], replacement: Option<Value>) {
    let Some((&step, rest)) = path.split_first() else {
        return;
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            let key = map
                .keys()
                .nth(step % map.len())
                .cloned()
                .unwrap_or_default();
            match (rest.is_empty(), replacement) {
                (true, Some(v)) => {
                    map.insert(key, v);
                }
                (true, None) => {
                    map.remove(&key);
                }
                (false, replacement) => {
                    if let Some(child) = map.get_mut(&key) {
                        apply(child, rest, replacement);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = step % items.len();
            match (rest.is_empty(), replacement) {
                (true, Some(v)) => items[i] = v,
                (true, None) => {
                    items.remove(i);
                }
                (false, replacement) => apply(&mut items[i], rest, replacement),
            }
        }
        _ => {}
    }
}

/// A byte-level edit of a line: truncation or an inserted byte.
#[derive(Clone, Debug)]
enum ByteEdit {
    Truncate(usize),
    Insert(usize, u8),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        any::<usize>().prop_map(ByteEdit::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| ByteEdit::Insert(at, b)),
    ]
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        format in any_format(),
        skip in any::<bool>(),
    ) {
        check(&bytes, format, skip)?;
    }

    #[test]
    fn rows_over_each_formats_keys(
        format in jsonl_format(),
        rows in prop::collection::vec(
            prop_oneof![
                4 => object_over(MOONCAKE_KEYS),
                2 => object_over(APPLIED_COMPUTE_KEYS),
                2 => object_over(WEKA_KEYS),
                1 => value(),
            ],
            1..6,
        ),
        skip in any::<bool>(),
    ) {
        let text: Vec<String> = rows.iter().map(Value::to_string).collect();
        check(text.join("\n").as_bytes(), format, skip)?;
    }

    #[test]
    fn mutated_fixture_rows(
        format in jsonl_format(),
        edits in prop::collection::vec((any::<usize>(), tree_edit()), 1..4),
        bytes in prop::option::weighted(0.3, (any::<usize>(), byte_edit())),
        keep in 1usize..6,
        skip in any::<bool>(),
    ) {
        let mut rows: Vec<Value> = fixture(format)
            .into_iter()
            .take(keep)
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        for (row, edit) in edits {
            let n = rows.len();
            if n > 0 {
                apply(&mut rows[row % n], &edit.path, edit.replacement);
            }
        }
        let mut lines: Vec<Vec<u8>> = rows.iter().map(|r| r.to_string().into_bytes()).collect();
        if let Some((row, edit)) = bytes
            && !lines.is_empty()
        {
            let n = lines.len();
            let line = &mut lines[row % n];
            match edit {
                ByteEdit::Truncate(at) => line.truncate(at % (line.len() + 1)),
                ByteEdit::Insert(at, b) => line.insert(at % (line.len() + 1), b),
            }
        }
        check(&lines.join(&b'\n'), format, skip)?;
    }

    #[test]
    fn azure_rows(
        rows in prop::collection::vec(
            (
                prop_oneof![
                    Just("2023-11-16 18:15:46.6805900".to_owned()),
                    Just("2024-05-12 00:00:00.001163+00:00".to_owned()),
                    "[0-9: .+-]{0,32}",
                ],
                prop_oneof![(0i64..100_000).prop_map(|n| n.to_string()), "\\PC{0,6}"],
                prop_oneof![(0i64..5_000).prop_map(|n| n.to_string()), "\\PC{0,6}"],
            ),
            0..6,
        ),
        header in prop_oneof![
            4 => Just("TIMESTAMP,ContextTokens,GeneratedTokens".to_owned()),
            1 => "[A-Za-z,]{0,40}",
        ],
        skip in any::<bool>(),
    ) {
        let mut text = header;
        for (t, input, output) in rows {
            text.push_str(&format!("\n{t},{input},{output}"));
        }
        check(text.as_bytes(), TraceFormat::Azure, skip)?;
    }

    /// `trace gen` → Mooncake JSONL → the reader gives back the same workload.
    #[test]
    fn generated_traces_round_trip(
        sessions in 1u32..12,
        turns in 1u32..4,
        input in 1u32..3000,
        output in 1u32..400,
        poisson in prop::option::of(0.1f64..50.0),
        delay_ms in prop::option::of(0.0f64..5000.0),
        block_size in prop::sample::select(vec![1u32, 16, 64, 512]),
        seed in any::<u64>(),
    ) {
        let spec = SyntheticSpec {
            sessions,
            turns_per_session: turns,
            input: LengthDist::Fixed(input),
            output: LengthDist::Fixed(output),
            arrival: poisson.map_or(ArrivalProcess::Interval(250.0), ArrivalProcess::Poisson),
            inter_turn_delay: delay_ms.map_or(DelayDist::None, DelayDist::Constant),
            block_size,
            seed,
            ..SyntheticSpec::default()
        };
        let original = spec.generate().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut bytes = Vec::new();
        let written = write_mooncake(&original, &mut bytes)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let options = ReadOptions {
            format: match written {
                WrittenFormat::Mooncake => TraceFormat::Mooncake,
                WrittenFormat::MooncakeDelta => TraceFormat::MooncakeDelta,
            },
            trace_block_size: block_size,
            skip_invalid: false,
        };
        let read = parse_trace(bytes.as_slice(), "gen", &options)
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .workload;
        prop_assert_eq!(read.len(), original.len());
        for i in 0..read.len() as u32 {
            let (a, b) = (original.node(NodeId(i)), read.node(NodeId(i)));
            prop_assert_eq!(
                (a.input_tokens, a.output_tokens, a.delay, a.session, a.timestamp),
                (b.input_tokens, b.output_tokens, b.delay, b.session, b.timestamp)
            );
            prop_assert_eq!(original.deps(NodeId(i)), read.deps(NodeId(i)));
            prop_assert_eq!(
                original.prompt_blocks(NodeId(i), 16),
                read.prompt_blocks(NodeId(i), 16)
            );
        }
    }
}
