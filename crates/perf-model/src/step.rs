//! Composing op costs into pass times: [`StepModel`] is a [`PerfModel`] over any
//! [`OpCoster`].
//!
//! * **Prefill** of chunks `(sᵢ new, pᵢ cached)`: token-wise ops at `Σ sᵢ` tokens, the logits
//!   at one row per chunk, attention per chunk with its causal prefix.
//! * **Decode** of `b` sequences with total context `C`: token-wise ops at
//!   `b × tokens_per_sequence`, the logits at that many rows, attention at batch `b` with
//!   `C / b + 1` keys per sequence.
//! * **Mixed** passes follow AIConfigurator's mixed-step rule: every non-attention op runs
//!   once on the combined tokens, plus the prefill chunks' attention, plus the decode batch's
//!   attention.
//!
//! The decode fast path (an engine calls it once per step, over a million times per replayed
//! hour) reads the non-attention part from a table by token count built at construction,
//! so a call costs one table read and one attention evaluation per attention op.

use crate::ops::{AttnShape, ForwardGraph, MoeShape, Op, OpKind};
use crate::{DType, DecodeShape, PassShape, PerfModel, PrefillChunk};

/// Prices single ops. All times are milliseconds for one execution (one layer).
pub trait OpCoster: std::fmt::Debug + Send + Sync {
    /// A GEMM `[m × k] · [k × n]` with weights in `dtype`.
    fn gemm_ms(&self, m: u64, n: u64, k: u64, dtype: DType) -> f64;
    /// Prefill attention of `chunks` (each with its new tokens and cached prefix).
    fn context_attention_ms(&self, shape: &AttnShape, chunks: &[PrefillChunk]) -> f64;
    /// Decode attention of `batch` sequences attending to `keys` keys each (mean).
    fn generation_attention_ms(&self, shape: &AttnShape, batch: u32, keys: f64) -> f64;
    /// An all-reduce of `elements` bf16 values over `gpus` GPUs.
    fn all_reduce_ms(&self, elements: u64, gpus: u32) -> f64;
    /// The routed experts of one layer for `tokens` tokens.
    fn moe_ms(&self, shape: &MoeShape, tokens: u64) -> f64;
    /// Expert-parallel dispatch (or combine) of `tokens` tokens.
    fn all_to_all_ms(&self, bytes_per_token: f64, tokens: u64, gpus: u32) -> f64;
    /// A memory-bound op moving `bytes`.
    fn mem_ms(&self, bytes: f64) -> f64;
}

/// What one pass computes, in the terms ops are priced in.
#[derive(Copy, Clone, Debug, Default)]
pub struct Work<'a> {
    /// Tokens through the token-wise ops.
    pub tokens: u64,
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
            tokens,
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
            tokens: p.tokens + d.tokens,
            logits_rows: p.logits_rows + d.logits_rows,
            prefill: pass.prefill,
            decode_batch: d.decode_batch,
            decode_keys: d.decode_keys,
        }
    }
}

/// A [`PerfModel`] summing the op costs of a [`ForwardGraph`].
#[derive(Debug)]
pub struct StepModel<C> {
    name: String,
    graph: ForwardGraph,
    coster: C,
    /// `decode_rest[t]`: non-attention ms of a decode pass of `t` tokens (`t ≥ 1`).
    decode_rest: Vec<f64>,
    /// The attention ops and their counts, for the decode fast path.
    attention: Vec<(AttnShape, f64)>,
}

/// Decode passes up to this many tokens read their non-attention time from a table.
const DECODE_TABLE_TOKENS: u64 = 2048;

impl<C: OpCoster> StepModel<C> {
    /// Wraps `coster` over `graph`; `name` is what [`PerfModel::name`] reports.
    pub fn new(name: impl Into<String>, graph: ForwardGraph, coster: C) -> Self {
        let attention = graph
            .ops
            .iter()
            .filter_map(|op| match op.kind {
                OpKind::Attention(shape) => Some((shape, op.count)),
                _ => None,
            })
            .collect();
        let mut model = StepModel {
            name: name.into(),
            graph,
            coster,
            decode_rest: Vec::new(),
            attention,
        };
        let table = (0..=DECODE_TABLE_TOKENS)
            .map(|t| {
                if t == 0 {
                    0.0
                } else {
                    model.non_attention_ms(t, t)
                }
            })
            .collect();
        model.decode_rest = table;
        model
    }

