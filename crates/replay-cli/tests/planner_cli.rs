//! `servesim run --planner-config` end to end, through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{scratch_dir, scratch_file, servesim, stderr, stdout};

const FIXTURE: &str = "fixtures/mooncake_conversation_1000.jsonl";

/// The reference's planner-replay example, on the bundled fixture.
const AGG: &str = r#"{"mode": "agg", "optimization_target": "sla", "ttft": 1500, "itl": 50,
  "enable_throughput_scaling": true, "enable_load_scaling": true, "pre_deployment_sweeping_mode": "rapid",
  "throughput_adjustment_interval": 60, "load_adjustment_interval": 10,
  "prefill_engine_num_gpu": 1, "decode_engine_num_gpu": 1}"#;

/// `AGG` writing its HTML report to `dir/name` (the planner's own keys, as in the reference).
fn agg_reporting_to(dir: &std::path::Path, name: &str) -> String {
    let mut config: serde_json::Value = serde_json::from_str(AGG).unwrap();
    config["report_output_dir"] = dir.to_str().unwrap().into();
    config["report_filename"] = name.into();
    config.to_string()
}

#[test]
fn planner_run_prints_events_and_reports_diagnostics() {
    let dir = scratch_dir("planner_run");
    let json = dir.join("p.json");
    let out = servesim(&[
        "run",
        FIXTURE,
        "--num-workers",
        "2",
        "--planner-config",
        &agg_reporting_to(&dir.join("reports"), "agg.html"),
        "--report-json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let html_path = dir.join("reports").join("agg.html");
    for line in [
        "Scaling events:",
        "Planner ticks: ",
        "GPU hours: ",
        "SLA attainment: TTFT ≤ 1500 ms",
        "Goodput: ",
        &format!("HTML report: {}", html_path.display()),
    ] {
        assert!(text.contains(line), "missing {line}: {text}");
    }
    // The diagnostics page: self-contained, with the planner's charts and summary.
    let html = std::fs::read_to_string(&html_path).unwrap();
    for needle in [
        "<h1>Planner diagnostics</h1>",
        "plotly.js v",
        r#"id="planner-replicas" data-link="time""#,
        r#"id="planner-decode-load""#,
        r#"id="planner-load-decisions""#,
        r#"id="cdf-ttft""#,
        "<dt>replica transitions</dt>",
        "<dt>GPU hours</dt>",
        "TTFT ≤ 1500 ms, ITL ≤ 50 ms",
    ] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let planner = &r["servesim"]["planner"];
    assert_eq!(planner["policy"], "planner");
    assert!(planner["gpu_hours"].as_f64().unwrap() > 0.0);
    let records = planner["records"].as_array().unwrap();
    assert_eq!(records.len() as u64, planner["ticks"].as_u64().unwrap());
    assert!(records[0]["decode"]["ready"].is_number());
    assert!(planner["sla"]["both"].is_number());
}

#[test]
fn scaling_policies_and_yaml_configs() {
    let yaml = scratch_file(
        "planner_yaml",
        "planner.yaml",
        "mode: agg\noptimization_target: sla\nttft: 1500\nitl: 50\nenable_load_scaling: true\nthroughput_adjustment_interval: 60\n",
    );
    for policy in ["static", "hpa", "kpa", "planner"] {
        let out = servesim(&[
            "run",
            FIXTURE,
            "--num-workers",
            "2",
            "--planner-config",
            yaml.to_str().unwrap(),
            "--scaling-policy",
            policy,
            "--report-html",
            scratch_dir("planner_policies_html")
                .join(format!("{policy}.html"))
                .to_str()
                .unwrap(),
            "--report-json",
            scratch_dir("planner_policies")
                .join(format!("{policy}.json"))
                .to_str()
                .unwrap(),
        ]);
        assert!(out.status.success(), "{policy}: {}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("Scaling policy: {policy}")),
            "{policy}"
        );
    }
    // A policy alone runs with the default planner settings for the topology.
    let out = servesim(&[
        "run",
        FIXTURE,
        "--num-workers",
        "2",
        "--scaling-policy",
        "hpa",
        "--quiet",
        "--report-html",
        scratch_dir("planner_policy_only_html")
            .join("r.html")
            .to_str()
            .unwrap(),
        "--report-json",
        scratch_dir("planner_policy_only")
            .join("r.json")
            .to_str()
            .unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn invalid_planner_configs_fail_with_one_line() {
    let cases = [
        (
            vec!["--planner-config", r#"{"mode": "agg", "ttft_ms": 5}"#],
            "error: --planner-config: planner config: inline JSON: unknown field `ttft_ms`",
        ),
        (
            vec!["--planner-config", r#"{"mode": "disagg"}"#],
            "error: --planner-config: `mode` disagg/prefill/decode needs a disaggregated deployment",
        ),
        (
            vec![
                "--planner-config",
                r#"{"mode": "agg", "fpm_sample_bucket_size": 10}"#,
            ],
            "error: --planner-config: planner config: field `fpm_sample_bucket_size`: must be a perfect square, got 10",
        ),
        (
            vec!["--planner-config", "no/such/planner.yaml"],
            "error: --planner-config: planner config: no/such/planner.yaml:",
        ),
        (vec!["--scaling-policy", "magic"], "invalid value 'magic'"),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["run", FIXTURE, "--num-workers", "2"];
        args.extend(extra.iter().copied());
        let out = servesim(&args);
        assert!(!out.status.success(), "{extra:?}");
        let err = stderr(&out);
        assert!(
            err.contains(expected),
            "{extra:?}:\nexpected: {expected}\ngot: {err}"
        );
    }
}
