//! Tests on a small synthetic `systems/` folder whose Parquet tables the tests write, for a
//! two-layer toy model on `h200_sxm` with vLLM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use super::AicDbModel;
use super::gemm::GemmTable;
use super::interp::NoAnchor;
use super::layout::Source;
use crate::arch::DType;
use crate::deployment::Deployment;
use crate::error::PerfError;
use crate::model::PerfModel;
use crate::ops::OpKind;
use crate::pass::{DecodeShape, PrefillChunk};
use crate::system::GpuSystem;
use crate::work::Work;

/// A column of a table to write.
pub(super) enum Col {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Text(Vec<String>),
}

/// Writes `columns` as one row group, every column nullable (as pandas writes them).
pub(super) fn write(path: &Path, columns: &[(&str, Col)], compression: Compression) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let fields: Vec<String> = columns
        .iter()
        .map(|(name, col)| match col {
            Col::Int(_) => format!("optional int64 {name};"),
            Col::Float(_) => format!("optional double {name};"),
            Col::Text(_) => format!("optional binary {name} (UTF8);"),
        })
        .collect();
    let schema =
        Arc::new(parse_message_type(&format!("message t {{ {} }}", fields.join(" "))).unwrap());
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(compression)
            .build(),
    );
    let mut writer = SerializedFileWriter::new(File::create(path).unwrap(), schema, props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    for (_, col) in columns {
        let mut w = group.next_column().unwrap().unwrap();
        match col {
            Col::Int(v) => {
                w.typed::<Int64Type>()
                    .write_batch(v, Some(&vec![1; v.len()]), None)
                    .unwrap();
            }
            Col::Float(v) => {
                w.typed::<DoubleType>()
                    .write_batch(v, Some(&vec![1; v.len()]), None)
                    .unwrap();
            }
            Col::Text(v) => {
                let v: Vec<ByteArray> = v.iter().map(|s| ByteArray::from(s.as_str())).collect();
                w.typed::<ByteArrayType>()
                    .write_batch(&v, Some(&vec![1; v.len()]), None)
                    .unwrap();
            }
        }
        w.close().unwrap();
    }
    group.close().unwrap();
    writer.close().unwrap();
}

pub(super) fn text(n: usize, s: &str) -> Col {
    Col::Text(vec![s.to_owned(); n])
}

pub(super) const H200_BF16: f64 = 989e12;
pub(super) const H200_BW: f64 = 4.8e12;

/// GEMM speed of light on H200 in bf16, ms.
pub(super) fn gemm_sol(m: f64, n: f64, k: f64) -> f64 {
    (2.0 * m * n * k / H200_BF16).max(2.0 * (m * n + m * k + n * k) / H200_BW) * 1e3
}

/// The toy's measured GEMM latency: linear in `m`, so blends along `m` are exact.
pub(super) fn gemm_lat(m: f64, n: f64, k: f64) -> f64 {
    0.01 + m * n * k * 1e-11
}

/// Context attention: `1e-7 · b · s²` (√-blends along `s` and linear blends along `b` are exact).
fn ctx_lat(b: f64, s: f64) -> f64 {
    1e-7 * b * s * s
}

/// Generation attention: linear in batch and keys.
fn gen_lat(b: f64, s: f64) -> f64 {
    0.003 + 2e-7 * b * s
}

/// All-reduce: 2 µs plus 1 ns per element.
pub(super) fn ar_lat(size: f64) -> f64 {
    0.002 + size * 1e-9
}

const TOY: &str = r#"{"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 256,
    "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 512,
    "vocab_size": 1024}"#;

