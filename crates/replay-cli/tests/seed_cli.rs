//! Every `python -m dynamo.replay …` command of the reference's documentation pages, run as
//! `servesim run …` with the trace paths swapped for fixtures (and nothing else changed),
//! from a scratch directory so that default outputs land there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{scratch_dir, stderr, workspace_root};

/// The conversation-trace excerpt, standing in for `/path/to/mooncake_trace.jsonl` and the
/// toolagent traces.
fn trace() -> String {
    fixture("mooncake_conversation_1000.jsonl")
}

fn fixture(name: &str) -> String {
    workspace_root()
        .join("fixtures")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// Runs `servesim run ARGS` in `dir`.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_servesim"))
        .arg("run")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("servesim runs")
}

/// Runs a seed command that must succeed and write its report to `report` (relative to the
/// scratch directory), and returns the report.
fn succeeds(test: &str, args: &[&str], report: &str) -> serde_json::Value {
    let dir = scratch_dir(test);
    let out = run_in(&dir, args);
    assert!(
        out.status.success(),
        "servesim run {}\n{}",
        args.join(" "),
        stderr(&out)
    );
    let path: PathBuf = dir.join(report.trim_start_matches('/'));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), stderr(&out)));
    serde_json::from_str(&text).unwrap()
}

/// `--report-json /tmp/x.json` of the pages, kept inside the scratch directory.
const REPORT: &str = "dynosim-report.json";

/// `--input-tokens 5000 --output-tokens 500 --request-count COUNT SHAPE… --replay-mode
/// offline --replay-concurrency CONCURRENCY --extra-engine-args '{"block_size":512}'`: the
/// pages' synthetic commands.
fn synthetic<'a>(count: &'a str, concurrency: &'a str, shape: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--input-tokens",
        "5000",
        "--output-tokens",
        "500",
        "--request-count",
        count,
    ];
    args.extend(shape);
    args.extend([
        "--replay-mode",
        "offline",
        "--replay-concurrency",
        concurrency,
        "--extra-engine-args",
        r#"{"block_size":512}"#,
    ]);
    args
}

#[test]
fn synthetic_runs() {
    let mut fixed = synthetic(
        "1000",
        "100",
        &["--arrival-interval-ms", "1.0", "--num-workers", "1"],
    );
    fixed.extend(["--report-json", REPORT]);
    let report = succeeds("seed_synthetic_fixed", &fixed, REPORT);
    assert_eq!(report["completed_requests"], 1000);
    let shape = [
        "--turns-per-session",
        "3",
        "--shared-prefix-ratio",
        "0.5",
        "--num-prefix-groups",
        "8",
        "--inter-turn-delay-ms",
        "250",
    ];
    let mut sessions = synthetic("200", "32", &shape);
    sessions.extend(["--report-json", REPORT]);
    let report = succeeds("seed_synthetic_sessions", &sessions, REPORT);
    // request_count × turns_per_session.
    assert_eq!(report["completed_requests"], 600);
    let dir = scratch_dir("seed_synthetic_interval");
    let out = run_in(
        &dir,
        &synthetic("200", "50", &["--arrival-interval-ms", "0.5"]),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Without --report-json the report lands in the working directory, timestamped.
    let written: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("servesim_report_") && name.ends_with(".json")
        })
        .collect();
    assert_eq!(written.len(), 1);
}

#[test]
fn agentic_mooncake_run() {
    let t = fixture("agentic_mooncake.jsonl");
    let report = succeeds(
        "seed_agentic",
        &[
            &t,
            "--trace-format",
            "agentic_mooncake",
            "--trace-block-size",
            "128",
            "--replay-mode",
            "offline",
            "--router-mode",
            "kv_router",
            "--num-workers",
            "4",
            "--extra-engine-args",
            r#"{"block_size":128}"#,
            "--report-json",
            "agentic-dynosim-report.json",
        ],
        "agentic-dynosim-report.json",
    );
    assert_eq!(report["completed_requests"], 12);
}

/// The SemiAnalysis agentic corpora other simulators read: subagents, joins, 64-token blocks.
#[test]
fn weka_run() {
    let t = fixture("weka_agentic.jsonl");
    let report = succeeds(
        "seed_weka",
        &[
            &t,
            "--trace-format",
            "weka",
            "--router-mode",
            "kv_router",
            "--num-workers",
            "2",
            "--report-json",
            "weka-report.json",
        ],
        "weka-report.json",
    );
    assert_eq!(report["completed_requests"], 11);
    assert_eq!(
        report["servesim"]["config"]["workload"]["trace_block_size"],
        64
    );
}

#[test]
fn trace_modes_and_router_policies() {
    let t = trace();
    let common = [
        "--replay-mode",
        "offline",
        "--num-workers",
        "4",
        "--trace-block-size",
        "512",
        "--extra-engine-args",
        r#"{"block_size":64}"#,
        "--report-json",
        REPORT,
    ];
    // The quick start, fixed-schedule, closed-loop, speed-up and queue-policy examples.
    let variants: [&[&str]; 6] = [
        &["--router-mode", "round_robin"],
        &[],
        &["--replay-concurrency", "16"],
        &["--arrival-speedup-ratio", "5"],
        &[
            "--router-mode",
            "kv_router",
            "--router-config",
            r#"{"router_queue_policy":"fcfs"}"#,
        ],
        &[
            "--router-mode",
            "kv_router",
            "--router-config",
            r#"{"router_queue_policy":"lcfs"}"#,
        ],
    ];
    for (i, extra) in variants.iter().enumerate() {
        let mut args = vec![t.as_str()];
        args.extend(common);
        args.extend(extra.iter().copied());
        let report = succeeds(&format!("seed_modes_{i}"), &args, REPORT);
        assert_eq!(report["completed_requests"], 1000, "{args:?}");
    }
}

