//! Tests of the MoE and latent-attention tables on the synthetic `systems/` folder of
//! [`super::tests`], extended with `moe_perf` rows and MLA module tables for two toy MoE
//! models: one of AIConfigurator's MoE family (Qwen3-MoE-like) and one DeepSeek-like.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use parquet::basic::Compression;

use super::tests::{Col, H200_BF16, H200_BW, ar_lat, close, gemm_lat, mem, systems, text, write};
use crate::aic::AicDbCoster;
use crate::deployment::Deployment;
use crate::model::PerfModel;
use crate::pass::{DecodeShape, PrefillChunk};
use crate::step::StepModel;
use crate::work::Work;

const TOY_MOE: &str = r#"{"model_type": "qwen3_moe", "num_hidden_layers": 2, "hidden_size": 256,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "intermediate_size": 512,
    "moe_intermediate_size": 128, "num_experts": 8, "num_experts_per_tok": 2, "vocab_size": 1024}"#;

const TOY_MLA: &str = r#"{"model_type": "deepseek_v3", "num_hidden_layers": 2, "hidden_size": 256,
    "num_attention_heads": 4, "num_key_value_heads": 4, "intermediate_size": 512,
    "moe_intermediate_size": 128, "n_routed_experts": 8, "num_experts_per_tok": 2,
    "n_shared_experts": 1, "first_k_dense_replace": 1, "kv_lora_rank": 64, "q_lora_rank": 96,
    "qk_nope_head_dim": 32, "qk_rope_head_dim": 16, "v_head_dim": 32, "vocab_size": 1024}"#;

/// The toy experts' measured latency under `power_law_1.2`: linear in tokens, so blends are
/// exact. `power_law_1.01` rows are three times slower.
fn moe_lat(tokens: f64, tp: f64, ep: f64) -> f64 {
    0.02 + 1e-5 * tokens / (tp * ep)
}

/// The toy experts' speed of light on H200 in bf16, as AIConfigurator computes it (integer
/// arithmetic): 8 experts of hidden 256 and inter 128, top 2, three GEMMs each.
fn moe_sol(tokens: u64, tp: u64, ep: u64) -> f64 {
    let total = tokens * 2;
    let ops = total * 256 * 128 * 3 * 2 / ep / tp;
    let bytes = total / ep * 256 * 2
        + total / ep * 128 * 3 / tp
        + 256 * 128 * 3 / tp * (8 / ep).min(total / ep);
    (ops as f64 / H200_BF16).max(bytes as f64 * 2.0 / H200_BW) * 1e3
}

/// Latent-attention module, prefill: `1e-7 · b · s²` (√-blends along `s` are exact).
fn mla_ctx(b: f64, s: f64) -> f64 {
    1e-7 * b * s * s
}

/// Latent-attention module, decode: linear in batch and keys.
fn mla_gen(b: f64, s: f64) -> f64 {
    0.004 + 3e-7 * b * s
}

