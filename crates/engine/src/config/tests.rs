//! Tests of engine-argument parsing, defaults and validation.

use super::*;

/// Each JSON text fails to parse or resolve with an error starting with its message.
fn assert_rejected(cases: &[(&str, &str)]) {
    for (json, expected) in cases {
        let err = EngineArgs::from_json(json)
            .and_then(|a| a.resolve())
            .unwrap_err();
        assert!(err.to_string().starts_with(expected), "{json}: {err}");
    }
}

#[test]
fn defaults_match_the_reference() {
    let config = EngineArgs::default().resolve().unwrap();
    assert_eq!(config.block_size, 64);
    assert_eq!(config.num_gpu_blocks, 16_384);
    assert_eq!(config.max_num_seqs, 256);
    assert_eq!(config.max_num_batched_tokens, 8192);
    assert!(config.enable_prefix_caching && config.enable_chunked_prefill);
    assert_eq!(config.preemption_mode, PreemptionMode::Lifo);
    assert_eq!(config.worker_type, WorkerType::Aggregated);
    assert_eq!(config.timing.model_name(), "polynomial");
}

#[test]
fn nulls_mean_unlimited() {
    let args =
        EngineArgs::from_json(r#"{"max_num_seqs": null, "max_num_batched_tokens": null}"#).unwrap();
    let config = args.resolve().unwrap();
    assert_eq!(config.max_num_batched_tokens, u32::MAX);
    assert_eq!(config.max_num_seqs, u32::MAX);
    let args =
        EngineArgs::from_json(r#"{"max_num_seqs": null, "max_num_batched_tokens": 512}"#).unwrap();
    assert_eq!(args.resolve().unwrap().max_num_seqs, 512);
}

#[test]
fn errors_name_the_key() {
    let err = EngineArgs::from_json(r#"{"num_gpu_block": 5}"#).unwrap_err();
    assert!(
        err.to_string().starts_with("unknown field `num_gpu_block`"),
        "{err}"
    );
    let cases = [
        (
            r#"{"dp_size": 2}"#,
            "field `dp_size`: only 1 is supported, got 2",
        ),
        (
            r#"{"num_gpu_blocks": 0}"#,
            "field `num_gpu_blocks`: must be ≥ 1",
        ),
        (
            r#"{"max_num_seqs": 512, "max_num_batched_tokens": 256}"#,
            "field `max_num_seqs`: 512 exceeds",
        ),
        (
            r#"{"is_prefill": true, "is_decode": true}"#,
            "field `is_prefill`: a worker cannot be both",
        ),
        (
            r#"{"startup_time": -1}"#,
            "field `startup_time`: must be finite seconds",
        ),
        (
            r#"{"perf_model": "interpolated"}"#,
            "field `planner_profile_data`: is required",
        ),
        (
            r#"{"sglang": {"page_size": 4}}"#,
            "field `sglang`: applies only to `engine_type: sglang`",
        ),
        (
            r#"{"engine_type": "sglang", "block_size": 16, "sglang": {"page_size": 4}}"#,
            "field `sglang.page_size`: 4 contradicts `block_size: 16`",
        ),
        (
            r#"{"engine_type": "sglang", "sglang": {"page_size": 16, "chunked_prefill_size": 100}}"#,
            "field `sglang.chunked_prefill_size`: must be a positive multiple of the page size 16",
        ),
        (
            r#"{"engine_type": "sglang", "sglang": {"schedule_conservativeness": -1}}"#,
            "field `sglang.schedule_conservativeness`: must be a finite number ≥ 0",
        ),
        (r#"{"aic_nextn": 9}"#, "field `aic_nextn`: must be 1–5"),
        (
            r#"{"aic_nextn_accept_rates": "0.5"}"#,
            "field `aic_nextn_accept_rates`: needs `aic_nextn`",
        ),
        (
            r#"{"aic_nextn": 2, "aic_nextn_accept_rates": [0.5, 2]}"#,
            "field `aic_nextn_accept_rates`: probabilities must be in [0, 1], got 2",
        ),
        (
            r#"{"router_queue_policy": "random"}"#,
            "field `router_queue_policy`: must be fcfs",
        ),
    ];
    assert_rejected(&cases);
}

#[test]
fn aic_keys_select_the_analytical_model_and_derive_kv() {
    let json = r#"{"aic_backend": "vllm", "aic_system": "h200_sxm",
        "aic_model_path": "meta-llama/Llama-3.1-8B", "aic_tp_size": 1}"#;
    let config = EngineArgs::from_json(json).unwrap().resolve().unwrap();
    assert_eq!(config.timing.model_name(), "analytical");
    // vLLM's rule: (143,259 MiB usable × 0.9 − 16.06 GB weights − 1.53 GiB peak of sampling
    // 1024 rows beside an 8192-token pass's hidden states (above its 0.78 GiB forward peak) −
    // 0.25 GiB) / 128 KiB = 894,348 tokens.
    assert_eq!(config.num_gpu_blocks, 894_348 / 64);
    assert_eq!(config.kv_bytes_per_token, Some(131_072));
    let memory = config.memory.clone().unwrap();
    assert_eq!(
        (memory.rule, memory.fraction, memory.kv_tokens),
        ("vllm", 0.9, 894_348)
    );
    // vLLM serve's defaults on a ≥ 70 GiB GPU, and one fused pass for mixed batches.
    assert_eq!(
        (config.max_num_seqs, config.max_num_batched_tokens),
        (1024, 8192)
    );
    assert_eq!(config.timing.describe()["mixed_pass_cost"], "fused");
    // An FP8 KV cache halves the bytes per token and doubles the tokens.
    let fp8 = r#"{"aic_system": "h200_sxm", "aic_model_path": "llama-3.1-8b",
        "kv_cache_dtype": "fp8"}"#;
    let config = EngineArgs::from_json(fp8).unwrap().resolve().unwrap();
    assert_eq!(config.kv_bytes_per_token, Some(65_536));
    assert_eq!(config.num_gpu_blocks, 1_788_697 / 64);
    // A smaller memory share leaves less KV.
    let half = r#"{"aic_system": "h200_sxm", "aic_model_path": "llama-3.1-8b",
        "gpu_memory_utilization": 0.5}"#;
    let config = EngineArgs::from_json(half).unwrap().resolve().unwrap();
    // (143,259 MiB × 0.5 − 16.06 GB − 1.53 GiB − 0.25 GiB) / 128 KiB / 64.
    assert_eq!(config.num_gpu_blocks, 6811);
    // Given values win.
    let json = r#"{"aic_model_path": "llama-3.1-8b", "num_gpu_blocks": 100,
        "kv_bytes_per_token": 7}"#;
    let config = EngineArgs::from_json(json).unwrap().resolve().unwrap();
    assert_eq!(
        (config.num_gpu_blocks, config.kv_bytes_per_token),
        (100, Some(7))
    );
    // The polynomial default keeps 16384 blocks from JSON and from Default.
    let config = EngineArgs::from_json("{}").unwrap().resolve().unwrap();
    assert_eq!(config.num_gpu_blocks, 16_384);
    let config = EngineArgs::default().resolve().unwrap();
    assert_eq!(config.num_gpu_blocks, 16_384);
    let json = r#"{"aic_model_path": "llama-3.1-8b", "perf_model": "polynomial"}"#;
    let config = EngineArgs::from_json(json).unwrap().resolve().unwrap();
    assert_eq!(config.num_gpu_blocks, 16_384);
}

