//! `aic-db` against AIConfigurator 0.12.0 itself: its `predict_prefill_latency(bs, isl,
//! prefix)` and `predict_decode_latency(bs, ctx, 2)`, recorded from the `aiconfigurator-core`
//! wheel. Needs that wheel's `systems/` folder: set `SERVESIM_AIC_SYSTEMS` to it
//! (`…/site-packages/aiconfigurator_core/systems`); without it the test says so and passes.
#![cfg(feature = "aic-db")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use servesim_perf::{AicDbModel, DecodeShape, Deployment, PerfModel, PrefillChunk, SYSTEMS_ENV};

/// `(model, system, backend, tp)`, then `(batch, isl, prefix, ms)` prefills and
/// `(batch, context, ms)` decode steps as AIConfigurator predicts them.
type Case = (
    (&'static str, &'static str, &'static str, u32),
    &'static [(u32, u32, u32, f64)],
    &'static [(u32, u64, f64)],
);

const CASES: &[Case] = &[
    (
        ("meta-llama/Llama-3.1-8B", "h200_sxm", "vllm", 1),
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
        ("meta-llama/Llama-3.1-8B", "h200_sxm", "vllm", 2),
        &[
            (1, 1024, 0, 14.530582367374295),
            (4, 2048, 0, 108.37055810870471),
            (1, 2048, 1024, 14.83330239752312),
        ],
        &[(1, 1024, 3.349616072668425), (32, 4096, 5.5530833772081625)],
    ),
    (
        ("llama-3.1-70b", "b200_sxm", "trtllm", 4),
        &[(1, 2048, 0, 76.53807310792018)],
        &[(64, 2048, 11.661480017988348)],
    ),
    (
        ("Qwen/Qwen3-32B", "h100_sxm", "sglang", 2),
        &[(1, 2048, 0, 109.81397464454733)],
        &[(64, 2048, 20.503855745389277)],
    ),
    (
        ("qwen3-8b", "a100_sxm", "vllm", 1),
        &[(1, 2048, 0, 126.81643583515718)],
        &[(64, 2048, 24.660810126199788)],
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
    for &((model, system, backend, tp), prefills, decodes) in CASES {
        let deployment = Deployment::new(model, system, backend, tp, None, None, 1).unwrap();
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
