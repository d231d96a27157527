//! SGLang-style workers and speculative decoding, end to end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use servesim_engine::EngineArgs;
use servesim_planner::config::PlannerConfig;
use servesim_replay::report::report_json;
use servesim_replay::{
    AdmissionMode, NoObserver, PlanningConfig, ReplayConfig, ReplayOutcome, RouterMode, replay,
};
use servesim_trace::{ReadOptions, Workload, read_trace};

fn fixture() -> Workload {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/mooncake_conversation_1000.jsonl");
    let mut w = read_trace(&path, &ReadOptions::default()).unwrap().workload;
    w.normalize_start();
    w
}

fn config(workers: u32, engine_json: &str, mode: RouterMode) -> ReplayConfig {
    let engine = EngineArgs::from_json(engine_json)
        .unwrap()
        .resolve()
        .unwrap();
    ReplayConfig::aggregated(workers, engine, mode, AdmissionMode::Trace, 42)
}

fn run(workload: &Workload, config: &ReplayConfig) -> ReplayOutcome {
    replay(workload, config, &mut NoObserver).unwrap()
}

/// The SGLang workers' radix caches publish KV events in the router's block-hash space, so
/// the KV router finds their prefixes: more reuse than round robin, not just none.
#[test]
fn kv_router_reuses_prefixes_on_sglang_workers() {
    let w = fixture();
    let sglang = r#"{"engine_type": "sglang"}"#;
    let rr = run(&w, &config(4, sglang, RouterMode::RoundRobin));
    let kv = run(&w, &config(4, sglang, RouterMode::KvRouter));
    for outcome in [&rr, &kv] {
        assert_eq!(outcome.metrics.completed_requests, 1000);
    }
    assert!(kv.metrics.prefix_cache_reused_ratio > 0.0);
    assert!(
        kv.metrics.prefix_cache_reused_ratio > rr.metrics.prefix_cache_reused_ratio + 0.02,
        "kv {} vs rr {}",
        kv.metrics.prefix_cache_reused_ratio,
        rr.metrics.prefix_cache_reused_ratio
    );
    assert!(kv.metrics.ttft.mean < rr.metrics.ttft.mean);
}

/// The default router indexes 16-token blocks over one-token pages (every 16th page's
/// event). Indexing every page instead changes each overlap by under one router block;
/// the few decisions that flip then cascade, but the outcome stays close (on these 1000
/// requests: reuse 11.2% vs 11.8%, mean TTFT 460 vs 454 ms).
#[test]
fn coarse_router_blocks_route_like_exact_pages() {
    let w = fixture();
    let sglang = r#"{"engine_type": "sglang"}"#;
    let coarse = run(&w, &config(4, sglang, RouterMode::KvRouter));
    let mut exact_config = config(4, sglang, RouterMode::KvRouter);
    exact_config.router_config.router_block_size = Some(1);
    let exact = run(&w, &exact_config);
    let (a, b) = (
        coarse.metrics.prefix_cache_reused_ratio,
        exact.metrics.prefix_cache_reused_ratio,
    );
    assert!((a - b).abs() < 0.01, "reuse {a} vs {b}");
    let (a, b) = (coarse.metrics.ttft.mean, exact.metrics.ttft.mean);
    assert!((a - b).abs() < 0.03 * b, "mean TTFT {a} vs {b}");
    // A router block must be a whole number of pages.
    let mut bad = config(
        4,
        r#"{"engine_type": "sglang", "sglang": {"page_size": 16}}"#,
        RouterMode::KvRouter,
    );
    bad.router_config.router_block_size = Some(24);
    let error = replay(&w, &bad, &mut NoObserver).unwrap_err().to_string();
    assert!(
        error.contains("`router_block_size`: 24 is not a multiple of the engine block size 16"),
        "{error}"
    );
}

