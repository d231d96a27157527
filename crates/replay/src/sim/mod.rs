//! One replay: the cluster a configuration describes, driven by one event loop.
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
//! A worker may run several decode passes in one call ([`Scheduler::run_until`](servesim_engine::Scheduler::run_until)) up to a
//! *horizon*: the next instant anything could change it. Without couplings between workers
//! (no request dependencies, no closed loop, no request held by a router, no
//! disaggregation) that is the next arrival or timer; otherwise it is also the next pass end
//! of any other worker.

mod disagg;
mod dispatch;
mod event_loop;
mod fleet;
mod lifecycle;
mod observer;
mod signals;
mod state;
mod summary;
mod tick;

pub use observer::{NoObserver, Observer};

use std::collections::{BTreeMap, BinaryHeap};

use servesim_engine::EngineConfig;
use servesim_router::KvRouterConfig;
use servesim_trace::{NodeId, SimTime, StreamSharing, Workload};

use self::dispatch::make_router;
use self::state::{Disagg, Pool, Sim, Timer};
use crate::admission::{Admission, AdmissionMode};
use crate::collector::Collector;
use crate::config::{ReplayConfig, Topology};
use crate::error::ReplayError;
use crate::outcome::{EventCounts, PoolKind, ReplayOutcome};
use crate::planning::Planning;
use crate::requests::{ChunkSource, Requests};
use crate::sample::Sample;
use crate::transfer::Links;
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
    let has_dependencies = (0..workload.len()).any(|i| !workload.deps(NodeId(i as u32)).is_empty());
    let input = Input {
        requests: Requests::whole(workload),
        admission: Admission::new(workload, config.admission, config.warmup_requests),
        collector: Collector::new(workload.len(), config.warmup_requests),
        has_dependencies,
    };
    run(input, config, observer)
}

/// Replays a stream of independent requests in time order — the chunks of a
/// [`TraceStream`](servesim_trace::TraceStream) — holding only the chunks with a request
/// in flight or about to arrive: memory follows the requests in flight, not the trace.
/// `sharing`, counted ahead from the same stream ([`StreamSharing::count`]), lets the engines
/// keep blocks no other request can hit out of their indexes, as [`replay`] does; without
/// it every block is indexed, which costs time but changes no result.
///
/// The metrics are those [`replay`] gives for the same requests, to the last bit while
/// fewer than [`Sample::EXACT_CAPACITY`](crate::Sample::EXACT_CAPACITY) requests are
/// measured (percentiles within 0.1 % beyond). What needs every request's record is not
/// available: the outcome's collector keeps none ([`Collector::keeps_records`]), and a
/// planner (whose summary judges every request) or closed-loop admission is refused.
///
/// ```
/// use servesim_engine::EngineArgs;
/// use servesim_replay::{replay_stream, AdmissionMode, NoObserver, ReplayConfig, RouterMode};
/// use servesim_trace::{ReadOptions, StreamOptions, TraceStream};
///
/// let text: String = (0..50)
///     .map(|i| format!("{{\"timestamp\": {}, \"input_length\": 900, \"output_length\": 20, \"hash_ids\": [{i}, {}]}}\n", 100 * i, i + 1000))
///     .collect();
/// let options = StreamOptions { chunk_rows: 8, speedup: 1.0 };
/// let mut stream = TraceStream::new(text.as_bytes(), "inline", &ReadOptions::default(), options)?;
/// let engine = EngineArgs::default().resolve()?;
/// let config = ReplayConfig::aggregated(2, engine, RouterMode::RoundRobin, AdmissionMode::Trace, 42);
/// let outcome = replay_stream(&mut stream, None, &config, &mut NoObserver)?;
/// assert_eq!(outcome.metrics.completed_requests, 50);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn replay_stream<'s>(
    chunks: &'s mut ChunkSource<'s>,
    sharing: Option<&'s StreamSharing>,
    config: &ReplayConfig,
    observer: &mut dyn Observer,
) -> Result<ReplayOutcome, ReplayError> {
    config.validate()?;
    if config.admission != AdmissionMode::Trace {
        return Err(ReplayError::Config(
            "a streamed replay is open-loop: closed-loop admission (--replay-concurrency) needs the whole trace".to_owned(),
        ));
    }
    if config.planning.is_some() {
        return Err(ReplayError::Config(
            "a planner's summary judges every request: replay the whole trace (without --stream) to put a planner in the loop".to_owned(),
        ));
    }
    let input = Input {
        requests: Requests::stream(chunks, sharing)?,
        admission: Admission::in_order(),
        collector: Collector::streaming(),
        has_dependencies: false,
    };
    run(input, config, observer)
}

/// What a replay starts from: its requests and the bookkeeping sized for them.
struct Input<'w> {
    requests: Requests<'w>,
    admission: Admission,
    collector: Collector,
    has_dependencies: bool,
}

fn run<'w>(
    input: Input<'w>,
    config: &ReplayConfig,
    observer: &mut dyn Observer,
) -> Result<ReplayOutcome, ReplayError> {
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
            router: match &config.custom_router {
                Some(custom) => custom.build(engine, seed),
                None => make_router(
                    config.router_mode,
                    router_config.clone(),
                    engine,
                    // The decode side never estimates prefill load.
                    config
                        .router_prefill_timing
                        .as_ref()
                        .filter(|_| *kind != PoolKind::Decode),
                    seed,
                )?,
            },
            workers: Vec::new(),
            held: BTreeMap::new(),
            queue_times_ms: Sample::default(),
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
            times_ms: Sample::default(),
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
    let coupled = input.has_dependencies
        || matches!(config.admission, AdmissionMode::Concurrency(_))
        || disagg.is_some();
    let mut sim = Sim {
        requests: input.requests,
        block_size: config.block_size(),
        workers: Vec::new(),
        pools,
        disagg,
        planning,
        admission: input.admission,
        collector: input.collector,
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
