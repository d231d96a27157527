//! The log1p transform of a predictor (the planner config's `load_predictor_log1p`).

use super::intake::{clamp_forecast, sanitize};
use super::load_predictor::LoadPredictor;

/// Runs a predictor on `ln(1 + x)` and maps its forecast back with `eᶠ − 1`.
///
/// Load series are skewed (bursts many times the base rate); on the log scale a burst is a
/// moderate excursion, and a trend fitted there is multiplicative. Leading zeros stay zeros
/// (`ln 1 = 0`), so the inner predictor still skips the idle prefix. The forecast is clamped
/// at 0 and capped at `f64::MAX`.
///
/// ```
/// use servesim_planner::predictor::{Constant, LoadPredictor, Log1p};
///
/// let mut p = Log1p::new(Constant::new());
/// p.observe(9.0);
/// assert!((p.predict() - 9.0).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct Log1p<P> {
    inner: P,
}

impl<P: LoadPredictor> Log1p<P> {
    /// Wraps `inner`, which from now on only sees log1p values.
    pub fn new(inner: P) -> Self {
        Self { inner }
    }
}

impl<P: LoadPredictor> LoadPredictor for Log1p<P> {
    fn observe(&mut self, value: f64) {
        self.inner.observe(sanitize(value).ln_1p());
    }

    fn predict(&mut self) -> f64 {
        clamp_forecast(self.inner.predict().exp_m1(), 0.0)
    }

    /// The inner predictor's name: the transform is a mode of the model, not another model.
    fn name(&self) -> &'static str {
        self.inner.name()
    }
}
