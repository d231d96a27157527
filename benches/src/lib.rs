//! Shared setup of servesim's benches (`cargo bench -p servesim-benches`).
//!
//! * `core` — the engine core: decode steps, admission, KV prefix lookup and eviction, the
//!   SGLang radix cache;
//! * `route` — one KV-router decision over warm indexes;
//! * `parse` — the Mooncake reader and block-hash expansion;
//! * `replay` — end-to-end replays of the five side-by-side configurations a–e of
//!   docs/performance.md, through the same code path as `servesim run`.
//!
//! Benches read the full Mooncake conversation trace from `../shared/traces/` when it is
//! there, else the bundled 1,000-request excerpt, so `cargo bench` runs on any checkout.

use std::path::PathBuf;

/// The conversation trace: the full 12,031 requests when present, else the fixture.
pub fn conversation_trace() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let full = root.join("../shared/traces/mooncake_conversation_trace.jsonl");
    if full.exists() {
        full
    } else {
        root.join("fixtures/mooncake_conversation_1000.jsonl")
    }
}

/// One end-to-end configuration of the side-by-side table.
#[derive(Clone, Copy, Debug)]
pub struct ReplayCase {
    /// The table's letter.
    pub name: &'static str,
    /// What it runs.
    pub label: &'static str,
    /// `servesim run` flags after the trace.
    pub flags: &'static [&'static str],
}

/// Configurations a–e, as `../shared/tools/vs-reference` runs them.
pub const REPLAY_CASES: [ReplayCase; 5] = [
    ReplayCase {
        name: "a",
        label: "4 workers, round robin",
        flags: &["--num-workers", "4", "--router-mode", "round_robin"],
    },
    ReplayCase {
        name: "b",
        label: "4 workers, kv_router",
        flags: &["--num-workers", "4", "--router-mode", "kv_router"],
    },
    ReplayCase {
        name: "c",
        label: "4 workers, kv_router, arrivals ×4 (overloaded)",
        flags: &[
            "--num-workers",
            "4",
            "--router-mode",
            "kv_router",
            "--arrival-speedup-ratio",
            "4",
        ],
    },
    ReplayCase {
        name: "d",
        label: "disaggregated 1P1D, kv_router",
        flags: &[
            "--router-mode",
            "kv_router",
            "--num-prefill-workers",
            "1",
            "--num-decode-workers",
            "1",
            "--prefill-engine-args",
            r#"{"worker_type":"prefill"}"#,
            "--decode-engine-args",
            r#"{"worker_type":"decode"}"#,
        ],
    },
    ReplayCase {
        name: "e",
        label: "1 worker",
        flags: &["--num-workers", "1"],
    },
];

/// The `servesim run` arguments of `case` on `trace`.
pub fn run_args(case: &ReplayCase, trace: &std::path::Path) -> Vec<String> {
    std::iter::once(trace.display().to_string())
        .chain(case.flags.iter().map(|f| (*f).to_owned()))
        .collect()
}
