//! Property tests of both engine cores, with and without speculative decoding: KV blocks
//! conserved, no request lost or duplicated, time monotone, fast-forwarded passes
//! identical to stepping pass by pass, and private blocks kept out of the index changing
//! nothing.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{request_with_block, simulate};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use servesim_engine::{
    CapacityPolicy, EngineArgs, EngineRequest, EngineType, Limit, PreemptionMode, SchedulePolicy,
    Scheduler, SglangArgs, SglangScheduler, SignalKind, TrtllmArgs, VllmScheduler, WorkerType,
};
use servesim_trace::SimTime;

/// (arrival ms, isl, osl, prompt content group)
type Requests = Vec<(u64, u32, u32, u64)>;

fn requests() -> impl Strategy<Value = Requests> {
    prop::collection::vec((0u64..3000, 1u32..2000, 1u32..200, 0u64..4), 1..24)
}

fn worker_type() -> impl Strategy<Value = WorkerType> {
    prop::sample::select(vec![
        WorkerType::Aggregated,
        WorkerType::Aggregated,
        WorkerType::Prefill,
        WorkerType::Decode,
    ])
}

#[derive(Clone, Debug)]
struct VllmCase {
    block: u32,
    blocks: u64,
    budget: u32,
    max_seqs: u32,
    lifo: bool,
    caching: bool,
    chunking: bool,
    worker: WorkerType,
    nextn: Option<u32>,
    requests: Requests,
}

fn vllm_case() -> impl Strategy<Value = VllmCase> {
    (
        (
            prop::sample::select(vec![16u32, 32, 64]),
            40u64..400,
            prop::sample::select(vec![256u32, 1024, 4096]),
            1u32..64,
        ),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        worker_type(),
        prop::option::of(1u32..=3),
        requests(),
    )
        .prop_map(
            |(
                (block, blocks, budget, max_seqs),
                (lifo, caching, chunking),
                worker,
                nextn,
                requests,
            )| {
                VllmCase {
                    block,
                    blocks,
                    budget,
                    max_seqs: max_seqs.min(budget),
                    lifo,
                    caching,
                    chunking,
                    worker,
                    nextn,
                    requests,
                }
            },
        )
}

fn build_vllm(case: &VllmCase) -> VllmScheduler {
    let args = EngineArgs {
        block_size: Some(case.block),
        num_gpu_blocks: Some(case.blocks),
        max_num_batched_tokens: Limit::At(case.budget),
        max_num_seqs: Limit::At(case.max_seqs),
        preemption_mode: if case.lifo {
            PreemptionMode::Lifo
        } else {
            PreemptionMode::Fifo
        },
        enable_prefix_caching: case.caching,
        enable_chunked_prefill: Some(case.chunking),
        worker_type: case.worker,
        aic_nextn: case.nextn,
        ..EngineArgs::default()
    };
    VllmScheduler::new(args.resolve().expect("valid generated config"))
}

/// The same engine as TensorRT-LLM's: its capacity policy (`no_evict`) and chunk unit.
fn build_trtllm(case: &VllmCase, no_evict: bool) -> VllmScheduler {
    let args = EngineArgs {
        block_size: Some(case.block),
        num_gpu_blocks: Some(case.blocks),
        max_num_batched_tokens: Limit::At(case.budget),
        max_num_seqs: Limit::At(case.max_seqs),
        enable_prefix_caching: case.caching,
        enable_chunked_prefill: Some(case.chunking),
        worker_type: case.worker,
        engine_type: EngineType::Trtllm,
        trtllm: Some(TrtllmArgs {
            capacity_scheduler_policy: if no_evict {
                CapacityPolicy::GuaranteedNoEvict
            } else {
                CapacityPolicy::MaxUtilization
            },
        }),
        ..EngineArgs::default()
    };
    VllmScheduler::new(args.resolve().expect("valid generated config"))
}

#[derive(Clone, Debug)]
struct SglangCase {
    page: u32,
    capacity_tokens: u64,
    chunk: u32,
    max_prefill: u32,
    clip: u32,
    conservativeness: f64,
    lpm: bool,
    worker: WorkerType,
    nextn: Option<u32>,
    requests: Requests,
}

fn sglang_case() -> impl Strategy<Value = SglangCase> {
    (
        (
            prop::sample::select(vec![1u32, 4, 16]),
            640u64..6400,
            prop::sample::select(vec![64u32, 256, 1024]),
            prop::sample::select(vec![128u32, 512, 4096]),
        ),
        (
            prop::sample::select(vec![8u32, 64, 4096]),
            prop::sample::select(vec![0.0, 0.3, 1.0, 1.5]),
            any::<bool>(),
        ),
        worker_type(),
        prop::option::of(1u32..=3),
        requests(),
    )
        .prop_map(
            |(
                (page, capacity_tokens, chunk, max_prefill),
                (clip, conservativeness, lpm),
                worker,
                nextn,
                requests,
            )| {
                SglangCase {
                    page,
                    capacity_tokens,
                    chunk,
                    max_prefill,
                    clip,
                    conservativeness,
                    lpm,
                    worker,
                    nextn,
                    requests,
                }
            },
        )
}

