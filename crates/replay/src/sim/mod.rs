//! The event loop.
//!
//! One clock, one ordered set of pending events. At each instant, in this order:
//!
//! 1. passes ending now deliver their effects (tokens, completions — which may make
//!    dependent requests ready —, router lifecycle updates, prefill hand-offs);
//! 2. timers due now fire: KV transfers finishing, workers becoming ready, planner ticks;
//! 3. requests a router held back and can now release are dispatched;
//! 4. requests ready now arrive and are routed;
//! 5. idle workers with work start their next pass(es).
//!
//! A worker may run several decode passes in one call ([`Scheduler::run_until`]) up to a
//! *horizon*: the next instant anything could change it. Without couplings between workers
//! (no request dependencies, no closed loop, no request held by a router, no
//! disaggregation) that is the next arrival or timer; otherwise it is also the next pass end
//! of any other worker.

mod fleet;
mod tick;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use servesim_engine::{
    EngineConfig, EngineRequest, ForwardPassMetrics, PassOutput, RequestId, Scheduler, SignalKind,
    TokenTally,
};
use servesim_perf::{PassShape, PrefillChunk};
use servesim_planner::observe::Component;
use servesim_router::kv::PrefillEstimator;
use servesim_router::{
    KvRouter, KvRouterConfig, RoundRobin, RouteRequest, Routed, Router, WorkerId,
};
use servesim_trace::{NodeId, SimTime, Workload};

use self::fleet::Lifecycle;
use crate::admission::{Admission, AdmissionMode};
use crate::collector::{Collector, RequestRecord};
use crate::config::{ReplayConfig, RouterMode, Topology, TransferConfig, router_config_error};
use crate::error::ReplayError;
use crate::metrics::Distribution;
use crate::planning::Planning;
use crate::transfer::{Finished, Links, Wakeup};
use crate::{
    EventCounts, PoolKind, PoolSummary, ReplayOutcome, SpeculativeSummary, TransferSummary,
    WorkerSummary,
};

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
    pool: usize,
    local: WorkerId,
    engine: Box<dyn Scheduler>,
    state: Lifecycle,
    busy: bool,
    pending: PassOutput,
    last_fpm: ForwardPassMetrics,
    requests: u64,
    input_tokens: u64,
    reused_tokens: u64,
    /// Output tokens and the bursts that carried them.
    emitted: TokenTally,
}

struct Pool {
    kind: PoolKind,
    engine: EngineConfig,
    router: Box<dyn Router>,
    /// Global worker index of each local worker id.
    workers: Vec<usize>,
    /// Requests the router holds, with the time they were routed.
    held: BTreeMap<u64, (EngineRequest, SimTime)>,
    queue_times_ms: Vec<f64>,
    queued: u64,
    gpus_per_worker: u32,
}

impl Pool {
    /// The planner's name for the pool.
    fn component(&self) -> Component {
        match self.kind {
            PoolKind::Prefill => Component::Prefill,
            PoolKind::Aggregated | PoolKind::Decode => Component::Decode,
        }
    }
}

/// Events other than pass ends, in time order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// A KV link may have finished a transfer.
    Transfer { link: usize, version: u64 },
    /// A started worker becomes ready.
    WorkerReady { worker: usize },
    /// The scaling policy's next tick.
    PlannerTick,
}

struct Disagg {
    links: Links,
    config: TransferConfig,
    /// Decode-side requests waiting for their prefill, then for their transfer.
    decode_requests: BTreeMap<u64, EngineRequest>,
    in_transfer: BTreeMap<u64, (usize, EngineRequest)>,
    times_ms: Vec<f64>,
    bytes: u64,
}

struct Sim<'w, 'o> {
    workload: &'w Workload,
    block_size: u32,
    workers: Vec<Worker>,
    pools: Vec<Pool>,
    disagg: Option<Disagg>,
    planning: Option<Planning>,
    admission: Admission,
    collector: Collector,
    pass_ends: BinaryHeap<Reverse<(SimTime, u64, usize)>>,
    timers: BinaryHeap<Reverse<(SimTime, u64, Timer)>>,
    event_seq: u64,
    to_drive: Vec<usize>,
    coupled: bool,
    counts: EventCounts,
    completed: usize,
    finished_transfers: Vec<Finished>,
    observer: &'o mut dyn Observer,
}

