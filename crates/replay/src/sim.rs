//! The event loop.
//!
//! One clock, one ordered set of pending events. At each instant, in this order:
//!
//! 1. passes ending now deliver their effects (tokens, completions — which may make
//!    dependent requests ready — and router lifecycle updates);
//! 2. requests held by the router that can now go are dispatched;
//! 3. requests ready now arrive and are routed;
//! 4. idle workers with work start their next pass(es).
//!
//! A worker may run several decode passes in one call ([`Scheduler::run_until`]) up to a
//! *horizon*: the next instant anything could change it. Without couplings between
//! workers (no request dependencies, no closed loop, no router queue) that is the next
//! arrival; otherwise it is also the next pass end of any other worker.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use servesim_engine::{EngineRequest, PassOutput, RequestId, Scheduler, SignalKind, new_engine};
use servesim_router::{RoundRobin, RouteRequest, Routed, Router, WorkerId};
use servesim_trace::{NodeId, SimTime, Workload};

use crate::admission::{Admission, AdmissionMode};
use crate::collector::{Collector, RequestRecord};
use crate::config::{ReplayConfig, RouterMode};
use crate::error::ReplayError;
use crate::{EventCounts, ReplayOutcome, WorkerSummary};

/// Receives progress and per-request results while a replay runs.
pub trait Observer {
    /// Called periodically with the simulated time and the requests completed so far.
    fn progress(&mut self, now: SimTime, completed: usize, total: usize) {
        let _ = (now, completed, total);
    }
    /// Called once per request when it completes.
    fn request_done(&mut self, record: &RequestRecord) {
        let _ = record;
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}

struct Worker {
    id: WorkerId,
    engine: Box<dyn Scheduler>,
    busy: bool,
    pending: PassOutput,
    requests: u64,
}

struct Sim<'w, 'o> {
    workload: &'w Workload,
    block_size: u32,
    workers: Vec<Worker>,
    router: Box<dyn Router>,
    admission: Admission,
    collector: Collector,
    pass_ends: BinaryHeap<Reverse<(SimTime, u64, u32)>>,
    event_seq: u64,
    held: BTreeMap<u64, EngineRequest>,
    to_drive: Vec<u32>,
    coupled: bool,
    counts: EventCounts,
    completed: usize,
    observer: &'o mut dyn Observer,
}

/// Replays `workload` through the cluster `config` describes.
///
/// ```
/// use servesim_engine::EngineArgs;
/// use servesim_replay::{replay, AdmissionMode, NoObserver, ReplayConfig, RouterMode};
/// use servesim_trace::synth::{ArrivalProcess, LengthDist, SyntheticSpec};
///
/// let workload = SyntheticSpec {
///     sessions: 20,
///     input: LengthDist::Fixed(1000),
///     output: LengthDist::Fixed(50),
///     arrival: ArrivalProcess::Interval(100.0),
///     ..SyntheticSpec::default()
/// }
/// .generate()?;
/// let config = ReplayConfig {
///     num_workers: 2,
///     engine: EngineArgs::default().resolve()?,
///     router_mode: RouterMode::RoundRobin,
///     admission: AdmissionMode::Trace,
///     seed: 42,
/// };
/// let outcome = replay(&workload, &config, &mut NoObserver)?;
/// assert_eq!(outcome.metrics.completed_requests, 20);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn replay(
    workload: &Workload,
    config: &ReplayConfig,
    observer: &mut dyn Observer,
) -> Result<ReplayOutcome, ReplayError> {
    config.validate()?;
    if config.admission == AdmissionMode::Trace
        && let Some(node) = workload.first_root_without_timestamp()
    {
        return Err(ReplayError::Workload {
            line: node.line,
            message: "field `timestamp`: required on the first turn of a session for trace-mode replay (or replay closed-loop with --replay-concurrency)".to_owned(),
        });
    }
    let mut router: Box<dyn Router> = match config.router_mode {
        RouterMode::RoundRobin => Box::new(RoundRobin::default()),
        RouterMode::KvRouter => {
            return Err(ReplayError::Config(
                "--router-mode kv_router is not available in this build yet".to_owned(),
            ));
        }
    };
    let mut workers = Vec::with_capacity(config.num_workers as usize);
    for i in 0..config.num_workers {
        let mut engine = new_engine(config.engine.clone());
        engine.record_kv_events(router.wants_kv_events());
        router.add_worker(WorkerId(i), SimTime::ZERO);
        workers.push(Worker {
            id: WorkerId(i),
            engine,
            busy: false,
            pending: PassOutput::default(),
            requests: 0,
        });
    }
    let has_dependencies = (0..workload.len()).any(|i| !workload.deps(NodeId(i as u32)).is_empty());
    let coupled = has_dependencies
        || matches!(config.admission, AdmissionMode::Concurrency(_))
        || router.may_queue();
    let mut sim = Sim {
        workload,
        block_size: config.engine.block_size,
        workers,
        router,
        admission: Admission::new(workload, config.admission),
        collector: Collector::new(workload.len()),
        pass_ends: BinaryHeap::new(),
        event_seq: 0,
        held: BTreeMap::new(),
        to_drive: Vec::new(),
        coupled,
        counts: EventCounts::default(),
        completed: 0,
        observer,
    };
    let end = sim.run()?;
    let workers = sim
        .workers
        .iter()
        .map(|w| WorkerSummary {
            id: w.id.0,
            requests: w.requests,
        })
        .collect();
    Ok(ReplayOutcome {
        metrics: crate::Metrics::from_collector(&sim.collector),
        counts: sim.counts,
        workers,
        end_time: end,
        collector: sim.collector,
    })
}

