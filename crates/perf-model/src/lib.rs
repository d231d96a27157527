//! Forward-pass timing models for servesim.
//!
//! A [`PerfModel`] answers one question: how many milliseconds does one forward pass of an
//! engine take, given what the pass computes? The batch is described by [`PassShape`]: the
//! prefill chunks (new tokens and the context already in KV for each) and the decode batch
//! (sequences, their total context, KV in use). Implementations:
//!
//! * [`PolynomialModel`] — the reference's default formulas and constants, so that reference
//!   results can be reproduced. It ignores batch size and context; treat it as a toy for
//!   anything but reproduction.
//! * [`InterpolatedModel`] — a user profile table (JSON or CSV): prefill time by tokens,
//!   decode time on an (active KV tokens × context) grid, linearly / bilinearly interpolated.
//! * [`StepModel`] over [`AnalyticalCoster`] (`analytical`) — a per-GPU-SKU op model: a
//!   [`ModelArch`] on a [`GpuSystem`] with a [`Backend`] and a [`Parallelism`]
//!   ([`Deployment`]) is walked into a [`ForwardGraph`] of GEMMs, attention, memory ops and
//!   collectives as AIConfigurator composes a step, and each op is a calibrated roofline.
//! * `AicDbModel` (`aic-db`, cargo feature `aic-db`) — the same op graph priced from
//!   AIConfigurator's measured Parquet tables, interpolated as AIConfigurator does
//!   (`Deployment::aic_db`).
//!
//! Models are pure functions of the shape (no clock, no state), which keeps engines
//! deterministic and lets callers cache results. Speed-up ratios and the rule for costing a
//! mixed prefill+decode pass are applied by the engine, not here.
//!
//! ```
//! use servesim_perf::{PerfModel, PolynomialModel, PrefillChunk};
//! let model = PolynomialModel;
//! let ms = model.prefill_ms(&[PrefillChunk { new_tokens: 2048, context_tokens: 0 }]);
//! assert!((ms - 49.363).abs() < 1e-3);
//! ```

#[cfg(feature = "aic-db")]
mod aic;
mod analytical;
mod arch;
pub mod calibration;
mod deployment;
mod error;
mod graph;
mod hf_config;
mod interpolated;
mod models;
pub mod ops;
mod parallel;
mod polynomial;
mod step;
mod system;
mod work;

use std::fmt;

#[cfg(feature = "aic-db")]
pub use aic::{AicDbCoster, AicDbModel, SYSTEMS_ENV};
pub use analytical::AnalyticalCoster;
pub use arch::{Attention, DType, ModelArch, Moe};
pub use calibration::{Calibration, Roofline};
pub use deployment::{DEFAULT_MEMORY_FRACTION, Deployment};
pub use error::PerfError;
pub use interpolated::{InterpolatedModel, ProfileTable};
pub use models::builtin_model_names;
pub use ops::{ForwardGraph, Phases, Stream};
pub use parallel::Parallelism;
pub use polynomial::PolynomialModel;
pub use step::{OpCoster, StepModel};
pub use system::{Backend, GpuSystem, RUNTIME_RESERVE_BYTES, SYSTEMS, system_names};
pub use work::{PassKind, Work};

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
