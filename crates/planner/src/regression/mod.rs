//! Online regression performance models: the forward-pass wall time of an engine as a
//! linear function of what the pass computed, learnt from the engine's own forward-pass
//! metrics, so that the planner can estimate TTFT and ITL at loads it has not seen yet.
//!
//! | model | features `x` | negative coefficient |
//! |---|---|---|
//! | [`PassModel::prefill`] | `[sum_prefill_tokens]` | rejected |
//! | [`PassModel::decode`] | `[num_decode_requests, sum_decode_kv_tokens]` | feature 0 clamped to 0, feature 1 rejected |
//! | [`PassModel::agg`] | `[sum_prefill_tokens, sum_decode_kv_tokens]` | rejected |
//!
//! Samples are retained by [`BucketedSamples`] (by default at most 64, spread over a 16-cell
//! grid of the feature range, see [`Retention`]); a fit needs 5 of them; predictions are
//! floored at 1 µs.
//! [`MovingAverage`] keeps the planner's running means of per-pass quantities.
//!
//! **Least squares.** The fit is ordinary least squares with an intercept, solved by
//! `linfa-linear`, between two numerical guards:
//!
//! * before the solve, a feature whose centred values are (to a relative 10⁻¹⁰) a linear
//!   combination of the earlier features' — a feature that never varied, or one that moved
//!   in exact lockstep with another — is left out and gets coefficient 0, so the solution is
//!   unique and finite. For a constant feature this is what the reference's scikit-learn fit
//!   gives (the mean wall time as intercept); for exactly collinear features the reference's
//!   minimum-norm solution would instead spread the slope over both;
//! * after it, a coefficient whose effect over the sampled range of its feature is below
//!   10⁻⁹ of the largest wall time is rounding noise and set to exactly 0, so that a flat
//!   relationship is not rejected for a slope of −10⁻²¹.

mod model;
pub(crate) mod ols;
mod samples;

pub use model::{FitOutcome, PassModel, Retention};
pub use samples::BucketedSamples;

/// The planner's running mean of a per-pass quantity (average ISL, decode length, numbers
/// of prefills and decodes, prefill tokens): a window of the last
/// [`MovingAverage::DEFAULT_WINDOW`] (64) values that skips the leading zeros. The same type
/// is the `moving_average` load predictor.
pub use crate::predictor::MovingAverage;