fn build_sglang(case: &SglangCase) -> SglangScheduler {
    let args = EngineArgs {
        engine_type: EngineType::Sglang,
        num_gpu_blocks: Some(case.capacity_tokens / u64::from(case.page)),
        worker_type: case.worker,
        aic_nextn: case.nextn,
        sglang: Some(SglangArgs {
            schedule_policy: if case.lpm {
                SchedulePolicy::Lpm
            } else {
                SchedulePolicy::Fifo
            },
            page_size: Some(case.page),
            max_prefill_tokens: case.max_prefill,
            chunked_prefill_size: Some(case.chunk),
            clip_max_new_tokens: case.clip,
            schedule_conservativeness: case.conservativeness,
        }),
        ..EngineArgs::default()
    };
    SglangScheduler::new(args.resolve().expect("valid generated config"))
}

/// The requests the engine accepts (the others are rejected at enqueue, by design).
fn arrivals<E: Scheduler + Clone>(
    requests: &Requests,
    block: u32,
    engine: &E,
) -> Vec<(SimTime, EngineRequest)> {
    let mut probe = engine.clone();
    requests
        .iter()
        .enumerate()
        .map(|(i, &(at, isl, osl, group))| {
            // Groups share a prefix: content = group for the shared part.
            (
                SimTime::from_millis(at),
                request_with_block(i as u64, isl, osl, group, block),
            )
        })
        .filter(|(_, r)| probe.enqueue(r.clone()).is_ok())
        .collect()
}

/// Every accepted request ends exactly once (with one first token, and a later second
/// token if it asks for two or more, unless on a prefill worker), the bookkeeping holds
/// after every call, time never goes back, and nothing is held at the end.
fn conserves<E: Scheduler + Clone>(
    mut engine: E,
    requests: &Requests,
    worker: WorkerType,
    check: fn(&E) -> Result<(), String>,
) -> Result<(), TestCaseError> {
    let block = engine.config().block_size;
    let arrivals = arrivals(requests, block, &engine);
    let n = arrivals.len();
    let multi_token: usize = arrivals
        .iter()
        .filter(|(_, r)| r.output_tokens >= 2)
        .count();
    let outputs: u64 = arrivals
        .iter()
        .map(|(_, r)| u64::from(r.output_tokens))
        .sum();
    let mut last = SimTime::ZERO;
    let mut violations = Vec::new();
    let trace = simulate(&mut engine, arrivals, false, |e, now| {
        if let Err(v) = check(e) {
            violations.push(v);
        }
        if now < last {
            violations.push(format!("time went backwards: {now:?} < {last:?}"));
        }
        last = now;
    });
    prop_assert!(violations.is_empty(), "{:?}", violations);
    let mut completed = BTreeMap::new();
    let mut first = BTreeMap::new();
    let mut second = BTreeMap::new();
    for s in &trace.signals {
        match s.kind {
            SignalKind::Completed { .. } | SignalKind::PrefillDone { .. } => {
                *completed.entry(s.request).or_insert(0) += 1;
            }
            SignalKind::FirstToken => {
                prop_assert!(first.insert(s.request, s.at).is_none(), "two first tokens");
            }
            SignalKind::SecondToken => {
                prop_assert!(
                    first.get(&s.request).is_some_and(|&at| at <= s.at),
                    "second token before the first"
                );
                prop_assert!(
                    second.insert(s.request, s.at).is_none(),
                    "two second tokens"
                );
            }
            _ => {}
        }
    }
    prop_assert_eq!(completed.len(), n);
    prop_assert!(completed.values().all(|&c| c == 1));
    let expected_first = if worker == WorkerType::Prefill { 0 } else { n };
    prop_assert_eq!(first.len(), expected_first);
    let expected_second = if worker == WorkerType::Prefill {
        0
    } else {
        multi_token
    };
    prop_assert_eq!(second.len(), expected_second);
    // Every output token is emitted once, in at most as many bursts.
    let expected_tokens = if worker == WorkerType::Prefill {
        0
    } else {
        outputs
    };
    prop_assert_eq!(trace.emitted.tokens, expected_tokens);
    prop_assert!(trace.emitted.bursts <= trace.emitted.tokens);
    prop_assert_eq!(engine.in_flight(), 0);
    let usage = engine.kv_usage();
    prop_assert_eq!((usage.active, usage.anonymous), (0, 0));
    Ok(())
}

