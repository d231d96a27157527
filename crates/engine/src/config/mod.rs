//! Engine arguments: the reference's `--extra-engine-args` JSON keys, defaults and rules.
//!
//! [`EngineArgs`] is what users write (every key optional, unknown keys rejected);
//! [`EngineArgs::resolve`] validates it into an [`EngineConfig`] with every default applied.
//!
//! * `kinds` — the enumerated keys (engine type, worker type, preemption, timing model);
//! * `args` — the keys as written and what they mean before resolution;
//! * `sglang` — the `sglang` object;
//! * `trtllm` — the `trtllm` object;
//! * `perf` — the timing model and deployment the `aic_*` keys select, weight and KV formats;
//! * `defaults` — each backend's limits when the user leaves them to it;
//! * `memory` — each backend's rule for the KV memory it gets on a GPU;
//! * `resolve` — validation and cross-key defaults, producing an [`EngineConfig`].

mod args;
mod defaults;
mod engine_config;
mod kinds;
mod memory;
mod perf;
mod resolve;
mod sglang;
#[cfg(test)]
mod tests;
mod trtllm;

pub use args::EngineArgs;
pub use engine_config::EngineConfig;
pub use kinds::{
    CapacityPolicy, EngineType, KvCacheDtype, Limit, PerfModelKind, PreemptionMode, WeightDtype,
    WorkerType,
};
pub use memory::MemoryPlan;
pub use sglang::{SchedulePolicy, SglangArgs, SglangConfig};
pub use trtllm::{TrtllmArgs, TrtllmConfig};
