//! The servesim replay harness.
//!
//! [`replay`] runs a [`Workload`](servesim_trace::Workload) through a simulated cluster —
//! admission (open-loop trace timestamps, closed-loop concurrency, session and DAG
//! dependencies), a router, and one engine core per worker — on one integer-microsecond
//! clock, and returns the metrics users of `python -m dynamo.replay` expect (TTFT, TTST,
//! TPOT, ITL, E2E, throughputs, prefix reuse) plus event counts.
//!
//! Everything is deterministic: the same workload, configuration and seed give identical
//! results. Memory is one small record per request plus a histogram of distinct
//! inter-token gaps — never per-token data. [`replay_stream`] replays a trace read chunk by
//! chunk ([`TraceStream`](servesim_trace::TraceStream)) and holds only the requests in
//! flight, with the same metrics.

mod admission;
mod collector;
mod config;
mod custom;
mod distribution;
mod error;
mod metrics;
mod outcome;
pub mod plan_eval;
mod planning;
mod record;
pub mod report;
mod requests;
mod sample;
mod sim;
pub mod sweep;
mod transfer;
pub mod validate;

pub use admission::AdmissionMode;
pub use collector::Collector;
pub use config::{ReplayConfig, RouterMode, Topology, TransferConfig};
pub use custom::{CustomPolicy, CustomRouter};
pub use distribution::{Distribution, STATS};
pub use error::ReplayError;
pub use metrics::{Metrics, MetricsAccumulator, SlaAttainment};
pub use outcome::{
    EventCounts, PoolKind, PoolSummary, ReplayOutcome, SpeculativeSummary, TransferSummary,
    WorkerSummary,
};
pub use planning::{PlanningConfig, PlanningSummary, ScalingEvent};
pub use record::RequestRecord;
pub use requests::ChunkSource;
pub use sample::{BIN_RATIO, Sample};
pub use sim::{NoObserver, Observer, replay, replay_stream};
