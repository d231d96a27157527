//! Closed-form checks of the SGLang-style scheduler with the polynomial timing model.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{alone, request_with_block, sglang, signal_times, simulate, us};
use servesim_engine::{KvEvent, PassOutput, Scheduler, SignalKind};
use servesim_perf::PolynomialModel;
use servesim_trace::SimTime;

/// The polynomial decode step with `held` of the default 2^20 one-token pages in use.
fn step_us(held: u64) -> u64 {
    us(PolynomialModel::decode_poly(
        held as f64 / f64::from(1 << 20),
    ))
}

fn preempted(trace: &common::Trace) -> Vec<u64> {
    trace
        .signals
        .iter()
        .filter(|s| s.kind == SignalKind::Preempted)
        .map(|s| s.request.0)
        .collect()
}

#[test]
fn one_request_prefills_then_decodes_in_one_token_pages() {
    let mut e = sglang("{}");
    let trace = simulate(
        &mut e,
        vec![(SimTime::ZERO, request_with_block(1, 2048, 3, 7, 1))],
        false,
        |e, _| e.check_invariants().unwrap(),
    );
    let prefill = us(PolynomialModel::prefill_poly(2048.0));
    assert_eq!(prefill, 49_363);
    // Decode steps hold the 2048 cached prompt pages plus one page per generated token.
    let (s1, s2) = (step_us(2049), step_us(2050));
    assert_eq!(
        signal_times(&trace, 1),
        vec![
            (SignalKind::FirstToken, prefill),
            (SignalKind::SecondToken, prefill + s1),
            (
                SignalKind::Completed {
                    reused_tokens: 0,
                    preemptions: 0
                },
                prefill + s1 + s2
            ),
        ]
    );
    assert_eq!(trace.passes, 3);
    // The whole KV (prompt and the first two outputs) stays cached, nothing is held.
    let usage = e.kv_usage();
    assert_eq!(
        (usage.active, usage.anonymous, usage.inactive),
        (0, 0, 2050)
    );
}

#[test]
fn identical_prompt_hits_the_radix_cache_but_one_token() {
    let mut e = sglang("{}");
    common::check_full_prompt_hit(&mut e, 1);
    e.check_invariants().unwrap();
}

#[test]
fn long_prompts_are_chunked_by_chunked_prefill_size() {
    let mut e = sglang("{}");
    common::check_chunked_20k(&mut e, 1);
    e.check_invariants().unwrap();
}

#[test]
fn a_prefill_pass_stalls_the_running_decodes() {
    let mut e = sglang("{}");
    let trace = simulate(
        &mut e,
        vec![
            (SimTime::ZERO, request_with_block(1, 1000, 10, 1, 1)),
            (
                SimTime::from_millis(50),
                request_with_block(2, 4000, 2, 2, 1),
            ),
        ],
        false,
        |e, _| e.check_invariants().unwrap(),
    );
    let first = signal_times(&trace, 2)[0].1;
    // No token of request 1 lands strictly inside request 2's prefill pass.
    let prefill_2 = us(PolynomialModel::prefill_poly(4000.0));
    let start_2 = first - prefill_2;
    assert!(
        signal_times(&trace, 1)
            .iter()
            .all(|&(_, t)| t <= start_2 || t >= first)
    );
    // The gap spanning it is the longest request 1 sees.
    let longest = *trace.gaps.keys().last().unwrap();
    assert!(longest.as_micros() >= prefill_2);
}

/// Three requests whose prompts and first outputs fit, but whose reservation is clipped to
/// 100 tokens: decode runs out of pages. The request with the fewest output tokens goes
/// first (the latecomer `3`), then among equals the longest prompt (`2`, 64 tokens).
#[test]
fn retraction_takes_the_fewest_outputs_then_the_longest_prompt() {
    let json = r#"{"num_gpu_blocks": 40, "sglang": {"page_size": 16, "chunked_prefill_size": 4096,
        "clip_max_new_tokens": 100}}"#;
    let mut e = sglang(json);
    let arrivals = vec![
        (SimTime::ZERO, request_with_block(1, 32, 400, 1, 16)),
        (SimTime::ZERO, request_with_block(2, 64, 400, 2, 16)),
        (
            SimTime::from_millis(60),
            request_with_block(3, 16, 400, 3, 16),
        ),
    ];
    let mut retracted_cached = None;
    let trace = simulate(&mut e, arrivals, false, |e, _| {
        e.check_invariants().unwrap();
        let usage = e.kv_usage();
        if retracted_cached.is_none() && e.waiting() > 0 && usage.inactive > 0 {
            retracted_cached = Some(usage.inactive);
        }
    });
    assert_eq!(&preempted(&trace)[..2], &[3, 2]);
    // The first victim's prompt page stayed in the tree, evictable.
    assert_eq!(retracted_cached, Some(1));
    for id in 1..=3 {
        assert!(matches!(
            signal_times(&trace, id).last().unwrap().0,
            SignalKind::Completed { .. }
        ));
    }
    assert_eq!(e.kv_usage().active + e.kv_usage().anonymous, 0);
}

