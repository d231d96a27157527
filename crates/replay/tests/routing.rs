//! KV-aware routing and disaggregated serving, end to end.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use servesim_engine::EngineArgs;
use servesim_perf::PolynomialModel;
use servesim_replay::{
    AdmissionMode, NoObserver, ReplayConfig, ReplayOutcome, RouterMode, Topology, TransferConfig,
    replay,
};
use servesim_router::KvRouterConfig;
use servesim_trace::{ReadOptions, SimTime, Workload, parse_trace, read_trace};

fn fixture() -> Workload {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/mooncake_conversation_1000.jsonl");
    let mut w = read_trace(&path, &ReadOptions::default()).unwrap().workload;
    w.normalize_start();
    w
}

fn engine(json: &str) -> servesim_engine::EngineConfig {
    EngineArgs::from_json(json).unwrap().resolve().unwrap()
}

fn aggregated(workers: u32, mode: RouterMode) -> ReplayConfig {
    ReplayConfig::aggregated(workers, engine("{}"), mode, AdmissionMode::Trace, 42)
}

fn disaggregated(prefill: u32, decode: u32, bandwidth_gbps: f64, mode: RouterMode) -> ReplayConfig {
    ReplayConfig {
        topology: Topology::Disaggregated {
            prefill_workers: prefill,
            prefill: engine(r#"{"worker_type": "prefill"}"#),
            decode_workers: decode,
            decode: engine(r#"{"worker_type": "decode"}"#),
            transfer: TransferConfig {
                kv_bytes_per_token: 131_072,
                bandwidth_gbps,
            },
        },
        router_mode: mode,
        router_config: KvRouterConfig::default(),
        admission: AdmissionMode::Trace,
        seed: 42,
        planning: None,
        warmup_requests: 0,
        router_prefill_timing: None,
        custom_router: None,
    }
}

fn run(workload: &Workload, config: &ReplayConfig) -> ReplayOutcome {
    replay(workload, config, &mut NoObserver).unwrap()
}

#[test]
fn kv_routing_reuses_more_and_answers_faster_than_round_robin() {
    let w = fixture();
    let rr = run(&w, &aggregated(4, RouterMode::RoundRobin));
    let kv = run(&w, &aggregated(4, RouterMode::KvRouter));
    assert!(kv.metrics.prefix_cache_reused_ratio > rr.metrics.prefix_cache_reused_ratio + 0.02);
    assert!(kv.metrics.ttft.mean < rr.metrics.ttft.mean);
    assert_eq!(kv.metrics.completed_requests, 1000);
    // Per-worker hit rates add up to the global ratio.
    let pool = &kv.pools[0];
    let (reused, input): (u64, u64) = pool.workers.iter().fold((0, 0), |(r, i), w| {
        (r + w.reused_tokens, i + w.input_tokens)
    });
    assert_eq!(
        reused as f64 / input as f64,
        kv.metrics.prefix_cache_reused_ratio
    );
    assert_eq!(pool.workers.iter().map(|w| w.requests).sum::<u64>(), 1000);
}

#[test]
fn kv_routing_is_deterministic_even_with_sampling() {
    let w = fixture();
    for temperature in [0.0, 0.7] {
        let mut config = aggregated(4, RouterMode::KvRouter);
        config.router_config = KvRouterConfig {
            router_temperature: temperature,
            ..KvRouterConfig::default()
        };
        let a = run(&w, &config);
        let b = run(&w, &config);
        assert_eq!(a.metrics, b.metrics);
        assert_eq!(a.collector.records(), b.collector.records());
        assert_eq!(a.pools, b.pools);
    }
}

#[test]
fn kv_router_queue_holds_requests_when_every_worker_is_busy() {
    let w = fixture();
    let mut config = aggregated(2, RouterMode::KvRouter);
    config.router_config = KvRouterConfig {
        router_queue_threshold: Some(0.5),
        ..KvRouterConfig::default()
    };
    let outcome = run(&w, &config);
    assert_eq!(outcome.metrics.completed_requests, 1000);
    let pool = &outcome.pools[0];
    assert!(pool.queued_requests > 0);
    assert!(pool.queue_time_ms.max > 0.0);
    assert_eq!(pool.queue_time_ms.count, 1000);
}

#[test]
fn disaggregated_replay_completes_every_request() {
    let w = fixture();
    for mode in [RouterMode::RoundRobin, RouterMode::KvRouter] {
        let outcome = run(&w, &disaggregated(1, 1, 64.0, mode));
        assert_eq!(outcome.metrics.completed_requests, 1000, "{mode}");
        let transfers = outcome.transfers.as_ref().unwrap();
        assert_eq!(transfers.transfers, 1000);
        assert!(transfers.time_ms.mean > 0.0);
        assert_eq!(outcome.pools.len(), 2);
    }
    let wide = run(&w, &disaggregated(2, 3, 64.0, RouterMode::KvRouter));
    assert_eq!(wide.metrics.completed_requests, 1000);
    assert_eq!(wide.pools[1].workers.len(), 3);
}

fn one_request(isl: u32, osl: u32) -> Workload {
    let ids: Vec<String> = (0..isl.div_ceil(512)).map(|i| i.to_string()).collect();
    let text = format!(
        r#"{{"timestamp": 0, "input_length": {isl}, "output_length": {osl}, "hash_ids": [{}]}}"#,
        ids.join(",")
    );
    parse_trace(text.as_bytes(), "one", &ReadOptions::default())
        .unwrap()
        .workload
}

/// TTFT of an isolated request = prefill + transfer + one decode step; halving the
/// bandwidth adds exactly one more transfer time.
#[test]
fn halving_the_link_bandwidth_adds_the_transfer_time() {
    let w = one_request(4096, 4);
    let ttft = |bandwidth| {
        run(&w, &disaggregated(1, 1, bandwidth, RouterMode::RoundRobin))
            .metrics
            .ttft
            .mean
    };
    // 4096 tokens × 128 KiB = 536,870,912 bytes: 8,388.608 µs at 64 GB/s, rounded up.
    let transfer_64 = 8.389;
    let transfer_32 = 16.778;
    let prefill = (PolynomialModel::prefill_poly(4096.0) * 1000.0).round() / 1000.0;
    let decode_step = (PolynomialModel::decode_poly(65.0 / 16_384.0) * 1000.0).round() / 1000.0;
    assert!(
        (ttft(64.0) - (prefill + transfer_64 + decode_step)).abs() < 1e-9,
        "{}",
        ttft(64.0)
    );
    assert!((ttft(32.0) - ttft(64.0) - (transfer_32 - transfer_64)).abs() < 1e-9);
}

/// Only the blocks the decode worker lacks are sent: a second identical prompt after the
/// first completed sends nothing.
#[test]
fn cached_blocks_are_not_transferred_again() {
    let text = r#"{"timestamp": 0, "input_length": 4096, "output_length": 4, "hash_ids": [0, 1, 2, 3, 4, 5, 6, 7]}
{"timestamp": 5000, "input_length": 4096, "output_length": 4, "hash_ids": [0, 1, 2, 3, 4, 5, 6, 7]}"#;
    let w = parse_trace(text.as_bytes(), "two", &ReadOptions::default())
        .unwrap()
        .workload;
    let outcome = run(&w, &disaggregated(1, 1, 64.0, RouterMode::RoundRobin));
    let transfers = outcome.transfers.unwrap();
    assert_eq!(transfers.bytes, 4096 * 131_072);
    assert_eq!(transfers.time_ms.min, 0.0);
    let records = outcome.collector.records();
    // The second prompt is a full prefix hit on the prefill worker too (one token recomputed).
    assert_eq!(records[1].reused_tokens, 4095);
    assert!(
        records[1]
            .first_token
            .unwrap()
            .saturating_sub(records[1].arrival)
            < SimTime::from_millis(30)
    );
}
