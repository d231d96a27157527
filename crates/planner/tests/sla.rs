//! The SLA planner's decisions, tick by tick, with models fitted on exact linear data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use servesim_planner::config::PlannerConfig;
use servesim_planner::observe::{
    Component, EngineCaps, EngineSample, PoolState, TickInput, TrafficWindow,
};
use servesim_planner::policy::{Deployment, ScalingPolicy, TickOutput};
use servesim_planner::record::{LoadReason, ThroughputReason};
use servesim_planner::sla::SlaPlanner;

const CAPS: EngineCaps = EngineCaps {
    max_num_batched_tokens: 8192.0,
    max_num_seqs: 256.0,
    max_kv_tokens: 1_000_000.0,
    speculative_nextn: 0,
    startup_time_s: 0.0,
};

/// Aggregated pass time: 5 ms + 10 µs per prefill token + 10 ns per decode KV token.
fn agg_time(prefill: f64, kv: f64) -> f64 {
    0.005 + 1e-5 * prefill + 1e-8 * kv
}

fn agg_samples() -> Vec<EngineSample> {
    let mut samples = Vec::new();
    for p in [0.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0] {
        for kv in [1000.0, 50_000.0, 200_000.0, 600_000.0] {
            samples.push(EngineSample {
                sum_prefill_tokens: p,
                num_prefill_requests: if p > 0.0 { 1.0 } else { 0.0 },
                sum_decode_kv_tokens: kv,
                num_decode_requests: (kv / 2000.0).ceil(),
                wall_time_s: agg_time(p, kv),
                ..EngineSample::default()
            });
        }
    }
    samples
}

fn config(json: &str) -> PlannerConfig {
    PlannerConfig::parse(json)
        .unwrap()
        .validate()
        .unwrap()
        .config
}

fn agg_planner(json: &str) -> SlaPlanner {
    let deployment = Deployment {
        pools: BTreeMap::from([(Component::Decode, (CAPS, 1))]),
    };
    let mut planner = SlaPlanner::new(config(json), deployment);
    planner.bootstrap(Component::Decode, &agg_samples());
    planner
}

fn engine(queued_prefill: f64, kv: f64) -> EngineSample {
    EngineSample {
        sum_queued_prefill_tokens: queued_prefill,
        sum_decode_kv_tokens: kv,
        num_decode_requests: 10.0,
        wall_time_s: 0.02,
        ..EngineSample::default()
    }
}

fn input(now_s: f64, engines: Vec<EngineSample>, starting: u32, rps: f64) -> TickInput {
    let ready = engines.len() as u32;
    TickInput {
        now_s,
        decode: PoolState {
            ready,
            starting,
            engines,
            ..PoolState::default()
        },
        traffic: Some(TrafficWindow {
            duration_s: 5.0,
            num_req: rps * 5.0,
            avg_isl: 3000.0,
            avg_osl: 150.0,
            ..TrafficWindow::default()
        }),
        ..TickInput::default()
    }
}

/// The reference's rules (the servesim rules, the default, are tested at the end).
const SLA: &str = r#"{"mode": "agg", "optimization_target": "sla", "ttft": 1500, "itl": 50,
    "enable_load_scaling": true, "enable_throughput_scaling": true, "scaling_rules": "reference",
    "throughput_adjustment_interval": 60, "load_adjustment_interval": 5, "max_gpu_budget": 16}"#;

/// The servesim rules with a start-up time of 30 s.
const SERVESIM: &str = r#"{"mode": "agg", "optimization_target": "sla", "ttft": 1500, "itl": 50,
    "enable_load_scaling": true, "enable_throughput_scaling": true,
    "throughput_adjustment_interval": 60, "load_adjustment_interval": 5, "max_gpu_budget": 16}"#;

fn servesim_planner(startup_time_s: f64) -> SlaPlanner {
    let caps = EngineCaps {
        startup_time_s,
        ..CAPS
    };
    let deployment = Deployment {
        pools: BTreeMap::from([(Component::Decode, (caps, 1))]),
    };
    let mut planner = SlaPlanner::new(config(SERVESIM), deployment);
    planner.bootstrap(Component::Decode, &agg_samples());
    planner
}

