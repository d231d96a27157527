//! The hindsight oracle and the scorecard, end to end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;

use servesim_engine::EngineArgs;
use servesim_planner::config::PlannerConfig;
use servesim_replay::plan_eval::{OracleSpec, Score, hindsight_oracle};
use servesim_replay::{
    AdmissionMode, NoObserver, PlanningConfig, ReplayConfig, RouterMode, replay,
};
use servesim_trace::{ReadOptions, Workload, parse_trace};

/// One request at a time per worker, so a worker's capacity is exactly one request per
/// service time.
const ENGINE: &str = r#"{"max_num_seqs": 1}"#;

fn config(ttft_ms: f64, workers: u32) -> ReplayConfig {
    let engine = EngineArgs::from_json(ENGINE).unwrap().resolve().unwrap();
    let mut config = ReplayConfig::aggregated(
        workers,
        engine,
        RouterMode::RoundRobin,
        AdmissionMode::Trace,
        42,
    );
    let planner = PlannerConfig::parse(&format!(
        r#"{{"mode": "agg", "scaling_policy": "static", "ttft": {ttft_ms}, "itl": 1000,
            "enable_throughput_scaling": false, "enable_load_scaling": true,
            "max_gpu_budget": 4}}"#
    ))
    .unwrap()
    .validate()
    .unwrap()
    .config;
    config.planning = Some(PlanningConfig {
        planner,
        prefill_gpus: 1,
        decode_gpus: 1,
        benchmark_granularity: 8,
        custom_policy: None,
    });
    config
}

/// Requests of 100 prompt and 50 output tokens with unique blocks, `gaps_ms[k]` apart
/// during the k-th minute.
fn stepped(gaps_ms: &[f64]) -> Workload {
    let mut text = String::new();
    let mut id = 0u64;
    for (k, gap) in gaps_ms.iter().enumerate() {
        let mut t = k as f64 * 60_000.0;
        while t < (k + 1) as f64 * 60_000.0 {
            id += 1;
            let _ = writeln!(
                text,
                r#"{{"timestamp": {t:.3}, "input_length": 100, "output_length": 50, "hash_ids": [{id}]}}"#
            );
            t += gap;
        }
    }
    parse_trace(text.as_bytes(), "stepped", &ReadOptions::default())
        .unwrap()
        .workload
}

/// The service time of one request alone on a worker, and its TTFT.
fn service() -> (f64, f64) {
    let w = stepped(&[120_000.0]);
    let outcome = replay(&w, &config(1e9, 1), &mut NoObserver).unwrap();
    (outcome.metrics.e2e_latency.mean, outcome.metrics.ttft.mean)
}

/// The stepped case: offered work per minute of 0.8, 2.5 and 1.6 workers' worth, so the
/// cheapest schedule that never queues a request for long is 1, 3, 2 workers. A request may
/// wait for at most one service time (a window's first request can find its worker
/// finishing the previous window's last one); one worker too few queues requests ever
/// longer. Returns the trace, the configuration, a strict spec and the TTFT target.
fn stepped_case() -> (Workload, ReplayConfig, OracleSpec, f64) {
    let (service_ms, ttft_ms) = service();
    let w = stepped(&[service_ms / 0.8, service_ms / 2.5, service_ms / 1.6]);
    let ttft_target = service_ms + 2.0 * ttft_ms;
    let spec = OracleSpec {
        window_s: 60.0,
        target: 1.0,
        min_replicas: 1,
        max_replicas: 4,
    };
    (w, config(ttft_target, 2), spec, ttft_target)
}

#[test]
fn the_oracle_finds_the_known_cheapest_schedule_of_a_stepped_load() {
    let (w, config, spec, ttft_target) = stepped_case();
    let found = hindsight_oracle(&w, &config, &spec).unwrap();
    assert_eq!(found.schedule.replicas, vec![1, 3, 2]);
    assert!(found.capped_windows.is_empty());
    assert_eq!(found.ceiling, 1.0);
    assert!(found.window_attainment.iter().all(|&a| a == 1.0));
    let planning = found.outcome.planning.as_ref().unwrap();
    assert_eq!(planning.policy, "oracle");
    assert_eq!(planning.sla.both, 1.0);
    // 6 worker-minutes, plus the last requests' tail after the grid ends.
    assert!(
        (0.1..0.11).contains(&planning.gpu_hours),
        "{} GPU-hours",
        planning.gpu_hours
    );
    // Forward pass: one probe and one replay at the maximum; window 0 bisects 1–4 (2 and
    // 1 hold), window 1 gallops up from 1 (1 and 2 fail, then 3 holds), window 2 down from
    // 3 (3 and 2 hold, 1 fails). Descent: one per window above the minimum.
    assert_eq!(found.replays, 2 + (2 + 3 + 3) + 2);

    // Deterministic: the same search gives the same schedule and the same replay.
    let again = hindsight_oracle(&w, &config, &spec).unwrap();
    assert_eq!(again.schedule, found.schedule);
    assert_eq!(again.outcome.metrics, found.outcome.metrics);

    // A static fleet of the peak size meets the SLA at a higher cost.
    let static3 = replay(
        &w,
        &{
            let mut c = config.clone();
            c.topology = self::config(ttft_target, 3).topology;
            c
        },
        &mut NoObserver,
    )
    .unwrap();
    let oracle = Score::of("oracle", 42, &found.outcome).unwrap();
    let fixed = Score::of("static:3", 42, &static3)
        .unwrap()
        .against(&oracle, found.ceiling);
    assert_eq!(fixed.sla_attainment, 1.0);
    assert_eq!(fixed.sla_vs_ceiling, Some(1.0));
    let ratio = fixed.gpu_hours_vs_oracle.unwrap();
    assert!((1.4..1.55).contains(&ratio), "static 3 / oracle = {ratio}");
    assert!(fixed.goodput_vs_oracle.unwrap() < 1.0);
    assert_eq!(fixed.scale_events, 0);
}

#[test]
fn a_relaxed_target_lets_the_descent_spend_the_slack() {
    let (w, config, strict, _) = stepped_case();
    let relaxed = OracleSpec {
        target: 0.5,
        ..strict
    };
    let strict = hindsight_oracle(&w, &config, &strict).unwrap();
    let relaxed = hindsight_oracle(&w, &config, &relaxed).unwrap();
    let cost = |r: &servesim_replay::plan_eval::OracleResult| {
        r.outcome.planning.as_ref().unwrap().gpu_hours
    };
    assert!(cost(&relaxed) < cost(&strict));
    assert!(relaxed.outcome.planning.as_ref().unwrap().sla.both >= 0.5);
}

#[test]
fn the_oracle_refuses_closed_loops_and_empty_ranges() {
    let w = stepped(&[1000.0]);
    let mut closed = config(1000.0, 1);
    closed.admission = AdmissionMode::Concurrency(4);
    let spec = OracleSpec {
        window_s: 30.0,
        target: 0.99,
        min_replicas: 1,
        max_replicas: 4,
    };
    let error = hindsight_oracle(&w, &closed, &spec)
        .unwrap_err()
        .to_string();
    assert!(error.contains("open-loop"), "{error}");
    let empty = OracleSpec {
        min_replicas: 5,
        ..spec
    };
    let error = hindsight_oracle(&w, &config(1000.0, 1), &empty)
        .unwrap_err()
        .to_string();
    assert!(error.contains("replica range"), "{error}");
}
