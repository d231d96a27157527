//! Tick-by-tick diagnostics: what the planner saw, estimated and decided.

use serde::Serialize;

use crate::observe::{EngineSample, TrafficWindow};

/// Why load-based scaling did (or did not) change a pool.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadReason {
    /// Every engine is over its target: one replica more.
    ScaleUp,
    /// Every engine is comfortably under its target: one replica fewer.
    ScaleDown,
    /// Would scale down, but the throughput lower bound forbids it.
    ScaleDownCappedByThroughput,
    /// servesim rules: fewer replicas are wanted, but not for the whole stabilisation
    /// window yet.
    ScaleDownStabilizing,
    /// Within the band.
    NoChange,
    /// Load scaling is off.
    Disabled,
    /// No engine sample yet.
    NoFpmData,
    /// Replicas are still starting; wait for them.
    ScalingInProgress,
    /// Fewer engine samples than ready replicas.
    WorkerCountMismatch,
    /// The regression is not fitted yet (SLA mode).
    InsufficientData,
}

/// Why throughput-based scaling did (or did not) change a pool.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThroughputReason {
    /// Scaled to the predicted demand.
    Scale,
    /// Set the lower bound load-based scaling must respect.
    SetLowerBound,
    /// servesim rules: the forecast is recorded; load ticks size the pool every tick.
    Forecast,
    /// Throughput scaling is off.
    Disabled,
    /// No traffic observed in the window.
    NoTrafficData,
    /// The regression is not fitted yet.
    ModelNotReady,
    /// The other pool's model is not ready (disaggregated).
    PartnerNotReady,
}

/// The load of one engine, for the diagnostics charts.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct EngineLoad {
    /// Prompt tokens waiting.
    pub queued_prefill_tokens: f64,
    /// KV tokens of preempted requests waiting.
    pub queued_decode_kv: f64,
    /// KV tokens of decoding sequences.
    pub inflight_decode_kv: f64,
}

impl From<&EngineSample> for EngineLoad {
    fn from(s: &EngineSample) -> Self {
        EngineLoad {
            queued_prefill_tokens: s.sum_queued_prefill_tokens,
            queued_decode_kv: s.sum_queued_decode_kv_tokens,
            inflight_decode_kv: s.sum_decode_kv_tokens,
        }
    }
}

/// One pool at one tick.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PoolRecord {
    /// Replicas serving at the tick.
    pub ready: u32,
    /// Replicas starting at the tick.
    pub starting: u32,
    /// Replicas the policy asks for after the tick.
    pub target: u32,
    /// Throughput lower bound in force.
    pub lower_bound: u32,
    /// Load-based decision reason (when load scaling ran at this tick).
    pub load_reason: Option<LoadReason>,
    /// Throughput-based decision reason (when throughput scaling ran at this tick).
    pub throughput_reason: Option<ThroughputReason>,
    /// Highest estimated TTFT over the engines, ms (SLA mode).
    pub estimated_ttft_ms: Option<f64>,
    /// Highest estimated ITL over the engines, ms (SLA mode).
    pub estimated_itl_ms: Option<f64>,
    /// Requests per second one engine sustains (throughput scaling).
    pub engine_rps: Option<f64>,
    /// Per-engine load.
    pub engines: Vec<EngineLoad>,
}

/// Predicted traffic for the next throughput window.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct Prediction {
    /// Requests per second.
    pub rps: f64,
    /// Mean prompt length.
    pub isl: f64,
    /// Mean output length.
    pub osl: f64,
    /// KV hit share.
    pub kv_hit_rate: f64,
}

/// Everything about one tick.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TickRecord {
    /// Simulated time, seconds.
    pub time_s: f64,
    /// Traffic of the window since the previous tick.
    pub observed: Option<TrafficWindow>,
    /// Traffic predicted for the next throughput window (throughput ticks).
    pub predicted: Option<Prediction>,
    /// The prefill pool (disaggregated deployments).
    pub prefill: Option<PoolRecord>,
    /// The decode pool, or the aggregated pool.
    pub decode: PoolRecord,
    /// GPU-hours used so far (filled in by the driver, which knows the lifecycles).
    pub gpu_hours: f64,
}