/// Runs a planner over per-tick arrival rates, its engines lightly loaded, replicas
/// starting `startup` seconds after they are asked for; returns each tick's target.
fn drive(p: &mut SlaPlanner, rates: &[f64], startup: f64) -> Vec<(f64, u32)> {
    let mut ready = 1u32;
    let mut pending: Vec<(f64, u32)> = Vec::new();
    let mut out = Vec::new();
    for &rate in rates {
        let now = p.next_tick_s();
        // Replicas asked for `startup` ago are ready now.
        let arrived: u32 = pending.iter().filter(|(t, _)| *t <= now).map(|p| p.1).sum();
        ready += arrived;
        pending.retain(|(t, _)| *t > now);
        let starting: u32 = pending.iter().map(|p| p.1).sum();
        let decision = p.on_tick(&input(
            now,
            vec![engine(0.0, 20_000.0); ready as usize],
            starting,
            rate,
        ));
        let target = decision
            .targets
            .get(&Component::Decode)
            .copied()
            .unwrap_or(ready + starting);
        match target.cmp(&(ready + starting)) {
            std::cmp::Ordering::Greater => pending.push((now + startup, target - ready - starting)),
            std::cmp::Ordering::Less => {
                // Cancel starting replicas first, then drain ready ones.
                let mut excess = ready + starting - target;
                while excess > 0 && !pending.is_empty() {
                    let last = pending.len() - 1;
                    pending[last].1 -= 1;
                    if pending[last].1 == 0 {
                        pending.pop();
                    }
                    excess -= 1;
                }
                ready -= excess;
            }
            std::cmp::Ordering::Equal => {}
        }
        out.push((now, target));
    }
    out
}

#[test]
fn ticks_alternate_and_merge_with_throughput_first() {
    let mut p = agg_planner(SLA);
    let mut times = Vec::new();
    for _ in 0..13 {
        let t = p.next_tick_s();
        times.push(t);
        let out = p.on_tick(&input(t, vec![engine(0.0, 10_000.0)], 0, 10.0));
        let both = out.record.predicted.is_some();
        assert_eq!(both, t == 60.0, "t={t}");
        if both {
            let rec = &out.record.decode;
            assert_eq!(rec.throughput_reason, Some(ThroughputReason::SetLowerBound));
            assert!(
                rec.load_reason.is_some(),
                "the load decision runs on the same tick"
            );
        }
    }
    assert_eq!(
        times,
        (1..=13).map(|i| f64::from(i) * 5.0).collect::<Vec<_>>()
    );
}

#[test]
fn sla_load_scaling_reasons() {
    let mut p = agg_planner(SLA);
    // A long queue: 200,000 queued + a 3,000-token prompt in 8192-token chunks ≈ 2.16 s.
    let out = p.on_tick(&input(5.0, vec![engine(200_000.0, 10_000.0); 2], 0, 10.0));
    assert_eq!(out.record.decode.load_reason, Some(LoadReason::ScaleUp));
    assert_eq!(out.targets[&Component::Decode], 3);
    let ttft = out.record.decode.estimated_ttft_ms.unwrap();
    let expected_ttft = {
        let tokens: f64 = 203_000.0;
        let full = (tokens / 8192.0).floor();
        (full * agg_time(8192.0, 10_000.0) + agg_time(tokens - full * 8192.0, 10_000.0)) * 1000.0
    };
    assert!(
        (ttft - expected_ttft).abs() < 1e-6,
        "{ttft} vs {expected_ttft}"
    );
    // Idle engines: both TTFT and ITL comfortably low → one fewer.
    let out = p.on_tick(&input(10.0, vec![engine(0.0, 1000.0); 3], 0, 10.0));
    assert_eq!(out.record.decode.load_reason, Some(LoadReason::ScaleDown));
    assert_eq!(out.targets[&Component::Decode], 2);
    // Mixed: one engine busy, one idle → hold.
    let out = p.on_tick(&input(
        15.0,
        vec![engine(130_000.0, 10_000.0), engine(0.0, 1000.0)],
        0,
        10.0,
    ));
    assert_eq!(out.record.decode.load_reason, Some(LoadReason::NoChange));
    // Starting replicas: wait.
    let out = p.on_tick(&input(20.0, vec![engine(0.0, 1000.0)], 1, 10.0));
    assert_eq!(
        out.record.decode.load_reason,
        Some(LoadReason::ScalingInProgress)
    );
    assert!(out.targets.is_empty());
    // No sample at all.
    let out = p.on_tick(&input(25.0, vec![], 0, 10.0));
    assert_eq!(out.record.decode.load_reason, Some(LoadReason::NoFpmData));
    // Fewer samples than ready replicas.
    let mut mismatch = input(30.0, vec![engine(0.0, 1000.0)], 0, 10.0);
    mismatch.decode.ready = 2;
    assert_eq!(
        p.on_tick(&mismatch).record.decode.load_reason,
        Some(LoadReason::WorkerCountMismatch)
    );
}