#[test]
fn router_side_aic_prefill_load_model() {
    let t = trace();
    let base = [
        t.as_str(),
        "--replay-mode",
        "offline",
        "--router-mode",
        "kv_router",
        "--num-workers",
        "4",
        "--trace-block-size",
        "512",
        "--extra-engine-args",
        r#"{"block_size":64}"#,
        "--router-config",
        r#"{"router_track_prefill_tokens":true,"router_prefill_load_model":"aic"}"#,
        "--aic-backend",
        "vllm",
        "--aic-system",
        "h200_sxm",
        "--report-json",
        REPORT,
    ];
    let mut dense = base.to_vec();
    dense.extend([
        "--aic-model-path",
        "nvidia/Llama-3.1-8B-Instruct-FP8",
        "--aic-tp-size",
        "1",
    ]);
    let report = succeeds("seed_router_aic", &dense, REPORT);
    assert_eq!(
        report["servesim"]["config"]["router_prefill_model"]["aic_model_path"],
        "nvidia/Llama-3.1-8B-Instruct-FP8"
    );
    // The MoE form of the flags.
    let mut moe = base.to_vec();
    moe.extend([
        "--aic-model-path",
        "Qwen/Qwen3-30B-A3B",
        "--aic-tp-size",
        "2",
        "--aic-moe-tp-size",
        "2",
        "--aic-moe-ep-size",
        "1",
        "--aic-attention-dp-size",
        "1",
    ]);
    succeeds("seed_router_aic_moe", &moe, REPORT);
}

#[test]
fn sglang_engine_args_file() {
    let dir = scratch_dir("seed_sglang");
    let args_file = dir.join("sglang.json");
    std::fs::write(
        &args_file,
        r#"{"engine_type": "sglang", "num_gpu_blocks": 512, "sglang": {"page_size": 2}}"#,
    )
    .unwrap();
    // 512 two-token pages hold 1,024 tokens: a load that fits them.
    let at_file = format!("@{}", args_file.display());
    let out = run_in(
        &dir,
        &[
            "--input-tokens",
            "600",
            "--output-tokens",
            "40",
            "--request-count",
            "50",
            "--replay-concurrency",
            "1",
            "--extra-engine-args",
            &at_file,
            "--report-json",
            REPORT,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The planner pages: agg and disagg with SLA scaling, and one run of the cold-start sweep.
#[test]
fn planner_runs() {
    let t = trace();
    let aic = r#"{"aic_backend": "vllm", "aic_system": "h200_sxm", "aic_model_path": "nvidia/Llama-3.1-8B-Instruct-FP8", "aic_tp_size": 1}"#;
    let planner = |mode: &str, ttft: u32, interval: u32, load: u32, name: &str| {
        format!(
            r#"{{"mode": "{mode}", "optimization_target": "sla", "ttft": {ttft}, "itl": 50, "enable_throughput_scaling": true, "enable_load_scaling": true, "pre_deployment_sweeping_mode": "rapid", "throughput_adjustment_interval": {interval}, "load_adjustment_interval": {load}, "prefill_engine_num_gpu": 1, "decode_engine_num_gpu": 1, "report_filename": "{name}"}}"#
        )
    };
    let dir = scratch_dir("seed_planner");
    // `… --planner-config P --extra-engine-args E --num-workers 2 --arrival-speedup-ratio 1.0`
    let agg = |planner: &str, extra: &str, more: &[&str]| {
        let mut args = vec![
            t.as_str(),
            "--planner-config",
            planner,
            "--extra-engine-args",
            extra,
            "--num-workers",
            "2",
            "--arrival-speedup-ratio",
            "1.0",
        ];
        args.extend(more);
        let out = run_in(&dir, &args);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    agg(&planner("agg", 1500, 300, 10, "replay_agg.html"), aic, &[]);
    assert!(dir.join("planner_reports/replay_agg.html").is_file());
    let disagg = planner("disagg", 2500, 60, 5, "replay_disagg.html");
    let out = run_in(
        &dir,
        &[
            &t,
            "--planner-config",
            &disagg,
            "--prefill-engine-args",
            aic,
            "--decode-engine-args",
            aic,
            "--num-prefill-workers",
            "1",
            "--num-decode-workers",
            "1",
            "--arrival-speedup-ratio",
            "1.0",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.join("planner_reports/replay_disagg.html").is_file());
    // One point of the cold-start sweep script.
    let extra = r#"{"aic_backend":"vllm","aic_system":"h200_sxm","aic_model_path":"nvidia/Llama-3.1-8B-Instruct-FP8","aic_tp_size":1,"startup_time":120}"#;
    std::fs::create_dir_all(dir.join("planner_reports/sweep_startup")).unwrap();
    let report = "planner_reports/sweep_startup/startup_120.json";
    agg(
        &planner("agg", 1500, 300, 10, "replay_agg_startup_120.html"),
        extra,
        &["--report-json", report],
    );
    assert!(dir.join(report).is_file());
}

/// The page's online example needs live workers: a clear error, not a silent offline run.
#[test]
fn online_mode_is_refused_clearly_and_unknown_flags_still_fail() {
    let dir = scratch_dir("seed_online");
    let t = trace();
    let out = run_in(
        &dir,
        &[
            &t,
            "--replay-mode",
            "online",
            "--router-mode",
            "kv_router",
            "--num-workers",
            "4",
            "--arrival-speedup-ratio",
            "10",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--replay-mode online replays against live mock workers"),
        "{}",
        stderr(&out)
    );
    let out = run_in(&dir, &[&t, "--no-such-flag"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unexpected argument '--no-such-flag'"));
}
