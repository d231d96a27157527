//! Composing op costs into pass times: [`StepModel`] is a [`PerfModel`] over any
//! [`OpCoster`].
//!
//! * **Prefill** of chunks `(sᵢ new, pᵢ cached)`: token-wise ops at `Σ sᵢ` tokens, the logits
//!   at one row per chunk, attention per chunk with its causal prefix.
//! * **Decode** of `b` sequences with total context `C`: token-wise ops at
//!   `b × tokens_per_sequence`, the logits at that many rows, attention at batch `b` with
//!   `C / b + 1` keys per sequence; a shared expert on its own stream costs
//!   `max(routed, shared)` ([`Stream`]).
//! * **Mixed** passes follow AIConfigurator's mixed-step rule: every non-attention op runs
//!   once on the combined tokens, plus the prefill chunks' attention, plus the decode batch's
//!   attention.
//!
//! Ops run only in the passes of their [`Phases`](crate::Phases). The decode fast path (an
//! engine calls it once per step, over a million times per replayed hour) reads the
//! non-attention part from a table by token count built at construction, so a call costs
//! one table read and one attention evaluation per attention op.

use crate::arch::DType;
use crate::model::PerfModel;
use crate::ops::{AttnShape, ForwardGraph, MlaShape, MoeShape, Op, OpKind, Phases, Stream};
use crate::pass::{DecodeShape, PassShape, PrefillChunk};
use crate::work::{PassKind, Work};

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

    /// A multi-head latent attention block computing prefill `chunks`: by default its
    /// projections at the chunks' tokens plus their attention.
    fn mla_prefill_ms(&self, shape: &MlaShape, chunks: &[PrefillChunk]) -> f64 {
        let tokens: u64 = chunks.iter().map(|c| u64::from(c.new_tokens)).sum();
        mla_projections_ms(self, shape, tokens)
            + self.context_attention_ms(&shape.attention, chunks)
    }

    /// A multi-head latent attention block decoding `tokens` tokens of `batch` sequences
    /// that attend to `keys` keys each: by default its projections plus the attention.
    fn mla_decode_ms(&self, shape: &MlaShape, batch: u32, keys: f64, tokens: u64) -> f64 {
        mla_projections_ms(self, shape, tokens)
            + self.generation_attention_ms(&shape.attention, batch, keys)
    }
}

/// The projection GEMMs of a latent attention block at `tokens` tokens.
pub(crate) fn mla_projections_ms<C: OpCoster + ?Sized>(
    coster: &C,
    shape: &MlaShape,
    tokens: u64,
) -> f64 {
    if tokens == 0 {
        return 0.0;
    }
    shape
        .projections()
        .iter()
        .filter(|(_, n, _)| *n > 0)
        .map(|&(_, n, k)| coster.gemm_ms(tokens, n, k, shape.dtype))
        .sum()
}

/// A [`PerfModel`] summing the op costs of a [`ForwardGraph`].
#[derive(Debug)]
pub struct StepModel<C> {
    name: String,
    graph: ForwardGraph,
    coster: C,
    /// `decode_rest[t]`: non-attention ms of a decode pass of `t` tokens (`t ≥ 1`).
    decode_rest: Vec<f64>,
    /// The ops whose decode cost depends on the context (attention, latent attention), for
    /// the decode fast path.
    attention: Vec<Op>,
}

/// Decode passes up to this many tokens read their non-attention time from a table.
const DECODE_TABLE_TOKENS: u64 = 2048;

/// Name of the (non-positive) breakdown entry that removes the part of the shared expert
/// hidden behind the routed experts in a decode pass.
const OVERLAP: &str = "shared_expert_overlap";

impl<C: OpCoster> StepModel<C> {
    /// Wraps `coster` over `graph`; `name` is what [`PerfModel::name`] reports.
    pub fn new(name: impl Into<String>, graph: ForwardGraph, coster: C) -> Self {
        let attention = graph
            .ops
            .iter()
            .filter(|op| matches!(op.kind, OpKind::Attention(_) | OpKind::Mla(_)))
            .cloned()
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
                    model.decode_non_attention_ms(t)
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
        if op.phases == Phases::DecodeOnly && work.kind != PassKind::Decode {
            return 0.0;
        }
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
            OpKind::Attention(_) | OpKind::Mla(_) => {
                let prefill = if work.prefill.is_empty() {
                    0.0
                } else {
                    self.attention_prefill_ms(&op.kind, work.prefill)
                };
                let decode = if work.decode_batch == 0 {
                    0.0
                } else {
                    self.attention_decode_ms(&op.kind, work)
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

    /// Milliseconds per op of a pass, in graph order. In a decode pass whose shared expert
    /// overlaps the routed experts, a last entry `shared_expert_overlap` (≤ 0) removes the
    /// hidden part, so that the entries sum to the pass time.
    pub fn breakdown(&self, work: &Work<'_>) -> Vec<(&'static str, f64)> {
        let mut ops: Vec<(&'static str, f64)> = self
            .graph
            .ops
            .iter()
            .map(|op| (op.name, self.op_ms(op, work)))
            .collect();
        let hidden = self.hidden_ms(work);
        if hidden > 0.0 {
            ops.push((OVERLAP, -hidden));
        }
        ops
    }

    /// Milliseconds of a pass.
    pub fn pass_ms(&self, work: &Work<'_>) -> f64 {
        let total: f64 = self.graph.ops.iter().map(|op| self.op_ms(op, work)).sum();
        total - self.hidden_ms(work)
    }

    /// In decode passes, the shorter of the routed and shared-expert paths, which runs
    /// hidden behind the longer one; 0 otherwise.
    fn hidden_ms(&self, work: &Work<'_>) -> f64 {
        if work.kind != PassKind::Decode {
            return 0.0;
        }
        let on = |stream: Stream| -> f64 {
            self.graph
                .ops
                .iter()
                .filter(|op| op.stream == stream)
                .map(|op| self.op_ms(op, work))
                .sum()
        };
        on(Stream::Routed).min(on(Stream::Shared))
    }

    /// A decode pass of `tokens` tokens without its attention.
    fn decode_non_attention_ms(&self, tokens: u64) -> f64 {
        let work = Work {
            kind: PassKind::Decode,
            tokens,
            decode_tokens: tokens,
            logits_rows: tokens,
            ..Work::default()
        };
        self.pass_ms(&work)
    }

    /// One execution of a context-dependent op computing prefill `chunks`.
    fn attention_prefill_ms(&self, kind: &OpKind, chunks: &[PrefillChunk]) -> f64 {
        match kind {
            OpKind::Attention(shape) => self.coster.context_attention_ms(shape, chunks),
            OpKind::Mla(shape) => self.coster.mla_prefill_ms(shape, chunks),
            _ => 0.0,
        }
    }

    /// One execution of a context-dependent op for the decoding sequences of `work`.
    fn attention_decode_ms(&self, kind: &OpKind, work: &Work<'_>) -> f64 {
        let c = &self.coster;
        match kind {
            OpKind::Attention(shape) => {
                c.generation_attention_ms(shape, work.decode_batch, work.decode_keys)
            }
            OpKind::Mla(shape) => c.mla_decode_ms(
                shape,
                work.decode_batch,
                work.decode_keys,
                work.decode_tokens,
            ),
            _ => 0.0,
        }
    }

    fn decode_attention_ms(&self, work: &Work<'_>) -> f64 {
        self.attention
            .iter()
            .map(|op| op.count * self.attention_decode_ms(&op.kind, work))
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
            None => self.decode_non_attention_ms(work.tokens),
        };
        rest + self.decode_attention_ms(&work)
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