#[test]
fn aic_db_says_what_it_needs() {
    let json = r#"{"aic_model_path": "llama-3.1-8b", "perf_model": "aic-db",
        "aic_systems_path": "/nonexistent/systems"}"#;
    let err = EngineArgs::from_json(json)
        .and_then(|a| a.resolve())
        .unwrap_err()
        .to_string();
    let expected = if cfg!(feature = "aic-db") {
        "field `aic_systems_path`: /nonexistent/systems: not an AIConfigurator `systems` folder"
    } else {
        "field `perf_model`: servesim was built without the `aic-db` feature; rebuild with"
    };
    assert!(err.starts_with(expected), "{err}");
}

#[test]
fn aic_errors_name_the_key_and_the_choices() {
    let cases = [
        (
            r#"{"aic_model_path": "llama-9b"}"#,
            "field `aic_model_path`: unknown model `llama-9b`; built-in models: llama-3.1-8b,",
        ),
        (
            r#"{"aic_model_path": "llama-3.1-8b", "aic_system": "tpu"}"#,
            "field `aic_system`: unknown system `tpu`; built-in systems: a100_sxm,",
        ),
        (
            r#"{"aic_model_path": "llama-3.1-8b", "aic_tp_size": 3}"#,
            "field `aic_tp_size`: tp 3 does not divide the 32 attention heads",
        ),
        (
            r#"{"aic_model_path": "qwen3-30b-a3b", "aic_moe_ep_size": 3, "aic_tp_size": 3}"#,
            "field `aic_tp_size`: tp 3 does not divide",
        ),
        (
            r#"{"aic_system": "h200_sxm"}"#,
            "field `aic_model_path`: is required",
        ),
        (
            r#"{"aic_model_path": "llama-3.1-405b", "aic_system": "h100_sxm"}"#,
            "field `num_gpu_blocks`: llama-3.1-405b on h100_sxm (vllm, tp 1) does not fit",
        ),
    ];
    assert_rejected(&cases);
}