fn make_router(
    mode: RouterMode,
    config: KvRouterConfig,
    engine: &EngineConfig,
    seed: u64,
) -> Result<Box<dyn Router>, ReplayError> {
    Ok(match mode {
        RouterMode::RoundRobin => Box::new(RoundRobin::default()),
        RouterMode::KvRouter => {
            let timing = engine.timing.clone();
            let estimator: PrefillEstimator = Box::new(move |new_tokens, cached| {
                let chunk = [PrefillChunk {
                    new_tokens,
                    context_tokens: cached,
                }];
                timing.pass_time(&PassShape {
                    prefill: &chunk,
                    decode: Default::default(),
                })
            });
            Box::new(
                KvRouter::new(
                    config,
                    engine.block_size,
                    engine.pass_token_budget(),
                    seed,
                    Some(estimator),
                )
                .map_err(router_config_error)?,
            )
        }
    })
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
/// let engine = EngineArgs::default().resolve()?;
/// let config = ReplayConfig::aggregated(2, engine, RouterMode::RoundRobin, AdmissionMode::Trace, 42);
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
    let planning_gpus = config
        .planning
        .as_ref()
        .map(|p| (p.prefill_gpus, p.decode_gpus));
    let pool_specs: Vec<(PoolKind, u32, &EngineConfig, KvRouterConfig, u32)> =
        match &config.topology {
            Topology::Aggregated { workers, engine } => {
                let gpus = planning_gpus.map_or(1, |g| g.1);
                vec![(
                    PoolKind::Aggregated,
                    *workers,
                    engine,
                    config.router_config.clone(),
                    gpus,
                )]
            }
            Topology::Disaggregated {
                prefill_workers,
                prefill,
                decode_workers,
                decode,
                ..
            } => vec![
                (
                    PoolKind::Prefill,
                    *prefill_workers,
                    prefill,
                    config.router_config.for_prefill_pool(),
                    planning_gpus.map_or(1, |g| g.0),
                ),
                (
                    PoolKind::Decode,
                    *decode_workers,
                    decode,
                    config.router_config.for_decode_pool(),
                    planning_gpus.map_or(1, |g| g.1),
                ),
            ],
        };
    let mut pools = Vec::new();
    for (index, (kind, _, engine, router_config, gpus)) in pool_specs.iter().enumerate() {
        let seed = config.seed.wrapping_add(index as u64);
        pools.push(Pool {
            kind: *kind,
            engine: EngineConfig {
                seed,
                ..(*engine).clone()
            },
            router: make_router(config.router_mode, router_config.clone(), engine, seed)?,
            workers: Vec::new(),
            held: BTreeMap::new(),
            queue_times_ms: Vec::new(),
            queued: 0,
            gpus_per_worker: *gpus,
        });
    }
    let disagg = match &config.topology {
        Topology::Disaggregated { transfer, .. } => Some(Disagg {
            links: Links::new(0, transfer.bandwidth_gbps),
            config: *transfer,
            decode_requests: BTreeMap::new(),
            in_transfer: BTreeMap::new(),
            times_ms: Vec::new(),
            bytes: 0,
        }),
        Topology::Aggregated { .. } => None,
    };
    let planning = config.planning.as_ref().map(|p| match &config.topology {
        Topology::Aggregated { engine, .. } => Planning::new(p, None, engine),
        Topology::Disaggregated {
            prefill, decode, ..
        } => Planning::new(p, Some(prefill), decode),
    });
    let has_dependencies = (0..workload.len()).any(|i| !workload.deps(NodeId(i as u32)).is_empty());
    let coupled = has_dependencies
        || matches!(config.admission, AdmissionMode::Concurrency(_))
        || disagg.is_some();
    let mut sim = Sim {
        workload,
        block_size: config.block_size(),
        workers: Vec::new(),
        pools,
        disagg,
        planning,
        admission: Admission::new(workload, config.admission),
        collector: Collector::new(workload.len()),
        pass_ends: BinaryHeap::new(),
        timers: BinaryHeap::new(),
        event_seq: 0,
        to_drive: Vec::new(),
        coupled,
        counts: EventCounts::default(),
        completed: 0,
        finished_transfers: Vec::new(),
        observer,
    };
    for (pool, (_, count, ..)) in pool_specs.iter().enumerate() {
        for _ in 0..*count {
            sim.add_worker(pool, SimTime::ZERO, true);
        }
    }
    if let Some(planning) = &sim.planning {
        let at = planning.next_tick();
        sim.schedule(at, Timer::PlannerTick);
    }
    let end = sim.run()?;
    Ok(sim.outcome(end))
}

