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
mod load_predictor;
mod log1p;
mod moving_average;
mod spec;

pub use arima::Arima;
pub use constant::Constant;
pub use holt::{Holt, HoltParams};
pub use holt_winters::{HoltWinters, HoltWintersParams};
pub use kalman::{Kalman, KalmanParams};
pub use load_predictor::LoadPredictor;
pub use log1p::Log1p;
pub use moving_average::MovingAverage;
pub use spec::{PredictorKind, PredictorSpec, UnknownPredictor, build};
