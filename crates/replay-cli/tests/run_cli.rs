//! `servesim run` end to end, through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{scratch_dir, scratch_file, servesim, stderr, stdout};

const FIXTURE: &str = "fixtures/mooncake_conversation_1000.jsonl";

fn report(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn replays_the_fixture_with_table_and_report() {
    let dir = scratch_dir("run_fixture");
    let json = dir.join("r.json");
    let jsonl = dir.join("requests.jsonl");
    let out = servesim(&[
        "run",
        FIXTURE,
        "--num-workers",
        "4",
        "--report-json",
        json.to_str().unwrap(),
        "--requests-jsonl",
        jsonl.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    for row in [
        "Time to First Token (ms)",
        "Inter Token Latency (ms)",
        "Inter Token Gap (ms)",
        "Request Count",
    ] {
        assert!(table.contains(row), "missing {row}: {table}");
    }
    assert!(table.contains(&format!("Saved full report to: {}", json.display())));
    let r = report(&json);
    assert_eq!(r["num_requests"], 1000);
    assert_eq!(r["completed_requests"], 1000);
    for key in [
        "mean_ttft_ms",
        "p99_itl_ms",
        "std_e2e_latency_ms",
        "median_tpot_ms",
        "max_itl_ms",
        "p99_token_gap_ms",
        "p90_output_token_throughput_per_user",
        "mean_token_gap_throughput_per_user",
        "prefix_cache_reused_ratio",
        "wall_time_ms",
        "total_throughput_tok_s",
    ] {
        assert!(r[key].is_number(), "{key}");
    }
    assert_eq!(r["servesim"]["config"]["topology"]["num_workers"], 4);
    assert_eq!(
        r["servesim"]["config"]["topology"]["engine"]["block_size"],
        64
    );
    assert_eq!(
        std::fs::read_to_string(&jsonl).unwrap().lines().count(),
        1000
    );
}

#[test]
fn same_seed_same_report_apart_from_wall_time() {
    let dir = scratch_dir("run_determinism");
    let paths = [dir.join("a.json"), dir.join("b.json")];
    for path in &paths {
        let out = servesim(&[
            "run",
            FIXTURE,
            "--num-workers",
            "3",
            "--quiet",
            "--report-json",
            path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).is_empty(), "--quiet prints nothing");
    }
    let [mut a, mut b] = paths.map(|p| report(&p));
    a.as_object_mut().unwrap().remove("wall_time_ms");
    b.as_object_mut().unwrap().remove("wall_time_ms");
    assert_eq!(a, b);
}

#[test]
fn html_reports_are_optional_for_plain_runs_and_byte_identical() {
    let dir = scratch_dir("run_html");
    let pages = [dir.join("a.html"), dir.join("b.html")];
    for page in &pages {
        let out = servesim(&[
            "run",
            FIXTURE,
            "--num-workers",
            "2",
            "--report-json",
            dir.join("r.json").to_str().unwrap(),
            "--report-html",
            page.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains(&format!("HTML report: {}", page.display())));
    }
    let [a, b] = pages.map(|p| std::fs::read_to_string(p).unwrap());
    assert_eq!(a, b, "same inputs, same page");
    for needle in [
        "<h1>servesim replay report</h1>",
        r#"id="cdf-ttft""#,
        r#"id="cdf-itl""#,
        r#"id="cdf-e2e""#,
        r#"id="traffic-requests" data-link="time""#,
    ] {
        assert!(a.contains(needle), "report lacks {needle}");
    }
    assert!(
        !a.contains("planner-replicas"),
        "no planner, no planner charts"
    );
    // Without --report-html a plain run writes no page.
    let out = servesim(&[
        "run",
        FIXTURE,
        "--quiet",
        "--report-json",
        dir.join("r2.json").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains("HTML report"));
}

#[test]
fn synthetic_load_and_concurrency_mode() {
    let dir = scratch_dir("run_synthetic");
    let json = dir.join("s.json");
    let out = servesim(&[
        "run",
        "--input-tokens",
        "1000",
        "--output-tokens",
        "20",
        "--request-count",
        "50",
        "--turns-per-session",
        "2",
        "--replay-concurrency",
        "8",
        "--num-workers",
        "2",
        "--report-json",
        json.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&json);
    assert_eq!(r["num_requests"], 100);
    assert_eq!(r["completed_requests"], 100);
    assert_eq!(r["servesim"]["config"]["admission"], "concurrency");
}

#[test]
fn report_into_a_directory_gets_a_timestamped_name() {
    let dir = scratch_dir("run_report_dir");
    let out = servesim(&[
        "run",
        "--input-tokens",
        "100",
        "--output-tokens",
        "5",
        "--request-count",
        "3",
        "--quiet",
        "--report-json",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 1);
    assert!(
        names[0].starts_with("servesim_report_") && names[0].ends_with(".json"),
        "{names:?}"
    );
}

/// Every invalid invocation fails with exactly one `error:` line and a non-zero exit.
#[test]
fn invalid_invocations_fail_with_one_line() {
    let no_ts = scratch_file(
        "run_invalid",
        "nots.jsonl",
        "{\"timestamp\": 0, \"output_length\": 2, \"hash_ids\": [1]}\n{\"output_length\": 2, \"hash_ids\": [2]}\n",
    );
    let huge = scratch_file(
        "run_invalid_huge",
        "huge.jsonl",
        "{\"timestamp\": 0, \"input_length\": 2000, \"output_length\": 2, \"hash_ids\": [1, 2, 3, 4]}\n",
    );
    let (no_ts, huge) = (no_ts.to_str().unwrap(), huge.to_str().unwrap());
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["run", FIXTURE, "--num-workers", "0"], "error: --num-workers must be ≥ 1".into()),
        (vec!["run", FIXTURE, "--router-mode", "random"], "unknown router mode `random`".into()),
        (vec!["run", FIXTURE, "--router-mode", "kv_router"], "error: --router-mode kv_router needs --num-workers > 1".into()),
        (vec!["run", FIXTURE, "--input-tokens", "5"], "error: a trace file and synthetic flags (--input-tokens) are mutually exclusive".into()),
        (vec!["run", "--input-tokens", "5"], "error: give a trace file, or a synthetic load with --input-tokens, --output-tokens and --request-count (missing: --output-tokens, --request-count)".into()),
        (vec!["run", FIXTURE, "--arrival-speedup-ratio", "0"], "error: --arrival-speedup-ratio must be finite and > 0, got 0".into()),
        (vec!["run", FIXTURE, "--replay-concurrency", "0"], "error: --replay-concurrency must be ≥ 1".into()),
        (vec!["run", FIXTURE, "--extra-engine-args", "{not json"], "error: --extra-engine-args: key must be a string at line 1 column 2".into()),
        (vec!["run", FIXTURE, "--extra-engine-args", r#"{"num_gpu_block": 5}"#], "error: --extra-engine-args: unknown field `num_gpu_block`".into()),
        (vec!["run", FIXTURE, "--extra-engine-args", r#"{"dp_size": 2}"#], "error: --extra-engine-args: field `dp_size`: only 1 is supported, got 2".into()),
        (vec!["run", FIXTURE, "--extra-engine-args", r#"{"worker_type": "prefill"}"#], "error: --extra-engine-args: `worker_type` must be `aggregated`".into()),
        (vec!["run", FIXTURE, "--extra-engine-args", "@no/such/args.json"], "error: --extra-engine-args: cannot read no/such/args.json".into()),
        (vec!["run", no_ts], format!("error: {no_ts}:2: field `timestamp`: required on the first turn of a session")),
        (vec!["run", huge, "--extra-engine-args", r#"{"num_gpu_blocks": 10}"#], format!("error: {huge}:1: request 0: needs 32 KV blocks")),
        (vec!["run", "missing.jsonl"], "error: missing.jsonl: No such file".into()),
        (vec!["run", FIXTURE, "--prefill-engine-args", r#"{"worker_type": "prefill"}"#], "error: disaggregated serving needs both --prefill-engine-args and --decode-engine-args".into()),
        (vec!["run", FIXTURE, "--extra-engine-args", "{}", "--prefill-engine-args", "{}", "--decode-engine-args", "{}"], "error: --extra-engine-args (aggregated) cannot be combined with --prefill-engine-args / --decode-engine-args".into()),
        (vec!["run", FIXTURE, "--num-prefill-workers", "2"], "error: --num-prefill-workers / --num-decode-workers only apply to disaggregated serving".into()),
        (vec!["run", FIXTURE, "--num-workers", "2", "--prefill-engine-args", r#"{"worker_type": "prefill"}"#, "--decode-engine-args", r#"{"worker_type": "decode"}"#], "error: --num-workers applies to aggregated serving".into()),
        (vec!["run", FIXTURE, "--prefill-engine-args", "{}", "--decode-engine-args", r#"{"worker_type": "decode"}"#], "error: --prefill-engine-args: `worker_type` must be `prefill`".into()),
        (vec!["run", FIXTURE, "--prefill-engine-args", r#"{"worker_type": "prefill", "block_size": 32}"#, "--decode-engine-args", r#"{"worker_type": "decode"}"#], "error: prefill and decode workers need the same `block_size` (prefill 32, decode 64)".into()),
        (vec!["run", FIXTURE, "--prefill-engine-args", r#"{"worker_type": "prefill"}"#, "--decode-engine-args", r#"{"worker_type": "decode"}"#, "--num-decode-workers", "0"], "error: --num-prefill-workers and --num-decode-workers must be ≥ 1".into()),
        (vec!["run", FIXTURE, "--num-workers", "2", "--router-config", "{}"], "error: --router-config only applies to --router-mode kv_router".into()),
        (vec!["run", FIXTURE, "--num-workers", "2", "--router-mode", "kv_router", "--router-config", r#"{"overlap_weight": 2}"#], "error: --router-config: unknown field `overlap_weight`".into()),
        (vec!["run", FIXTURE, "--num-workers", "2", "--router-mode", "kv_router", "--router-config", r#"{"router_temperature": -1}"#], "error: --router-config: field `router_temperature`: must be finite and ≥ 0, got -1".into()),
        (vec!["run", FIXTURE, "--num-workers", "2", "--router-mode", "kv_router", "--router-config", r#"{"router_block_size": 96}"#], "error: --router-config: field `router_block_size`: 96 is not a multiple of the engine block size 64".into()),
    ];
    for (args, expected) in cases {
        let out = servesim(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = stderr(&out);
        assert!(
            err.contains(&expected),
            "{args:?}:\nexpected: {expected}\ngot: {err}"
        );
        if expected.starts_with("error:") {
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        }
    }
}

#[test]
fn engine_args_from_a_file() {
    let args = scratch_file(
        "run_args_file",
        "engine.json",
        r#"{"num_gpu_blocks": 4096, "max_num_seqs": 64}"#,
    );
    let dir = scratch_dir("run_args_file_out");
    let json = dir.join("r.json");
    let flag = format!("@{}", args.display());
    let out = servesim(&[
        "run",
        FIXTURE,
        "--extra-engine-args",
        &flag,
        "--quiet",
        "--report-json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&json);
    let engine = &r["servesim"]["config"]["topology"]["engine"];
    assert_eq!(engine["num_gpu_blocks"], 4096);
    assert_eq!(engine["max_num_seqs"], 64);
}

#[test]
fn disaggregated_kv_routed_replay() {
    let dir = scratch_dir("run_disagg");
    let json = dir.join("d.json");
    let out = servesim(&[
        "run",
        FIXTURE,
        "--router-mode",
        "kv_router",
        "--num-prefill-workers",
        "2",
        "--num-decode-workers",
        "2",
        "--prefill-engine-args",
        r#"{"worker_type": "prefill"}"#,
        "--decode-engine-args",
        r#"{"worker_type": "decode", "kv_transfer_bandwidth": 32}"#,
        "--router-config",
        r#"{"router_queue_threshold": 2.0}"#,
        "--quiet",
        "--report-json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&json);
    assert_eq!(r["completed_requests"], 1000);
    let servesim = &r["servesim"];
    assert_eq!(servesim["config"]["topology"]["kind"], "disaggregated");
    assert_eq!(
        servesim["config"]["topology"]["kv_transfer_bandwidth_gbps"],
        32.0
    );
    assert_eq!(
        servesim["config"]["router_config"]["router_queue_threshold"],
        2.0
    );
    // The router block size in effect is reported, not `null`.
    assert_eq!(servesim["config"]["router_config"]["router_block_size"], 64);
    assert_eq!(servesim["kv_transfer"]["transfers"], 1000);
    assert!(servesim["kv_transfer"]["time_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert_eq!(servesim["pools"][0]["kind"], "prefill");
    assert_eq!(servesim["pools"][1]["workers"].as_array().unwrap().len(), 2);
}
