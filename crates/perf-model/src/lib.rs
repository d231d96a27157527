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
mod model;
mod models;
pub mod ops;
mod parallel;
mod pass;
mod polynomial;
mod step;
mod system;
mod work;

#[cfg(feature = "aic-db")]
pub use aic::{AicDbCoster, AicDbModel, SYSTEMS_ENV};
pub use analytical::AnalyticalCoster;
pub use arch::{Attention, DType, ModelArch, Moe};
pub use calibration::{Calibration, Roofline};
pub use deployment::Deployment;
pub use error::PerfError;
pub use interpolated::{InterpolatedModel, ProfileTable};
pub use model::{MixedCost, PerfModel};
pub use models::builtin_model_names;
pub use ops::{ForwardGraph, Phases, Stream};
pub use parallel::{MAX_GPUS, Parallelism};
pub use pass::{DecodeShape, PassShape, PrefillChunk};
pub use polynomial::PolynomialModel;
pub use step::{OpCoster, StepModel};
pub use system::{Backend, DRIVER_RESERVE_BYTES, GpuSystem, SYSTEMS, system_names};
pub use work::{PassKind, Work};
