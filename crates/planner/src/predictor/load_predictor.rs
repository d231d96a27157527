//! The [`LoadPredictor`] trait every forecaster implements.

/// A one-step-ahead forecaster of a per-window load series.
///
/// The planner calls [`observe`](LoadPredictor::observe) once per window with that
/// window's value, then [`predict`](LoadPredictor::predict) for the next window.
pub trait LoadPredictor: std::fmt::Debug + Send {
    /// Records the value of the window that just ended (NaN, infinite or negative: 0).
    fn observe(&mut self, value: f64);

    /// The forecast for the next window: finite, ≥ 0, and 0 before any traffic. Takes
    /// `&mut self` so that a predictor can refit lazily and cache the result.
    fn predict(&mut self) -> f64;

    /// The predictor's config name (`constant`, `arima`, …).
    fn name(&self) -> &'static str;
}

impl<P: LoadPredictor + ?Sized> LoadPredictor for Box<P> {
    fn observe(&mut self, value: f64) {
        (**self).observe(value);
    }

    fn predict(&mut self) -> f64 {
        (**self).predict()
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }
}