#[test]
fn new_token_ratio_decays_per_decode_pass_and_resets_on_retraction() {
    let json = r#"{"num_gpu_blocks": 40, "sglang": {"page_size": 16, "chunked_prefill_size": 4096,
        "clip_max_new_tokens": 100}}"#;
    let mut e = sglang(json);
    e.enqueue(request_with_block(1, 32, 400, 1, 16)).unwrap();
    e.enqueue(request_with_block(2, 64, 400, 2, 16)).unwrap();
    let mut out = PassOutput::default();
    let mut now = e.step(SimTime::ZERO, &mut out).unwrap();
    assert_eq!(e.new_token_ratio(), 0.7);
    let decay = (0.7 - 0.098) / 600.0;
    for pass in 1..=10 {
        out.clear();
        now = e.step(now, &mut out).unwrap();
        assert!((e.new_token_ratio() - (0.7 - decay * f64::from(pass))).abs() < 1e-12);
    }
    loop {
        out.clear();
        now = e.step(now, &mut out).unwrap();
        if out.signals.iter().any(|s| s.kind == SignalKind::Preempted) {
            break;
        }
    }
    // The retracting pass resets the ratio, then decays it once as it decodes.
    assert!((e.new_token_ratio() - (0.7 - decay)).abs() < 1e-12);
}

#[test]
fn kv_events_carry_the_routers_block_hashes() {
    let mut e = sglang(r#"{"block_size": 16}"#);
    e.record_kv_events(std::num::NonZeroU32::new(1));
    let request = request_with_block(1, 100, 2, 5, 16);
    let prompt = request.prompt_hashes.clone();
    assert_eq!(prompt.len(), 6);
    e.enqueue(request).unwrap();
    let mut out = PassOutput::default();
    e.step(SimTime::ZERO, &mut out).unwrap();
    let stored: Vec<_> = out
        .kv_events
        .iter()
        .map(|(at, event)| (*at, *event))
        .collect();
    let expected: Vec<_> = prompt
        .iter()
        .enumerate()
        .map(|(i, &hash)| {
            let parent = i.checked_sub(1).map(|p| prompt[p]);
            (SimTime::ZERO, KvEvent::Stored { hash, parent })
        })
        .collect();
    assert_eq!(stored, expected);
    assert_eq!(e.cached_prefix_blocks(&prompt), 6);
}

#[test]
fn prefill_and_decode_workers() {
    let mut prefill = sglang(r#"{"worker_type": "prefill"}"#);
    let trace = alone(&mut prefill, request_with_block(1, 2048, 50, 7, 1));
    prefill.check_invariants().unwrap();
    assert_eq!(
        signal_times(&trace, 1),
        vec![(SignalKind::PrefillDone { reused_tokens: 0 }, 49_363)]
    );
    let mut decode = sglang(r#"{"worker_type": "decode"}"#);
    let trace = alone(&mut decode, request_with_block(1, 2048, 3, 7, 1));
    decode.check_invariants().unwrap();
    // The transferred prompt is in KV: three decode steps, each writing one more page.
    let (s1, s2, s3) = (step_us(2049), step_us(2050), step_us(2051));
    let times: Vec<u64> = signal_times(&trace, 1).iter().map(|s| s.1).collect();
    assert_eq!(times, vec![s1, s1 + s2, s1 + s2 + s3]);
}

#[test]
fn lpm_admits_the_cached_prompt_first() {
    let arrivals = || {
        vec![
            (SimTime::ZERO, request_with_block(1, 3000, 2, 1, 1)),
            (SimTime::from_secs(1), request_with_block(2, 6000, 2, 2, 1)),
            (SimTime::from_secs(1), request_with_block(3, 3000, 2, 1, 1)),
        ]
    };
    let json = |policy| {
        format!(r#"{{"sglang": {{"schedule_policy": "{policy}", "max_prefill_tokens": 4000}}}}"#)
    };
    let first_token = |trace: &common::Trace, id| signal_times(trace, id)[0].1;
    let mut fifo = sglang(&json("fifo"));
    let fifo = simulate(&mut fifo, arrivals(), false, |_, _| {});
    assert!(first_token(&fifo, 2) < first_token(&fifo, 3));
    let mut lpm = sglang(&json("lpm"));
    let lpm = simulate(&mut lpm, arrivals(), false, |e, _| {
        e.check_invariants().unwrap()
    });
    // Request 3 finds request 1's prompt cached and is admitted ahead of request 2.
    assert!(first_token(&lpm, 3) < first_token(&lpm, 2));
    assert_eq!(
        first_token(&lpm, 3),
        SimTime::from_secs(1).as_micros() + us(PolynomialModel::prefill_poly(1.0))
    );
}