#[test]
fn sglang_keys_and_defaults() {
    let config = EngineArgs::from_json(r#"{"engine_type": "sglang"}"#)
        .unwrap()
        .resolve()
        .unwrap();
    let sglang = config.sglang.clone().unwrap();
    assert_eq!(
        sglang,
        SglangArgs::default().resolve(1, 8192, None).unwrap()
    );
    assert_eq!(
        (
            sglang.page_size,
            sglang.max_prefill_tokens,
            sglang.chunked_prefill_size
        ),
        (1, 16_384, 8192)
    );
    assert_eq!(sglang.clip_max_new_tokens, 4096);
    // Same KV memory as the vLLM default, in 1-token pages.
    assert_eq!((config.block_size, config.num_gpu_blocks), (1, 1 << 20));
    let json = r#"{"engine_type": "sglang", "sglang": {"schedule_policy": "fcfs",
        "page_size": 16, "chunked_prefill_size": 4096}}"#;
    let config = EngineArgs::from_json(json).unwrap().resolve().unwrap();
    assert_eq!((config.block_size, config.num_gpu_blocks), (16, 1 << 16));
    let json = r#"{"engine_type": "sglang", "block_size": 16, "num_gpu_blocks": 100,
        "sglang": {"schedule_policy": "lpm"}}"#;
    let config = EngineArgs::from_json(json).unwrap().resolve().unwrap();
    assert_eq!((config.block_size, config.num_gpu_blocks), (16, 100));
    assert_eq!(
        config.sglang.unwrap().schedule_policy,
        crate::SchedulePolicy::Lpm
    );
    let err = EngineArgs::from_json(r#"{"engine_type": "sglang", "sglang": {"page": 4}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("field `sglang.page`: unknown field `page`, expected one of"),
        "{err}"
    );
}