fn earliest(times: impl IntoIterator<Item = Option<SimTime>>) -> Option<SimTime> {
    times.into_iter().flatten().min()
}

impl Sim<'_, '_> {
    fn run(&mut self) -> Result<SimTime, ReplayError> {
        let mut now = SimTime::ZERO;
        let mut iterations = 0u64;
        loop {
            self.deliver_pass_ends(now)?;
            self.fire_timers(now)?;
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
            // Work that advances by itself: passes, transfers, worker start-ups, arrivals.
            let progressing = earliest([
                self.pass_ends.peek().map(|Reverse((t, ..))| *t),
                self.timers
                    .iter()
                    .filter(|Reverse((_, _, timer))| *timer != Timer::PlannerTick)
                    .map(|Reverse((t, ..))| *t)
                    .min(),
                self.admission.next_time(self.workload),
            ]);
            let in_flight = self.admission.in_flight();
            let tick = self
                .timers
                .iter()
                .filter(|Reverse((_, _, timer))| *timer == Timer::PlannerTick)
                .map(|Reverse((t, ..))| *t)
                .min();
            // Ticks keep running while work remains; they alone can only help a request a
            // router holds (by adding a worker), never finish one that nothing drives.
            let held = self.pools.iter().any(|p| !p.held.is_empty());
            let next = match (progressing, tick) {
                (Some(p), Some(t)) => Some(p.min(t)),
                (Some(p), None) => Some(p),
                (None, Some(t)) if in_flight > 0 && held => Some(t),
                _ => None,
            };
            match next {
                Some(t) => now = t.max(now),
                None if in_flight > 0 => return Err(ReplayError::DeadEnd { at: now, in_flight }),
                None => break,
            }
        }
        self.observer
            .progress(now, self.completed, self.workload.len());
        Ok(now)
    }

    fn schedule(&mut self, at: SimTime, timer: Timer) {
        self.event_seq += 1;
        self.timers.push(Reverse((at, self.event_seq, timer)));
    }

    fn outcome(self, end: SimTime) -> ReplayOutcome {
        let pools = self
            .pools
            .iter()
            .map(|pool| {
                let workers = pool
                    .workers
                    .iter()
                    .map(|&g| {
                        let w = &self.workers[g];
                        WorkerSummary {
                            id: w.local.0,
                            requests: w.requests,
                            input_tokens: w.input_tokens,
                            reused_tokens: w.reused_tokens,
                            prefix_hit_rate: if w.input_tokens == 0 {
                                0.0
                            } else {
                                w.reused_tokens as f64 / w.input_tokens as f64
                            },
                            mean_accept_length: pool
                                .engine
                                .speculative
                                .as_ref()
                                .and(w.emitted.mean_accept_length()),
                        }
                    })
                    .collect();
                let mut queue_times = pool.queue_times_ms.clone();
                PoolSummary {
                    kind: pool.kind,
                    router: pool.router.name(),
                    workers,
                    queued_requests: pool.queued,
                    queue_time_ms: Distribution::of(&mut queue_times),
                }
            })
            .collect();
        let planning = self.planning_summary(end);
        let speculative = self.speculative_summary();
        let transfers = self.disagg.map(|mut d| TransferSummary {
            transfers: d.times_ms.len() as u64,
            bytes: d.bytes,
            kv_bytes_per_token: d.config.kv_bytes_per_token,
            bandwidth_gbps: d.config.bandwidth_gbps,
            time_ms: Distribution::of(&mut d.times_ms),
        });
        ReplayOutcome {
            metrics: crate::Metrics::from_collector(&self.collector),
            counts: self.counts,
            pools,
            transfers,
            planning,
            speculative,
            end_time: end,
            collector: self.collector,
        }
    }