impl Sim<'_, '_> {
    fn run(&mut self) -> Result<SimTime, ReplayError> {
        let mut now = SimTime::ZERO;
        let mut iterations = 0u64;
        loop {
            self.deliver_pass_ends(now);
            self.dispatch_held(now)?;
            while let Some((node, arrival)) = self.admission.pop_ready(self.workload, now) {
                self.dispatch(node, arrival, now)?;
            }
            self.drive(now);
            iterations += 1;
            if iterations.is_multiple_of(4096) {
                self.observer
                    .progress(now, self.completed, self.workload.len());
            }
            let next_end = self.pass_ends.peek().map(|Reverse((t, ..))| *t);
            let next_arrival = self.admission.next_time(self.workload);
            let next = match (next_end, next_arrival) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match next {
                Some(t) => now = t.max(now),
                None if self.admission.in_flight() > 0 => {
                    return Err(ReplayError::DeadEnd {
                        at: now,
                        in_flight: self.admission.in_flight(),
                    });
                }
                None => break,
            }
        }
        self.observer
            .progress(now, self.completed, self.workload.len());
        Ok(now)
    }

    /// Delivers the effects of every pass ending at `now`.
    fn deliver_pass_ends(&mut self, now: SimTime) {
        while let Some(&Reverse((t, _, w))) = self.pass_ends.peek() {
            if t > now {
                break;
            }
            self.pass_ends.pop();
            let mut out = std::mem::take(&mut self.workers[w as usize].pending);
            for signal in &out.signals {
                self.apply_signal(signal.request, signal.at, signal.kind);
            }
            for run in &out.token_runs {
                self.collector.add_gaps(run.gap, run.count);
            }
            out.clear();
            let worker = &mut self.workers[w as usize];
            worker.pending = out;
            worker.busy = false;
            self.to_drive.push(w);
        }
    }

    fn apply_signal(&mut self, request: RequestId, at: SimTime, kind: SignalKind) {
        let record = self.collector.record_mut(request.0);
        match kind {
            SignalKind::FirstToken => {
                record.first_token = Some(at);
                self.router.on_first_token(request, at);
            }
            SignalKind::SecondToken => record.second_token = Some(at),
            SignalKind::Completed {
                reused_tokens,
                preemptions,
            } => {
                record.completed = Some(at);
                record.reused_tokens = reused_tokens;
                record.preemptions = preemptions;
                let done = *record;
                self.router.on_finished(request, at);
                self.admission
                    .on_complete(self.workload, NodeId(request.0 as u32), at);
                self.completed += 1;
                self.counts.completions += 1;
                self.observer.request_done(&done);
            }
            SignalKind::Preempted => self.counts.preemptions += 1,
            SignalKind::PrefillDone { .. } => {}
        }
    }

