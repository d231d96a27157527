//! `servesim plan-eval` end to end, through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{scratch_dir, servesim, stderr, stdout};

const PLANNER: &str = r#"{"mode": "agg", "optimization_target": "sla", "ttft": 1500, "itl": 50,
  "enable_throughput_scaling": true, "enable_load_scaling": true,
  "throughput_adjustment_interval": 60, "load_adjustment_interval": 5, "max_gpu_budget": 4}"#;

/// Writes a short sinusoidal trace per seed into `dir` as `sin_<seed>.jsonl`.
fn traces(dir: &std::path::Path, seeds: &[u64]) {
    for seed in seeds {
        let path = dir.join(format!("sin_{seed}.jsonl"));
        let out = servesim(&[
            "trace",
            "gen",
            "sinusoid",
            "--duration",
            "120",
            "--rate-min",
            "1",
            "--rate-max",
            "6",
            "--period",
            "60",
            "--isl1",
            "1000",
            "--osl1",
            "40",
            "--seed",
            &seed.to_string(),
            "-o",
            path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

#[test]
fn plan_eval_scores_policies_against_the_oracle_per_seed() {
    let dir = scratch_dir("plan_eval");
    traces(&dir, &[1, 2]);
    let pattern = dir.join("sin_{seed}.jsonl");
    let out_dir = dir.join("card");
    let args = [
        "plan-eval",
        pattern.to_str().unwrap(),
        "--num-workers",
        "2",
        "--planner-config",
        PLANNER,
        "--policies",
        "planner,reference:load_180_10,hpa,static:1,oracle",
        "--seeds",
        "1,2",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ];
    let out = servesim(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for policy in [
        "planner",
        "reference:load_180_10",
        "hpa",
        "static:1",
        "oracle",
    ] {
        assert!(text.contains(policy), "{policy} missing: {text}");
    }
    assert!(text.contains("10 runs in"), "{text}");

    let csv = std::fs::read_to_string(out_dir.join("scorecard.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "policy,seed,requests,sla_attainment,sla_vs_ceiling,ttft_attainment,itl_attainment,gpu_hours,avg_gpus,goodput_per_gpu_hour,scale_events,gpu_hours_vs_oracle,goodput_vs_oracle"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 10);
    // In the order asked for, seeds ascending; every ratio is to the same seed's oracle.
    assert_eq!((rows[0][0], rows[0][1]), ("planner", "1"));
    assert_eq!((rows[9][0], rows[9][1]), ("oracle", "2"));
    assert_eq!(rows[9][11], "1.0");
    // Each seed replays its own trace.
    assert_ne!(
        rows[0][2], rows[1][2],
        "seeds 1 and 2 have different request counts"
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("scorecard.json")).unwrap())
            .unwrap();
    assert_eq!(json["ttft_target_ms"], 1500.0);
    assert_eq!(json["summary"].as_array().unwrap().len(), 5);
    let oracle = &json["oracle"][0];
    assert_eq!(oracle["window_s"], 30.0);
    assert_eq!(oracle["replicas"].as_array().unwrap().len(), 4);
    assert!(json["summary"][4]["sla_attainment"].as_f64().unwrap() >= 0.99);

    let html = std::fs::read_to_string(out_dir.join("scorecard.html")).unwrap();
    for needle in [
        r#"id="sla-vs-gpu-hours""#,
        r#"id="goodput-per-seed""#,
        r#"id="replicas" data-link="time""#,
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }

    // Byte-identical reruns.
    let again = servesim(&args);
    assert!(again.status.success());
    assert_eq!(
        std::fs::read_to_string(out_dir.join("scorecard.csv")).unwrap(),
        csv
    );
}

#[test]
fn plan_eval_explains_what_it_cannot_score() {
    let dir = scratch_dir("plan_eval_errors");
    traces(&dir, &[1]);
    let trace = dir.join("sin_1.jsonl");
    let trace = trace.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "plan-eval",
                trace,
                "--planner-config",
                PLANNER,
                "--policies",
                "reference:hpa",
            ],
            "reference: applies to the planner",
        ),
        (
            &["plan-eval", trace, "--seeds", "1"],
            "needs --planner-config",
        ),
        (
            &[
                "plan-eval",
                trace,
                "--planner-config",
                PLANNER,
                "--replay-concurrency",
                "4",
            ],
            "open-loop traces only",
        ),
        (
            &[
                "plan-eval",
                trace,
                "--planner-config",
                PLANNER,
                "--policies",
                "planner,fastest",
            ],
            "--policies: `fastest`: unknown policy",
        ),
        (
            &[
                "plan-eval",
                trace,
                "--planner-config",
                PLANNER,
                "--policies",
                "hybrid_5_180",
            ],
            "load interval must be shorter",
        ),
    ];
    for (args, message) in cases {
        let out = servesim(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let error = stderr(&out);
        assert!(error.contains(message), "{args:?}: {error}");
        assert_eq!(error.trim().lines().count(), 1, "one line: {error}");
    }
}
