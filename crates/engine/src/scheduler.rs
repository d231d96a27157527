//! The seam between an engine core and whatever drives it.

use std::num::NonZeroU32;

use servesim_trace::{BlockHash, SimTime};

use crate::config::{EngineConfig, EngineType};
use crate::error::EngineError;
use crate::fpm::ForwardPassMetrics;
use crate::kv::KvUsage;
use crate::output::{PassOutput, SignalKind};
use crate::request::EngineRequest;
use crate::sglang::SglangScheduler;
use crate::vllm::VllmScheduler;

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

impl Scheduler for VllmScheduler {
    fn enqueue(&mut self, request: EngineRequest) -> Result<(), EngineError> {
        VllmScheduler::enqueue(self, request)
    }
    fn has_work(&self) -> bool {
        VllmScheduler::has_work(self)
    }
    fn step(&mut self, now: SimTime, out: &mut PassOutput) -> Option<SimTime> {
        VllmScheduler::step(self, now, out)
    }
    fn run_until(
        &mut self,
        now: SimTime,
        horizon: SimTime,
        out: &mut PassOutput,
    ) -> Option<SimTime> {
        VllmScheduler::run_until(self, now, horizon, out)
    }
    fn in_flight(&self) -> usize {
        VllmScheduler::in_flight(self)
    }
    fn running(&self) -> usize {
        VllmScheduler::running(self)
    }
    fn waiting(&self) -> usize {
        VllmScheduler::waiting(self)
    }
    fn kv_usage(&self) -> KvUsage {
        VllmScheduler::kv_usage(self)
    }
    fn record_kv_events(&mut self, stride: Option<NonZeroU32>) {
        VllmScheduler::record_kv_events(self, stride);
    }
    fn last_metrics(&self) -> &ForwardPassMetrics {
        VllmScheduler::last_metrics(self)
    }
    fn config(&self) -> &EngineConfig {
        VllmScheduler::config(self)
    }
    fn cached_prefix_blocks(&self, hashes: &[BlockHash]) -> usize {
        VllmScheduler::cached_prefix_blocks(self, hashes)
    }
}

/// Runs `step` back to back from `now` while every pass produced nothing but second tokens,
/// ended before `horizon` and leaves `may_continue` true: the common core of both engines'
/// [`Scheduler::run_until`]. Returns the end of the last pass (`None` if none ran).
pub(crate) fn chain_passes<E>(
    engine: &mut E,
    now: SimTime,
    horizon: SimTime,
    out: &mut PassOutput,
    step: impl Fn(&mut E, SimTime, &mut PassOutput) -> Option<SimTime>,
    may_continue: impl Fn(&E) -> bool,
) -> Option<SimTime> {
    let mut end = step(engine, now, out)?;
    let mut seen = 0;
    loop {
        let settled = out.signals[seen..]
            .iter()
            .all(|s| s.kind == SignalKind::SecondToken);
        seen = out.signals.len();
        if !settled || end >= horizon || !may_continue(engine) {
            return Some(end);
        }
        match step(engine, end, out) {
            Some(next) => end = next,
            None => return Some(end),
        }
    }
}

/// Builds the engine core a configuration asks for (`engine_type`).
pub fn new_engine(config: EngineConfig) -> Box<dyn Scheduler> {
    match config.engine_type {
        EngineType::Vllm => Box::new(VllmScheduler::new(config)),
        EngineType::Sglang => Box::new(SglangScheduler::new(config)),
    }
}