    /// Routes a request that just became ready.
    fn dispatch(
        &mut self,
        node: NodeId,
        arrival: SimTime,
        now: SimTime,
    ) -> Result<(), ReplayError> {
        let spec = self.workload.node(node);
        let id = u64::from(node.0);
        *self.collector.record_mut(id) = RequestRecord {
            id,
            arrival,
            input_tokens: spec.input_tokens,
            output_tokens: spec.output_tokens,
            ..RequestRecord::default()
        };
        self.counts.arrivals += 1;
        let prompt = self.workload.prompt_blocks(node, self.block_size);
        let request =
            EngineRequest::new(RequestId(id), spec.input_tokens, spec.output_tokens, prompt);
        let route = RouteRequest {
            id: request.id,
            input_tokens: request.input_tokens,
            output_tokens: request.output_tokens,
            block_hashes: &request.prompt_hashes,
        };
        match self.router.route(&route, now) {
            Routed::To(worker) => self.enqueue(worker, request),
            Routed::Queued => {
                self.held.insert(id, request);
                Ok(())
            }
        }
    }

    /// Dispatches requests the router releases.
    fn dispatch_held(&mut self, now: SimTime) -> Result<(), ReplayError> {
        while let Some((request, worker)) = self.router.pop_dispatch(now) {
            if let Some(held) = self.held.remove(&request.0) {
                self.enqueue(worker, held)?;
            }
        }
        Ok(())
    }

    fn enqueue(&mut self, worker: WorkerId, request: EngineRequest) -> Result<(), ReplayError> {
        let id = request.id.0;
        let line = self.workload.node(NodeId(id as u32)).line;
        let w = &mut self.workers[worker.0 as usize];
        w.engine
            .enqueue(request)
            .map_err(|source| ReplayError::Unservable { line, source })?;
        w.requests += 1;
        self.collector.record_mut(id).worker = worker.0;
        self.to_drive.push(worker.0);
        Ok(())
    }

    /// Starts passes on idle workers that have work.
    fn drive(&mut self, now: SimTime) {
        self.to_drive.sort_unstable();
        self.to_drive.dedup();
        let candidates = std::mem::take(&mut self.to_drive);
        let drivers: Vec<u32> = candidates
            .into_iter()
            .filter(|&w| {
                let worker = &self.workers[w as usize];
                !worker.busy && worker.engine.has_work()
            })
            .collect();
        // With couplings, a worker may only run ahead to the next pass end of the others —
        // which is known only if no other worker starts at this same instant.
        let fast = !self.coupled || drivers.len() == 1;
        let mut horizon = self
            .admission
            .next_time(self.workload)
            .unwrap_or(SimTime::MAX);
        if self.coupled
            && let Some(Reverse((t, ..))) = self.pass_ends.peek()
        {
            horizon = horizon.min(*t);
        }
        for w in drivers {
            let worker = &mut self.workers[w as usize];
            let out = &mut worker.pending;
            out.clear();
            let end = if fast {
                worker.engine.run_until(now, horizon, out)
            } else {
                worker.engine.step(now, out)
            };
            self.counts.engine_calls += 1;
            let Some(end) = end else {
                // Nothing schedulable: retry at the next instant something happens.
                self.to_drive.push(w);
                continue;
            };
            self.counts.passes += out.passes;
            if !out.kv_events.is_empty() {
                self.router.on_kv_events(worker.id, &out.kv_events, now);
            }
            worker.busy = true;
            self.event_seq += 1;
            self.pass_ends.push(Reverse((end, self.event_seq, w)));
        }
    }
}