    /// Speculative decoding over the workers of the pools that use it, if any does.
    fn speculative_summary(&self) -> Option<SpeculativeSummary> {
        let mut spec = None;
        let mut emitted = TokenTally::default();
        for pool in &self.pools {
            let Some(config) = &pool.engine.speculative else {
                continue;
            };
            spec.get_or_insert(config);
            for &w in &pool.workers {
                emitted.merge(self.workers[w].emitted);
            }
        }
        spec.map(|config| SpeculativeSummary {
            nextn: config.nextn,
            accept_rates: config.accept_rates.clone(),
            expected_accept_length: config.expected_tokens_per_step(),
            mean_accept_length: emitted.mean_accept_length().unwrap_or(1.0),
            output_tokens: emitted.tokens,
            bursts: emitted.bursts,
        })
    }

    /// Delivers the effects of every pass ending at `now`.
    fn deliver_pass_ends(&mut self, now: SimTime) -> Result<(), ReplayError> {
        while let Some(&Reverse((t, _, w))) = self.pass_ends.peek() {
            if t > now {
                break;
            }
            self.pass_ends.pop();
            let mut out = std::mem::take(&mut self.workers[w].pending);
            for signal in &out.signals {
                self.apply_signal(w, signal.request, signal.at, signal.kind)?;
            }
            for run in &out.token_runs {
                self.collector.add_gaps(run.gap, run.count);
            }
            let component = self.pools[self.workers[w].pool].component();
            if let Some(planning) = &mut self.planning {
                planning.on_pass(component, &out.fpm);
                planning.on_tokens(out.emitted);
            }
            let worker = &mut self.workers[w];
            worker.last_fpm = out.fpm;
            worker.emitted.merge(out.emitted);
            out.clear();
            worker.pending = out;
            worker.busy = false;
            self.to_drive.push(w);
            self.retire_if_drained(w, now);
        }
        Ok(())
    }

    fn apply_signal(
        &mut self,
        w: usize,
        request: RequestId,
        at: SimTime,
        kind: SignalKind,
    ) -> Result<(), ReplayError> {
        let pool = self.workers[w].pool;
        let record = self.collector.record_mut(request.0);
        match kind {
            SignalKind::FirstToken => {
                record.first_token = Some(at);
                let ttft = at.saturating_sub(record.arrival);
                self.pools[pool].router.on_first_token(request, at);
                if let Some(planning) = &mut self.planning {
                    planning.on_first_token(ttft);
                }
            }
            SignalKind::SecondToken => record.second_token = Some(at),
            SignalKind::Completed {
                reused_tokens,
                preemptions,
            } => {
                record.completed = Some(at);
                record.preemptions += preemptions;
                let aggregated = self.pools[pool].kind == PoolKind::Aggregated;
                if aggregated {
                    record.reused_tokens = reused_tokens;
                    let worker = &mut self.workers[w];
                    worker.reused_tokens += u64::from(reused_tokens.min(record.input_tokens));
                    worker.input_tokens += u64::from(record.input_tokens);
                }
                let done = *record;
                self.pools[pool].router.on_finished(request, at);
                self.admission
                    .on_complete(self.workload, NodeId(request.0 as u32), at);
                self.completed += 1;
                self.counts.completions += 1;
                if let Some(planning) = &mut self.planning {
                    let itl = match (done.first_token, done.output_tokens) {
                        (Some(first), n) if n > 1 => {
                            Some(at.saturating_sub(first).as_millis_f64() / f64::from(n - 1))
                        }
                        _ => None,
                    };
                    planning.on_completed(itl);
                    if aggregated {
                        planning.on_prefix_reuse(reused_tokens, done.input_tokens);
                    }
                }
                self.observer.request_done(&done);
            }
            SignalKind::PrefillDone { reused_tokens } => {
                record.reused_tokens = reused_tokens;
                let input = record.input_tokens;
                let worker = &mut self.workers[w];
                worker.reused_tokens += u64::from(reused_tokens.min(input));
                worker.input_tokens += u64::from(input);
                let router = &mut self.pools[pool].router;
                router.on_first_token(request, at);
                router.on_finished(request, at);
                if let Some(planning) = &mut self.planning {
                    planning.on_prefix_reuse(reused_tokens, input);
                }
                self.hand_off(w, request.0, at)?;
            }
            SignalKind::Preempted => self.counts.preemptions += 1,
        }
        Ok(())
    }

