//! What a planner observes at a tick: a live planner's view of the deployment.

use serde::Serialize;

/// A pool the planner scales.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// The prefill pool (disaggregated).
    Prefill,
    /// The decode pool (disaggregated), or the only pool of an aggregated deployment.
    Decode,
}

/// One forward pass of one engine, as published by a live engine (the subset of the
/// forward-pass metrics the planner uses).
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct EngineSample {
    /// Requests that computed prompt tokens in the pass.
    pub num_prefill_requests: f64,
    /// Prompt tokens computed in the pass.
    pub sum_prefill_tokens: f64,
    /// Sequences that decoded in the pass.
    pub num_decode_requests: f64,
    /// Sum of their KV lengths.
    pub sum_decode_kv_tokens: f64,
    /// Waiting requests that never started.
    pub num_queued_prefill: f64,
    /// Their prompt tokens.
    pub sum_queued_prefill_tokens: f64,
    /// Waiting preempted requests.
    pub num_queued_decode: f64,
    /// Their tokens (KV to rebuild).
    pub sum_queued_decode_kv_tokens: f64,
    /// Duration of the pass, seconds (0 for an idle heartbeat).
    pub wall_time_s: f64,
}

impl EngineSample {
    /// KV tokens the engine is scheduling or must rebuild.
    pub fn decode_kv(&self) -> f64 {
        self.sum_decode_kv_tokens + self.sum_queued_decode_kv_tokens
    }
}

/// Capacity figures of one engine (all replicas of a pool are identical).
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct EngineCaps {
    /// Token budget of one pass.
    pub max_num_batched_tokens: f64,
    /// Most running sequences.
    pub max_num_seqs: f64,
    /// KV capacity in tokens.
    pub max_kv_tokens: f64,
    /// Draft tokens per decode step with speculative decoding (`aic_nextn`; 0 without).
    pub speculative_nextn: u32,
    /// Seconds a new replica takes before it serves (`startup_time`).
    pub startup_time_s: f64,
}

/// The replicas of one pool.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PoolState {
    /// Replicas serving.
    pub ready: u32,
    /// Replicas starting (scaled up, not ready yet).
    pub starting: u32,
    /// Latest sample of every ready replica (an idle replica reports a zero heartbeat).
    pub engines: Vec<EngineSample>,
    /// Every sample published since the previous tick (for the regressions).
    pub new_samples: Vec<EngineSample>,
    /// Requests in flight on the pool (running, waiting, or held by its router).
    pub in_flight: f64,
}

/// Traffic over the window since the planner last looked.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct TrafficWindow {
    /// Window length, seconds (the actual span, not the configured interval).
    pub duration_s: f64,
    /// Requests that **arrived** in the window (offered load).
    pub num_req: f64,
    /// Mean prompt length of those arrivals.
    pub avg_isl: f64,
    /// Mean requested output length of those arrivals.
    pub avg_osl: f64,
    /// Mean TTFT of requests whose first token came in the window, ms.
    pub avg_ttft_ms: f64,
    /// Mean inter-token latency of requests that completed in the window, ms.
    pub avg_itl_ms: f64,
    /// Share of prompt tokens served from prefix caches in the window.
    pub avg_kv_hit_rate: f64,
    /// Output tokens per burst emitted in the window — speculative decoding's accept length
    /// (1 without it; `None` when nothing was emitted).
    pub accept_length: Option<f64>,
}

impl TrafficWindow {
    /// Offered requests per second.
    pub fn rps(&self) -> f64 {
        if self.duration_s > 0.0 {
            self.num_req / self.duration_s
        } else {
            0.0
        }
    }
}

/// Everything a policy sees at one tick.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TickInput {
    /// Simulated time, seconds.
    pub now_s: f64,
    /// The prefill pool (empty in an aggregated deployment).
    pub prefill: PoolState,
    /// The decode pool, or the aggregated pool.
    pub decode: PoolState,
    /// Traffic since the previous drain, when the tick asked for it.
    pub traffic: Option<TrafficWindow>,
}

impl TickInput {
    /// The state of `component`'s pool.
    pub fn pool(&self, component: Component) -> &PoolState {
        match component {
            Component::Prefill => &self.prefill,
            Component::Decode => &self.decode,
        }
    }
}