/// A `systems/` folder with the toy's tables: GEMM sites of its TP-1 shapes plus two
/// square ones, attention slices for TP 1 and 2 (and a second, sparser lane), all-reduce.
pub(super) fn systems(tag: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("servesim-aic-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data/h200_sxm");
    let (mut dt, mut ms, mut ns, mut ks, mut lat) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let sites: [(i64, i64, bool); 7] = [
        (8, 256, false),
        (512, 256, false),
        (256, 256, false),
        (1024, 256, false),
        (256, 512, false),
        (1024, 1024, true),
        (2048, 1024, true),
    ];
    for (n, k, half_util) in sites {
        for p in 0..14 {
            let m = 1i64 << p;
            let (mf, nf, kf) = (m as f64, n as f64, k as f64);
            dt.push("bfloat16".to_owned());
            ms.push(m);
            ns.push(n);
            ks.push(k);
            lat.push(if half_util {
                2.0 * gemm_sol(mf, nf, kf)
            } else {
                gemm_lat(mf, nf, kf)
            });
        }
    }
    let rows = dt.len();
    write(
        &data.join("gemm/vllm/0.24.0/gemm_perf.parquet"),
        &[
            ("kernel_source", text(rows, "torch")),
            ("gemm_dtype", Col::Text(dt)),
            ("m", Col::Int(ms)),
            ("n", Col::Int(ns)),
            ("k", Col::Int(ks)),
            ("latency", Col::Float(lat)),
        ],
        Compression::ZSTD(Default::default()),
    );
    for phase in ["context", "generation"] {
        let mut cols: Vec<Vec<i64>> = vec![Vec::new(); 6]; // batch, isl, heads, kv, step, head_dim
        let (mut lane, mut lat) = (Vec::new(), Vec::new());
        for (heads, kv) in [(4i64, 2i64), (2, 1)] {
            for b in [1i64, 2, 4, 8, 16, 32] {
                for p in 0..14 {
                    let s = 1i64 << p;
                    let (isl, step) = if phase == "context" {
                        (s, 0)
                    } else {
                        (1, s - 1)
                    };
                    for (c, v) in cols.iter_mut().zip([b, isl, heads, kv, step, 64]) {
                        c.push(v);
                    }
                    lane.push("fast".to_owned());
                    let (bf, sf) = (b as f64, s as f64);
                    lat.push(if phase == "context" {
                        ctx_lat(bf, sf)
                    } else {
                        gen_lat(bf, sf)
                    });
                }
            }
        }
        // A second lane, first by name, with fewer slices and absurd latencies: never chosen.
        for c in &mut cols {
            c.push(c[0]);
        }
        lane.push("a_sparse".to_owned());
        lat.push(1e3);
        let rows = lat.len();
        let [batch, isl, heads, kv, step, head] = cols.try_into().unwrap();
        write(
            &data.join(format!(
                "attention/vllm/0.24.0/{phase}_attention_perf.parquet"
            )),
            &[
                ("kernel_source", Col::Text(lane)),
                ("batch_size", Col::Int(batch)),
                ("isl", Col::Int(isl)),
                ("num_heads", Col::Int(heads)),
                ("num_key_value_heads", Col::Int(kv)),
                ("head_dim", Col::Int(head)),
                ("attn_dtype", text(rows, "bfloat16")),
                ("kv_cache_dtype", text(rows, "bfloat16")),
                ("step", Col::Int(step)),
                ("window_size", Col::Int(vec![0; rows])),
                ("latency", Col::Float(lat)),
            ],
            Compression::SNAPPY,
        );
    }
    let sizes: Vec<i64> = (8..25).map(|p| 1i64 << p).collect();
    let n = sizes.len();
    let mut lat: Vec<f64> = sizes.iter().map(|&s| ar_lat(s as f64)).collect();
    lat.extend(vec![1.0; n]);
    let mut kernel = vec!["custom_graph".to_owned(); n];
    kernel.extend(vec!["custom_eager".to_owned(); n]);
    write(
        &data.join("comm/vllm/0.19.0/custom_allreduce_perf.parquet"),
        &[
            ("kernel_source", Col::Text(kernel)),
            ("num_gpus", Col::Int(vec![2; 2 * n])),
            ("message_size", Col::Int([sizes.clone(), sizes].concat())),
            ("latency", Col::Float(lat)),
        ],
        Compression::ZSTD(Default::default()),
    );
    std::fs::write(root.join("toy.json"), TOY).unwrap();
    root
}

fn toy(root: &Path, tp: u32) -> Deployment {
    Deployment::new(
        root.join("toy.json").to_str().unwrap(),
        "h200_sxm",
        "vllm",
        tp,
        None,
        None,
        1,
    )
    .unwrap()
}

pub(super) fn close(a: f64, b: f64) {
    assert!((a / b - 1.0).abs() < 1e-9, "{a} vs {b}");
}

pub(super) fn mem(bytes: f64) -> f64 {
    GpuSystem::by_name("h200_sxm").unwrap().mem_op_ms(bytes)
}

/// Milliseconds per op name of a prefill pass (entries of one name summed).
fn prefill_ops(model: &AicDbModel, chunks: &[PrefillChunk]) -> HashMap<&'static str, f64> {
    let mut ops = HashMap::new();
    for (name, ms) in model.breakdown(&Work::prefill(chunks)) {
        *ops.entry(name).or_insert(0.0) += ms;
    }
    ops
}

