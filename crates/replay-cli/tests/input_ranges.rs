//! One value outside each documented range of docs/input-ranges.md: every one is refused
//! with a one-line error that names the field or flag, and a non-zero exit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{scratch_file, servesim, stderr};

const TRACE: &str = "fixtures/mooncake_conversation_1000.jsonl";

/// Runs `args` and checks the refusal: non-zero exit, one error line naming `needle`.
fn refused(args: &[&str], needle: &str) {
    let out = servesim(args);
    let err = stderr(&out);
    let errors: Vec<&str> = err.lines().filter(|l| !l.starts_with("warning")).collect();
    assert!(!out.status.success(), "accepted: {args:?}");
    assert_eq!(errors.len(), 1, "{args:?}: not one line: {err}");
    assert!(errors[0].starts_with("error: "), "{args:?}: {err}");
    assert!(
        errors[0].contains(needle),
        "{args:?}: `{needle}` not in {err}"
    );
}

fn run_with(flag: &str, json: &str, needle: &str, extra: &[&str]) {
    let mut args = vec!["run", TRACE, "--num-workers", "2", flag, json];
    args.extend_from_slice(extra);
    refused(&args, needle);
}

#[test]
fn engine_arguments() {
    let cases = [
        (r#"{"num_gpu_blocks": 0}"#, "`num_gpu_blocks`"),
        (r#"{"block_size": 0}"#, "`block_size`"),
        (r#"{"max_num_seqs": 0}"#, "`max_num_seqs`"),
        (
            r#"{"max_num_batched_tokens": 0}"#,
            "`max_num_batched_tokens`",
        ),
        (
            r#"{"gpu_memory_utilization": 1.5}"#,
            "`gpu_memory_utilization`",
        ),
        (r#"{"speedup_ratio": 0}"#, "`speedup_ratio`"),
        (r#"{"decode_speedup_ratio": -1}"#, "`decode_speedup_ratio`"),
        (r#"{"startup_time": 1e30}"#, "`startup_time`"),
        (
            r#"{"kv_bytes_per_token": 2000000000}"#,
            "`kv_bytes_per_token`",
        ),
        (r#"{"kv_transfer_bandwidth": 0}"#, "`kv_transfer_bandwidth`"),
        (r#"{"dp_size": 2}"#, "`dp_size`"),
        (
            r#"{"aic_system": "h200_sxm", "aic_model_path": "meta-llama/Llama-3.1-8B-Instruct", "aic_tp_size": 8192}"#,
            "at most 4096 GPUs",
        ),
        (r#"{"aic_nextn": 6}"#, "`aic_nextn`"),
        (
            r#"{"aic_nextn": 2, "aic_nextn_accept_rates": [0.8, 1.5]}"#,
            "`aic_nextn_accept_rates`",
        ),
        (
            r#"{"kv_cache_dtype": "fp4x"}"#,
            "field `kv_cache_dtype`: unknown variant `fp4x`",
        ),
        (
            r#"{"engine_type": "sglang", "sglang": {"page_size": 0}}"#,
            "`sglang.page_size`",
        ),
        (
            r#"{"engine_type": "sglang", "sglang": {"page_size": 2, "chunked_prefill_size": 3}}"#,
            "`sglang.chunked_prefill_size`",
        ),
        (
            r#"{"engine_type": "sglang", "sglang": {"schedule_conservativeness": -1}}"#,
            "`sglang.schedule_conservativeness`",
        ),
    ];
    for (json, needle) in cases {
        run_with("--extra-engine-args", json, needle, &[]);
    }
}

#[test]
fn router_configuration() {
    let cases = [
        (r#"{"overlap_score_weight": -1}"#, "`overlap_score_weight`"),
        (r#"{"router_temperature": -1}"#, "`router_temperature`"),
        (
            r#"{"router_queue_threshold": -1}"#,
            "`router_queue_threshold`",
        ),
        (
            r#"{"router_event_delay_ms": 1e30}"#,
            "`router_event_delay_ms`",
        ),
        (r#"{"router_ttl_secs": -1}"#, "`router_ttl_secs`"),
        (r#"{"router_block_size": 0}"#, "`router_block_size`"),
        (r#"{"router_event_threads": 0}"#, "`router_event_threads`"),
        (r#"{"router_max_tree_size": 0}"#, "`router_max_tree_size`"),
        (
            r#"{"router_prune_target_ratio": 2}"#,
            "`router_prune_target_ratio`",
        ),
    ];
    for (json, needle) in cases {
        run_with(
            "--router-config",
            json,
            needle,
            &["--router-mode", "kv_router"],
        );
    }
}

#[test]
fn planner_configuration() {
    let cases = [
        ("throughput_adjustment_interval", "0"),
        ("load_adjustment_interval", "2e9"),
        ("ttft", "0"),
        ("itl", "-1"),
        ("max_gpu_budget", "0.5"),
        ("min_endpoint", "0"),
        ("prefill_engine_num_gpu", "0"),
        ("speculative_nextn", "0"),
        ("kalman_q_level", "-1"),
        ("kalman_q_trend", "-1"),
        ("kalman_r", "0"),
        ("kalman_min_points", "0"),
        ("prophet_window_size", "0"),
        ("load_predictor_season_length", "0"),
        ("max_num_fpm_samples", "0"),
        ("load_min_observations", "0"),
        ("load_metric_samples", "0"),
        ("fpm_sample_bucket_size", "3"),
        ("load_scaling_down_sensitivity", "101"),
        ("hpa_target_utilization", "1.5"),
        ("kpa_panic_window_fraction", "0"),
        ("hpa_stabilization_window", "-1"),
        ("kpa_stable_window", "0"),
        ("kpa_target_concurrency", "0"),
        ("kpa_panic_threshold", "0"),
        ("report_interval_hours", "-1"),
    ];
    for (key, value) in cases {
        let json = format!(
            r#"{{"mode": "agg", "enable_load_scaling": true, "enable_throughput_scaling": false, "{key}": {value}}}"#
        );
        let needle = if key.ends_with("_engine_num_gpu") {
            "_engine_num_gpu`".to_owned()
        } else {
            format!("`{key}`")
        };
        run_with("--planner-config", &json, &needle, &[]);
    }
}

#[test]
fn trace_fields() {
    let cases = [
        (
            "mooncake",
            r#"{"timestamp": 1e30, "input_length": 10, "output_length": 1, "hash_ids": [1]}"#,
            "`timestamp`",
        ),
        (
            "mooncake",
            r#"{"timestamp": 0, "input_length": 0, "output_length": 1, "hash_ids": [1]}"#,
            "`input_length`",
        ),
        (
            "mooncake",
            r#"{"timestamp": 0, "input_length": 10, "output_length": 0, "hash_ids": [1]}"#,
            "`output_length`",
        ),
        (
            "mooncake",
            r#"{"timestamp": 0, "input_length": 10, "output_length": 1, "hash_ids": []}"#,
            "`hash_ids`",
        ),
        (
            "mooncake",
            r#"{"timestamp": 0, "input_length": 600, "output_length": 1, "hash_ids": [1]}"#,
            "`input_length`",
        ),
        (
            "mooncake",
            r#"{"session_id": "a", "timestamp": 0, "delay": -5, "input_length": 10, "output_length": 1, "hash_ids": [1]}"#,
            "`delay`",
        ),
        (
            "agentic_mooncake",
            r#"{"request_id": "a", "tool_wait_ms": -1, "output_length": 1, "hash_ids": [1]}"#,
            "`tool_wait_ms`",
        ),
        (
            "applied_compute_agentic",
            r#"{"num_turns": 1, "input_prompt_length": 10, "assistant_response_length": [5], "tool_call_output_length": [1], "tool_call_latency": [-1], "final_assistant_response_length": 3}"#,
            "`tool_call_latency`",
        ),
        (
            "applied_compute_agentic",
            r#"{"num_turns": -1, "input_prompt_length": 10, "final_assistant_response_length": 3}"#,
            "`num_turns`",
        ),
        (
            "weka",
            r#"{"block_size": 0, "requests": [{"t": 0, "in": 1, "out": 1, "hash_ids": [1]}]}"#,
            "`block_size`",
        ),
        (
            "weka",
            r#"{"requests": [{"t": 0, "in": 1, "out": 1, "hash_ids": [1], "api_time": 1e300}]}"#,
            "`api_time`",
        ),
        (
            "weka",
            r#"{"requests": [{"t": -1, "in": 1, "out": 1, "hash_ids": [1]}]}"#,
            "`t`",
        ),
        (
            "weka",
            r#"{"requests": [{"t": 0, "in": 65, "out": 1, "hash_ids": [1]}]}"#,
            "`in`",
        ),
    ];
    for (i, (format, row, needle)) in cases.into_iter().enumerate() {
        let file = scratch_file(&format!("ranges_trace_{i}"), "t.jsonl", &format!("{row}\n"));
        let path = file.to_str().unwrap();
        refused(&["trace", "stats", path, "--trace-format", format], needle);
    }
    refused(
        &["run", TRACE, "--trace-block-size", "0"],
        "trace block size must be ≥ 1",
    );
}

#[test]
fn command_line_flags() {
    let synthetic = [
        "--input-tokens",
        "100",
        "--output-tokens",
        "10",
        "--request-count",
        "5",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["run"]
            .iter()
            .chain(synthetic.iter())
            .map(|s| s.to_string())
            .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "run".into(),
                TRACE.into(),
                "--num-workers".into(),
                "0".into(),
            ],
            "--num-workers",
        ),
        (
            vec![
                "run".into(),
                TRACE.into(),
                "--replay-concurrency".into(),
                "0".into(),
            ],
            "--replay-concurrency",
        ),
        (
            vec![
                "run".into(),
                TRACE.into(),
                "--arrival-speedup-ratio".into(),
                "0".into(),
            ],
            "--arrival-speedup-ratio",
        ),
        (
            with(&["--benchmark-granularity", "0"]),
            "--benchmark-granularity",
        ),
        (with(&["--turns-per-session", "0"]), "--turns-per-session"),
        (
            [
                "run",
                TRACE,
                "--num-prefill-workers",
                "0",
                "--num-decode-workers",
                "1",
                "--prefill-engine-args",
                r#"{"worker_type": "prefill"}"#,
                "--decode-engine-args",
                r#"{"worker_type": "decode"}"#,
            ]
            .map(String::from)
            .to_vec(),
            "--num-prefill-workers",
        ),
        (
            vec![
                "run".into(),
                "--input-tokens".into(),
                "10".into(),
                "--output-tokens".into(),
                "0".into(),
            ],
            "--output-tokens",
        ),
        (with(&["--random-range-ratio", "2"]), "--random-range-ratio"),
        (
            with(&["--shared-prefix-ratio", "2"]),
            "--shared-prefix-ratio",
        ),
        (
            with(&["--arrival-interval-ms", "1e30"]),
            "beyond the simulated clock's range",
        ),
        (
            with(&["--turns-per-session", "2", "--inter-turn-delay-ms", "1e30"]),
            "beyond the simulated clock's range",
        ),
        (
            vec![
                "run".into(),
                "--input-tokens".into(),
                "0".into(),
                "--output-tokens".into(),
                "1".into(),
            ],
            "--input-tokens",
        ),
        (
            [
                "trace",
                "gen",
                "sinusoid",
                "--duration",
                "1e30",
                "--rate-min",
                "1",
                "--rate-max",
                "2",
                "--period",
                "30",
                "-o",
                "x.jsonl",
            ]
            .map(String::from)
            .to_vec(),
            "duration must be in (0, 1e9] seconds",
        ),
        (
            [
                "sweep",
                TRACE,
                "--param",
                "num_workers=5:1",
                "--out-dir",
                "unused",
            ]
            .map(String::from)
            .to_vec(),
            "STOP ≥ START",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&args, needle);
    }
}

#[test]
fn validate_table_cells() {
    let header = "model,system,backend,tp,isl,osl,concurrency,num_prompts,random_range_ratio,gpu_memory_utilization,mean_ttft_ms";
    let good = [
        "meta-llama/Llama-3.1-8B",
        "h100_sxm",
        "vllm",
        "1",
        "1024",
        "128",
        "4",
        "16",
        "1",
        "0.9",
        "40",
    ];
    let cases = [
        (3, "0", "tp: must be ≥ 1"),
        (6, "0", "concurrency: must be ≥ 1"),
        (8, "2", "random_range_ratio: must be in [0, 1]"),
        (9, "1.5", "gpu_memory_utilization: must be in (0, 1]"),
        (10, "-4", "mean_ttft_ms: must be a finite number > 0"),
        (2, "tgi", "backend: must be vllm, sglang or trtllm"),
    ];
    for (i, (column, value, needle)) in cases.into_iter().enumerate() {
        let mut row = good.map(str::to_owned);
        row[column] = value.to_owned();
        let file = scratch_file(
            &format!("ranges_validate_{i}"),
            "t.csv",
            &format!("{header}\n{}\n", row.join(",")),
        );
        // Every bad row is listed, then the count: the first line names the cell.
        let out = servesim(&[
            "validate",
            file.to_str().unwrap(),
            "--summary-only",
            "--quiet",
        ]);
        let err = stderr(&out);
        assert!(
            !out.status.success(),
            "accepted: {value} in column {column}"
        );
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: ") && first.contains(needle),
            "{err}"
        );
    }
}
