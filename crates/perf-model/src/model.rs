//! The [`PerfModel`] trait: the time of one forward pass.

use std::fmt;

use crate::pass::{DecodeShape, PassShape, PrefillChunk};

/// A forward-pass timing model.
///
/// Contract: results are finite milliseconds ≥ 0; an empty prefill costs 0; an empty decode
/// batch costs 0; the result depends only on the arguments. Implementations should be cheap
/// (engines call them once per pass, and the decode fast path once per step).
pub trait PerfModel: fmt::Debug + Send + Sync {
    /// Time of a pass that computes only `chunks`.
    fn prefill_ms(&self, chunks: &[PrefillChunk]) -> f64;

    /// Time of a pass that only decodes.
    fn decode_ms(&self, decode: &DecodeShape) -> f64;

    /// Time of one pass that computes prefill chunks and decodes together, as real engines
    /// do: by default every decoding sequence counts as one more prefill token with its
    /// context, and the pass takes at least as long as the decode step alone.
    fn fused_ms(&self, pass: &PassShape<'_>) -> f64 {
        if pass.decode.sequences == 0 {
            return self.prefill_ms(pass.prefill);
        }
        if pass.prefill.is_empty() {
            return self.decode_ms(&pass.decode);
        }
        let decode_tokens = pass
            .decode
            .sequences
            .saturating_mul(pass.decode.tokens_per_sequence.max(1));
        let mut chunks = pass.prefill.to_vec();
        chunks.push(PrefillChunk {
            new_tokens: decode_tokens,
            context_tokens: u32::try_from(pass.decode.context_tokens).unwrap_or(u32::MAX),
        });
        self.prefill_ms(&chunks).max(self.decode_ms(&pass.decode))
    }

    /// A short human-readable name, e.g. `polynomial`.
    fn name(&self) -> &str;
}

/// How a pass that both prefills and decodes is costed.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MixedCost {
    /// Prefill time plus decode time: the reference's rule (the default).
    #[default]
    Additive,
    /// One fused pass ([`PerfModel::fused_ms`]), as vLLM V1 and SGLang execute mixed batches.
    Fused,
}
