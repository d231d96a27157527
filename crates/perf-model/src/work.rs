//! What one pass computes, in the terms ops are priced in ([`Work`]).

use crate::pass::{DecodeShape, PassShape, PrefillChunk};

/// The kind of a pass, which decides the ops that run ([`crate::Phases`]) and whether the
/// shared expert overlaps the routed ones ([`crate::Stream`]).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum PassKind {
    /// Prompt tokens only (AIConfigurator's context op list).
    #[default]
    Prefill,
    /// Decoding sequences only (its generation op list).
    Decode,
    /// Both: AIConfigurator prices every non-attention op of its context list once on the
    /// combined tokens.
    Mixed,
}

/// What one pass computes, in the terms ops are priced in.
#[derive(Copy, Clone, Debug, Default)]
pub struct Work<'a> {
    /// The kind of pass.
    pub kind: PassKind,
    /// Tokens through the token-wise ops.
    pub tokens: u64,
    /// Of those, the decoding sequences' tokens.
    pub decode_tokens: u64,
    /// Rows of the logits GEMM (sequences that sample a token).
    pub logits_rows: u64,
    /// Prefill chunks (their attention).
    pub prefill: &'a [PrefillChunk],
    /// Decoding sequences (their attention).
    pub decode_batch: u32,
    /// Mean keys each decoding sequence attends to.
    pub decode_keys: f64,
}

impl<'a> Work<'a> {
    /// A prefill-only pass.
    pub fn prefill(chunks: &'a [PrefillChunk]) -> Self {
        Work {
            kind: PassKind::Prefill,
            tokens: chunks.iter().map(|c| u64::from(c.new_tokens)).sum(),
            logits_rows: chunks.len() as u64,
            prefill: chunks,
            ..Work::default()
        }
    }

    /// A decode-only pass.
    pub fn decode(decode: &DecodeShape) -> Self {
        let tokens = u64::from(decode.sequences) * u64::from(decode.tokens_per_sequence.max(1));
        Work {
            kind: PassKind::Decode,
            tokens,
            decode_tokens: tokens,
            logits_rows: tokens,
            decode_batch: decode.sequences,
            decode_keys: decode.mean_context() + 1.0,
            ..Work::default()
        }
    }

    /// A mixed pass (AIConfigurator's mixed-step rule).
    pub fn mixed(pass: &PassShape<'a>) -> Self {
        let p = Work::prefill(pass.prefill);
        let d = Work::decode(&pass.decode);
        Work {
            kind: PassKind::Mixed,
            tokens: p.tokens + d.tokens,
            decode_tokens: d.tokens,
            logits_rows: p.logits_rows + d.logits_rows,
            prefill: pass.prefill,
            decode_batch: d.decode_batch,
            decode_keys: d.decode_keys,
        }
    }

    /// Prompt tokens computed (the token-wise work of the prefill chunks).
    pub fn prefill_tokens(&self) -> u64 {
        self.tokens - self.decode_tokens
    }
}
