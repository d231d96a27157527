//! Closed-form checks of the vLLM-style scheduler with the polynomial timing model.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{alone, engine, request, request_with_block, signal_times, simulate, us};
use servesim_engine::{PassOutput, Scheduler, SignalKind};
use servesim_perf::PolynomialModel;
use servesim_trace::SimTime;

#[test]
fn one_request_first_token_from_the_prefill_pass() {
    let mut e = engine("{}");
    let trace = simulate(
        &mut e,
        vec![(SimTime::ZERO, request(1, 2048, 3, 7))],
        false,
        |_, _| {},
    );
    let prefill = us(PolynomialModel::prefill_poly(2048.0));
    assert_eq!(prefill, 49_363);
    // Decode steps hold 33 blocks (32 prompt blocks + one for position 2048) of 16384.
    let step = us(PolynomialModel::decode_poly(33.0 / 16_384.0));
    assert_eq!(step, 5_849);
    assert_eq!(
        signal_times(&trace, 1),
        vec![
            (SignalKind::FirstToken, prefill),
            (SignalKind::SecondToken, prefill + step),
            (
                SignalKind::Completed {
                    reused_tokens: 0,
                    preemptions: 0
                },
                prefill + 2 * step
            ),
        ]
    );
    assert_eq!(trace.passes, 3);
    // Two inter-token gaps of one decode step each.
    assert_eq!(
        trace.gaps.into_iter().collect::<Vec<_>>(),
        vec![(SimTime::from_micros(step), 2)]
    );
    // Everything is released to the cache: 33 cached blocks (32 prompt + 1 generated full? no:
    // the last block is partial and is freed), nothing held.
    let usage = e.kv_usage();
    assert_eq!((usage.active, usage.anonymous), (0, 0));
    assert_eq!(usage.inactive, 32);
}

#[test]
fn identical_request_hits_the_cache_and_recomputes_the_last_token() {
    common::check_full_prompt_hit(&mut engine("{}"), 64);
}

#[test]
fn chunked_prefill_of_a_long_prompt_takes_three_passes() {
    common::check_chunked_20k(&mut engine("{}"), 64);
}

