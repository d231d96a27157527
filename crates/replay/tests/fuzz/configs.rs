//! Configuration parsers: engine arguments (with their resolution), the KV router's
//! configuration, the planner's configuration (JSON and YAML) and profile tables.

use proptest::prelude::*;
use serde_json::Value;
use servesim_engine::EngineArgs;
use servesim_perf::InterpolatedModel;
use servesim_planner::config::PlannerConfig;
use servesim_router::KvRouterConfig;

use crate::json::{field_value, object_over, value};
use crate::{bounded, fuzz_config, one_line};

const ENGINE_KEYS: &[&str] = &[
    "engine_type",
    "num_gpu_blocks",
    "block_size",
    "max_num_seqs",
    "max_num_batched_tokens",
    "enable_prefix_caching",
    "enable_chunked_prefill",
    "kv_cache_dtype",
    "gpu_memory_utilization",
    "weight_dtype",
    "preemption_mode",
    "speedup_ratio",
    "decode_speedup_ratio",
    "dp_size",
    "startup_time",
    "worker_type",
    "is_prefill",
    "is_decode",
    "perf_model",
    "mixed_pass_cost",
    "aic_backend",
    "aic_system",
    "aic_backend_version",
    "aic_model_path",
    "aic_tp_size",
    "aic_moe_tp_size",
    "aic_moe_ep_size",
    "aic_attention_dp_size",
    "kv_bytes_per_token",
    "kv_transfer_bandwidth",
    "router_queue_policy",
    "sglang",
    "trtllm",
    "aic_nextn",
    "aic_nextn_accept_rates",
];

const SGLANG_KEYS: &[&str] = &[
    "schedule_policy",
    "page_size",
    "max_prefill_tokens",
    "chunked_prefill_size",
    "clip_max_new_tokens",
    "schedule_conservativeness",
];

const ROUTER_KEYS: &[&str] = &[
    "overlap_score_weight",
    "router_temperature",
    "use_kv_events",
    "router_track_active_blocks",
    "router_track_output_blocks",
    "router_assume_kv_reuse",
    "router_track_prefill_tokens",
    "router_prefill_load_model",
    "router_queue_threshold",
    "router_queue_policy",
    "router_event_delay_ms",
    "router_ttl_secs",
    "router_block_size",
    "router_event_threads",
    "router_max_tree_size",
    "router_prune_target_ratio",
];

const PLANNER_KEYS: &[&str] = &[
    "mode",
    "optimization_target",
    "throughput_adjustment_interval",
    "load_adjustment_interval",
    "max_gpu_budget",
    "min_endpoint",
    "prefill_engine_num_gpu",
    "decode_engine_num_gpu",
    "speculative_nextn",
    "ttft",
    "itl",
    "load_predictor",
    "load_predictor_log1p",
    "prophet_window_size",
    "load_predictor_season_length",
    "kalman_q_level",
    "kalman_q_trend",
    "kalman_r",
    "kalman_min_points",
    "enable_throughput_scaling",
    "enable_load_scaling",
    "max_num_fpm_samples",
    "fpm_sample_bucket_size",
    "load_scaling_down_sensitivity",
    "load_metric_samples",
    "load_min_observations",
    "scaling_policy",
    "hpa_target_utilization",
    "hpa_stabilization_window",
    "kpa_target_concurrency",
    "kpa_stable_window",
    "kpa_panic_window_fraction",
    "kpa_panic_threshold",
];

/// Valid engine arguments to start from: the default vLLM worker, per-GPU timing, SGLang.
fn engine_base() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        r#"{}"#,
        r#"{"aic_backend": "vllm", "aic_system": "h200_sxm", "aic_model_path": "meta-llama/Llama-3.1-8B-Instruct"}"#,
        r#"{"engine_type": "sglang", "sglang": {"page_size": 16}}"#,
        r#"{"engine_type": "trtllm", "aic_system": "h100_sxm", "aic_model_path": "Qwen/Qwen3-32B", "aic_tp_size": 2}"#,
    ])
    .prop_map(|text| serde_json::from_str(text).unwrap_or(Value::Null))
}

/// `base` with `edits` set on it (keys from the vocabulary).
fn with_edits(mut base: Value, edits: Vec<(String, Value)>) -> Value {
    if let Value::Object(map) = &mut base {
        for (key, value) in edits {
            map.insert(key, value);
        }
    }
    base
}

fn edits(keys: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::collection::vec(
        (
            prop::sample::select(keys).prop_map(str::to_owned),
            prop_oneof![5 => field_value(), 1 => object_over(SGLANG_KEYS)],
        ),
        0..4,
    )
}

