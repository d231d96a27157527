//! What a replay returns: metrics, counts, per-pool and per-worker summaries.

use serde::Serialize;
use servesim_trace::SimTime;

use crate::collector::Collector;
use crate::distribution::Distribution;
use crate::metrics::Metrics;
use crate::planning::PlanningSummary;

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

/// The role of a pool of workers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    /// Workers that prefill and decode.
    Aggregated,
    /// Workers that only prefill.
    Prefill,
    /// Workers that only decode.
    Decode,
}

/// Per-worker results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkerSummary {
    /// Worker id within its pool.
    pub id: u32,
    /// Requests routed to the worker.
    pub requests: u64,
    /// Prompt tokens of those requests.
    pub input_tokens: u64,
    /// Prompt tokens the worker already held in cache (computed-prefix hits; on decode
    /// workers, blocks that did not need transferring).
    pub reused_tokens: u64,
    /// `reused_tokens / input_tokens`.
    pub prefix_hit_rate: f64,
    /// Speculative decoding: output tokens per burst on the worker (absent without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_accept_length: Option<f64>,
}

/// Per-pool results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoolSummary {
    /// The pool's role.
    pub kind: PoolKind,
    /// Its router.
    pub router: &'static str,
    /// Its workers.
    pub workers: Vec<WorkerSummary>,
    /// Requests the router held back because every worker was busy.
    pub queued_requests: u64,
    /// Time from routing to dispatch, over every request through the pool (ms).
    pub queue_time_ms: Distribution,
}

/// KV transfers of a disaggregated replay.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransferSummary {
    /// Transfers completed.
    pub transfers: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// KV bytes per token used.
    pub kv_bytes_per_token: u64,
    /// Link bandwidth used (GB/s).
    pub bandwidth_gbps: f64,
    /// Transfer durations (ms), including time sharing a link.
    pub time_ms: Distribution,
}

/// Speculative decoding (MTP) over a replay, as measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpeculativeSummary {
    /// Draft tokens per decode step.
    pub nextn: u32,
    /// Conditional acceptance probability of each draft.
    pub accept_rates: Vec<f64>,
    /// Tokens per decode step far from a request's end: `1 + p₁ + p₁·p₂ + …`.
    pub expected_accept_length: f64,
    /// Output tokens per burst (every pass emitting tokens for a request is one burst of that
    /// request, the prompt's first token included) — what the planner discounts ITL by.
    pub mean_accept_length: f64,
    /// Output tokens emitted by the workers using speculative decoding.
    pub output_tokens: u64,
    /// Bursts that carried them.
    pub bursts: u64,
}

/// The result of a replay.
#[derive(Debug)]
pub struct ReplayOutcome {
    /// Every report metric.
    pub metrics: Metrics,
    /// Event counts.
    pub counts: EventCounts,
    /// Per-pool and per-worker results.
    pub pools: Vec<PoolSummary>,
    /// KV transfers (disaggregated replays only).
    pub transfers: Option<TransferSummary>,
    /// What the scaling policy did (replays with a planner only).
    pub planning: Option<PlanningSummary>,
    /// Speculative decoding (replays whose engines use it only).
    pub speculative: Option<SpeculativeSummary>,
    /// Simulated time when the last event happened.
    pub end_time: SimTime,
    /// Per-request records and the gap histogram.
    pub collector: Collector,
}