    /// A prefill finished on worker `w`: route the request in the decode pool and start its
    /// KV transfer.
    fn hand_off(&mut self, w: usize, id: u64, now: SimTime) -> Result<(), ReplayError> {
        let Some(request) = self
            .disagg
            .as_mut()
            .and_then(|d| d.decode_requests.remove(&id))
        else {
            return Ok(());
        };
        let decode_pool = self.pools.len() - 1;
        let link = self.workers[w].local.0 as usize;
        if let Some((local, request)) = self.route(decode_pool, request, now) {
            self.start_transfer(link, decode_pool, local, request, now)?;
        }
        Ok(())
    }

    fn start_transfer(
        &mut self,
        link: usize,
        pool: usize,
        local: WorkerId,
        request: EngineRequest,
        now: SimTime,
    ) -> Result<(), ReplayError> {
        let target = self.pools[pool].workers[local.0 as usize];
        let Some(d) = self.disagg.as_mut() else {
            return Ok(());
        };
        let hits = self.workers[target]
            .engine
            .cached_prefix_blocks(&request.prompt_hashes) as u64;
        let cached = (hits * u64::from(self.block_size)).min(u64::from(request.input_tokens));
        let worker = &mut self.workers[target];
        worker.reused_tokens += cached;
        worker.input_tokens += u64::from(request.input_tokens);
        let bytes = (u64::from(request.input_tokens) - cached) * d.config.kv_bytes_per_token;
        d.bytes += bytes;
        let id = request.id.0;
        d.in_transfer.insert(id, (target, request));
        let wakeup = d
            .links
            .start(link, id, bytes, now, &mut self.finished_transfers);
        self.schedule_transfer(wakeup);
        self.complete_transfers(now)
    }

    fn schedule_transfer(&mut self, wakeup: Option<Wakeup>) {
        if let Some(Wakeup { link, at, version }) = wakeup {
            self.schedule(at, Timer::Transfer { link, version });
        }
    }

    /// Hands every finished transfer's request to its decode worker.
    fn complete_transfers(&mut self, now: SimTime) -> Result<(), ReplayError> {
        let finished = std::mem::take(&mut self.finished_transfers);
        for f in &finished {
            let Some(d) = self.disagg.as_mut() else { break };
            let Some((target, request)) = d.in_transfer.remove(&f.request) else {
                continue;
            };
            d.times_ms
                .push(now.saturating_sub(f.started).as_millis_f64());
            self.enqueue(target, request)?;
        }
        self.finished_transfers = finished;
        self.finished_transfers.clear();
        Ok(())
    }