fn check_engine(text: &str) -> Result<(), TestCaseError> {
    let result = bounded(|| EngineArgs::from_json(text).and_then(|args| args.resolve()))?;
    if let Err(error) = result {
        one_line(&error.to_string())?;
    }
    Ok(())
}

fn check_planner_json(text: &str) -> Result<(), TestCaseError> {
    let result =
        bounded(|| PlannerConfig::from_json(text, "p.json").and_then(PlannerConfig::validate))?;
    if let Err(error) = result {
        let message = error.to_string();
        one_line(&message)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz_config())]

    #[test]
    fn engine_args_edited(base in engine_base(), edits in edits(ENGINE_KEYS)) {
        check_engine(&with_edits(base, edits).to_string())?;
    }

    #[test]
    fn engine_args_arbitrary(doc in prop_oneof![object_over(ENGINE_KEYS), value()]) {
        check_engine(&doc.to_string())?;
    }

    #[test]
    fn engine_args_bytes(text in "\\PC{0,64}") {
        check_engine(&text)?;
    }

    #[test]
    fn router_config(doc in prop_oneof![4 => object_over(ROUTER_KEYS), 1 => value()]) {
        let text = doc.to_string();
        if let Err(message) = bounded(|| KvRouterConfig::from_json(&text))? {
            one_line(&message)?;
        }
    }

    #[test]
    fn planner_config_json(
        base in prop::sample::select(vec![
            r#"{"mode": "agg", "optimization_target": "sla", "enable_load_scaling": true}"#,
            r#"{"mode": "disagg", "scaling_policy": "hpa"}"#,
            r#"{}"#,
        ]),
        edits in edits(PLANNER_KEYS),
        raw in prop::option::weighted(0.1, value()),
    ) {
        let doc = raw.unwrap_or_else(|| {
            with_edits(serde_json::from_str(base).unwrap_or(Value::Null), edits)
        });
        check_planner_json(&doc.to_string())?;
    }

    #[test]
    fn planner_config_yaml(
        lines in prop::collection::vec(
            (
                prop::sample::select(PLANNER_KEYS),
                prop_oneof![
                    (0u32..500).prop_map(|n| n.to_string()),
                    Just("-1".to_owned()),
                    Just("1e400".to_owned()),
                    Just(".nan".to_owned()),
                    Just("[1, 2]".to_owned()),
                    Just("{a: 1}".to_owned()),
                    Just("agg".to_owned()),
                    Just("sla".to_owned()),
                    Just("true".to_owned()),
                    "\\PC{0,10}",
                ],
            ),
            0..6,
        ),
        indent in prop::option::weighted(0.1, 1usize..4),
    ) {
        let pad = " ".repeat(indent.unwrap_or(0));
        let text: String = lines.iter().map(|(k, v)| format!("{pad}{k}: {v}\n")).collect();
        let result = bounded(|| PlannerConfig::from_yaml(&text, "p.yaml").and_then(PlannerConfig::validate))?;
        if let Err(error) = result {
            one_line(&error.to_string())?;
        }
    }

    #[test]
    fn profile_tables(
        tokens in prop::collection::vec(crate::json::number(), 0..4),
        ms in prop::collection::vec(crate::json::number(), 0..4),
        kv in prop::collection::vec(crate::json::number(), 0..3),
        ctx in prop::collection::vec(crate::json::number(), 0..3),
        grid in prop::collection::vec(prop::collection::vec(crate::json::number(), 0..3), 0..3),
        raw in prop::option::weighted(0.2, value()),
    ) {
        let doc = raw.unwrap_or_else(|| serde_json::json!({
            "prefill": {"tokens": tokens, "ms": ms},
            "decode": {"active_kv_tokens": kv, "context_length": ctx, "ms": grid},
        }));
        let text = doc.to_string();
        if let Err(error) = bounded(|| InterpolatedModel::from_json(&text, "profile.json"))? {
            one_line(&error.to_string())?;
        }
    }

    #[test]
    fn profile_csv(rows in prop::collection::vec(
        (
            prop::sample::select(vec!["prefill", "decode", "mixed", ""]),
            crate::json::number(),
            crate::json::number(),
            crate::json::number(),
            crate::json::number(),
        ),
        0..6,
    )) {
        let mut text = "phase,tokens,active_kv_tokens,context_length,ms\n".to_owned();
        for (phase, a, b, c, d) in rows {
            text.push_str(&format!("{phase},{a},{b},{c},{d}\n"));
        }
        if let Err(error) = bounded(|| InterpolatedModel::from_csv(&text, "profile.csv"))? {
            one_line(&error.to_string())?;
        }
    }
}
