//! Trace file formats: which ones exist, reading options, and the parser each format uses.
//!
//! | format | file | what a row is |
//! |---|---|---|
//! | [`TraceFormat::Mooncake`] | JSONL | one request; rows sharing `session_id` are turns of a conversation |
//! | [`TraceFormat::MooncakeDelta`] | JSONL | as Mooncake, but a later turn carries only its new input; the prompt accumulates |
//! | [`TraceFormat::AgenticMooncake`] | JSONL | one node of a request DAG (`request_id`, `wait_for`) |
//! | [`TraceFormat::AppliedComputeAgentic`] | JSONL | one agent session: `num_turns + 1` requests with cumulative context |
//! | [`TraceFormat::Weka`] | JSONL, `.json` or a directory | one recorded agent run, subagents nested |
//! | [`TraceFormat::Azure`] | CSV | `TIMESTAMP,ContextTokens,GeneratedTokens`; no prefix information |
//!
//! Files are read line by line; memory holds only the compact [`Workload`].

mod agentic;
mod applied_compute;
mod azure;
pub(crate) mod json_row;
mod lines;
mod mooncake;
mod stream;
mod weka;

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::str::FromStr;

pub use self::lines::SkippedLines;
pub use self::stream::{StreamOptions, TraceStream};

use self::lines::LineReader;
use crate::error::TraceError;
use crate::workload::Workload;

/// The trace formats servesim reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum TraceFormat {
    /// Mooncake JSONL, the format of the reference (`python -m dynamo.replay`).
    #[default]
    Mooncake,
    /// Mooncake JSONL whose follow-up turns carry only the new input.
    MooncakeDelta,
    /// Agentic Mooncake JSONL: a DAG of requests joined by `wait_for`.
    AgenticMooncake,
    /// The Azure LLM inference trace CSV (2023 and 2024 releases).
    Azure,
    /// Applied Compute's agentic JSONL: one row is a whole tool-calling session.
    AppliedComputeAgentic,
    /// Weka agentic traces (SemiAnalysis AgentX corpora): one row is a recorded agent run.
    Weka,
}

impl TraceFormat {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [TraceFormat; 6] = [
        TraceFormat::Mooncake,
        TraceFormat::MooncakeDelta,
        TraceFormat::AgenticMooncake,
        TraceFormat::AppliedComputeAgentic,
        TraceFormat::Weka,
        TraceFormat::Azure,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Mooncake => "mooncake",
            TraceFormat::MooncakeDelta => "mooncake-delta",
            TraceFormat::AgenticMooncake => "agentic_mooncake",
            TraceFormat::Azure => "azure",
            TraceFormat::AppliedComputeAgentic => "applied_compute_agentic",
            TraceFormat::Weka => "weka",
        }
    }

    /// The format to use for `path` when none is given: `azure` for `.csv`, else `mooncake`.
    pub fn detect(path: &Path) -> TraceFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => TraceFormat::Azure,
            _ => TraceFormat::Mooncake,
        }
    }
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TraceFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let normalized = s.replace('_', "-");
        TraceFormat::ALL
            .into_iter()
            .find(|f| f.name().replace('_', "-") == normalized)
            .ok_or_else(|| {
                let names: Vec<_> = TraceFormat::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown trace format `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// How to read a trace file.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// The file format.
    pub format: TraceFormat,
    /// Tokens per trace `hash_id` (`--trace-block-size`, default 512); Weka traces carry
    /// their own.
    pub trace_block_size: u32,
    /// Skip invalid lines (counting them) instead of failing on the first one.
    pub skip_invalid: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: TraceFormat::Mooncake,
            trace_block_size: 512,
            skip_invalid: false,
        }
    }
}

/// A trace read into memory.
#[derive(Clone, Debug)]
pub struct LoadedTrace {
    /// The requests.
    pub workload: Workload,
    /// Lines skipped because they were invalid (only with `skip_invalid`).
    pub skipped: SkippedLines,
}

/// Reads a trace file.
///
/// ```no_run
/// use servesim_trace::{read_trace, ReadOptions};
/// let trace = read_trace("trace.jsonl".as_ref(), &ReadOptions::default())?;
/// println!("{} requests", trace.workload.len());
/// # Ok::<(), servesim_trace::TraceError>(())
/// ```
pub fn read_trace(path: &Path, options: &ReadOptions) -> Result<LoadedTrace, TraceError> {
    let name = path.display().to_string();
    if options.format == TraceFormat::Weka {
        let (workload, skipped) = weka::read_path(path, options.skip_invalid)?;
        return non_empty(workload, skipped, &name);
    }
    let file = File::open(path).map_err(|source| TraceError::Io {
        path: name.clone(),
        source,
    })?;
    parse_trace(BufReader::with_capacity(1 << 16, file), &name, options)
}

/// Parses a trace from any buffered reader; `name` appears in error messages.
pub fn parse_trace(
    reader: impl BufRead,
    name: &str,
    options: &ReadOptions,
) -> Result<LoadedTrace, TraceError> {
    if options.trace_block_size == 0 {
        return Err(TraceError::Spec("trace block size must be ≥ 1".to_owned()));
    }
    let mut lines = LineReader::new(reader, name, options.skip_invalid);
    let workload = match options.format {
        TraceFormat::Mooncake => mooncake::read(&mut lines, options.trace_block_size, false)?,
        TraceFormat::MooncakeDelta => mooncake::read(&mut lines, options.trace_block_size, true)?,
        TraceFormat::AgenticMooncake => agentic::read(&mut lines, options.trace_block_size)?,
        TraceFormat::Azure => azure::read(&mut lines, options.trace_block_size)?,
        TraceFormat::AppliedComputeAgentic => {
            applied_compute::read(&mut lines, options.trace_block_size)?
        }
        TraceFormat::Weka => weka::read(&mut lines)?,
    };
    non_empty(workload, lines.skipped, name)
}

/// The loaded trace, or an error when no request is left.
fn non_empty(
    workload: Workload,
    skipped: SkippedLines,
    name: &str,
) -> Result<LoadedTrace, TraceError> {
    if workload.is_empty() {
        let message = if skipped.count > 0 {
            format!("no valid request ({} invalid lines skipped)", skipped.count)
        } else {
            "trace is empty: no request found".to_owned()
        };
        return Err(TraceError::File {
            path: name.to_owned(),
            message,
        });
    }
    Ok(LoadedTrace { workload, skipped })
}
