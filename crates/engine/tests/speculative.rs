//! Speculative decoding (MTP) in both engine cores.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{engine, request_with_block, sglang, simulate};
use servesim_engine::{Scheduler, SignalKind, TokenTally};
use servesim_trace::SimTime;

fn one_request<E: Scheduler>(e: &mut E, isl: u32, osl: u32) -> common::Trace {
    let block = e.config().block_size;
    simulate(
        e,
        vec![(SimTime::ZERO, request_with_block(1, isl, osl, 7, block))],
        true,
        |_, _| {},
    )
}

/// nextn = 2 with every draft accepted: the prefill pass emits the first token, then 21
/// decode steps emit 3 tokens each — 64 tokens in 22 bursts.
#[test]
fn all_drafts_accepted_over_64_tokens_give_an_accept_length_of_64_over_22() {
    let json = r#"{"aic_nextn": 2, "aic_nextn_accept_rates": "1,1"}"#;
    let traces = [
        one_request(&mut engine(json), 1000, 64),
        one_request(&mut sglang(json), 1000, 64),
    ];
    for trace in traces {
        assert_eq!(
            trace.emitted,
            TokenTally {
                tokens: 64,
                bursts: 22
            }
        );
        assert_eq!(trace.emitted.mean_accept_length(), Some(64.0 / 22.0));
        assert_eq!(trace.passes, 22);
        // 21 decode gaps, and two tokens arriving with each of them.
        assert_eq!(trace.gaps.get(&SimTime::ZERO), Some(&42));
        assert_eq!(trace.gaps.values().sum::<u64>(), 63);
    }
}

#[test]
fn the_final_burst_is_clamped_to_the_remaining_output() {
    let json = r#"{"aic_nextn": 3, "aic_nextn_accept_rates": [1, 1, 1]}"#;
    // 1 + 4 + 4 + 1: the last step may only emit one.
    for trace in [
        one_request(&mut engine(json), 100, 10),
        one_request(&mut sglang(json), 100, 10),
    ] {
        assert_eq!(
            trace.emitted,
            TokenTally {
                tokens: 10,
                bursts: 4
            }
        );
        let completed = trace
            .signals
            .iter()
            .filter(|s| matches!(s.kind, SignalKind::Completed { .. }))
            .count();
        assert_eq!(completed, 1);
    }
}

#[test]
fn the_default_rates_accept_about_1_1_drafts_per_step() {
    // E = 1 + 0.85 + 0.85 · 0.3 = 2.105 tokens per decode step.
    for trace in [
        one_request(&mut engine(r#"{"aic_nextn": 2}"#), 100, 20_000),
        one_request(&mut sglang(r#"{"aic_nextn": 2}"#), 100, 20_000),
    ] {
        let decode = TokenTally {
            tokens: trace.emitted.tokens - 1,
            bursts: trace.emitted.bursts - 1,
        };
        let mean = decode.mean_accept_length().unwrap();
        assert!((mean / 2.105 - 1.0).abs() < 0.02, "{mean}");
    }
}

/// Four requests filling a 60-block cache: drafts must reserve their blocks (preempting or
/// retracting when they do not fit), and the run ends sooner in fewer bursts.
#[test]
fn speculation_shortens_decode_and_keeps_the_kv_exact() {
    let base = r#"{"num_gpu_blocks": 60, "block_size": 16"#;
    let plain = format!("{base}}}");
    let mtp = format!(r#"{base}, "aic_nextn": 3, "aic_nextn_accept_rates": "0.9,0.7,0.5"}}"#);
    let arrivals = || -> Vec<_> {
        (0..4)
            .map(|i| (SimTime::ZERO, request_with_block(i, 160, 150, i, 16)))
            .collect()
    };
    let end = |trace: &common::Trace| trace.signals.iter().map(|s| s.at).max().unwrap();
    let runs = [
        (
            simulate(&mut engine(&plain), arrivals(), false, |e, _| {
                e.check_invariants().unwrap()
            }),
            simulate(&mut engine(&mtp), arrivals(), false, |e, _| {
                e.check_invariants().unwrap()
            }),
        ),
        (
            simulate(&mut sglang(&plain), arrivals(), false, |e, _| {
                e.check_invariants().unwrap()
            }),
            simulate(&mut sglang(&mtp), arrivals(), false, |e, _| {
                e.check_invariants().unwrap()
            }),
        ),
    ];
    for (without, with) in runs {
        assert!(end(&with) < end(&without));
        assert_eq!((with.emitted.tokens, without.emitted.tokens), (600, 600));
        assert!(with.emitted.bursts < without.emitted.bursts);
        assert_eq!(without.emitted.mean_accept_length(), Some(1.0));
    }
}