/// `run_until` up to each next arrival gives exactly what stepping pass by pass gives.
fn fast_forward_equals_stepping<E: Scheduler + Clone>(
    engine: E,
    requests: &Requests,
    check: fn(&E) -> Result<(), String>,
) -> Result<(), TestCaseError> {
    let (mut stepped, mut fast) = (engine.clone(), engine);
    let arrivals = arrivals(requests, stepped.config().block_size, &stepped);
    let a = simulate(&mut stepped, arrivals.clone(), false, |_, _| {});
    let b = simulate(&mut fast, arrivals, true, |e, _| {
        check(e).expect("invariants hold between fast-forwards");
    });
    prop_assert_eq!(&a.signals, &b.signals);
    prop_assert_eq!(&a.gaps, &b.gaps);
    prop_assert_eq!(a.passes, b.passes);
    prop_assert_eq!(stepped.kv_usage(), fast.kv_usage());
    prop_assert_eq!(stepped.last_metrics(), fast.last_metrics());
    Ok(())
}

/// Leading blocks of each request another request shares: a request's prompt is one run
/// of its group's content, so it shares `min(own, other's)` full blocks with each other
/// request of its group; everything after the longest such overlap (its generated output
/// included) is private.
fn shared_blocks(arrivals: &[(SimTime, EngineRequest)], block: u32, groups: &[u64]) -> Vec<u32> {
    arrivals
        .iter()
        .map(|(_, r)| {
            let own = r.input_tokens / block;
            let group = groups[r.id.0 as usize];
            arrivals
                .iter()
                .filter(|(_, o)| o.id != r.id && groups[o.id.0 as usize] == group)
                .map(|(_, o)| own.min(o.input_tokens / block))
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// Keeping private blocks out of the hash index changes nothing an engine reports: the
/// same passes, tokens, preemptions and KV usage as indexing every block.
fn private_blocks_change_nothing(
    engine: VllmScheduler,
    requests: &Requests,
) -> Result<(), TestCaseError> {
    let (mut indexed, mut private) = (engine.clone(), engine);
    let block = indexed.config().block_size;
    let all = arrivals(requests, block, &indexed);
    let groups: Vec<u64> = requests.iter().map(|r| r.3).collect();
    let shared = shared_blocks(&all, block, &groups);
    let split: Vec<(SimTime, EngineRequest)> = all
        .iter()
        .zip(&shared)
        .map(|((at, r), &n)| (*at, r.clone().with_shared_blocks(n)))
        .collect();
    let a = simulate(&mut indexed, all, true, |_, _| {});
    let b = simulate(&mut private, split, true, |e, _| {
        e.check_invariants()
            .expect("invariants hold with private blocks");
    });
    prop_assert_eq!(&a.signals, &b.signals);
    prop_assert_eq!(&a.gaps, &b.gaps);
    prop_assert_eq!(a.passes, b.passes);
    prop_assert_eq!(indexed.kv_usage(), private.kv_usage());
    prop_assert_eq!(indexed.last_metrics(), private.last_metrics());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn vllm_private_blocks_change_nothing(case in vllm_case()) {
        private_blocks_change_nothing(build_vllm(&case), &case.requests)?;
    }

    #[test]
    fn trtllm_private_blocks_change_nothing(case in vllm_case(), no_evict in any::<bool>()) {
        private_blocks_change_nothing(build_trtllm(&case, no_evict), &case.requests)?;
    }

    #[test]
    fn vllm_every_request_completes_once_and_kv_is_conserved(case in vllm_case()) {
        conserves(build_vllm(&case), &case.requests, case.worker, VllmScheduler::check_invariants)?;
    }

    #[test]
    fn vllm_fast_forward_equals_stepping(case in vllm_case()) {
        fast_forward_equals_stepping(build_vllm(&case), &case.requests, VllmScheduler::check_invariants)?;
    }

    #[test]
    fn trtllm_every_request_completes_once_and_kv_is_conserved(case in vllm_case(), no_evict in any::<bool>()) {
        conserves(build_trtllm(&case, no_evict), &case.requests, case.worker, VllmScheduler::check_invariants)?;
    }

    #[test]
    fn trtllm_guaranteed_no_evict_never_preempts(case in vllm_case()) {
        let mut engine = build_trtllm(&case, true);
        let arrivals = arrivals(&case.requests, case.block, &engine);
        let trace = simulate(&mut engine, arrivals, false, |_, _| {});
        prop_assert!(trace.signals.iter().all(|s| s.kind != SignalKind::Preempted));
    }

    #[test]
    fn trtllm_fast_forward_equals_stepping(case in vllm_case(), no_evict in any::<bool>()) {
        fast_forward_equals_stepping(build_trtllm(&case, no_evict), &case.requests, VllmScheduler::check_invariants)?;
    }

    #[test]
    fn sglang_every_request_completes_once_and_kv_is_conserved(case in sglang_case()) {
        conserves(build_sglang(&case), &case.requests, case.worker, SglangScheduler::check_invariants)?;
    }

    #[test]
    fn sglang_fast_forward_equals_stepping(case in sglang_case()) {
        fast_forward_equals_stepping(build_sglang(&case), &case.requests, SglangScheduler::check_invariants)?;
    }
}