#[test]
fn speculative_decoding_keys() {
    let config = EngineArgs::from_json(r#"{"aic_nextn": 3}"#)
        .unwrap()
        .resolve()
        .unwrap();
    let spec = config.speculative.clone().unwrap();
    assert_eq!((spec.nextn, spec.accept_rates), (3, vec![0.85, 0.3, 0.0]));
    assert_eq!(config.timing.describe()["tokens_per_sequence"], 4);
    let json = r#"{"aic_nextn": 2, "aic_nextn_accept_rates": "0.6, 0.4,0.2"}"#;
    let spec = EngineArgs::from_json(json)
        .unwrap()
        .resolve()
        .unwrap()
        .speculative
        .unwrap();
    assert_eq!(spec.accept_rates, vec![0.6, 0.4]);
    let err = EngineArgs::from_json(r#"{"aic_nextn": 2, "aic_nextn_accept_rates": 5}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a comma-separated string of probabilities"),
        "{err}"
    );
    assert!(
        EngineArgs::default()
            .resolve()
            .unwrap()
            .speculative
            .is_none()
    );
}

#[test]
fn sglang_budgets_for_planners_and_routers() {
    let vllm = EngineArgs::default().resolve().unwrap();
    assert_eq!((vllm.pass_token_budget(), vllm.max_running()), (8192, 256));
    let json = r#"{"engine_type": "sglang", "sglang": {"chunked_prefill_size": 4096}}"#;
    let sglang = EngineArgs::from_json(json).unwrap().resolve().unwrap();
    assert_eq!(
        (sglang.pass_token_budget(), sglang.max_running()),
        (4096, u32::MAX)
    );
}

#[test]
fn workers_get_distinct_seeds() {
    let config = EngineArgs::default().resolve().unwrap();
    assert_eq!(config.seed, 0);
    let (a, b) = (config.for_worker(0), config.for_worker(1));
    assert_ne!(a.seed, b.seed);
    assert_eq!(a.seed, config.for_worker(0).seed);
}

#[test]
fn legacy_worker_flags() {
    let args = EngineArgs::from_json(r#"{"is_prefill": true}"#).unwrap();
    assert_eq!(args.effective_worker_type().unwrap(), WorkerType::Prefill);
    let args = EngineArgs::from_json(r#"{"worker_type": "decode"}"#).unwrap();
    assert_eq!(args.resolve().unwrap().worker_type, WorkerType::Decode);
}

#[test]
fn each_backend_sizes_its_kv_by_its_own_rule() {
    let resolve = |json: &str| EngineArgs::from_json(json).unwrap().resolve().unwrap();
    let model = r#""aic_system": "h100_sxm", "aic_model_path": "nvidia/Llama-3.3-70B-Instruct-FP8", "aic_tp_size": 2"#;
    // TensorRT-LLM: ModelOpt's FP8 KV under `auto`, 32-token blocks, its serve defaults,
    // chunked context off; 0.9 of what weights, an 8192-token pass and the runtime leave.
    let trt = resolve(&format!(r#"{{"engine_type": "trtllm", {model}}}"#));
    let memory = trt.memory.clone().unwrap();
    assert_eq!(
        (memory.rule, memory.kv_dtype),
        ("trtllm", servesim_perf::DType::Fp8)
    );
    assert_eq!(trt.kv_bytes_per_token, Some(80 * 2 * 8 * 128));
    assert_eq!(trt.block_size, 32);
    assert_eq!((trt.max_num_seqs, trt.max_num_batched_tokens), (2048, 8192));
    assert!(!trt.enable_chunked_prefill);
    assert_eq!(trt.num_gpu_blocks, memory.kv_tokens / 32);
    // 35.9 GiB of weights per GPU leave about 38 GiB of KV: ~500k FP8 tokens.
    assert!(
        (480_000..520_000).contains(&memory.kv_tokens),
        "{}",
        memory.kv_tokens
    );
    // vLLM keeps a bf16 cache for the same checkpoint unless told otherwise.
    let vllm = resolve(&format!("{{{model}}}"));
    assert_eq!(vllm.memory.unwrap().kv_dtype, servesim_perf::DType::Bf16);
    // SGLang: its static fraction, its chunk size on an 80 GB GPU, and a running limit
    // from the pool.
    let sglang = resolve(&format!(r#"{{"engine_type": "sglang", {model}}}"#));
    let memory = sglang.memory.clone().unwrap();
    assert_eq!((memory.rule, memory.fraction), ("sglang", 0.834));
    let opts = sglang.sglang.clone().unwrap();
    assert_eq!(opts.chunked_prefill_size, 8192);
    assert_eq!(opts.max_running_requests, Some(sglang.max_running()));
    assert!((2048..=4096).contains(&sglang.max_running()));
}

#[test]
fn memory_and_format_keys_are_checked() {
    let cases = [
        (
            r#"{"block_size": 0}"#,
            "field `block_size`: must be ≥ 1 tokens",
        ),
        (
            r#"{"gpu_memory_utilization": 1.5}"#,
            "field `gpu_memory_utilization`: must be in (0, 1], got 1.5",
        ),
        (
            r#"{"aic_model_path": "llama-3.1-8b", "kv_cache_dtype": "fp8", "kv_bytes_per_token": 131072}"#,
            "field `kv_bytes_per_token`: 131072 contradicts `kv_cache_dtype` (llama-3.1-8b stores 65536 bytes per token in fp8)",
        ),
        (
            r#"{"trtllm": {"capacity_scheduler_policy": "MAX_UTILIZATION"}}"#,
            "field `trtllm`: applies only to `engine_type: trtllm`",
        ),
        (
            r#"{"kv_cache_dtype": "int4"}"#,
            "field `kv_cache_dtype`: unknown variant `int4`",
        ),
    ];
    assert_rejected(&cases);
    // A given KV size drives the derived capacity (an FP8 cache by its byte count).
    let json = r#"{"aic_system": "h200_sxm", "aic_model_path": "llama-3.1-8b",
        "kv_bytes_per_token": 65536}"#;
    let config = EngineArgs::from_json(json).unwrap().resolve().unwrap();
    assert_eq!(config.num_gpu_blocks, 1_788_697 / 64);
    // Weights quantised on load leave more room.
    let json = r#"{"aic_system": "h200_sxm", "aic_model_path": "llama-3.1-8b",
        "weight_dtype": "fp8"}"#;
    let config = EngineArgs::from_json(json).unwrap().resolve().unwrap();
    assert!(config.memory.unwrap().weights_gib < 8.5);
}