#[test]
fn unfitted_models_report_insufficient_data_and_model_not_ready() {
    let deployment = Deployment {
        pools: BTreeMap::from([(Component::Decode, (CAPS, 1))]),
    };
    let mut p = SlaPlanner::new(config(SLA), deployment);
    let mut reasons = Vec::new();
    for t in (1..=12).map(|i| f64::from(i) * 5.0) {
        let out = p.on_tick(&input(t, vec![engine(0.0, 1000.0)], 0, 10.0));
        reasons.push((
            out.record.decode.load_reason,
            out.record.decode.throughput_reason,
        ));
    }
    assert_eq!(reasons[0].0, Some(LoadReason::InsufficientData));
    assert_eq!(
        reasons[11],
        (
            Some(LoadReason::InsufficientData),
            Some(ThroughputReason::ModelNotReady)
        )
    );
}

#[test]
fn throughput_lower_bound_caps_scale_down_and_throughput_only_scales() {
    let mut p = agg_planner(SLA);
    // 12 ticks of 40 req/s: the throughput tick at 60 s sets a lower bound above 1.
    let mut last = None;
    for t in (1..=12).map(|i| f64::from(i) * 5.0) {
        last = Some(p.on_tick(&input(t, vec![engine(0.0, 1000.0); 2], 0, 40.0)));
    }
    let out = last.unwrap();
    let bound = out.record.decode.lower_bound;
    assert!(bound >= 2, "lower bound {bound}");
    assert_eq!(
        out.record.decode.load_reason,
        Some(LoadReason::ScaleDownCappedByThroughput)
    );
    assert_eq!(out.targets[&Component::Decode], bound);
    let rps = out.record.decode.engine_rps.unwrap();
    assert_eq!(bound, (40.0 / rps).ceil() as u32);

    // Throughput scaling alone scales directly.
    let only = r#"{"mode": "agg", "optimization_target": "sla", "enable_throughput_scaling": true,
        "throughput_adjustment_interval": 60, "max_gpu_budget": 16}"#;
    let mut p = agg_planner(only);
    assert_eq!(p.next_tick_s(), 60.0);
    let out = p.on_tick(&input(60.0, vec![engine(0.0, 1000.0)], 0, 40.0));
    assert_eq!(
        out.record.decode.throughput_reason,
        Some(ThroughputReason::Scale)
    );
    assert_eq!(out.record.decode.load_reason, Some(LoadReason::Disabled));
    assert_eq!(out.targets[&Component::Decode], bound);
    // A later quiet window is still sized from the forecast of the series so far...
    let out = p.on_tick(&input(120.0, vec![engine(0.0, 1000.0)], 0, 0.0));
    assert_eq!(
        out.record.decode.throughput_reason,
        Some(ThroughputReason::Scale)
    );
    // ...but with no traffic ever there is nothing to size for.
    let mut fresh = agg_planner(only);
    let out = fresh.on_tick(&input(60.0, vec![engine(0.0, 1000.0)], 0, 0.0));
    assert_eq!(
        out.record.decode.throughput_reason,
        Some(ThroughputReason::NoTrafficData)
    );
}

