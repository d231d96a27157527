//! Writes a workload as Mooncake JSONL, so generated traces can be replayed by servesim, by
//! the reference, or by anything else that reads the format.

use std::io::Write;

use serde::Serialize;

use crate::error::TraceError;
use crate::workload::{NodeId, Workload};

/// Which Mooncake dialect [`write_mooncake`] produced.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WrittenFormat {
    /// Plain Mooncake: every row carries its whole prompt.
    Mooncake,
    /// At least one turn extends its predecessor's context: rows of later turns carry only
    /// their new input; read the file with `--trace-format mooncake-delta`.
    MooncakeDelta,
}

#[derive(Serialize)]
struct Row<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<serde_json::Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay: Option<serde_json::Number>,
    input_length: u32,
    output_length: u32,
    hash_ids: &'a [u64],
}

/// Milliseconds as a JSON number: an integer when whole, else a decimal.
fn millis(us: u64) -> Option<serde_json::Number> {
    if us.is_multiple_of(1000) {
        Some(serde_json::Number::from(us / 1000))
    } else {
        serde_json::Number::from_f64(us as f64 / 1000.0)
    }
}

/// Writes one JSON row per request. Multi-turn sessions get a `session_id` (`s<N>`) and
/// later turns a `delay`. Fails if a request has no trace blocks (e.g. Azure prompts).
pub fn write_mooncake(
    workload: &Workload,
    out: &mut impl Write,
) -> Result<WrittenFormat, TraceError> {
    let multi_turn = workload.num_sessions() as usize != workload.len();
    let mut format = WrittenFormat::Mooncake;
    let io = |source| TraceError::Io {
        path: "output".to_owned(),
        source,
    };
    for (i, node) in workload.nodes().iter().enumerate() {
        let id = NodeId(i as u32);
        let hash_ids = workload.own_hash_ids(id);
        if hash_ids.is_empty() {
            return Err(TraceError::Spec(format!(
                "request {} has no trace blocks and cannot be written as Mooncake JSONL",
                node.line
            )));
        }
        let own_tokens = if workload.extends_base(id) {
            format = WrittenFormat::MooncakeDelta;
            workload.own_tokens(id)
        } else {
            node.input_tokens
        };
        let row = Row {
            session_id: multi_turn.then(|| format!("s{}", node.session)),
            timestamp: node.timestamp.and_then(|t| millis(t.as_micros())),
            delay: (!workload.deps(id).is_empty())
                .then(|| millis(node.delay.as_micros()))
                .flatten(),
            input_length: own_tokens,
            output_length: node.output_tokens,
            hash_ids,
        };
        serde_json::to_writer(&mut *out, &row).map_err(|e| io(e.into()))?;
        out.write_all(b"\n").map_err(io)?;
    }
    Ok(format)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{ReadOptions, TraceFormat, parse_trace};
    use crate::synth::{DelayDist, LengthDist, SyntheticSpec};

    #[test]
    fn round_trip_through_the_reader() {
        for turns in [1, 3] {
            let spec = SyntheticSpec {
                sessions: 20,
                turns_per_session: turns,
                input: LengthDist::Fixed(300),
                inter_turn_delay: DelayDist::Constant(12.5),
                arrival: crate::synth::ArrivalProcess::Poisson(3.0),
                block_size: 64,
                ..SyntheticSpec::default()
            };
            let original = spec.generate().unwrap();
            let mut bytes = Vec::new();
            let format = write_mooncake(&original, &mut bytes).unwrap();
            let read_as = match format {
                WrittenFormat::Mooncake => TraceFormat::Mooncake,
                WrittenFormat::MooncakeDelta => TraceFormat::MooncakeDelta,
            };
            assert_eq!(read_as == TraceFormat::MooncakeDelta, turns > 1);
            let options = ReadOptions {
                format: read_as,
                trace_block_size: 64,
                skip_invalid: false,
            };
            let read = parse_trace(bytes.as_slice(), "gen", &options)
                .unwrap()
                .workload;
            assert_eq!(read.len(), original.len());
            for i in 0..read.len() {
                let (a, b) = (original.node(NodeId(i as u32)), read.node(NodeId(i as u32)));
                assert_eq!(
                    (a.input_tokens, a.output_tokens, a.delay, a.session),
                    (b.input_tokens, b.output_tokens, b.delay, b.session)
                );
                assert_eq!(
                    original.prompt_blocks(NodeId(i as u32), 16),
                    read.prompt_blocks(NodeId(i as u32), 16)
                );
            }
        }
    }
}
