//! A Kalman filter on a local-linear-trend model (the reference's `kalman` predictor).

use super::intake::{Intake, clamp_forecast};
use super::load_predictor::LoadPredictor;

/// Noise parameters and warm-up of [`Kalman`] (the planner config's `kalman_*` keys).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KalmanParams {
    /// Process noise of the level, `kalman_q_level` (default 1.0).
    pub q_level: f64,
    /// Process noise of the trend, `kalman_q_trend` (default 0.1).
    pub q_trend: f64,
    /// Measurement noise, `kalman_r` (default 10.0).
    pub r: f64,
    /// Observations before the filter's forecast is used, `kalman_min_points` (default 5);
    /// until then the last value is forecast.
    pub min_points: usize,
}

impl Default for KalmanParams {
    /// The reference planner's defaults.
    fn default() -> Self {
        Self {
            q_level: 1.0,
            q_trend: 0.1,
            r: 10.0,
            min_points: 5,
        }
    }
}

/// Initial variance of the level and of the trend (P₀ = 1000·I): the first observations
/// dominate the prior.
const INITIAL_VARIANCE: f64 = 1000.0;

/// Kalman filter of a local linear trend: the state is (level, trend), the transition
/// F = [[1, 1], [0, 1]], the observation H = [1, 0], the process noise
/// Q = diag(q_level, q_trend), the measurement noise R = r and P₀ = 1000·I.
///
/// The first observation initialises the level (trend 0); every later one runs a predict
/// step then an update step. The forecast is the one-step-ahead `level + trend`, used once
/// `min_points` observations have been seen (the last value before), clamped at 0.
///
/// A constant series is forecast exactly; a linear ramp is tracked with no steady-state
/// error (the filter is a type-2 tracker), converging geometrically.
///
/// ```
/// use servesim_planner::predictor::{Kalman, KalmanParams, LoadPredictor};
///
/// let mut p = Kalman::new(KalmanParams::default());
/// for _ in 0..6 {
///     p.observe(12.0);
/// }
/// assert_eq!(p.predict(), 12.0);
/// ```
#[derive(Clone, Debug)]
pub struct Kalman {
    params: KalmanParams,
    intake: Intake,
    seen: usize,
    level: f64,
    trend: f64,
    /// The symmetric covariance [[p_ll, p_lt], [p_lt, p_tt]].
    p_ll: f64,
    p_lt: f64,
    p_tt: f64,
}

impl Kalman {
    /// A filter that has seen nothing (it forecasts 0).
    pub fn new(params: KalmanParams) -> Self {
        Self {
            params,
            intake: Intake::default(),
            seen: 0,
            level: 0.0,
            trend: 0.0,
            p_ll: INITIAL_VARIANCE,
            p_lt: 0.0,
            p_tt: INITIAL_VARIANCE,
        }
    }

    /// One predict + update step of the filter with the observation `y`.
    fn step(&mut self, y: f64) {
        // Predict: x = F·x, P = F·P·Fᵀ + Q.
        let level = self.level + self.trend;
        let p_ll = self.p_ll + 2.0 * self.p_lt + self.p_tt + self.params.q_level;
        let p_lt = self.p_lt + self.p_tt;
        let p_tt = self.p_tt + self.params.q_trend;
        // Update: K = P·Hᵀ / (H·P·Hᵀ + R), x += K·(y − H·x), P = (I − K·H)·P.
        let innovation_variance = p_ll + self.params.r;
        if innovation_variance.is_nan() || innovation_variance <= 0.0 {
            // Only a misconfigured R ≤ −P can get here: keep the prediction, skip the update.
            (self.level, self.p_ll, self.p_lt, self.p_tt) = (level, p_ll, p_lt, p_tt);
            return;
        }
        let gain_level = p_ll / innovation_variance;
        let gain_trend = p_lt / innovation_variance;
        let innovation = y - level;
        self.level = level + gain_level * innovation;
        self.trend += gain_trend * innovation;
        self.p_ll = (1.0 - gain_level) * p_ll;
        self.p_lt = (1.0 - gain_level) * p_lt;
        self.p_tt = p_tt - gain_trend * p_lt;
    }
}

impl LoadPredictor for Kalman {
    fn observe(&mut self, value: f64) {
        let Some(y) = self.intake.admit(value) else {
            return;
        };
        if self.seen == 0 {
            self.level = y;
        } else {
            self.step(y);
        }
        self.seen += 1;
    }

    fn predict(&mut self) -> f64 {
        let last = self.intake.last_or_zero();
        if self.seen < self.params.min_points.max(1) {
            return last;
        }
        clamp_forecast(self.level + self.trend, last)
    }

    fn name(&self) -> &'static str {
        "kalman"
    }
}
