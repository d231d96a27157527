//! What one forward pass computes: prefill chunks and a decode batch.

/// One request's share of the prefill work in a pass.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PrefillChunk {
    /// Prompt tokens computed in this pass.
    pub new_tokens: u32,
    /// Tokens of the same request already in KV before this pass (cached prefix or earlier
    /// chunks): they cost attention, not projection.
    pub context_tokens: u32,
}

/// The decode work of a pass: every sequence advances by `tokens_per_sequence` tokens.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeShape {
    /// Sequences decoding in this pass.
    pub sequences: u32,
    /// Sum over those sequences of the tokens already in KV (their context).
    pub context_tokens: u64,
    /// KV tokens in use on the worker (allocated blocks × block size).
    pub kv_tokens_in_use: u64,
    /// KV capacity of the worker in tokens.
    pub kv_capacity_tokens: u64,
    /// Tokens scored per sequence (1, or `nextn + 1` with speculative decoding).
    pub tokens_per_sequence: u32,
}

impl DecodeShape {
    /// Mean context per sequence (0 for an empty batch).
    pub fn mean_context(&self) -> f64 {
        if self.sequences == 0 {
            0.0
        } else {
            self.context_tokens as f64 / f64::from(self.sequences)
        }
    }

    /// Share of KV capacity in use, in `[0, 1]` (1 when the capacity is unknown).
    pub fn kv_fraction(&self) -> f64 {
        if self.kv_capacity_tokens == 0 {
            1.0
        } else {
            (self.kv_tokens_in_use as f64 / self.kv_capacity_tokens as f64).min(1.0)
        }
    }
}

/// Everything one forward pass computes.
#[derive(Copy, Clone, Debug, Default)]
pub struct PassShape<'a> {
    /// Prefill chunks, one per request that computes prompt tokens.
    pub prefill: &'a [PrefillChunk],
    /// The decode batch (may be empty).
    pub decode: DecodeShape,
}
