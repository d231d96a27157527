//! The summary a replay keeps of one request: its arrival, first, second and last token
//! times, lengths, reused prompt tokens, preemptions and worker.

use serde::Serialize;
use servesim_trace::SimTime;

/// What is known about one request.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// Request id (the workload node index).
    pub id: u64,
    /// Arrival: scheduled time (trace mode) or dispatch time (concurrency mode).
    pub arrival: SimTime,
    /// First output token.
    pub first_token: Option<SimTime>,
    /// Second output token.
    pub second_token: Option<SimTime>,
    /// Last output token (completion).
    pub completed: Option<SimTime>,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
    /// Prompt tokens served from the prefix cache.
    pub reused_tokens: u32,
    /// Times the request was preempted.
    pub preemptions: u32,
    /// Worker that served the request (the decode worker in disaggregated serving).
    pub worker: u32,
}
