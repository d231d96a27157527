//! End-to-end behaviour of the replay harness: admission modes, dependencies, queueing
//! theory, determinism and a golden report.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use servesim_engine::EngineArgs;
use servesim_replay::{AdmissionMode, NoObserver, ReplayConfig, ReplayOutcome, RouterMode, replay};
use servesim_trace::synth::{ArrivalProcess, DelayDist, LengthDist, SyntheticSpec};
use servesim_trace::{
    NodeId, ReadOptions, SimTime, TraceFormat, Workload, parse_trace, read_trace,
};

fn config(workers: u32, engine_json: &str, admission: AdmissionMode) -> ReplayConfig {
    let engine = EngineArgs::from_json(engine_json)
        .unwrap()
        .resolve()
        .unwrap();
    ReplayConfig::aggregated(workers, engine, RouterMode::RoundRobin, admission, 42)
}

fn run(workload: &Workload, config: &ReplayConfig) -> ReplayOutcome {
    replay(workload, config, &mut NoObserver).unwrap()
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/mooncake_conversation_1000.jsonl")
}

/// M/D/1: one worker serving one request at a time, constant service time (same prompt
/// length, unique content, one output token), Poisson arrivals. Mean wait must match the
/// Pollaczek–Khinchine formula `W = ρ·S / (2(1 − ρ))` within 5%.
#[test]
fn queueing_matches_m_d_1() {
    let isl = 1000;
    let service_ms = 32.106; // T_p(1000) of the polynomial model, rounded to the µs
    for (rho, requests) in [(0.5, 100_000u32), (0.8, 800_000)] {
        let workload = SyntheticSpec {
            sessions: requests,
            input: LengthDist::Fixed(isl),
            output: LengthDist::Fixed(1),
            arrival: ArrivalProcess::Poisson(rho / (service_ms / 1000.0)),
            seed: 7,
            ..SyntheticSpec::default()
        }
        .generate()
        .unwrap();
        let outcome = run(
            &workload,
            &config(1, r#"{"max_num_seqs": 1}"#, AdmissionMode::Trace),
        );
        let mean_wait = outcome.metrics.ttft.mean - service_ms;
        let expected = rho * service_ms / (2.0 * (1.0 - rho));
        let error = (mean_wait - expected).abs() / expected;
        assert!(
            error < 0.05,
            "ρ={rho}: mean wait {mean_wait:.3} ms vs M/D/1 {expected:.3} ms ({:.1}% off)",
            error * 100.0
        );
        assert_eq!(outcome.metrics.ttft.min, service_ms);
    }
}

/// Closed loop: exactly N requests in flight from the first dispatch until fewer than N
/// remain; arrivals are dispatch times.
#[test]
fn concurrency_mode_keeps_n_in_flight() {
    let workload = SyntheticSpec {
        sessions: 200,
        input: "lognormal:2000,1500".parse().unwrap(),
        output: "lognormal:100,80".parse().unwrap(),
        ..SyntheticSpec::default()
    }
    .generate()
    .unwrap();
    let n = 7;
    let outcome = run(&workload, &config(2, "{}", AdmissionMode::Concurrency(n)));
    let records = outcome.collector.records();
    // Sweep: at each instant, completions before arrivals.
    let mut events: Vec<(SimTime, i32)> = records
        .iter()
        .flat_map(|r| [(r.arrival, 1), (r.completed.unwrap(), -1)])
        .collect();
    events.sort_by_key(|&(t, d)| (t, d));
    let (mut in_flight, mut dispatched) = (0i64, 0usize);
    let mut i = 0;
    while i < events.len() {
        let t = events[i].0;
        while i < events.len() && events[i].0 == t {
            in_flight += i64::from(events[i].1);
            dispatched += usize::from(events[i].1 == 1);
            i += 1;
        }
        assert!(in_flight <= i64::from(n));
        if dispatched < records.len() {
            assert_eq!(in_flight, i64::from(n), "at t={t}");
        }
    }
    assert_eq!(
        records
            .iter()
            .filter(|r| r.arrival == SimTime::ZERO)
            .count(),
        n as usize
    );
}

/// A later turn arrives exactly `delay` after the previous turn's last token.
#[test]
fn sessions_wait_for_completion_plus_delay() {
    let workload = SyntheticSpec {
        sessions: 30,
        turns_per_session: 4,
        input: LengthDist::Fixed(500),
        output: LengthDist::Fixed(40),
        arrival: ArrivalProcess::Poisson(2.0),
        inter_turn_delay: DelayDist::Exponential(300.0),
        ..SyntheticSpec::default()
    }
    .generate()
    .unwrap();
    let outcome = run(&workload, &config(3, "{}", AdmissionMode::Trace));
    let records = outcome.collector.records();
    let mut checked = 0;
    for (i, node) in workload.nodes().iter().enumerate() {
        if let [prev] = workload.deps(NodeId(i as u32)) {
            let expected = records[prev.index()].completed.unwrap() + node.delay;
            assert_eq!(
                records[i].arrival, expected,
                "turn {} of session {}",
                node.turn, node.session
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 90);
    // Accumulating context: on one worker, later turns reuse the previous turn's prompt *and*
    // generated output: turn k reuses ⌊(prompt + output − 1)/64⌋ full blocks of turn k−1,
    // i.e. 512, 1024 and 1600 of 1040, 1580 and 2120 tokens — 94,080 of 157,200 in all.
    let single = run(&workload, &config(1, "{}", AdmissionMode::Trace));
    assert_eq!(
        single.metrics.prefix_cache_reused_ratio,
        94_080.0 / 157_200.0
    );
}

/// An agentic node starts only after all the nodes it waits for, plus delay and tool wait.
#[test]
fn agentic_nodes_wait_for_all_dependencies() {
    let text = r#"{"request_id": "plan", "timestamp": 0, "input_length": 3000, "output_length": 50, "hash_ids": [1, 2, 3, 4, 5, 6]}
{"request_id": "tool_a", "wait_for": ["plan"], "delay": 5, "input_length": 3100, "output_length": 200, "hash_ids": [1, 2, 3, 4, 5, 6, 7]}
{"request_id": "tool_b", "wait_for": ["plan"], "tool_wait_ms": 40, "input_length": 3100, "output_length": 10, "hash_ids": [1, 2, 3, 4, 5, 6, 8]}
{"request_id": "join", "wait_for": ["tool_a", "tool_b"], "delay": 2, "tool_wait_ms": 3, "input_length": 3500, "output_length": 20, "hash_ids": [1, 2, 3, 4, 5, 6, 7, 9]}"#;
    let options = ReadOptions {
        format: TraceFormat::AgenticMooncake,
        ..ReadOptions::default()
    };
    let workload = parse_trace(text.as_bytes(), "dag", &options)
        .unwrap()
        .workload;
    let outcome = run(&workload, &config(2, "{}", AdmissionMode::Trace));
    let r = outcome.collector.records();
    let done = |i: usize| r[i].completed.unwrap();
    assert_eq!(r[1].arrival, done(0) + SimTime::from_millis(5));
    assert_eq!(r[2].arrival, done(0) + SimTime::from_millis(40));
    assert_eq!(r[3].arrival, done(1).max(done(2)) + SimTime::from_millis(5));
    assert!(done(1) > done(2), "the long tool call finishes last");
}

/// Same inputs, same report (bit for bit, apart from wall time).
#[test]
fn replays_are_deterministic() {
    let workload = read_trace(&fixture(), &ReadOptions::default())
        .unwrap()
        .workload;
    let cfg = config(4, "{}", AdmissionMode::Trace);
    let a = run(&workload, &cfg);
    let b = run(&workload, &cfg);
    assert_eq!(a.metrics, b.metrics);
    assert_eq!(a.counts, b.counts);
    assert_eq!(a.collector.records(), b.collector.records());
}

/// The bundled 1,000-request excerpt with two round-robin workers, against a checked-in
/// report (regenerate with `SERVESIM_BLESS=1 cargo test -p servesim-replay golden`).
#[test]
fn golden_report_on_the_fixture() {
    let mut workload = read_trace(&fixture(), &ReadOptions::default())
        .unwrap()
        .workload;
    workload.normalize_start();
    let outcome = run(&workload, &config(2, "{}", AdmissionMode::Trace));
    let actual = serde_json::Value::Object(outcome.metrics.reference_keys());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/fixture_1000_rr2.json");
    if std::env::var_os("SERVESIM_BLESS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&actual).unwrap() + "\n").unwrap();
    }
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let (expected, actual) = (expected.as_object().unwrap(), actual.as_object().unwrap());
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>()
    );
    for (key, value) in expected {
        let (e, a) = (value.as_f64().unwrap(), actual[key].as_f64().unwrap());
        assert!(
            (e - a).abs() <= 1e-9 * e.abs().max(1.0),
            "{key}: expected {e}, got {a}"
        );
    }
    // Independent facts about the excerpt.
    assert_eq!(actual["num_requests"], 1000);
    assert_eq!(actual["completed_requests"], 1000);
    assert_eq!(actual["total_input_tokens"], 13_732_944);
    assert_eq!(actual["total_output_tokens"], 349_357);
}
