//! A small automatic ARIMA(p, d, 0): autoregression on the series or on its differences,
//! with the order chosen from the data (the reference's `arima` predictor, default).

use std::collections::VecDeque;

use ndarray::{Array1, Array2, ArrayView1};

use super::intake::{Intake, clamp_forecast};
use super::load_predictor::LoadPredictor;
use crate::regression::ols;

/// Automatic ARIMA(p, d, 0) on the last [`Arima::HISTORY_WINDOW`] observations, refitted whenever
/// new data has arrived since the last forecast.
///
/// * Fewer than [`Arima::MIN_POINTS`] observations: the last value.
/// * A constant history: that value.
/// * Differencing `d ∈ {0, 1}`: `d = 1` when the differenced series has a smaller variance
///   than the series itself (the classical "difference while it lowers the variance" rule,
///   a test-free stand-in for auto-ARIMA's KPSS test). A trend or a random walk is
///   differenced; a stationary series is not.
/// * Order `p ∈ 0..=3` (bounded so that at least `p + 2` equations remain per fit): an
///   ordinary least-squares AR(p) with intercept on the working series, all orders fitted
///   on the same equations (from index `p_max` on) so that their AIC,
///   `m·ln(RSS/m) + 2(p + 1)`, is comparable; the smallest AIC wins, ties to the smaller
///   order. The residual variance is floored at `(10⁻⁹·max|w|)²`, so exact fits tie and
///   the penalty picks the most parsimonious one.
/// * The one-step forecast of the working series is integrated back (`d = 1`) and clamped
///   at 0; a non-finite forecast falls back to the last value.
///
/// On an exact AR(1) `x_t = φ·x_{t−1} + c` or an exact linear trend the forecast is exact
/// from the fifth observation on.
///
/// Unlike the reference, a fit that ends with no AR term on the level is not retried on
/// log1p values: the [`Log1p`](super::Log1p) wrapper (`load_predictor_log1p`) covers that
/// need, and switching transforms automatically would make exact trends inexact.
///
/// ```
/// use servesim_planner::predictor::{Arima, LoadPredictor};
///
/// let mut p = Arima::new();
/// for v in [10.0, 12.0, 14.0, 16.0, 18.0] {
///     p.observe(v);
/// }
/// assert!((p.predict() - 20.0).abs() < 1e-9);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Arima {
    intake: Intake,
    history: VecDeque<f64>,
    forecast: Option<f64>,
}

impl Arima {
    /// Observations kept and refitted on: enough for AR(3) to be well determined, small
    /// enough that a refit (at most four small least-squares solves) is negligible per tick.
    pub const HISTORY_WINDOW: usize = 200;

    /// Below this many observations the last value is forecast (as the reference does).
    pub const MIN_POINTS: usize = 5;

    /// Highest autoregressive order tried.
    pub const MAX_AR_ORDER: usize = 3;

    /// An ARIMA predictor that has seen nothing (it forecasts 0).
    pub fn new() -> Self {
        Self::default()
    }
}

impl LoadPredictor for Arima {
    fn observe(&mut self, value: f64) {
        let Some(value) = self.intake.admit(value) else {
            return;
        };
        if self.history.len() == Self::HISTORY_WINDOW {
            self.history.pop_front();
        }
        self.history.push_back(value);
        self.forecast = None;
    }

    fn predict(&mut self) -> f64 {
        let history = self.history.make_contiguous();
        *self.forecast.get_or_insert_with(|| forecast(history))
    }

    fn name(&self) -> &'static str {
        "arima"
    }
}

/// The one-step forecast of `history` (see [`Arima`]).
fn forecast(history: &[f64]) -> f64 {
    let Some(&last) = history.last() else {
        return 0.0;
    };
    if history.len() < Arima::MIN_POINTS || history.iter().all(|&v| v == last) {
        return last;
    }
    let differences: Vec<f64> = history.windows(2).map(|w| w[1] - w[0]).collect();
    let difference = variance(&differences) < variance(history);
    let working = if difference {
        &differences[..]
    } else {
        history
    };
    let Some(next) = best_ar_forecast(working) else {
        return last;
    };
    clamp_forecast(if difference { last + next } else { next }, last)
}

/// Population variance (NaN for an empty slice, which compares false).
fn variance(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n
}

/// The one-step forecast of the AIC-best AR(p) of `series`, `None` if no order could be fitted.
fn best_ar_forecast(series: &[f64]) -> Option<f64> {
    let len = series.len();
    let max_order = Arima::MAX_AR_ORDER.min(len.saturating_sub(2) / 2);
    let equations = len - max_order;
    let targets = Array1::from_iter(series[max_order..].iter().copied());
    let scale = targets.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let variance_floor = (1e-9 * scale).powi(2).max(f64::MIN_POSITIVE);
    let mut best: Option<(f64, f64)> = None;
    for order in 0..=max_order {
        // Row r predicts series[max_order + r] from its `order` predecessors, newest first.
        let lags =
            Array2::from_shape_fn((equations, order), |(r, k)| series[max_order + r - 1 - k]);
        let Some(fit) = ols::fit(lags.view(), targets.view()) else {
            continue;
        };
        let fitted = lags.dot(&ArrayView1::from(&fit.coefficients[..])) + fit.intercept;
        let rss: f64 = (&targets - &fitted).mapv(|e| e * e).sum();
        let aic = equations as f64 * (rss / equations as f64).max(variance_floor).ln()
            + 2.0 * (order + 1) as f64;
        let newest: Vec<f64> = series.iter().rev().take(order).copied().collect();
        let next = fit.evaluate(&newest);
        if aic.is_finite() && next.is_finite() && best.is_none_or(|(best_aic, _)| aic < best_aic) {
            best = Some((aic, next));
        }
    }
    best.map(|(_, next)| next)
}
