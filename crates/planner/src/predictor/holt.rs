//! Holt's linear method: double exponential smoothing of a level and a trend.

use super::intake::{Intake, clamp_forecast};
use super::load_predictor::LoadPredictor;

/// Smoothing factors of [`Holt`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HoltParams {
    /// Level smoothing factor in [0, 1] (default 0.5): the weight of the newest observation.
    pub alpha: f64,
    /// Trend smoothing factor in [0, 1] (default 0.3): the weight of the newest level change.
    pub beta: f64,
}

impl Default for HoltParams {
    /// α = 0.5, β = 0.3: reacts within a few windows to a ramp, yet halves the noise of a
    /// single window. (Values outside [0, 1] are clamped into it.)
    fn default() -> Self {
        Self {
            alpha: 0.5,
            beta: 0.3,
        }
    }
}

/// Double exponential smoothing (Holt's linear method): tracks a level `l` and a trend `b`
/// and forecasts `l + b`.
///
/// Initialisation: the first observation sets the level (forecast = that value); the second
/// sets the level to itself and the trend to the difference of the two. From the third on,
/// with `x` the new value:
///
/// ```text
/// l' = α·x + (1 − α)·(l + b)
/// b' = β·(l' − l) + (1 − β)·b
/// ```
///
/// On an exact linear series the forecast is therefore exact from the second observation on.
/// Forecasts are clamped at 0.
///
/// ```
/// use servesim_planner::predictor::{Holt, HoltParams, LoadPredictor};
///
/// let mut p = Holt::new(HoltParams::default());
/// for v in [10.0, 12.0, 14.0, 16.0] {
///     p.observe(v);
/// }
/// assert!((p.predict() - 18.0).abs() < 1e-9);
/// ```
#[derive(Clone, Debug)]
pub struct Holt {
    alpha: f64,
    beta: f64,
    intake: Intake,
    state: State,
}

/// What Holt's method knows so far.
#[derive(Clone, Copy, Debug)]
enum State {
    Empty,
    Level(f64),
    Smoothing { level: f64, trend: f64 },
}

impl Holt {
    /// A Holt predictor that has seen nothing (it forecasts 0).
    pub fn new(params: HoltParams) -> Self {
        Self {
            alpha: params.alpha.clamp(0.0, 1.0),
            beta: params.beta.clamp(0.0, 1.0),
            intake: Intake::default(),
            state: State::Empty,
        }
    }
}

impl LoadPredictor for Holt {
    fn observe(&mut self, value: f64) {
        let Some(x) = self.intake.admit(value) else {
            return;
        };
        self.state = match self.state {
            State::Empty => State::Level(x),
            State::Level(previous) => State::Smoothing {
                level: x,
                trend: x - previous,
            },
            State::Smoothing { level, trend } => {
                let new_level = self.alpha * x + (1.0 - self.alpha) * (level + trend);
                State::Smoothing {
                    level: new_level,
                    trend: self.beta * (new_level - level) + (1.0 - self.beta) * trend,
                }
            }
        };
    }

    fn predict(&mut self) -> f64 {
        let forecast = match self.state {
            State::Empty => 0.0,
            State::Level(level) => level,
            State::Smoothing { level, trend } => level + trend,
        };
        clamp_forecast(forecast, self.intake.last_or_zero())
    }

    fn name(&self) -> &'static str {
        "holt"
    }
}
