//! Workloads for servesim.
//!
//! Everything in servesim starts from a [`Workload`]: requests with prompt and output lengths,
//! arrival times or dependencies (conversation turns, agentic DAGs), and a description of
//! their prompt content from which KV-block hashes are derived.
//!
//! * [`read_trace`] reads Mooncake JSONL (plain, `mooncake-delta`, `agentic_mooncake`) and the
//!   Azure CSV, line by line, with errors naming file, line and field.
//! * [`TraceStream`] reads a time-ordered trace chunk by chunk, for replays whose memory
//!   must not grow with the trace.
//! * [`synth`] generates seeded synthetic workloads and rate-shaped traces.
//! * [`Workload::prompt_blocks`] expands a prompt into chained engine-block hashes for any
//!   engine block size, without materialising tokens.
//! * [`TraceStats`] summarises a workload; [`write_mooncake`] writes one back as JSONL.
//!
//! The crate also owns the plain-data types shared by the whole simulator: [`SimTime`]
//! (integer microseconds) and [`BlockHash`].
//!
//! ```
//! use servesim_trace::{parse_trace, ReadOptions, NodeId};
//! let text = r#"{"timestamp": 0, "input_length": 700, "output_length": 3, "hash_ids": [7, 8]}"#;
//! let trace = parse_trace(text.as_bytes(), "inline", &ReadOptions::default())?;
//! let blocks = trace.workload.prompt_blocks(NodeId(0), 64);
//! assert_eq!(blocks.hashes.len(), 10); // 700 tokens = 10 full 64-token blocks + 60
//! # Ok::<(), servesim_trace::TraceError>(())
//! ```

mod error;
mod format;
mod hash;
mod named;
mod sharing;
pub mod stats;
pub mod synth;
mod time;
mod workload;
mod writer;

pub use error::{LineError, TraceError};
pub use format::{
    LoadedTrace, ReadOptions, SkippedLines, StreamOptions, TraceFormat, TraceStream, parse_trace,
    read_trace,
};
pub use hash::{BlockHash, BlockHashHasher, BlockHasher, BlockMap, content_id};
pub use named::{deserialize_named, json_named};
pub use sharing::{Sharing, StreamSharing};
pub use stats::TraceStats;
pub use time::SimTime;
pub use workload::{
    Content, Dependants, MAX_REQUESTS, MAX_TRACE_BLOCKS, NodeId, NodeSpec, PromptBlocks,
    RequestNode, Workload, WorkloadBuilder,
};
pub use writer::{WrittenFormat, write_mooncake};