#[test]
fn disaggregated_sglang_workers_complete_every_request() {
    let w = fixture();
    let engine = |json: &str| EngineArgs::from_json(json).unwrap().resolve().unwrap();
    let config = ReplayConfig {
        topology: servesim_replay::Topology::Disaggregated {
            prefill_workers: 1,
            prefill: engine(r#"{"engine_type": "sglang", "worker_type": "prefill"}"#),
            decode_workers: 2,
            decode: engine(r#"{"engine_type": "sglang", "worker_type": "decode"}"#),
            transfer: servesim_replay::TransferConfig {
                kv_bytes_per_token: 131_072,
                bandwidth_gbps: 64.0,
            },
        },
        router_mode: RouterMode::RoundRobin,
        router_config: Default::default(),
        admission: AdmissionMode::Trace,
        seed: 42,
        planning: None,
        warmup_requests: 0,
        router_prefill_timing: None,
        custom_router: None,
    };
    let outcome = run(&w, &config);
    assert_eq!(outcome.metrics.completed_requests, 1000);
    assert_eq!(outcome.transfers.unwrap().transfers, 1000);
}

#[test]
fn speculative_decoding_reports_its_accept_length() {
    let w = fixture();
    for engine in [
        r#"{"aic_nextn": 2}"#,
        r#"{"engine_type": "sglang", "aic_nextn": 2}"#,
    ] {
        let plain = run(&w, &config(2, r#"{}"#, RouterMode::RoundRobin));
        let mtp = run(&w, &config(2, engine, RouterMode::RoundRobin));
        assert!(plain.speculative.is_none());
        let spec = mtp.speculative.clone().unwrap();
        assert_eq!(
            (spec.nextn, spec.accept_rates.clone()),
            (2, vec![0.85, 0.3])
        );
        assert!((spec.expected_accept_length - 2.105).abs() < 1e-12);
        // Every request's first token comes alone: the mean sits a little below 2.105.
        assert!(
            spec.mean_accept_length > 1.9 && spec.mean_accept_length < 2.105,
            "{engine}: {}",
            spec.mean_accept_length
        );
        assert_eq!(
            spec.output_tokens,
            w.nodes()
                .iter()
                .map(|n| u64::from(n.output_tokens))
                .sum::<u64>()
        );
        assert!(mtp.metrics.itl.mean < plain.metrics.itl.mean);
        for worker in &mtp.pools[0].workers {
            assert!(worker.mean_accept_length.unwrap() > 1.5);
        }
        let report = report_json(&mtp, 0.0, Default::default());
        assert_eq!(
            report["servesim"]["speculative"]["mean_accept_length"],
            spec.mean_accept_length
        );
        let plain_report = report_json(&plain, 0.0, Default::default());
        assert!(plain_report["servesim"].get("speculative").is_none());
        assert!(
            plain_report["servesim"]["pools"][0]["workers"][0]
                .get("mean_accept_length")
                .is_none()
        );
        // Reproducible: the draws are seeded per worker.
        let again = run(&w, &config(2, engine, RouterMode::RoundRobin));
        assert_eq!(again.speculative, mtp.speculative);
    }
}

#[test]
fn the_planner_observes_the_accept_length() {
    let w = fixture();
    let mut config = config(1, r#"{"aic_nextn": 2}"#, RouterMode::RoundRobin);
    let planner = PlannerConfig::parse(
        r#"{"mode": "agg", "optimization_target": "sla", "enable_load_scaling": true,
            "enable_throughput_scaling": true, "throughput_adjustment_interval": 60,
            "load_adjustment_interval": 5}"#,
    )
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
    let outcome = run(&w, &config);
    let planning = outcome.planning.unwrap();
    let samples: Vec<f64> = planning
        .records
        .iter()
        .filter_map(|r| r.observed.and_then(|t| t.accept_length))
        .collect();
    assert!(!samples.is_empty());
    assert!(
        samples.iter().all(|&a| (1.0..=3.0).contains(&a)),
        "{samples:?}"
    );
}
