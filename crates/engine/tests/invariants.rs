//! Property tests of the vLLM-style engine: KV blocks conserved, no request lost or
//! duplicated, time monotone, and fast-forwarded decode identical to stepping pass by pass.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{request_with_block, simulate};
use proptest::prelude::*;
use servesim_engine::{
    EngineArgs, EngineRequest, PreemptionMode, SignalKind, VllmScheduler, WorkerType,
};
use servesim_trace::SimTime;

#[derive(Clone, Debug)]
struct Case {
    block: u32,
    blocks: u64,
    budget: u32,
    max_seqs: u32,
    lifo: bool,
    caching: bool,
    chunking: bool,
    worker: WorkerType,
    /// (arrival ms, isl, osl, prompt content group)
    requests: Vec<(u64, u32, u32, u64)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec![16u32, 32, 64]),
        40u64..400,
        prop::sample::select(vec![256u32, 1024, 4096]),
        1u32..64,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec![
            WorkerType::Aggregated,
            WorkerType::Aggregated,
            WorkerType::Prefill,
            WorkerType::Decode,
        ]),
        prop::collection::vec((0u64..3000, 1u32..2000, 1u32..200, 0u64..4), 1..24),
    )
        .prop_map(
            |(block, blocks, budget, max_seqs, lifo, caching, chunking, worker, requests)| Case {
                block,
                blocks,
                budget,
                max_seqs: max_seqs.min(budget),
                lifo,
                caching,
                chunking,
                worker,
                requests,
            },
        )
}

fn build(case: &Case) -> VllmScheduler {
    let args = EngineArgs {
        block_size: case.block,
        num_gpu_blocks: case.blocks,
        max_num_batched_tokens: Some(case.budget),
        max_num_seqs: Some(case.max_seqs),
        preemption_mode: if case.lifo {
            PreemptionMode::Lifo
        } else {
            PreemptionMode::Fifo
        },
        enable_prefix_caching: case.caching,
        enable_chunked_prefill: case.chunking,
        worker_type: case.worker,
        ..EngineArgs::default()
    };
    VllmScheduler::new(args.resolve().expect("valid generated config"))
}

/// The requests the engine accepts (the others are rejected at enqueue, by design).
fn arrivals(case: &Case, engine: &VllmScheduler) -> Vec<(SimTime, EngineRequest)> {
    let mut probe = engine.clone();
    case.requests
        .iter()
        .enumerate()
        .map(|(i, &(at, isl, osl, group))| {
            // Groups share a prefix: content = group for the shared part.
            (
                SimTime::from_millis(at),
                request_with_block(i as u64, isl, osl, group, case.block),
            )
        })
        .filter(|(_, r)| probe.enqueue(r.clone()).is_ok())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_request_completes_once_and_kv_is_conserved(case in case()) {
        let mut engine = build(&case);
        let arrivals = arrivals(&case, &engine);
        let n = arrivals.len();
        let mut last = SimTime::ZERO;
        let mut violations = Vec::new();
        let trace = simulate(&mut engine, arrivals, false, |e, now| {
            if let Err(v) = e.check_invariants() {
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
        for s in &trace.signals {
            match s.kind {
                SignalKind::Completed { .. } | SignalKind::PrefillDone { .. } => {
                    *completed.entry(s.request).or_insert(0) += 1;
                }
                SignalKind::FirstToken => {
                    prop_assert!(first.insert(s.request, s.at).is_none(), "two first tokens");
                }
                _ => {}
            }
        }
        prop_assert_eq!(completed.len(), n);
        prop_assert!(completed.values().all(|&c| c == 1));
        let expected_first = if case.worker == WorkerType::Prefill { 0 } else { n };
        prop_assert_eq!(first.len(), expected_first);
        prop_assert_eq!(engine.in_flight(), 0);
        let usage = engine.kv_usage();
        prop_assert_eq!((usage.active, usage.anonymous), (0, 0));
    }

    #[test]
    fn fast_forward_equals_stepping(case in case()) {
        let mut stepped = build(&case);
        let mut fast = build(&case);
        let arrivals = arrivals(&case, &stepped);
        let a = simulate(&mut stepped, arrivals.clone(), false, |_, _| {});
        let b = simulate(&mut fast, arrivals, true, |e, _| {
            e.check_invariants().expect("invariants hold between fast-forwards");
        });
        prop_assert_eq!(&a.signals, &b.signals);
        prop_assert_eq!(&a.gaps, &b.gaps);
        prop_assert_eq!(a.passes, b.passes);
        prop_assert_eq!(stepped.kv_usage(), fast.kv_usage());
        prop_assert_eq!(stepped.last_metrics(), fast.last_metrics());
    }
}