/// Two requests fill a 12-block cache; when decode needs a block that is not there, the
/// newest request is preempted under `lifo` and the oldest under `fifo`.
#[test]
fn kv_starved_batch_preempts_by_policy() {
    for (mode, victim) in [("lifo", 2), ("fifo", 1)] {
        let json =
            format!(r#"{{"num_gpu_blocks": 12, "block_size": 64, "preemption_mode": "{mode}"}}"#);
        let mut e = engine(&json);
        // 5 prompt blocks each (320 tokens); each needs 5 more blocks for its 300 outputs.
        let arrivals = vec![
            (SimTime::ZERO, request(1, 320, 300, 1)),
            (SimTime::ZERO, request(2, 320, 300, 2)),
        ];
        let trace = simulate(&mut e, arrivals, false, |e, _| {
            e.check_invariants().unwrap()
        });
        let first_preempted = trace
            .signals
            .iter()
            .find(|s| s.kind == SignalKind::Preempted)
            .map(|s| s.request.0);
        assert_eq!(first_preempted, Some(victim), "{mode}");
        let completed = trace
            .signals
            .iter()
            .filter(|s| matches!(s.kind, SignalKind::Completed { .. }))
            .count();
        assert_eq!(completed, 2, "{mode}: both finish eventually");
    }
}

#[test]
fn max_num_seqs_limits_the_batch() {
    let mut e = engine(r#"{"max_num_seqs": 2}"#);
    let arrivals = (0..3)
        .map(|i| (SimTime::ZERO, request(i, 100, 5, i)))
        .collect();
    let mut peak = 0;
    simulate(&mut e, arrivals, false, |e, _| peak = peak.max(e.running()));
    assert_eq!(peak, 2);
}

#[test]
fn chunking_disabled_blocks_the_head_and_rejects_oversized_prompts() {
    let mut e = engine(
        r#"{"enable_chunked_prefill": false, "max_num_batched_tokens": 1000, "max_num_seqs": 10}"#,
    );
    assert!(e.enqueue(request(9, 1500, 5, 9)).is_err());
    let arrivals = vec![
        (SimTime::ZERO, request(1, 800, 3, 1)),
        (SimTime::ZERO, request(2, 800, 3, 2)),
    ];
    let trace = simulate(&mut e, arrivals, false, |_, _| {});
    // The second prompt does not fit next to the first in one 1000-token pass.
    let first = |id| signal_times(&trace, id)[0].1;
    assert!(first(2) > first(1));
    assert_eq!(first(1), us(PolynomialModel::prefill_poly(800.0)));
}

#[test]
fn prefill_and_decode_workers() {
    let mut prefill = engine(r#"{"worker_type": "prefill"}"#);
    let trace = alone(&mut prefill, request(1, 2048, 50, 7));
    assert_eq!(
        signal_times(&trace, 1),
        vec![(SignalKind::PrefillDone { reused_tokens: 0 }, 49_363)]
    );

    let mut decode = engine(r#"{"worker_type": "decode"}"#);
    let trace = alone(&mut decode, request(1, 2048, 3, 7));
    // No prefill is charged: three decode steps produce the three tokens.
    let step = us(PolynomialModel::decode_poly(33.0 / 16_384.0));
    let times: Vec<u64> = signal_times(&trace, 1).iter().map(|s| s.1).collect();
    assert_eq!(times, vec![step, 2 * step, 3 * step]);
}

#[test]
fn prefix_caching_off_shares_nothing() {
    let mut e = engine(r#"{"enable_prefix_caching": false}"#);
    let trace = simulate(
        &mut e,
        vec![
            (SimTime::ZERO, request(1, 2048, 2, 7)),
            (SimTime::from_secs(1), request(2, 2048, 2, 7)),
        ],
        false,
        |_, _| {},
    );
    assert!(matches!(
        signal_times(&trace, 2)[2].0,
        SignalKind::Completed {
            reused_tokens: 0,
            ..
        }
    ));
}

#[test]
fn run_until_chains_decode_steps_up_to_the_horizon() {
    let mut e = engine("{}");
    for i in 0..4 {
        e.enqueue(request(i, 1000, 100, i)).unwrap();
    }
    let mut out = PassOutput::default();
    // Pass 1 prefills all four prompts.
    let t = e.step(SimTime::ZERO, &mut out).unwrap();
    out.clear();
    let horizon = t + SimTime::from_millis(50);
    let end = e.run_until(t, horizon, &mut out).unwrap();
    assert!(out.passes > 5, "{} passes", out.passes);
    assert!(end >= horizon);
    // Only second tokens were produced on the way; no completion yet.
    assert!(
        out.signals
            .iter()
            .all(|s| s.kind == SignalKind::SecondToken)
    );
    assert_eq!(out.signals.len(), 4);
    // Without a horizon it stops at the first completion.
    out.clear();
    e.run_until(end, SimTime::MAX, &mut out).unwrap();
    assert_eq!(
        out.signals
            .iter()
            .filter(|s| matches!(s.kind, SignalKind::Completed { .. }))
            .count(),
        4
    );
}

#[test]
fn preemption_is_identical_with_fast_forward() {
    for mode in ["lifo", "fifo"] {
        let json =
            format!(r#"{{"num_gpu_blocks": 30, "block_size": 16, "preemption_mode": "{mode}"}}"#);
        let arrivals: Vec<_> = (0..6)
            .map(|i| {
                (
                    SimTime::from_millis(i * 7),
                    request_with_block(i, 64 + 16 * i as u32, 150, i % 2, 16),
                )
            })
            .collect();
        let mut a = engine(&json);
        let mut b = engine(&json);
        let stepped = simulate(&mut a, arrivals.clone(), false, |e, _| {
            e.check_invariants().unwrap()
        });
        let fast = simulate(&mut b, arrivals, true, |e, _| e.check_invariants().unwrap());
        assert!(
            stepped
                .signals
                .iter()
                .any(|s| s.kind == SignalKind::Preempted),
            "{mode}: preempts"
        );
        assert_eq!(stepped, fast, "{mode}");
    }
}
