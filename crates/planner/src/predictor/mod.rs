//! Load predictors: forecast next window's load (request count, mean ISL, mean OSL, …) from
//! the series of past windows, so the planner scales for the load that is coming rather
//! than the load that was.
//!
//! Every predictor implements [`LoadPredictor`] and shares the reference's conventions:
//! NaN, infinite and negative observations count as 0; the leading zeros of a series (the
//! idle time before the first request) are skipped; forecasts are finite and non-negative,
//! and 0 before any traffic.
//!
//! | name | type | forecast |
//! |---|---|---|
//! | `constant` | [`Constant`] | the last value |
//! | `moving_average` | [`MovingAverage`] | the mean of the last `window` values |
//! | `holt` | [`Holt`] | level + trend (double exponential smoothing) |
//! | `kalman` | [`Kalman`] | level + trend (local-linear-trend Kalman filter) |
//! | `arima` | [`Arima`] | automatic ARIMA(p, d, 0), order by variance rule and AIC |
//! | `holt_winters`, `prophet` | [`HoltWinters`] | level + trend + season |
//!
//! [`Log1p`] runs any of them on `ln(1 + x)` (`load_predictor_log1p`); [`build`] makes one
//! from a [`PredictorSpec`].

mod arima;
mod constant;
mod holt;
mod holt_winters;
mod intake;
mod kalman;
mod log1p;
mod moving_average;
mod spec;

pub use arima::Arima;
pub use constant::Constant;
pub use holt::{Holt, HoltParams};
pub use holt_winters::{HoltWinters, HoltWintersParams};
pub use kalman::{Kalman, KalmanParams};
pub use log1p::Log1p;
pub use moving_average::MovingAverage;
pub use spec::{PredictorKind, PredictorSpec, UnknownPredictor, build};

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
