//! `servesim sweep` and `servesim sweep merge` end to end, through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{scratch_dir, servesim, stderr, stdout};

const FIXTURE: &str = "fixtures/mooncake_conversation_1000.jsonl";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `servesim sweep FIXTURE --param … --out-dir DIR` plus `extra`.
fn sweep(dir: &Path, params: &[&str], extra: &[&str]) -> std::process::Output {
    let mut args = vec!["sweep", FIXTURE, "--out-dir", dir.to_str().unwrap()];
    for p in params {
        args.extend(["--param", p]);
    }
    args.extend(extra);
    servesim(&args)
}

#[test]
fn a_grid_writes_csv_jsonl_and_html_deterministically() {
    let dir = scratch_dir("sweep_grid");
    let params = ["num_workers=2,4", "router_mode=round_robin,kv_router"];
    let out = sweep(&dir.join("a"), &params, &["--jobs", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("4 runs in "), "{text}");
    assert!(text.contains("ttft_mean_ms"), "{text}");
    let csv = read(&dir.join("a/sweep.csv"));
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("run,num_workers,router_mode,completed_requests,"),
        "{header}"
    );
    assert!(header.ends_with(",gpu_hours,error"), "{header}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4);
    assert!(rows[0].starts_with("0,2,round_robin,1000,"), "{}", rows[0]);
    assert!(rows[3].starts_with("3,4,kv_router,1000,"), "{}", rows[3]);
    let jsonl = read(&dir.join("a/sweep.jsonl"));
    let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(first["params"]["num_workers"], 2);
    assert_eq!(first["runs"], 4);
    // A fixed fleet holds its GPUs for the whole simulated time.
    let end_s = first["metrics"]["duration_s"].as_f64().unwrap();
    let gpu_hours = first["metrics"]["gpu_hours"].as_f64().unwrap();
    assert!(
        (gpu_hours - 2.0 * end_s / 3600.0).abs() < 1e-9,
        "{gpu_hours} {end_s}"
    );
    let html = read(&dir.join("a/sweep.html"));
    assert!(html.contains(r#"id="metric-ttft_p90_ms" data-link="param:num_workers""#));
    // Same inputs, one job: byte-identical tables.
    let out = sweep(&dir.join("b"), &params, &["--jobs", "1", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "--quiet prints nothing");
    for name in ["sweep.csv", "sweep.jsonl"] {
        assert_eq!(
            read(&dir.join("a").join(name)),
            read(&dir.join("b").join(name)),
            "{name}"
        );
    }
}

#[test]
fn shards_merge_back_into_the_whole_grid() {
    let dir = scratch_dir("sweep_shards");
    let params = ["arrival_speedup_ratio=1:3", "num_workers=2"];
    let out = sweep(&dir.join("whole"), &params, &["--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut shards = Vec::new();
    for k in 0..2 {
        let shard = format!("{k}/2");
        let out = sweep(&dir.join("parts"), &params, &["--quiet", "--shard", &shard]);
        assert!(out.status.success(), "{}", stderr(&out));
        shards.push(dir.join(format!("parts/sweep-shard-{k}-of-2.jsonl")));
    }
    assert_eq!(read(&shards[0]).lines().count(), 2, "runs 0 and 2");
    assert_eq!(read(&shards[1]).lines().count(), 1, "run 1");
    // A missing shard is an error naming the missing runs.
    let out = servesim(&[
        "sweep",
        "merge",
        shards[0].to_str().unwrap(),
        "--out-dir",
        dir.join("bad").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("1 of 3 runs missing (runs 1)"),
        "{}",
        stderr(&out)
    );
    let merged = dir.join("merged");
    let out = servesim(&[
        "sweep",
        "merge",
        shards[1].to_str().unwrap(),
        shards[0].to_str().unwrap(),
        "--out-dir",
        merged.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("3 runs merged from 2 files"));
    for name in ["sweep.csv", "sweep.jsonl"] {
        assert_eq!(
            read(&merged.join(name)),
            read(&dir.join("whole").join(name)),
            "{name}"
        );
    }
    assert!(merged.join("sweep.html").is_file());
}

#[test]
fn planner_keys_and_engine_keys_are_swept() {
    let dir = scratch_dir("sweep_planner");
    let planner = r#"{"mode": "agg", "optimization_target": "sla", "ttft": 1500, "itl": 50,
        "enable_throughput_scaling": true, "enable_load_scaling": true,
        "throughput_adjustment_interval": 60, "load_adjustment_interval": 10}"#;
    let out = sweep(
        &dir,
        &["startup_time=0,120", "planner.ttft=1000"],
        &[
            "--num-workers",
            "2",
            "--planner-config",
            planner,
            "--run-reports",
            "--quiet",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = read(&dir.join("sweep.csv"));
    let header = csv.lines().next().unwrap();
    for column in [
        "startup_time",
        "planner.ttft",
        "scaling_events",
        "sla_attainment",
        "goodput_per_gpu_hour",
    ] {
        assert!(header.split(',').any(|c| c == column), "{column}: {header}");
    }
    // Every run keeps its reports, with the swept values in its configuration.
    let report: serde_json::Value =
        serde_json::from_str(&read(&dir.join("runs/run-0001.json"))).unwrap();
    let engine = &report["servesim"]["config"]["topology"]["engine"];
    assert_eq!(engine["startup_time_s"], 120.0);
    assert_eq!(
        report["servesim"]["planner"]["sla"]["ttft_target_ms"],
        1000.0
    );
    assert!(read(&dir.join("runs/run-0001.html")).contains("<h1>Planner diagnostics</h1>"));
}

#[test]
fn bad_sweeps_fail_with_one_line() {
    let dir = scratch_dir("sweep_bad");
    let cases: [(&[&str], &[&str], &str); 7] = [
        (
            &["num_workers"],
            &[],
            "error: --param num_workers: expected NAME=START:STOP[:STEP] or NAME=V1,V2,…",
        ),
        (
            &["nonsense=1,2"],
            &[],
            "error: --param nonsense: not a `servesim run` flag, engine-args, planner or router key",
        ),
        (
            &["num_workers=1,2", "num_workers=3"],
            &[],
            "error: parameter `num_workers` is given twice",
        ),
        (
            &[],
            &[],
            "error: no parameter to sweep (give --param NAME=VALUES)",
        ),
        (
            &["num_workers=1"],
            &["--shard", "2/2"],
            "error: --shard `2/2`: K counts from 0",
        ),
        (
            &["num_workers=1"],
            &["--report-json", "x.json"],
            "error: --report-json is per run",
        ),
        (&["num_workers=0,x"], &[], "error: --param"),
    ];
    for (params, extra, expected) in cases {
        let out = sweep(&dir, params, extra);
        assert!(!out.status.success(), "{params:?} {extra:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with(expected),
            "{params:?}:\nexpected: {expected}\ngot: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn failed_runs_are_rows_with_their_error() {
    let dir = scratch_dir("sweep_failures");
    let out = sweep(&dir, &["num_workers=0,1"], &["--quiet"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("1 of 2 runs failed (runs 0)"),
        "{}",
        stderr(&out)
    );
    let csv = read(&dir.join("sweep.csv"));
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[1].starts_with("0,0,"), "{}", rows[1]);
    assert!(
        rows[1].ends_with("\"") || rows[1].contains("num-workers"),
        "{}",
        rows[1]
    );
    assert!(rows[2].starts_with("1,1,1000,"), "{}", rows[2]);
}

#[test]
fn skipped_trace_lines_are_reported_once_per_sweep() {
    let dir = scratch_dir("sweep_skipped");
    let fixture = read(&common::workspace_root().join(FIXTURE));
    let head: Vec<&str> = fixture.lines().take(50).collect();
    let trace = dir.join("trace.jsonl");
    std::fs::write(&trace, format!("{}\nnot json\n", head.join("\n"))).unwrap();
    let out = servesim(&[
        "sweep",
        trace.to_str().unwrap(),
        "--skip-invalid",
        "--param",
        "num_workers=1,2,3",
        "--out-dir",
        dir.join("out").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("skipped 1 invalid line").count(), 1, "{err}");
}
