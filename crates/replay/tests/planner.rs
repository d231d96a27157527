//! The planner in the loop, end to end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use servesim_engine::EngineArgs;
use servesim_planner::config::{PlannerConfig, PolicyKind};
use servesim_replay::{
    AdmissionMode, NoObserver, PlanningConfig, ReplayConfig, ReplayOutcome, RouterMode, replay,
};
use servesim_trace::synth::{LengthDist, LengthMix, RateShape, RateTraceSpec};
use servesim_trace::{ReadOptions, Workload, parse_trace};

/// The planner benchmark's load: 600 s, 5–20 req/s sinusoid of period 150 s, ISL 3000, OSL 150.
fn sinusoid() -> Workload {
    RateTraceSpec::new(
        RateShape::Sinusoid {
            min: 5.0,
            max: 20.0,
            period_s: 150.0,
        },
        600.0,
        LengthMix::single(LengthDist::Fixed(3000), LengthDist::Fixed(150)),
    )
    .generate()
    .unwrap()
}

const SLA: &str = r#"{"mode": "agg", "optimization_target": "sla", "ttft": 1500, "itl": 50,
    "enable_throughput_scaling": true, "enable_load_scaling": true,
    "throughput_adjustment_interval": 60, "load_adjustment_interval": 5}"#;

fn run(
    workload: &Workload,
    planner_json: &str,
    engine_json: &str,
    policy: Option<PolicyKind>,
) -> ReplayOutcome {
    let mut planner = PlannerConfig::parse(planner_json).unwrap();
    if let Some(policy) = policy {
        planner.scaling_policy = policy;
    }
    let planner = planner.validate().unwrap().config;
    let engine = EngineArgs::from_json(engine_json)
        .unwrap()
        .resolve()
        .unwrap();
    let mut config =
        ReplayConfig::aggregated(1, engine, RouterMode::RoundRobin, AdmissionMode::Trace, 42);
    config.planning = Some(PlanningConfig {
        planner,
        prefill_gpus: 1,
        decode_gpus: 1,
        benchmark_granularity: 8,
        custom_policy: None,
    });
    replay(workload, &config, &mut NoObserver).unwrap()
}

/// Mean of `values`.
fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Pearson correlation of two series.
fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let (mx, my) = (mean(x), mean(y));
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let (vx, vy): (f64, f64) = (
        x.iter().map(|a| (a - mx).powi(2)).sum(),
        y.iter().map(|b| (b - my).powi(2)).sum(),
    );
    cov / (vx * vy).sqrt()
}

#[test]
fn replicas_follow_a_sinusoidal_load() {
    let w = sinusoid();
    let outcome = run(&w, SLA, "{}", None);
    assert_eq!(outcome.metrics.completed_requests, w.len() as u64);
    let planning = outcome.planning.as_ref().unwrap();
    // Offered rate of each tick's window against the replicas the planner asks for.
    let rate: Vec<f64> = planning
        .records
        .iter()
        .map(|r| r.observed.unwrap().rps())
        .collect();
    let replicas: Vec<f64> = planning
        .records
        .iter()
        .map(|r| f64::from(r.decode.target))
        .collect();
    let at = |busy: bool| -> f64 {
        let picked: Vec<f64> = rate
            .iter()
            .zip(&replicas)
            .filter(|(r, _)| if busy { **r >= 15.0 } else { **r <= 8.0 })
            .map(|(_, n)| *n)
            .collect();
        mean(&picked)
    };
    assert!(
        at(true) > at(false) + 0.3,
        "replicas at ≥ 15 req/s: {:.2}, at ≤ 8 req/s: {:.2}",
        at(true),
        at(false)
    );
    assert!(
        correlation(&rate, &replicas) > 0.3,
        "correlation {:.2}",
        correlation(&rate, &replicas)
    );
    assert!(
        planning
            .scaling_events
            .iter()
            .any(|e| e.direction == "scale_up")
    );
    assert!(
        planning
            .scaling_events
            .iter()
            .any(|e| e.direction == "scale_down")
    );
    assert!(
        planning.gpu_hours > 600.0 / 3600.0,
        "{}",
        planning.gpu_hours
    );
    assert!(planning.sla.both > 0.5 && planning.sla.both <= 1.0);
    assert!(planning.sla.goodput_per_gpu_hour > 0.0);
    assert_eq!(planning.ticks as usize, planning.records.len());
    // GPU-hours grow monotonically tick by tick.
    assert!(
        planning
            .records
            .windows(2)
            .all(|w| w[1].gpu_hours >= w[0].gpu_hours)
    );
}

#[test]
fn slow_cold_starts_hurt_tail_ttft() {
    let w = sinusoid();
    let fast = run(&w, SLA, r#"{"startup_time": 0}"#, None);
    let slow = run(&w, SLA, r#"{"startup_time": 300}"#, None);
    let (p99_fast, p99_slow) = (fast.metrics.ttft.p99, slow.metrics.ttft.p99);
    assert!(
        p99_slow > 2.0 * p99_fast,
        "p99 TTFT: startup 0 s {p99_fast:.0} ms, 300 s {p99_slow:.0} ms"
    );
    // Starting workers cost GPU time too.
    assert!(slow.planning.as_ref().unwrap().gpu_hours > 0.0);
}

#[test]
fn idle_gaps_longer_than_the_tick_interval_do_not_stall() {
    let text = r#"{"timestamp": 0, "input_length": 1000, "output_length": 20, "hash_ids": [1, 2]}
{"timestamp": 3600000, "input_length": 1000, "output_length": 20, "hash_ids": [3, 4]}"#;
    let w = parse_trace(text.as_bytes(), "gap", &ReadOptions::default())
        .unwrap()
        .workload;
    let outcome = run(&w, SLA, "{}", None);
    assert_eq!(outcome.metrics.completed_requests, 2);
    let planning = outcome.planning.unwrap();
    // One load tick every 5 s across the hour.
    assert!(
        (719..=722).contains(&planning.ticks),
        "{} ticks",
        planning.ticks
    );
    assert!(outcome.end_time.as_secs_f64() > 3600.0);
}

#[test]
fn planner_diagnostics_are_deterministic() {
    let w = sinusoid();
    let a = run(&w, SLA, "{}", None);
    let b = run(&w, SLA, "{}", None);
    let (pa, pb) = (a.planning.unwrap(), b.planning.unwrap());
    assert_eq!(pa.records, pb.records);
    assert_eq!(pa.scaling_events, pb.scaling_events);
    assert_eq!(a.metrics, b.metrics);
}

#[test]
fn baselines_run_in_the_loop() {
    let w = sinusoid();
    let fixed = run(&w, SLA, "{}", Some(PolicyKind::Static));
    let fixed_planning = fixed.planning.as_ref().unwrap();
    assert!(fixed_planning.scaling_events.is_empty());
    assert!((fixed_planning.gpu_hours - fixed.end_time.as_secs_f64() / 3600.0).abs() < 1e-9);
    for policy in [PolicyKind::Hpa, PolicyKind::Kpa] {
        let outcome = run(&w, SLA, "{}", Some(policy));
        assert_eq!(outcome.metrics.completed_requests, w.len() as u64);
        assert!(
            !outcome.planning.unwrap().scaling_events.is_empty(),
            "{policy} scales"
        );
    }
}
