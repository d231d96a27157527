#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Physical limits and monotonicity of the analytical model on every system and backend.

use servesim_perf::{
    Backend, DecodeShape, Deployment, PerfModel, PrefillChunk, builtin_model_names, system_names,
};

fn decode(batch: u32, ctx: u64) -> DecodeShape {
    DecodeShape {
        sequences: batch,
        context_tokens: ctx * u64::from(batch),
        kv_tokens_in_use: 0,
        kv_capacity_tokens: 0,
        tokens_per_sequence: 1,
    }
}

fn prefill(isl: u32) -> [PrefillChunk; 1] {
    [PrefillChunk {
        new_tokens: isl,
        context_tokens: 0,
    }]
}

#[test]
fn decode_is_bounded_below_by_reading_the_weights_and_everything_is_monotone() {
    for system in system_names() {
        for backend in Backend::ALL {
            for model in builtin_model_names() {
                let tp = if model.contains("405b")
                    || model.contains("deepseek")
                    || model.contains("235b")
                {
                    8
                } else {
                    1
                };
                let d =
                    Deployment::new(model, system, backend.as_str(), tp, None, None, 1).unwrap();
                let m = d.analytical().unwrap();
                let what = format!("{model} on {system}/{backend}");
                // Batch 1 reads at least every weight but the input-embedding table (one row
                // of it), once (MoE: only the experts a token visits, bounded loosely).
                let active = d.arch.active_params() as f64 / d.arch.total_params() as f64;
                let lookup =
                    f64::from(d.arch.vocab) * f64::from(d.arch.hidden) * 2.0 / f64::from(tp);
                let floor_ms =
                    (d.weight_bytes_per_gpu() - lookup) * active.min(1.0) / d.system.mem_bw * 1e3;
                let b1 = m.decode_ms(&decode(1, 1024));
                assert!(b1 >= 0.5 * floor_ms, "{what}: {b1} < {floor_ms}");
                if !d.arch.is_moe() {
                    assert!(
                        b1 >= floor_ms,
                        "{what}: {b1} ms below the weight-read bound {floor_ms} ms"
                    );
                }
                let mut last = 0.0;
                for batch in [1, 2, 4, 8, 16, 32, 64, 128, 256] {
                    let ms = m.decode_ms(&decode(batch, 2048));
                    assert!(
                        ms >= last,
                        "{what}: decode not monotone in batch at {batch}"
                    );
                    last = ms;
                }
                let mut last = 0.0;
                for ctx in [1, 128, 1024, 4096, 16384, 65536] {
                    let ms = m.decode_ms(&decode(16, ctx));
                    assert!(
                        ms >= last,
                        "{what}: decode not monotone in context at {ctx}"
                    );
                    last = ms;
                }
                let mut last = 0.0;
                for isl in [1, 16, 128, 512, 2048, 8192, 32768] {
                    let ms = m.prefill_ms(&prefill(isl));
                    assert!(ms > last, "{what}: prefill not monotone in ISL at {isl}");
                    last = ms;
                }
                assert_eq!(m.prefill_ms(&[]), 0.0);
                assert_eq!(m.decode_ms(&decode(0, 10)), 0.0);
            }
        }
    }
}

#[test]
fn llama_8b_on_h200_is_close_to_aiconfigurator() {
    let d = Deployment::new(
        "meta-llama/Llama-3.1-8B",
        "h200_sxm",
        "vllm",
        1,
        None,
        None,
        1,
    )
    .unwrap();
    let m = d.analytical().unwrap();
    // AIConfigurator 0.12.0 (vllm 0.24.0): 92.83 ms and 9.17 ms.
    let p = m.prefill_ms(&prefill(4096));
    assert!((p / 92.83 - 1.0).abs() < 0.10, "{p}");
    let dms = m.decode_ms(&decode(32, 4096));
    assert!((dms / 9.17 - 1.0).abs() < 0.10, "{dms}");
    // A cached prefix costs attention only.
    let cached = m.prefill_ms(&[PrefillChunk {
        new_tokens: 2048,
        context_tokens: 2048,
    }]);
    let fresh = m.prefill_ms(&prefill(2048));
    assert!(cached > fresh && cached < p, "{cached} {fresh} {p}");
    // A mixed pass costs less than prefill plus decode, and more than either.
    let pass = servesim_perf::PassShape {
        prefill: &prefill(2048),
        decode: decode(32, 4096),
    };
    let fused = m.fused_ms(&pass);
    assert!(
        fused > fresh && fused > dms && fused < fresh + dms,
        "{fused}"
    );
}
