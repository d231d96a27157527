//! Simulated LLM engine cores for servesim.
//!
//! An engine core is what runs on one worker: a scheduler deciding, pass by pass, which
//! requests run and how many prompt tokens each computes, a paged KV cache with prefix
//! caching, and a timing model pricing each pass. Engines are pure and synchronous: the
//! caller passes the current simulated time and gets back the pass's end time and effects
//! ([`PassOutput`]); engines never read a clock.
//!
//! * [`Scheduler`] — the trait a harness drives (one pass at a time, or chained decode
//!   passes up to a horizon); [`new_engine`] builds the one a configuration asks for.
//! * [`EngineArgs`] — the reference's engine-args JSON; [`EngineArgs::resolve`] validates it.
//! * [`VllmScheduler`] — vLLM V1-style continuous batching with chunked prefill, prefix
//!   caching and recompute preemption; decode steps cost O(1) whatever the batch size.
//! * [`SglangScheduler`] — SGLang-style scheduling: a radix prefix cache over a paged
//!   token-slot pool, admission budgeted by a decaying `new_token_ratio`, prefill passes
//!   ahead of decode passes, and decode retraction.
//! * [`KvCache`] — reference-counted blocks, LRU pool, prefix lookup, KV events.
//! * [`SpecConfig`] — speculative decoding (MTP): seeded draft acceptance per decode step,
//!   for both schedulers.
//!
//! ```
//! use servesim_engine::{EngineArgs, EngineRequest, PassOutput, RequestId, Scheduler, VllmScheduler};
//! use servesim_trace::{parse_trace, NodeId, ReadOptions, SimTime};
//!
//! let text = r#"{"timestamp": 0, "input_length": 2048, "output_length": 3, "hash_ids": [1, 2, 3, 4]}"#;
//! let workload = parse_trace(text.as_bytes(), "inline", &ReadOptions::default())?.workload;
//! let node = workload.node(NodeId(0));
//! let mut engine = VllmScheduler::new(EngineArgs::default().resolve()?);
//! let prompt = workload.prompt_blocks(NodeId(0), engine.config().block_size);
//! engine.enqueue(EngineRequest::new(RequestId(0), node.input_tokens, node.output_tokens, prompt))?;
//! let mut out = PassOutput::default();
//! let end = engine.step(SimTime::ZERO, &mut out).unwrap();
//! assert_eq!(end, SimTime::from_micros(49_363)); // first token from the prefill pass
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod build;
mod chain;
mod config;
mod error;
mod fpm;
mod kv;
mod output;
mod request;
mod scheduler;
mod sglang;
mod slots;
mod spec;
mod timing;
mod vllm;

pub use build::new_engine;
pub use config::{
    CapacityPolicy, EngineArgs, EngineConfig, EngineType, KvCacheDtype, Limit, MemoryPlan,
    PerfModelKind, PreemptionMode, SchedulePolicy, SglangArgs, SglangConfig, TrtllmArgs,
    TrtllmConfig, WeightDtype, WorkerType,
};
pub use error::EngineError;
pub use fpm::{ForwardPassMetrics, Moments};
pub use kv::{AcquireCost, KvCache, KvEvent, KvUsage, OutOfBlocks, Residency, SeqBlocks};
pub use output::{PassOutput, Signal, SignalKind, TokenRun, TokenTally};
pub use request::{EngineRequest, RequestId};
pub use scheduler::Scheduler;
pub use sglang::{RadixCache, RadixNode, SglangScheduler};
pub use spec::{AcceptRates, DEFAULT_ACCEPT_RATES, MAX_NEXTN, SpecConfig};
pub use timing::PassTiming;
pub use vllm::VllmScheduler;
