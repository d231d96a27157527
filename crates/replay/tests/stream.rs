//! A streamed replay gives the report a whole replay gives, holding only what is in flight.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use servesim_engine::EngineArgs;
use servesim_replay::{
    AdmissionMode, NoObserver, ReplayConfig, ReplayError, ReplayOutcome, RouterMode, Topology,
    TransferConfig, replay, replay_stream,
};
use servesim_router::KvRouterConfig;
use servesim_trace::{ReadOptions, StreamOptions, StreamSharing, TraceStream, read_trace};

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/mooncake_conversation_1000.jsonl")
}

fn engine(json: &str) -> servesim_engine::EngineConfig {
    EngineArgs::from_json(json).unwrap().resolve().unwrap()
}

fn stream(speedup: f64, chunk_rows: usize) -> TraceStream<BufReader<File>> {
    let options = StreamOptions {
        chunk_rows,
        speedup,
    };
    TraceStream::open(&fixture_path(), &ReadOptions::default(), options).unwrap()
}

/// The whole replay and the streamed one of the fixture, sped up by `speedup`.
fn both(config: &ReplayConfig, speedup: f64) -> (ReplayOutcome, ReplayOutcome) {
    let mut w = read_trace(&fixture_path(), &ReadOptions::default())
        .unwrap()
        .workload;
    w.normalize_start();
    w.speed_up(speedup).unwrap();
    let whole = replay(&w, config, &mut NoObserver).unwrap();
    // Chunks far smaller than the requests in flight: many loads and releases; with and
    // without the sharing analysis (which only saves work).
    let counts = StreamSharing::count(|| Ok(stream(speedup, 64))).unwrap();
    let streamed = replay_stream(
        &mut stream(speedup, 7),
        Some(&counts),
        config,
        &mut NoObserver,
    )
    .unwrap();
    let unanalysed = replay_stream(&mut stream(speedup, 7), None, config, &mut NoObserver).unwrap();
    assert_eq!(streamed.metrics, unanalysed.metrics);
    assert_eq!(streamed.pools, unanalysed.pools);
    (whole, streamed)
}

fn assert_same(whole: &ReplayOutcome, streamed: &ReplayOutcome) {
    assert_eq!(whole.metrics, streamed.metrics);
    assert_eq!(whole.counts, streamed.counts);
    assert_eq!(whole.pools, streamed.pools);
    assert_eq!(whole.transfers, streamed.transfers);
    assert_eq!(whole.end_time, streamed.end_time);
    assert_eq!(streamed.metrics.completed_requests, 1000);
    assert!(whole.collector.keeps_records() && !streamed.collector.keeps_records());
    assert!(streamed.collector.records().is_empty());
}

#[test]
fn streamed_aggregated_replays_match_whole_ones() {
    for mode in [RouterMode::RoundRobin, RouterMode::KvRouter] {
        let config = ReplayConfig::aggregated(4, engine("{}"), mode, AdmissionMode::Trace, 42);
        let (whole, streamed) = both(&config, 1.0);
        assert_same(&whole, &streamed);
    }
}

#[test]
fn streamed_overload_with_router_queue_and_preemptions_matches() {
    let mut config = ReplayConfig::aggregated(
        2,
        engine(r#"{"num_gpu_blocks": 4096}"#),
        RouterMode::KvRouter,
        AdmissionMode::Trace,
        7,
    );
    config.router_config = KvRouterConfig {
        router_queue_threshold: Some(0.5),
        ..KvRouterConfig::default()
    };
    let (whole, streamed) = both(&config, 4.0);
    assert!(whole.counts.preemptions > 0 && whole.pools[0].queued_requests > 0);
    assert_same(&whole, &streamed);
}

#[test]
fn streamed_disaggregated_replay_matches() {
    let mut config = ReplayConfig::aggregated(
        1,
        engine("{}"),
        RouterMode::KvRouter,
        AdmissionMode::Trace,
        42,
    );
    config.topology = Topology::Disaggregated {
        prefill_workers: 2,
        prefill: engine(r#"{"worker_type": "prefill"}"#),
        decode_workers: 2,
        decode: engine(r#"{"worker_type": "decode"}"#),
        transfer: TransferConfig {
            kv_bytes_per_token: 131_072,
            bandwidth_gbps: 25.0,
        },
    };
    let (whole, streamed) = both(&config, 1.0);
    assert_same(&whole, &streamed);
}

#[test]
fn closed_loop_streaming_is_refused_with_a_reason() {
    let config = ReplayConfig::aggregated(
        1,
        engine("{}"),
        RouterMode::RoundRobin,
        AdmissionMode::Concurrency(4),
        42,
    );
    let err = replay_stream(&mut stream(1.0, 64), None, &config, &mut NoObserver).unwrap_err();
    assert!(
        matches!(err, ReplayError::Config(ref m) if m.contains("open-loop")),
        "{err}"
    );
}

#[test]
fn a_bad_row_mid_stream_names_its_file_and_line() {
    let dir = std::env::temp_dir().join(format!("servesim-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("late.jsonl");
    let row = |t: u64| {
        format!(
            "{{\"timestamp\": {t}, \"input_length\": 100, \"output_length\": 5, \"hash_ids\": [{t}]}}\n"
        )
    };
    let text: String = (0..40).map(|i| row(10 * i)).collect::<String>() + &row(5);
    std::fs::write(&path, text).unwrap();
    let options = StreamOptions {
        chunk_rows: 8,
        speedup: 1.0,
    };
    let mut s = TraceStream::open(&path, &ReadOptions::default(), options).unwrap();
    let config = ReplayConfig::aggregated(
        1,
        engine("{}"),
        RouterMode::RoundRobin,
        AdmissionMode::Trace,
        1,
    );
    let err = replay_stream(&mut s, None, &config, &mut NoObserver)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("late.jsonl:41") && err.contains("timestamp"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
