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
//! inter-token gaps — never per-token data.

mod admission;
mod collector;
mod config;
mod error;
mod metrics;
pub mod report;
mod sim;

use serde::Serialize;
use servesim_trace::SimTime;

pub use admission::AdmissionMode;
pub use collector::{Collector, RequestRecord};
pub use config::{ReplayConfig, RouterMode};
pub use error::ReplayError;
pub use metrics::{Distribution, Metrics, STATS};
pub use sim::{NoObserver, Observer, replay};

/// How much happened during a replay.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EventCounts {
    /// Requests dispatched.
    pub arrivals: u64,
    /// Requests completed.
    pub completions: u64,
    /// Forward passes simulated (all workers).
    pub passes: u64,
    /// Calls into engines (each runs one or more passes).
    pub engine_calls: u64,
    /// Preemptions.
    pub preemptions: u64,
}

/// Per-worker results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorkerSummary {
    /// Worker id.
    pub id: u32,
    /// Requests routed to the worker.
    pub requests: u64,
}

/// The result of a replay.
#[derive(Debug)]
pub struct ReplayOutcome {
    /// Every report metric.
    pub metrics: Metrics,
    /// Event counts.
    pub counts: EventCounts,
    /// Per-worker results.
    pub workers: Vec<WorkerSummary>,
    /// Simulated time when the last event happened.
    pub end_time: SimTime,
    /// Per-request records and the gap histogram.
    pub collector: Collector,
}