#[test]
fn budget_clamps_the_planner() {
    let json = r#"{"mode": "agg", "optimization_target": "sla", "enable_throughput_scaling": true,
        "throughput_adjustment_interval": 60, "max_gpu_budget": 4, "decode_engine_num_gpu": 2}"#;
    let deployment = Deployment {
        pools: BTreeMap::from([(Component::Decode, (CAPS, 2))]),
    };
    let mut p = SlaPlanner::new(config(json), deployment);
    p.bootstrap(Component::Decode, &agg_samples());
    let out = p.on_tick(&input(60.0, vec![engine(0.0, 1000.0)], 0, 200.0));
    // 200 req/s would need 8 replicas; 4 GPUs hold two 2-GPU replicas.
    assert_eq!(out.targets[&Component::Decode], 2);
}

#[test]
fn easy_mode_thresholds() {
    let deployment = Deployment {
        pools: BTreeMap::from([(Component::Decode, (CAPS, 1))]),
    };
    let mut p = SlaPlanner::new(config(r#"{"mode": "agg"}"#), deployment.clone());
    // Agg KV load (decode KV + queued prefill) / capacity: > 1.0 up, all < 0.6 down.
    let out = p.on_tick(&input(5.0, vec![engine(600_000.0, 500_000.0)], 0, 1.0));
    assert_eq!(out.record.decode.load_reason, Some(LoadReason::ScaleUp));
    assert_eq!(
        out.record.decode.throughput_reason,
        Some(ThroughputReason::Disabled)
    );
    let out = p.on_tick(&input(
        10.0,
        vec![engine(0.0, 500_000.0), engine(0.0, 100_000.0)],
        0,
        1.0,
    ));
    assert_eq!(out.record.decode.load_reason, Some(LoadReason::ScaleDown));
    let out = p.on_tick(&input(
        15.0,
        vec![engine(0.0, 700_000.0), engine(0.0, 100_000.0)],
        0,
        1.0,
    ));
    assert_eq!(out.record.decode.load_reason, Some(LoadReason::NoChange));
    // Latency target: up above 40%.
    let mut p = SlaPlanner::new(
        config(r#"{"mode": "agg", "optimization_target": "latency"}"#),
        deployment,
    );
    let out = p.on_tick(&input(5.0, vec![engine(0.0, 450_000.0)], 0, 1.0));
    assert_eq!(out.record.decode.load_reason, Some(LoadReason::ScaleUp));
}

const DISAGG: &str = r#"{"mode": "disagg", "optimization_target": "sla", "ttft": 500, "itl": 20, "enable_throughput_scaling": true,
    "throughput_adjustment_interval": 60, "max_gpu_budget": 6}"#;

fn disagg_planner(json: &str, decode_caps: EngineCaps) -> SlaPlanner {
    let deployment = Deployment {
        pools: BTreeMap::from([
            (Component::Prefill, (CAPS, 1)),
            (Component::Decode, (decode_caps, 1)),
        ]),
    };
    let mut planner = SlaPlanner::new(config(json), deployment);
    let prefill: Vec<EngineSample> = [500.0, 1000.0, 2000.0, 4000.0, 8000.0]
        .iter()
        .map(|&x| EngineSample {
            sum_prefill_tokens: x,
            num_prefill_requests: 1.0,
            wall_time_s: 0.01 + 2e-5 * x,
            ..EngineSample::default()
        })
        .collect();
    planner.bootstrap(Component::Prefill, &prefill);
    planner
}

/// Decode step: 4 ms + 0.1 ms per sequence + 10 ns per KV token.
fn decode_samples() -> Vec<EngineSample> {
    [
        (1.0, 2000.0),
        (8.0, 20_000.0),
        (32.0, 100_000.0),
        (64.0, 200_000.0),
        (128.0, 400_000.0),
    ]
    .iter()
    .map(|&(n, kv)| EngineSample {
        num_decode_requests: n,
        sum_decode_kv_tokens: kv,
        wall_time_s: 0.004 + 1e-4 * n + 1e-8 * kv,
        ..EngineSample::default()
    })
    .collect()
}

/// A disaggregated tick at `t` with 20 req/s of traffic reporting `accept_length`.
fn disagg_tick(p: &mut SlaPlanner, t: f64, accept_length: Option<f64>) -> TickOutput {
    let mut i = input(t, vec![engine(0.0, 1000.0)], 0, 20.0);
    i.prefill = PoolState {
        ready: 1,
        engines: vec![engine(0.0, 0.0)],
        ..PoolState::default()
    };
    if let Some(traffic) = &mut i.traffic {
        traffic.accept_length = accept_length;
    }
    p.on_tick(&i)
}

#[test]
fn disaggregated_sizing_and_partner_readiness() {
    let mut p = disagg_planner(DISAGG, CAPS);
    let tick = |p: &mut SlaPlanner, t: f64| disagg_tick(p, t, Some(1.0));
    let out = tick(&mut p, 60.0);
    let prefill_rec = out.record.prefill.as_ref().unwrap();
    // The decode model is not fitted: decode not ready, prefill waits for its partner.
    assert_eq!(
        out.record.decode.throughput_reason,
        Some(ThroughputReason::ModelNotReady)
    );
    assert_eq!(
        prefill_rec.throughput_reason,
        Some(ThroughputReason::PartnerNotReady)
    );
    assert!(out.targets.is_empty());
    p.bootstrap(Component::Decode, &decode_samples());
    let out = tick(&mut p, 120.0);
    // Prefill: 3000 tokens at 0.07 s → 14.29 req/s per engine → ⌈20 / 14.29⌉ = 2.
    assert_eq!(out.targets[&Component::Prefill], 2);
    let prefill_rps = out.record.prefill.as_ref().unwrap().engine_rps.unwrap();
    assert!((prefill_rps - 1.0 / 0.07).abs() < 1e-6);
    // Decode: ctx 3075; step(bs) = 4 + 0.1·bs + 0.03075·bs ms ≤ 20 → bs = 122;
    // rps = 122 / (150 · step) = 122 / (150 · 0.019951) ≈ 40.8 → 1 replica.
    assert_eq!(out.targets[&Component::Decode], 1);
    assert_eq!(
        out.record.decode.throughput_reason,
        Some(ThroughputReason::Scale)
    );
}

/// With MTP the decode ITL is the step over the accept length (last value, clamped to
/// `[1, nextn + 1]`), while the KV per request still counts the raw OSL.
#[test]
fn speculative_accept_length_discounts_decode_itl() {
    let mtp_caps = EngineCaps {
        speculative_nextn: 2,
        startup_time_s: 0.0,
        ..CAPS
    };
    let decode_rps = |p: &mut SlaPlanner, t: f64, accept: Option<f64>| {
        disagg_tick(p, t, accept).record.decode.engine_rps.unwrap()
    };
    let mut mtp = disagg_planner(DISAGG, mtp_caps);
    mtp.bootstrap(Component::Decode, &decode_samples());
    // ITL = step / 2 ≤ 20 ms → step ≤ 40 ms → bs ≤ 275, capped by max_num_seqs at 256;
    // step(256) = 4 + 25.6 + 7.872 ms; rps = 256 · 2 / (150 · 0.037472).
    let step = 0.004 + 1e-4 * 256.0 + 1e-8 * 256.0 * 3075.0;
    let expected = 256.0 * 2.0 / (150.0 * step);
    let rps = decode_rps(&mut mtp, 60.0, Some(2.0));
    assert!((rps - expected).abs() < 1e-6, "{rps} vs {expected}");
    // A window without a sample keeps the last value.
    let rps = decode_rps(&mut mtp, 120.0, None);
    assert!((rps - expected).abs() < 1e-6, "{rps} vs {expected}");
    // Samples are clamped to nextn + 1 = 3; max_num_seqs still binds the batch at 256.
    let rps = decode_rps(&mut mtp, 180.0, Some(5.0));
    assert!((rps - 256.0 * 3.0 / (150.0 * step)).abs() < 1e-6);
    // Without MTP the same samples change nothing: bs = 122 at ITL 20 ms (see above).
    let mut plain = disagg_planner(DISAGG, CAPS);
    plain.bootstrap(Component::Decode, &decode_samples());
    let rps = decode_rps(&mut plain, 60.0, Some(2.0));
    let step_122 = 0.004 + 1e-4 * 122.0 + 1e-8 * 122.0 * 3075.0;
    assert!((rps - 122.0 / (150.0 * step_122)).abs() < 1e-6);
    // The `speculative_nextn` key stands in for engine capabilities.
    let json = DISAGG.replace(
        "\"max_gpu_budget\": 6",
        "\"max_gpu_budget\": 6, \"speculative_nextn\": 2",
    );
    let mut keyed = disagg_planner(&json, CAPS);
    keyed.bootstrap(Component::Decode, &decode_samples());
    let rps = decode_rps(&mut keyed, 60.0, Some(2.0));
    assert!((rps - expected).abs() < 1e-6);
}

#[test]
fn servesim_rules_size_the_pool_for_the_forecast_rate() {
    let mut p = servesim_planner(0.0);
    // A steady 2 req/s, then a ramp to 60 req/s: the pool grows with the forecast, before
    // any engine misses a target (the engines stay lightly loaded here).
    let mut rates = vec![2.0; 6];
    rates.extend((1..=12).map(|i| 2.0 + 58.0 * f64::from(i) / 12.0));
    let ticks = drive(&mut p, &rates, 0.0);
    let (calm, ramp) = ticks.split_at(6);
    assert!(calm.iter().all(|&(_, n)| n == 1), "{calm:?}");
    let peak = ramp.last().unwrap().1;
    assert!(peak > 2, "{ramp:?}");
    assert!(
        ramp.windows(2).all(|w| w[1].1 >= w[0].1),
        "the pool only grows on a ramp: {ramp:?}"
    );
    // The need is recorded as the lower bound, with the engine rate behind it.
    let out = p.on_tick(&input(
        p.next_tick_s(),
        vec![engine(0.0, 20_000.0); peak as usize],
        0,
        60.0,
    ));
    assert_eq!(out.record.decode.lower_bound, peak);
    let rps = out.record.decode.engine_rps.unwrap();
    assert_eq!(peak, (60.0 / rps).ceil() as u32);
    assert_eq!(out.record.decode.throughput_reason, None);
}

#[test]
fn servesim_rules_do_not_flap_on_a_noisy_constant_load() {
    let mut p = servesim_planner(30.0);
    let rps = {
        let out = p.on_tick(&input(5.0, vec![engine(0.0, 20_000.0)], 0, 10.0));
        out.record.decode.engine_rps.unwrap()
    };
    // Arrivals around 2.5 engines' worth, ±30 % per tick (a fixed pseudo-random sequence).
    let mut x = 12345u64;
    let rates: Vec<f64> = (0..200)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            2.5 * rps * (0.7 + 0.6 * u)
        })
        .collect();
    let ticks = drive(&mut p, &rates, 30.0);
    // A scale-down comes a full 30-s stabilisation window after the last scale-up, so no
    // up-down-up fits in one window.
    let mut last_up = f64::NEG_INFINITY;
    for w in ticks.windows(2) {
        let ((_, before), (t, after)) = (w[0], w[1]);
        if after > before {
            last_up = t;
        }
        if after < before {
            assert!(
                t - last_up >= 30.0,
                "down at {t} s, {} s after an up: {ticks:?}",
                t - last_up
            );
        }
    }
    let events = ticks.windows(2).filter(|w| w[0].1 != w[1].1).count();
    assert!(events <= 20, "{events} changes over 1,000 s: {ticks:?}");
}

#[test]
fn servesim_rules_add_a_replica_beyond_the_forecast_only_on_an_observed_miss() {
    let mut p = servesim_planner(0.0);
    // Every engine's TTFT estimate misses (a long queue), the forecast needs one replica.
    let queued = |now: f64, observed_ttft: f64| {
        let mut tick = input(now, vec![engine(200_000.0, 10_000.0)], 0, 1.0);
        if let Some(t) = tick.traffic.as_mut() {
            t.avg_ttft_ms = observed_ttft;
        }
        tick
    };
    let calm = p.on_tick(&queued(5.0, 800.0));
    assert_eq!(
        calm.targets[&Component::Decode],
        1,
        "observed TTFT within target"
    );
    let missed = p.on_tick(&queued(10.0, 2500.0));
    assert_eq!(missed.targets[&Component::Decode], 2);
    assert_eq!(missed.record.decode.load_reason, Some(LoadReason::ScaleUp));
}