    /// The op graph.
    pub fn graph(&self) -> &ForwardGraph {
        &self.graph
    }

    /// The op coster.
    pub fn coster(&self) -> &C {
        &self.coster
    }

    fn op_ms(&self, op: &Op, work: &Work<'_>) -> f64 {
        let c = &self.coster;
        let one = match op.kind {
            OpKind::Mem { bytes_per_token } => {
                if work.tokens == 0 {
                    0.0
                } else {
                    c.mem_ms(bytes_per_token * work.tokens as f64)
                }
            }
            OpKind::Gemm {
                n,
                k,
                dtype,
                last_token_only,
            } => {
                let m = if last_token_only {
                    work.logits_rows
                } else {
                    work.tokens
                };
                if m == 0 {
                    0.0
                } else {
                    c.gemm_ms(m, n, k, dtype)
                }
            }
            OpKind::Attention(shape) => {
                let prefill = if work.prefill.is_empty() {
                    0.0
                } else {
                    c.context_attention_ms(&shape, work.prefill)
                };
                let decode = if work.decode_batch == 0 {
                    0.0
                } else {
                    c.generation_attention_ms(&shape, work.decode_batch, work.decode_keys)
                };
                prefill + decode
            }
            OpKind::AllReduce { width, gpus } => {
                if work.tokens == 0 {
                    0.0
                } else {
                    c.all_reduce_ms(width * work.tokens, gpus)
                }
            }
            OpKind::Moe(shape) => {
                if work.tokens == 0 {
                    0.0
                } else {
                    c.moe_ms(&shape, work.tokens)
                }
            }
            OpKind::AllToAll {
                bytes_per_token,
                gpus,
            } => c.all_to_all_ms(bytes_per_token, work.tokens, gpus),
            OpKind::PrefillFixed { us } => {
                if work.prefill.is_empty() {
                    0.0
                } else {
                    us * 1e-3
                }
            }
        };
        one * op.count
    }

    /// Milliseconds per op of a pass, in graph order.
    pub fn breakdown(&self, work: &Work<'_>) -> Vec<(&'static str, f64)> {
        self.graph
            .ops
            .iter()
            .map(|op| (op.name, self.op_ms(op, work)))
            .collect()
    }

    /// Milliseconds of a pass.
    pub fn pass_ms(&self, work: &Work<'_>) -> f64 {
        self.graph.ops.iter().map(|op| self.op_ms(op, work)).sum()
    }

    fn non_attention_ms(&self, tokens: u64, logits_rows: u64) -> f64 {
        let work = Work {
            tokens,
            logits_rows,
            ..Work::default()
        };
        self.pass_ms(&work)
    }

    fn decode_attention_ms(&self, batch: u32, keys: f64) -> f64 {
        self.attention
            .iter()
            .map(|(shape, count)| count * self.coster.generation_attention_ms(shape, batch, keys))
            .sum()
    }
}

impl<C: OpCoster> PerfModel for StepModel<C> {
    fn prefill_ms(&self, chunks: &[PrefillChunk]) -> f64 {
        if chunks.is_empty() {
            return 0.0;
        }
        self.pass_ms(&Work::prefill(chunks))
    }

    fn decode_ms(&self, decode: &DecodeShape) -> f64 {
        if decode.sequences == 0 {
            return 0.0;
        }
        let work = Work::decode(decode);
        let rest = match self.decode_rest.get(work.tokens as usize) {
            Some(&ms) => ms,
            None => self.non_attention_ms(work.tokens, work.logits_rows),
        };
        rest + self.decode_attention_ms(work.decode_batch, work.decode_keys)
    }

    fn fused_ms(&self, pass: &PassShape<'_>) -> f64 {
        match (pass.prefill.is_empty(), pass.decode.sequences == 0) {
            (true, true) => 0.0,
            (false, true) => self.prefill_ms(pass.prefill),
            (true, false) => self.decode_ms(&pass.decode),
            (false, false) => self.pass_ms(&Work::mixed(pass)),
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}
