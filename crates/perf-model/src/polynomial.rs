//! The reference's default timing formulas.

use crate::model::PerfModel;
use crate::pass::{DecodeShape, PrefillChunk};

/// The reference's (`dynamo-mocker`) default model, for reproducing its results.
///
/// * Prefill: with `x` the new tokens of the pass (computed as the reference does,
///   `batch × (mean_isl − mean_prefix)` with integer means),
///   `T_p(x) = 4.209989e-7·x² + 1.518344e-2·x + 16.50142` ms. Cached context is free.
/// * Decode: with `u` the fraction of KV capacity in use,
///   `T_d(u) = −25.74·u² + 54.01·u + 5.74` ms, at least 1 ms. Batch size and context do not
///   matter — which is why this model cannot drive a batch-aware planner.
///
/// ```
/// use servesim_perf::{DecodeShape, PerfModel, PolynomialModel};
/// let half_full = DecodeShape { sequences: 8, kv_tokens_in_use: 50, kv_capacity_tokens: 100, ..DecodeShape::default() };
/// assert!((PolynomialModel.decode_ms(&half_full) - 26.31).abs() < 1e-9);
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PolynomialModel;

impl PolynomialModel {
    /// `T_p(x)` for `x` new prefill tokens.
    pub fn prefill_poly(x: f64) -> f64 {
        4.209989e-7 * x * x + 1.518344e-2 * x + 16.50142
    }

    /// `T_d(u)` for KV fraction `u` (no floor).
    pub fn decode_poly(u: f64) -> f64 {
        -25.74 * u * u + 54.01 * u + 5.74
    }
}

/// The reference's batch token count: `batch × (Σ(ctx+new)/batch − Σctx/batch)`, integer means.
pub(crate) fn reference_prefill_tokens(chunks: &[PrefillChunk]) -> u64 {
    let batch = chunks.len() as u64;
    if batch == 0 {
        return 0;
    }
    let total: u64 = chunks
        .iter()
        .map(|c| u64::from(c.context_tokens) + u64::from(c.new_tokens))
        .sum();
    let prefix: u64 = chunks.iter().map(|c| u64::from(c.context_tokens)).sum();
    batch * (total / batch - prefix / batch)
}

/// Decode steps never take less than this (the reference: "token steps must not collapse").
pub(crate) const DECODE_FLOOR_MS: f64 = 1.0;

impl PerfModel for PolynomialModel {
    fn prefill_ms(&self, chunks: &[PrefillChunk]) -> f64 {
        if chunks.is_empty() {
            return 0.0;
        }
        Self::prefill_poly(reference_prefill_tokens(chunks) as f64).max(0.0)
    }

    fn decode_ms(&self, decode: &DecodeShape) -> f64 {
        if decode.sequences == 0 {
            return 0.0;
        }
        Self::decode_poly(decode.kv_fraction()).max(DECODE_FLOOR_MS)
    }

    fn name(&self) -> &str {
        "polynomial"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(new_tokens: u32, context_tokens: u32) -> PrefillChunk {
        PrefillChunk {
            new_tokens,
            context_tokens,
        }
    }

    #[test]
    fn prefill_matches_the_reference_table() {
        let m = PolynomialModel;
        for (x, expected) in [
            (512, 24.4),
            (2048, 49.4),
            (8192, 169.1),
            (16384, 378.3),
            (32768, 966.1),
        ] {
            let got = m.prefill_ms(&[chunk(x, 0)]);
            assert!((got - expected).abs() < 0.05, "x={x}: {got}");
        }
        assert!((m.prefill_ms(&[chunk(2048, 0)]) - 49.362_902_490_265_6).abs() < 1e-9);
        assert_eq!(m.prefill_ms(&[]), 0.0);
    }

    #[test]
    fn prefill_uses_integer_means_like_the_reference() {
        // mean_isl = (10+3 + 0+4)/2 = 8, mean_prefix = 10/2 = 5 → x = 2·3 = 6 (not 7).
        assert_eq!(reference_prefill_tokens(&[chunk(3, 10), chunk(4, 0)]), 6);
        // Cached context is free.
        let m = PolynomialModel;
        assert_eq!(
            m.prefill_ms(&[chunk(100, 5000)]),
            m.prefill_ms(&[chunk(100, 0)])
        );
    }

    #[test]
    fn decode_depends_only_on_kv_fraction() {
        let m = PolynomialModel;
        let shape = |n, used| DecodeShape {
            sequences: n,
            context_tokens: 1000,
            kv_tokens_in_use: used,
            kv_capacity_tokens: 1000,
            tokens_per_sequence: 1,
        };
        assert!((m.decode_ms(&shape(1, 0)) - 5.74).abs() < 1e-9);
        assert!((m.decode_ms(&shape(1, 1000)) - 34.01).abs() < 1e-9);
        assert_eq!(m.decode_ms(&shape(1, 500)), m.decode_ms(&shape(200, 500)));
        assert_eq!(m.decode_ms(&shape(0, 500)), 0.0);
    }

    #[test]
    fn fused_pass_is_at_least_either_part() {
        let m = PolynomialModel;
        let decode = DecodeShape {
            sequences: 10,
            context_tokens: 10_000,
            kv_tokens_in_use: 5_000,
            kv_capacity_tokens: 100_000,
            tokens_per_sequence: 1,
        };
        let chunks = [chunk(1000, 0)];
        let fused = m.fused_ms(&crate::pass::PassShape {
            prefill: &chunks,
            decode,
        });
        assert!((fused - PolynomialModel::prefill_poly(1010.0)).abs() < 1e-9);
        assert!(fused < m.prefill_ms(&chunks) + m.decode_ms(&decode));
    }
}
