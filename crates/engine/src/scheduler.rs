//! The seam between an engine core and whatever drives it.

use std::num::NonZeroU32;

use servesim_trace::{BlockHash, SimTime};

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::fpm::ForwardPassMetrics;
use crate::kv::KvUsage;
use crate::output::PassOutput;
use crate::request::EngineRequest;

/// An engine core: scheduler + KV cache + timing, driven pass by pass by a harness.
///
/// Contract:
/// * the engine never reads a clock: the caller passes `now`, which never decreases;
/// * [`step`](Scheduler::step) runs exactly one pass starting at `now` and returns its end
///   (`≥ now`); its effects ([`PassOutput`]) are stamped with that end and the engine's state
///   is already advanced to it — the caller must not call again before the end;
/// * [`run_until`](Scheduler::run_until) may chain several passes but stops at the first
///   pass end `≥ horizon` and whenever something other components must see at its own time
///   happens (a first token, a completion, a preemption); KV events carry the start time
///   of their pass; its result equals calling `step` at each pass end;
/// * every accepted request eventually produces exactly one terminal signal (`Completed` or,
///   on prefill workers, `PrefillDone`).
pub trait Scheduler: std::fmt::Debug + Send {
    /// Accepts a request into the waiting queue, or explains why it can never be served.
    fn enqueue(&mut self, request: EngineRequest) -> Result<(), EngineError>;
    /// Whether any request is inside the engine.
    fn has_work(&self) -> bool;
    /// Runs one pass; `None` if nothing could be scheduled.
    fn step(&mut self, now: SimTime, out: &mut PassOutput) -> Option<SimTime>;
    /// Runs passes back to back up to `horizon` (see the trait contract).
    fn run_until(
        &mut self,
        now: SimTime,
        horizon: SimTime,
        out: &mut PassOutput,
    ) -> Option<SimTime>;
    /// Requests inside the engine.
    fn in_flight(&self) -> usize;
    /// Running requests.
    fn running(&self) -> usize;
    /// Waiting requests.
    fn waiting(&self) -> usize;
    /// KV block counts.
    fn kv_usage(&self) -> KvUsage;
    /// Starts recording KV events into [`PassOutput::kv_events`] — those of every
    /// `stride`-th block of a sequence, for a router indexing `stride`-block units — or
    /// stops with `None`.
    fn record_kv_events(&mut self, stride: Option<NonZeroU32>);
    /// Metrics of the last pass.
    fn last_metrics(&self) -> &ForwardPassMetrics;
    /// How many leading blocks of `hashes` the KV cache holds (active or cached); e.g. to
    /// transfer only the blocks a decode worker lacks.
    fn cached_prefix_blocks(&self, hashes: &[BlockHash]) -> usize;
    /// The configuration.
    fn config(&self) -> &EngineConfig;
}