    fn fire_timers(&mut self, now: SimTime) -> Result<(), ReplayError> {
        while let Some(&Reverse((t, _, timer))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::Transfer { link, version } => {
                    let Some(d) = self.disagg.as_mut() else {
                        continue;
                    };
                    let next = d.links.wake(
                        Wakeup {
                            link,
                            at: t,
                            version,
                        },
                        now,
                        &mut self.finished_transfers,
                    );
                    self.schedule_transfer(next);
                    self.complete_transfers(now)?;
                }
                Timer::WorkerReady { worker } => self.activate(worker, now),
                Timer::PlannerTick => self.tick(now),
            }
        }
        Ok(())
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
        if let Some(planning) = &mut self.planning {
            planning.on_arrival(spec.input_tokens, spec.output_tokens);
        }
        let prompt = self.workload.prompt_blocks(node, self.block_size);
        let mut request =
            EngineRequest::new(RequestId(id), spec.input_tokens, spec.output_tokens, prompt);
        if let Some(d) = self.disagg.as_mut() {
            // The prefill worker computes the prompt only; the decode side keeps the original.
            d.decode_requests.insert(id, request.clone());
            request.output_tokens = 1;
        }
        if let Some((local, request)) = self.route(0, request, now) {
            let target = self.pools[0].workers[local.0 as usize];
            self.enqueue(target, request)?;
        }
        Ok(())
    }

    /// Asks `pool`'s router for a worker; `None` if the router holds the request.
    fn route(
        &mut self,
        pool: usize,
        request: EngineRequest,
        now: SimTime,
    ) -> Option<(WorkerId, EngineRequest)> {
        let route = RouteRequest {
            id: request.id,
            input_tokens: request.input_tokens,
            output_tokens: request.output_tokens,
            block_hashes: &request.prompt_hashes,
        };
        let p = &mut self.pools[pool];
        match p.router.route(&route, now) {
            Routed::To(worker) => {
                p.queue_times_ms.push(0.0);
                Some((worker, request))
            }
            Routed::Queued => {
                p.queued += 1;
                p.held.insert(request.id.0, (request, now));
                None
            }
        }
    }

    /// Dispatches requests the routers release.
    fn dispatch_held(&mut self, now: SimTime) -> Result<(), ReplayError> {
        for pool in 0..self.pools.len() {
            while let Some((request, local)) = self.pools[pool].router.pop_dispatch(now) {
                let p = &mut self.pools[pool];
                let Some((held, since)) = p.held.remove(&request.0) else {
                    continue;
                };
                p.queue_times_ms
                    .push(now.saturating_sub(since).as_millis_f64());
                if p.kind == PoolKind::Decode {
                    // Released by the decode router: the transfer leaves from the prefill
                    // worker that computed the prompt.
                    let link = self.collector.record(request.0).worker as usize;
                    self.start_transfer(link, pool, local, held, now)?;
                } else {
                    let target = p.workers[local.0 as usize];
                    self.enqueue(target, held)?;
                }
            }
        }
        Ok(())
    }

    fn enqueue(&mut self, target: usize, request: EngineRequest) -> Result<(), ReplayError> {
        let id = request.id.0;
        let line = self.workload.node(NodeId(id as u32)).line;
        let w = &mut self.workers[target];
        w.engine
            .enqueue(request)
            .map_err(|source| ReplayError::Unservable { line, source })?;
        w.requests += 1;
        self.collector.record_mut(id).worker = w.local.0;
        self.to_drive.push(target);
        Ok(())
    }

    /// Starts passes on idle workers that have work.
    fn drive(&mut self, now: SimTime) {
        self.to_drive.sort_unstable();
        self.to_drive.dedup();
        let candidates = std::mem::take(&mut self.to_drive);
        let drivers: Vec<usize> = candidates
            .into_iter()
            .filter(|&w| {
                let worker = &self.workers[w];
                worker.state.serves() && !worker.busy && worker.engine.has_work()
            })
            .collect();
        // With couplings (including requests held by a router, which another worker's
        // progress can release), a worker may only run ahead to the next event of any
        // kind — known only if no other worker starts at this same instant.
        let coupled = self.coupled || self.pools.iter().any(|p| p.router.queued() > 0);
        let fast = !coupled || drivers.len() == 1;
        let mut horizon = earliest([
            self.admission.next_time(self.workload),
            self.timers.peek().map(|Reverse((t, ..))| *t),
        ])
        .unwrap_or(SimTime::MAX);
        if coupled && let Some(Reverse((t, ..))) = self.pass_ends.peek() {
            horizon = horizon.min(*t);
        }
        for w in drivers {
            let worker = &mut self.workers[w];
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
            // Events of later passes in the run are delivered now, stamped with their pass
            // start: no routing decision falls between now and the horizon.
            if !out.kv_events.is_empty() {
                self.pools[worker.pool]
                    .router
                    .on_kv_events(worker.local, &out.kv_events);
            }
            worker.busy = true;
            self.event_seq += 1;
            self.pass_ends.push(Reverse((end, self.event_seq, w)));
        }
    }
}
