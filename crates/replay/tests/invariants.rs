//! Property: whatever the topology, router and admission mode, every request of a workload
//! completes exactly once, after it arrived, with its tokens in order.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use proptest::prelude::*;
use servesim_engine::EngineArgs;
use servesim_replay::{
    AdmissionMode, NoObserver, ReplayConfig, RouterMode, Topology, TransferConfig, replay,
};
use servesim_router::KvRouterConfig;
use servesim_trace::synth::{ArrivalProcess, DelayDist, LengthDist, PrefixSharing, SyntheticSpec};

fn engine(json: String) -> servesim_engine::EngineConfig {
    EngineArgs::from_json(&json).unwrap().resolve().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_request_is_lost(
        sessions in 1u32..25,
        turns in 1u32..4,
        rate in 1.0f64..50.0,
        workers in 1u32..4,
        disagg in any::<bool>(),
        kv in any::<bool>(),
        concurrency in prop::option::of(1u32..6),
        blocks in 200u64..2000,
        seed in 0u64..1000,
    ) {
        let workload = SyntheticSpec {
            sessions,
            turns_per_session: turns,
            input: "lognormal:800,600".parse().unwrap(),
            output: LengthDist::Normal { mean: 40.0, std: 30.0 },
            arrival: ArrivalProcess::Poisson(rate),
            sharing: PrefixSharing { ratio: 0.3, groups: 2 },
            inter_turn_delay: DelayDist::Exponential(50.0),
            seed,
            ..SyntheticSpec::default()
        }
        .generate()
        .unwrap();
        let base = format!(r#""num_gpu_blocks": {blocks}, "max_num_seqs": 16"#);
        let topology = if disagg {
            Topology::Disaggregated {
                prefill_workers: workers,
                prefill: engine(format!(r#"{{{base}, "worker_type": "prefill"}}"#)),
                decode_workers: workers,
                decode: engine(format!(r#"{{{base}, "worker_type": "decode"}}"#)),
                transfer: TransferConfig { kv_bytes_per_token: 4096, bandwidth_gbps: 1.0 },
            }
        } else {
            Topology::Aggregated { workers: workers.max(2), engine: engine(format!("{{{base}}}")) }
        };
        let config = ReplayConfig {
            topology,
            router_mode: if kv { RouterMode::KvRouter } else { RouterMode::RoundRobin },
            router_config: KvRouterConfig { router_queue_threshold: Some(0.2), ..KvRouterConfig::default() },
            admission: concurrency.map_or(AdmissionMode::Trace, AdmissionMode::Concurrency),
            seed,
            planning: None,
            warmup_requests: 0,
            router_prefill_timing: None,
            custom_router: None,
        };
        let outcome = replay(&workload, &config, &mut NoObserver).unwrap();
        prop_assert_eq!(outcome.metrics.completed_requests, workload.len() as u64);
        prop_assert_eq!(outcome.counts.completions, workload.len() as u64);
        for r in outcome.collector.records() {
            let first = r.first_token.unwrap();
            let done = r.completed.unwrap();
            prop_assert!(r.arrival <= first && first <= done);
            if let Some(second) = r.second_token {
                prop_assert!(first <= second && second <= done);
            }
        }
    }
}