/// Adds the MoE rows, the MLA module tables (vLLM, plus a TensorRT-LLM file lending its
/// `default` kernel through the shared-layer manifest) and the toy configs.
fn moe_systems(tag: &str) -> PathBuf {
    let root = systems(tag);
    let data = root.join("data/h200_sxm");
    let (mut dist, mut kernel, mut tokens, mut tp, mut ep, mut lat) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut row = |d: &str, k: &str, t: i64, p: (i64, i64), l: f64| {
        dist.push(d.to_owned());
        kernel.push(k.to_owned());
        tokens.push(t);
        tp.push(p.0);
        ep.push(p.1);
        lat.push(l);
    };
    for p in 0..13 {
        let t = 1i64 << p;
        for layout in [(1, 1), (2, 1), (1, 2)] {
            let l = moe_lat(t as f64, layout.0 as f64, layout.1 as f64);
            row("power_law_1.2", "triton", t, layout, l);
        }
        row(
            "power_law_1.01",
            "triton",
            t,
            (1, 1),
            3.0 * moe_lat(t as f64, 1.0, 1.0),
        );
    }
    // Another kernel's point between 2 and 4 tokens: AIConfigurator files it elsewhere.
    row(
        "power_law_1.2",
        "moe_torch_flow_min_latency",
        3,
        (1, 1),
        99.0,
    );
    let rows = lat.len();
    write(
        &data.join("moe/vllm/0.24.0/moe_perf.parquet"),
        &[
            ("kernel_source", Col::Text(kernel)),
            ("moe_dtype", text(rows, "bfloat16")),
            ("num_tokens", Col::Int(tokens)),
            ("hidden_size", Col::Int(vec![256; rows])),
            ("inter_size", Col::Int(vec![128; rows])),
            ("topk", Col::Int(vec![2; rows])),
            ("num_experts", Col::Int(vec![8; rows])),
            ("moe_tp_size", Col::Int(tp)),
            ("moe_ep_size", Col::Int(ep)),
            ("distribution", Col::Text(dist)),
            ("latency", Col::Float(lat)),
        ],
        Compression::ZSTD(Default::default()),
    );
    write_mla(&data);
    std::fs::write(
        root.join("perf_data_reuse_manifest.yaml"),
        "groups:\n  - op_file: mla_context_module_perf.parquet\n    kernel_source: 'default'\n    tier: shared_fallback\n    systems: [h200_sxm]\n    frameworks: [trtllm, vllm]\n",
    )
    .unwrap();
    std::fs::write(root.join("moe.json"), TOY_MOE).unwrap();
    std::fs::write(root.join("mla.json"), TOY_MLA).unwrap();
    root
}

/// MLA module tables: vLLM's for 4 and 2 heads (batch ≤ 8 in prefill, then a slower
/// duplicate row that must lose), TensorRT-LLM's with a batch-16 `default` row and a
/// batch-32 row of a kernel the manifest does not share.
fn write_mla(data: &Path) {
    let mut ctx: Vec<(String, [i64; 3], f64)> = Vec::new();
    let mut generation: Vec<[i64; 4]> = Vec::new();
    for heads in [4i64, 2] {
        for p in 0..14 {
            let s = 1i64 << p;
            for b in [1i64, 2, 4, 8] {
                ctx.push((
                    "FLASHMLA".to_owned(),
                    [heads, s, b],
                    mla_ctx(b as f64, s as f64),
                ));
            }
            for b in [1i64, 2, 4, 8, 16, 32] {
                generation.push([heads, b, 1, s]);
            }
        }
    }
    ctx.push(("SLOW".to_owned(), [4, 1024, 1], 1e3));
    let module = |rows: &[(String, [i64; 3], f64)], path: PathBuf| {
        let n = rows.len();
        let col = |i: usize| Col::Int(rows.iter().map(|r| r.1[i]).collect());
        write(
            &path,
            &[
                (
                    "kernel_source",
                    Col::Text(rows.iter().map(|r| r.0.clone()).collect()),
                ),
                ("mla_dtype", text(n, "bfloat16")),
                ("kv_cache_dtype", text(n, "bfloat16")),
                ("gemm_type", text(n, "bfloat16")),
                ("num_heads", col(0)),
                ("isl", col(1)),
                ("batch_size", col(2)),
                ("step", Col::Int(vec![0; n])),
                ("latency", Col::Float(rows.iter().map(|r| r.2).collect())),
            ],
            Compression::SNAPPY,
        );
    };
    module(
        &ctx,
        data.join("mla/vllm/0.24.0/mla_context_module_perf.parquet"),
    );
    module(
        &[
            ("default".to_owned(), [4, 1024, 16], 0.5),
            ("other".to_owned(), [4, 1024, 32], 77.0),
        ],
        data.join("mla/trtllm/1.3.0rc20/mla_context_module_perf.parquet"),
    );
    let n = generation.len();
    let col = |i: usize| Col::Int(generation.iter().map(|r| r[i]).collect());
    let lat = generation
        .iter()
        .map(|r| mla_gen(r[1] as f64, (r[2] + r[3]) as f64))
        .collect();
    write(
        &data.join("mla/vllm/0.24.0/mla_generation_module_perf.parquet"),
        &[
            ("kernel_source", text(n, "FLASHMLA")),
            ("mla_dtype", text(n, "bfloat16")),
            ("kv_cache_dtype", text(n, "bfloat16")),
            ("gemm_type", text(n, "bfloat16")),
            ("num_heads", col(0)),
            ("batch_size", col(1)),
            ("isl", col(2)),
            ("step", col(3)),
            ("latency", Col::Float(lat)),
        ],
        Compression::SNAPPY,
    );
}