#[test]
fn prefill_and_decode_compose_the_measured_ops() {
    let root = systems("compose");
    let d = toy(&root, 1);
    let model = d.aic_db(&root, None).unwrap();
    let s = 1000.0;
    let chunks = [PrefillChunk {
        new_tokens: 1000,
        context_tokens: 0,
    }];
    let ops = prefill_ops(&model, &chunks);
    // GEMMs: m = 1000 lies between the measured 512 and 1024, linear → exact.
    close(ops["qkv_gemm"], 2.0 * gemm_lat(s, 512.0, 256.0));
    close(ops["gate_ffn1_gemm"], 2.0 * gemm_lat(s, 1024.0, 256.0));
    close(ops["ffn2_gemm"], 2.0 * gemm_lat(s, 256.0, 512.0));
    close(ops["logits_gemm"], gemm_lat(1.0, 1024.0, 256.0));
    // Attention: the "fast" lane's b·s² (√-blend is exact), plus RoPE and KV writes × 1.1.
    let extras = 1.1 * (2.0 * mem(256.0 * 2.0 + 128.0 * 2.0) + 2.0 * mem(128.0 * 2.0));
    close(ops["attention"], 2.0 * (ctx_lat(1.0, s) + extras));
    // Memory ops: AIConfigurator's empirical rule.
    close(ops["add_norm_1"], 2.0 * mem(s * 4.0 * 256.0 * 2.0));
    close(model.prefill_ms(&chunks), ops.values().sum());
    // A cached prefix: the full-length table times (full² − prefix²) / full².
    let with_prefix = [PrefillChunk {
        new_tokens: 500,
        context_tokens: 500,
    }];
    let attn = prefill_ops(&model, &with_prefix)["attention"];
    close(attn, 2.0 * (ctx_lat(1.0, s) * 0.75 + extras));
    // Two equal chunks are one table read at batch 2.
    let two = [chunks[0], chunks[0]];
    let attn = prefill_ops(&model, &two)["attention"];
    close(attn, 2.0 * (ctx_lat(2.0, s) + extras));
    // Decode of 8 sequences with 999 tokens of context each: keys = 1000, averaged over
    // 900…1100 (linear, so exactly 1000).
    let decode = DecodeShape {
        sequences: 8,
        context_tokens: 8 * 999,
        tokens_per_sequence: 1,
        ..DecodeShape::default()
    };
    let rest = 2.0
        * (gemm_lat(8.0, 512.0, 256.0)
            + gemm_lat(8.0, 256.0, 256.0)
            + gemm_lat(8.0, 1024.0, 256.0)
            + gemm_lat(8.0, 256.0, 512.0))
        + gemm_lat(8.0, 1024.0, 256.0)
        + mem(8.0 * 256.0 * 2.0)
        + 2.0 * (2.0 * mem(8.0 * 4.0 * 256.0 * 2.0) + mem(8.0 * 3.0 * 512.0 * 2.0));
    close(model.decode_ms(&decode), rest + 2.0 * gen_lat(8.0, 1000.0));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn tensor_parallel_adds_the_measured_all_reduce() {
    let root = systems("tp2");
    let model = toy(&root, 2).aic_db(&root, None).unwrap();
    let chunks = [PrefillChunk {
        new_tokens: 1000,
        context_tokens: 0,
    }];
    let ops = prefill_ops(&model, &chunks);
    // 1000 × 256 elements between the measured 2¹⁶ and 2¹⁸ (the eager rows are skipped);
    // served from the older version 0.19.0 (backward fill).
    close(ops["ar_1"], 2.0 * ar_lat(256_000.0));
    close(ops["embedding_ar"], ar_lat(256_000.0));
    // The TP-2 attention slice (2 heads, 1 KV head).
    close(
        ops["attention"]
            - 2.0 * 1.1 * (2.0 * mem(128.0 * 2.0 + 64.0 * 2.0) + 2.0 * mem(64.0 * 2.0)),
        2.0 * ctx_lat(1.0, 1000.0),
    );
    // proj (n 256, k 128) was not collected: it borrows utilisation from the sites within
    // 2 octaves, (256, 256), (512, 256) and (256, 512), weighted by 1 / distance².
    let lenders = [
        (256.0, 256.0, 1.0),
        (512.0, 256.0, 2.0),
        (256.0, 512.0, 4.0),
    ];
    let (w, u) = lenders.iter().fold((0.0, 0.0), |(w, u), &(n, k, d2)| {
        (
            w + 1.0 / d2,
            u + gemm_sol(1000.0, n, k) / gemm_lat(1000.0, n, k) / d2,
        )
    });
    close(
        ops["proj_gemm"],
        2.0 * gemm_sol(1000.0, 256.0, 128.0) / (u / w),
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn gemm_shapes_not_collected_borrow_utilisation() {
    let root = systems("gemm");
    let sources = [Source::whole(
        root.join("data/h200_sxm/gemm/vllm/0.24.0/gemm_perf.parquet"),
    )];
    let t = GemmTable::load(
        &sources,
        GpuSystem::by_name("h200_sxm").unwrap(),
        &[(1448, 1024, DType::Bf16)],
    )
    .unwrap();
    // Between the half-utilisation sites (1024 and 2048, k 1024): util 0.5 → 2 × SOL.
    close(
        t.latency(128, 1448, 1024, DType::Bf16).unwrap(),
        2.0 * gemm_sol(128.0, 1448.0, 1024.0),
    );
    // Beyond the sweep (m > 8192): the median utilisation of the last three points.
    close(
        t.latency(50_000, 2048, 1024, DType::Bf16).unwrap(),
        2.0 * gemm_sol(50_000.0, 2048.0, 1024.0),
    );
    // Beyond every site along n only (a large vocabulary): the 4 nearest sites within
    // 2 octaves along k lend, by 1 / distance².
    let util = |n: f64, k: f64| {
        if k == 1024.0 {
            0.5
        } else {
            gemm_sol(64.0, n, k) / gemm_lat(64.0, n, k)
        }
    };
    let lenders = [
        (2048.0, 1024.0, 9.0),
        (1024.0, 1024.0, 16.0),
        (1024.0, 256.0, 20.0),
        (512.0, 256.0, 29.0),
    ];
    let (w, u) = lenders.iter().fold((0.0, 0.0), |(w, u), &(n, k, d2)| {
        (w + 1.0 / d2, u + util(n, k) / d2)
    });
    close(
        t.latency(64, 16384, 1024, DType::Bf16).unwrap(),
        gemm_sol(64.0, 16384.0, 1024.0) / (u / w),
    );
    // Beyond along both axes, or below every site, nothing may lend.
    assert_eq!(t.latency(64, 65536, 65536, DType::Bf16), Err(NoAnchor));
    assert_eq!(t.latency(64, 8, 8, DType::Bf16), Err(NoAnchor));
    let err = GemmTable::load(
        &sources,
        GpuSystem::by_name("h200_sxm").unwrap(),
        &[(1, 1, DType::Fp8Block)],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("no `fp8_block` or `fp8` rows in column `gemm_dtype` (formats: bfloat16)"),
        "{err}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn missing_data_is_an_error_naming_the_file() {
    let root = systems("missing");
    // No 4-head slice with 4 KV heads (MHA) in the attention table.
    let mha = r#"{"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 256,
        "num_attention_heads": 4, "num_key_value_heads": 4, "intermediate_size": 512, "vocab_size": 1024}"#;
    std::fs::write(root.join("mha.json"), mha).unwrap();
    let d = Deployment::new(
        root.join("mha.json").to_str().unwrap(),
        "h200_sxm",
        "vllm",
        1,
        None,
        None,
        1,
    )
    .unwrap();
    let err = d.aic_db(&root, None).unwrap_err().to_string();
    assert!(err.contains("attention/vllm/0.24.0/context_attention_perf.parquet: no rows for attention bfloat16 kv bfloat16, kv_heads 0, head_dim 64, window 0; the table has (bfloat16 bfloat16 kv_heads 1 head 64 window 0), (bfloat16 bfloat16 kv_heads 2 head 64 window 0)"), "{err}");
    // TP 4 needs all-reduce rows for 4 GPUs.
    let err = toy(&root, 4).aic_db(&root, None).unwrap_err().to_string();
    assert!(err.ends_with("comm/vllm/0.19.0/custom_allreduce_perf.parquet: no rows with `num_gpus` = 4 (measured: 2)"), "{err}");
    // The sglang tables are absent altogether.
    let sglang = Deployment::new(
        root.join("toy.json").to_str().unwrap(),
        "h200_sxm",
        "sglang",
        1,
        None,
        None,
        1,
    )
    .unwrap();
    let err = sglang.aic_db(&root, None).unwrap_err().to_string();
    assert!(
        err.contains("no sglang version `0.5.14` for h200_sxm"),
        "{err}"
    );
    std::fs::remove_dir_all(root.join("data/h200_sxm/attention")).unwrap();
    let err = toy(&root, 1).aic_db(&root, None).unwrap_err();
    assert!(matches!(err, PerfError::Database { .. }));
    assert!(err.to_string().ends_with("attention/vllm/0.24.0/context_attention_perf.parquet: missing (and no older version has this table)"), "{err}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn attention_data_parallelism_is_refused() {
    let root = systems("dp");
    let d = Deployment::new("qwen3-30b-a3b", "h200_sxm", "vllm", 1, Some(1), Some(2), 2).unwrap();
    let err = d.aic_db(&root, None).unwrap_err().to_string();
    assert!(
        err.ends_with("attention data parallelism (NCCL all-gather / reduce-scatter) is not read by `aic-db` yet; use `perf_model: analytical`"),
        "{err}"
    );
    assert!(
        d.graph()
            .ops
            .iter()
            .any(|o| matches!(o.kind, OpKind::AllToAll { .. }))
    );
    std::fs::remove_dir_all(&root).unwrap();
}
