//! `aic-db` against AIConfigurator 0.12.0 itself: its `predict_prefill_latency(bs, isl,
//! prefix)` and `predict_decode_latency(bs, ctx, 2)`, recorded from the `aiconfigurator-core`
//! wheel, for dense and MoE models (experts split by tensor or expert parallelism, DeepSeek's
//! latent attention). Needs that wheel's `systems/` folder: set `SERVESIM_AIC_SYSTEMS` to it
//! (`…/site-packages/aiconfigurator_core/systems`); without it the test says so and passes.
#![cfg(feature = "aic-db")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use servesim_perf::{AicDbModel, DecodeShape, Deployment, PerfModel, PrefillChunk, SYSTEMS_ENV};

/// `(model, system, backend, tp, experts split by expert parallelism)`, then
/// `(batch, isl, prefix, ms)` prefills and `(batch, context, ms)` decode steps as
/// AIConfigurator predicts them. MoE models split their experts `tp` ways: by tensor
/// parallelism (`moe_tp = tp`), or by expert parallelism (`moe_ep = tp`).
type Case = (
    (&'static str, &'static str, &'static str, u32, bool),
    &'static [(u32, u32, u32, f64)],
    &'static [(u32, u64, f64)],
);

const CASES: &[Case] = &[
    (
        ("meta-llama/Llama-3.1-8B", "h200_sxm", "vllm", 1, false),
        &[
            (1, 128, 0, 6.035277896897834),
            (4, 128, 0, 11.366721911968993),
            (1, 1024, 0, 21.179537432436874),
            (4, 1024, 0, 88.12789423050971),
            (1, 2048, 0, 43.40196285679669),
            (1, 4096, 0, 92.8252690910867),
            (1, 8192, 0, 198.8718158670835),
            (1, 4096, 2048, 47.028330743657854),
        ],
        &[
            (1, 1024, 4.861103037584981),
            (8, 2048, 5.513242847694358),
            (32, 4096, 9.16861487295415),
            (128, 2048, 13.89531026407543),
        ],
    ),
    (
        ("meta-llama/Llama-3.1-8B", "h200_sxm", "vllm", 2, false),
        &[
            (1, 1024, 0, 14.530582367374295),
            (4, 2048, 0, 108.37055810870471),
            (1, 2048, 1024, 14.83330239752312),
        ],
        &[(1, 1024, 3.349616072668425), (32, 4096, 5.5530833772081625)],
    ),
    (
        ("llama-3.1-70b", "b200_sxm", "trtllm", 4, false),
        &[(1, 2048, 0, 76.53807310792018)],
        &[(64, 2048, 11.661480017988348)],
    ),
    (
        ("Qwen/Qwen3-32B", "h100_sxm", "sglang", 2, false),
        &[(1, 2048, 0, 109.81397464454733)],
        &[(64, 2048, 20.503855745389277)],
    ),
    (
        ("qwen3-8b", "a100_sxm", "vllm", 1, false),
        &[(1, 2048, 0, 126.81643583515718)],
        &[(64, 2048, 24.660810126199788)],
    ),
    (
        ("Qwen/Qwen3-30B-A3B", "h200_sxm", "vllm", 1, false),
        &[(1, 2048, 0, 40.42846688535991)],
        &[(16, 1024, 10.265153852331126)],
    ),
    (
        ("Qwen/Qwen3-30B-A3B", "h200_sxm", "vllm", 4, true),
        &[(1, 2048, 0, 24.867610560194603)],
        &[(16, 1024, 6.065403415327915)],
    ),
    (
        ("Qwen/Qwen3-30B-A3B", "b200_sxm", "sglang", 2, true),
        &[
            (1, 128, 0, 9.144176581578979),
            (1, 8192, 0, 56.40889866230306),
            (1, 4096, 2048, 18.063245544013114),
        ],
        &[
            (1, 1024, 3.0366192252477666),
            (128, 4096, 10.806310182459995),
        ],
    ),
    (
        ("Qwen/Qwen3-235B-A22B", "b200_sxm", "trtllm", 4, false),
        &[
            (1, 2048, 0, 71.73650556561584),
            (1, 4096, 2048, 75.28857744492328),
        ],
        &[(64, 2048, 24.879834205823013)],
    ),
    (
        ("Qwen/Qwen3-235B-A22B", "h100_sxm", "sglang", 8, false),
        &[(1, 8192, 0, 241.1523078309232)],
        &[(128, 4096, 37.925748235383764)],
    ),
    (
        ("openai/gpt-oss-20b", "h100_sxm", "trtllm", 1, false),
        &[
            (1, 128, 0, 8.277564268627028),
            (1, 8192, 0, 146.7569317072369),
        ],
        &[(1, 1024, 3.5128003650678385), (64, 2048, 8.808947592591462)],
    ),
    (
        ("openai/gpt-oss-20b", "h200_sxm", "vllm", 2, false),
        &[(1, 2048, 0, 19.394886826027346)],
        &[(16, 1024, 4.0255631445667985)],
    ),
    (
        ("openai/gpt-oss-120b", "b200_sxm", "sglang", 4, false),
        &[(1, 2048, 0, 17.098585232193866)],
        &[(128, 4096, 6.723646243875717)],
    ),
    (
        ("deepseek-ai/DeepSeek-V3", "h200_sxm", "vllm", 8, true),
        &[(1, 2048, 0, 139.08958060053234)],
        &[(16, 1024, 24.175926898480444)],
    ),
    (
        ("deepseek-ai/DeepSeek-V3", "b200_sxm", "vllm", 4, false),
        &[
            (1, 128, 0, 54.27236967633604),
            (1, 8192, 0, 299.55264785688456),
            (1, 4096, 2048, 123.96205026525138),
        ],
        &[(1, 1024, 31.02297999315487), (128, 4096, 37.86030044915959)],
    ),
];

fn check(what: &str, ours: f64, aic: f64) {
    let err = ours / aic - 1.0;
    assert!(
        err.abs() < 1e-3,
        "{what}: servesim {ours:.4} ms, AIConfigurator {aic:.4} ms ({:+.3} %)",
        err * 100.0
    );
}

#[test]
fn matches_aiconfigurator_predictions() {
    let Some(root) = std::env::var_os(SYSTEMS_ENV).map(PathBuf::from) else {
        eprintln!(
            "skipped: set {SYSTEMS_ENV} to aiconfigurator-core's `systems` folder to compare with AIConfigurator"
        );
        return;
    };
    for &((model, system, backend, tp, ep), prefills, decodes) in CASES {
        let (moe_tp, moe_ep) = if ep {
            (Some(1), Some(tp))
        } else {
            (None, None)
        };
        let deployment = Deployment::new(model, system, backend, tp, moe_tp, moe_ep, 1).unwrap();
        let aic: AicDbModel = deployment.aic_db(&root, None).unwrap();
        let name = deployment.describe();
        for &(batch, isl, prefix, ms) in prefills {
            let chunk = PrefillChunk {
                new_tokens: isl - prefix,
                context_tokens: prefix,
            };
            let ours = aic.prefill_ms(&vec![chunk; batch as usize]);
            check(
                &format!("{name}: prefill {batch} × {isl} (prefix {prefix})"),
                ours,
                ms,
            );
        }
        for &(batch, context, ms) in decodes {
            let decode = DecodeShape {
                sequences: batch,
                context_tokens: context * u64::from(batch),
                tokens_per_sequence: 1,
                ..DecodeShape::default()
            };
            check(
                &format!("{name}: decode {batch} at {context}"),
                aic.decode_ms(&decode),
                ms,
            );
        }
    }
}