fn deploy(root: &Path, config: &str, tp: u32, moe_ep: u32) -> Deployment {
    Deployment::new(
        root.join(config).to_str().unwrap(),
        "h200_sxm",
        "vllm",
        tp,
        None,
        Some(moe_ep),
        1,
    )
    .unwrap()
}

fn ops(model: &StepModel<AicDbCoster>, work: &Work<'_>) -> HashMap<&'static str, f64> {
    model.breakdown(work).into_iter().collect()
}

fn prefill(tokens: u32, prefix: u32) -> [PrefillChunk; 1] {
    [PrefillChunk {
        new_tokens: tokens,
        context_tokens: prefix,
    }]
}

fn decode(batch: u32, context: u64) -> DecodeShape {
    DecodeShape {
        sequences: batch,
        context_tokens: context * u64::from(batch),
        tokens_per_sequence: 1,
        ..DecodeShape::default()
    }
}

#[test]
fn moe_layers_read_the_expert_sweep_and_compute_logits_in_decode_only() {
    let root = moe_systems("moe-family");
    let model = deploy(&root, "moe.json", 1, 1).aic_db(&root, None).unwrap();
    let p = ops(&model, &Work::prefill(&prefill(1000, 0)));
    // 1000 tokens between the measured 512 and 1024 (linear → exact), two layers, the
    // `power_law_1.2` rows.
    close(p["moe"], 2.0 * moe_lat(1000.0, 1.0, 1.0));
    close(p["router_gemm"], 2.0 * gemm_lat(1000.0, 8.0, 256.0));
    assert_eq!(p["logits_gemm"], 0.0);
    // Three tokens: the other kernel's row at 3 is not read.
    let three = ops(&model, &Work::prefill(&prefill(3, 0)));
    close(three["moe"], 2.0 * moe_lat(3.0, 1.0, 1.0));
    // Beyond the sweep: the utilisation at 4096 tokens held against the speed of light.
    let big = ops(&model, &Work::prefill(&prefill(10_000, 0)));
    close(
        big["moe"],
        2.0 * moe_lat(4096.0, 1.0, 1.0) * moe_sol(10_000, 1, 1) / moe_sol(4096, 1, 1),
    );
    let d = ops(&model, &Work::decode(&decode(8, 999)));
    close(d["moe"], 2.0 * moe_lat(8.0, 1.0, 1.0));
    close(d["logits_gemm"], gemm_lat(8.0, 1024.0, 256.0));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn moe_dispatch_and_combine_are_all_reduces_over_the_tensor_parallel_group() {
    let root = moe_systems("moe-tp");
    for (moe_ep, layout) in [(1, (2.0, 1.0)), (2, (1.0, 2.0))] {
        let model = deploy(&root, "moe.json", 2, moe_ep)
            .aic_db(&root, None)
            .unwrap();
        let p = ops(&model, &Work::prefill(&prefill(1000, 0)));
        close(p["moe"], 2.0 * moe_lat(1000.0, layout.0, layout.1));
        close(p["moe_pre_dispatch"], 2.0 * ar_lat(256_000.0));
        close(p["moe_post_dispatch"], 2.0 * ar_lat(256_000.0));
        close(p["embedding_ar"], ar_lat(256_000.0));
        assert!(!p.contains_key("ar_1") && !p.contains_key("moe_dispatch"));
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_missing_expert_layout_is_an_error_listing_the_measured_ones() {
    let root = moe_systems("moe-missing");
    let err = deploy(&root, "mla.json", 2, 1)
        .aic_db(&root, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("moe/vllm/0.24.0/moe_perf.parquet: no MoE rows for 8 experts (top 2) of hidden 256 × inter 128 in `bfloat16` with distribution `power_law_1.01` at moe_tp 2 moe_ep 1; the table has: bfloat16 power_law_1.01 moe_tp 1 moe_ep 1, bfloat16 power_law_1.2 moe_tp 1 moe_ep 1, bfloat16 power_law_1.2 moe_tp 1 moe_ep 2, bfloat16 power_law_1.2 moe_tp 2 moe_ep 1"),
        "{err}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn latent_attention_reads_the_module_tables_and_the_shared_expert_overlaps_in_decode() {
    let root = moe_systems("mla");
    let model = deploy(&root, "mla.json", 1, 1).aic_db(&root, None).unwrap();
    let p = ops(&model, &Work::prefill(&prefill(1000, 0)));
    // The module at (4 heads, 1000 tokens, batch 1): √-blend of the measured 512 and 1024.
    close(p["mla"], 2.0 * mla_ctx(1.0, 1000.0));
    // DeepSeek's experts: `power_law_1.01`, every layer (the dense first layer too).
    close(p["moe"], 2.0 * 3.0 * moe_lat(1000.0, 1.0, 1.0));
    close(
        p["shared_gate_up_gemm"],
        2.0 * gemm_lat(1000.0, 256.0, 256.0),
    );
    close(p["shared_act_gate"], 2.0 * mem(1000.0 * 3.0 * 128.0 * 2.0));
    close(p["logits_gemm"], gemm_lat(1.0, 1024.0, 256.0));
    assert!(!p.contains_key("gate_ffn1_gemm") && !p.contains_key("shared_expert_overlap"));
    close(model.prefill_ms(&prefill(1000, 0)), p.values().sum());
    // A cached prefix scales the full-length module by (full² − prefix²) / full².
    let cached = ops(&model, &Work::prefill(&prefill(500, 500)));
    close(cached["mla"], 2.0 * mla_ctx(1.0, 1000.0) * 0.75);
    // At 1024 tokens the first row wins over the slower duplicate; batch 16 comes from
    // TensorRT-LLM's shared `default` kernel; its `other` kernel at batch 32 is not read.
    let chunk = prefill(1024, 0)[0];
    close(
        ops(&model, &Work::prefill(&[chunk]))["mla"],
        2.0 * mla_ctx(1.0, 1024.0),
    );
    close(ops(&model, &Work::prefill(&[chunk; 16]))["mla"], 2.0 * 0.5);
    let b32 = ops(&model, &Work::prefill(&[chunk; 32]))["mla"];
    assert!((b32 / 2.0 - 77.0).abs() > 1.0, "{b32}");
    // Decode: the module at (4 heads, batch 8, 1000 keys); the shared expert runs beside
    // the routed path, so the pass costs the longer of the two.
    let work = Work::decode(&decode(8, 999));
    let d = ops(&model, &work);
    close(d["mla"], 2.0 * mla_gen(8.0, 1000.0));
    let routed = d["router_gemm"] + d["moe"];
    let shared = d["shared_gate_up_gemm"] + d["shared_act_gate"] + d["shared_ffn2_gemm"];
    close(d["shared_expert_overlap"], -routed.min(shared));
    let main = d["embedding"] + d["add_norm_1"] + d["mla"] + d["add_norm_2"] + d["logits_gemm"];
    close(model.decode_ms(&decode(8, 999)), main + routed.max(shared));
    close(model.decode_ms(&decode(8, 999)), d.values().sum());
    std::fs::remove_dir_all(&root).unwrap();
}
