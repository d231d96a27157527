//! Engine arguments: the reference's `--extra-engine-args` JSON keys, defaults and rules.
//!
//! [`EngineArgs`] is what users write (every key optional, unknown keys rejected);
//! [`EngineArgs::resolve`] validates it into an [`EngineConfig`] with every default applied.
//!
//! * `kinds` — the enumerated keys (engine type, worker type, preemption, timing model);
//! * `args` — the keys as written and what they mean before resolution;
//! * `sglang` — the `sglang` object;
//! * `perf` — the timing model and deployment the `aic_*` keys select;
//! * `capacity` — KV capacity when `num_gpu_blocks` is not given;
//! * `resolve` — validation and cross-key defaults, producing an [`EngineConfig`].

mod args;
mod capacity;
mod engine_config;
mod kinds;
mod perf;
mod resolve;
mod sglang;
#[cfg(test)]
mod tests;

pub use args::EngineArgs;
pub use engine_config::EngineConfig;
pub use kinds::{EngineType, PerfModelKind, PreemptionMode, WorkerType};
pub use sglang::{SchedulePolicy, SglangArgs, SglangConfig};
