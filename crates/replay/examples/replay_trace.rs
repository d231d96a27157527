//! Replay a Mooncake trace through four simulated vLLM workers behind the KV-aware router:
//! the library path of `servesim run TRACE --num-workers 4 --router-mode kv_router`.
//!
//! `cargo run -p servesim-replay --example replay_trace [TRACE]`

use servesim_engine::EngineArgs;
use servesim_replay::{AdmissionMode, NoObserver, ReplayConfig, RouterMode, replay};
use servesim_trace::{ReadOptions, read_trace};

/// The conversation-trace fixture of the repository.
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/mooncake_conversation_1000.jsonl"
);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| FIXTURE.to_owned());
    replay_and_print(&path)
}

fn replay_and_print(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let trace = read_trace(path.as_ref(), &ReadOptions::default())?;
    let engine = EngineArgs::from_json(r#"{"block_size": 64}"#)?.resolve()?;
    let config =
        ReplayConfig::aggregated(4, engine, RouterMode::KvRouter, AdmissionMode::Trace, 42);
    let outcome = replay(&trace.workload, &config, &mut NoObserver)?;
    let m = &outcome.metrics;
    println!(
        "{} requests in {:.1} s: TTFT p90 {:.1} ms, ITL mean {:.2} ms, prefix reuse {:.1}%",
        m.completed_requests,
        m.duration_ms / 1000.0,
        m.ttft.p90,
        m.itl.mean,
        m.prefix_cache_reused_ratio * 100.0
    );
    Ok(())
}

#[test]
fn replays_the_fixture() {
    replay_and_print(FIXTURE).expect("the example runs");
}
