//! Additive Holt–Winters: level, trend and a repeating season, for periodic (diurnal,
//! sinusoidal) loads. servesim's stand-in for the reference's `prophet` predictor.

use super::holt::{Holt, HoltParams};
use super::intake::{Intake, clamp_forecast};
use super::load_predictor::LoadPredictor;

/// Smoothing factors and season length of [`HoltWinters`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HoltWintersParams {
    /// Windows per season (default 24); set it to the load's period divided by the planner
    /// interval. 0 is taken as 1.
    pub season_length: usize,
    /// Level smoothing factor in [0, 1] (default 0.5).
    pub alpha: f64,
    /// Trend smoothing factor in [0, 1] (default 0.3).
    pub beta: f64,
    /// Seasonal smoothing factor in [0, 1] (default 0.3).
    pub gamma: f64,
}

impl Default for HoltWintersParams {
    /// A 24-window season with [`Holt`]'s α and β (so the warm-up and the seasonal phase
    /// react alike) and γ = 0.3.
    fn default() -> Self {
        let holt = HoltParams::default();
        Self {
            season_length: 24,
            alpha: holt.alpha,
            beta: holt.beta,
            gamma: 0.3,
        }
    }
}

/// Additive Holt–Winters with season length `m`.
///
/// **Warm-up.** Until `2m` observations have been seen it forecasts as [`Holt`] with the same
/// α and β. At `2m` it initialises from the two full seasons (classical decomposition): with
/// `a₁`, `a₂` the means of the seasons, the trend is `b = (a₂ − a₁)/m`, the seasonal index of
/// position `i` is the mean over both seasons of `x − aⱼ − b·(i − (m−1)/2)` (so the indices
/// sum to 0), and the level is `a₂ + b·(m−1)/2`, the deseasonalised value at the last point.
///
/// **Seasonal phase.** With `s` the index of the position of the new value `x`:
///
/// ```text
/// l' = α·(x − s) + (1 − α)·(l + b)
/// b' = β·(l' − l) + (1 − β)·b
/// s' = γ·(x − l') + (1 − γ)·s
/// forecast = l' + b' + (index of the next position)
/// ```
///
/// A linear trend plus any pattern repeating every `m` windows is therefore forecast exactly
/// from observation `2m` on. Forecasts are clamped at 0.
///
/// The reference's `prophet` predictor (a Prophet model refitted on the last 50 windows)
/// maps to this one: both capture a trend and a seasonality, but this one is online, O(m)
/// in memory and deterministic.
///
/// ```
/// use servesim_planner::predictor::{HoltWinters, HoltWintersParams, LoadPredictor};
///
/// let params = HoltWintersParams { season_length: 3, ..HoltWintersParams::default() };
/// let mut p = HoltWinters::new(params);
/// for v in [1.0, 5.0, 3.0, 1.0, 5.0, 3.0, 1.0] {
///     p.observe(v);
/// }
/// assert!((p.predict() - 5.0).abs() < 1e-9);
/// ```
#[derive(Clone, Debug)]
pub struct HoltWinters {
    season_length: usize,
    factors: Factors,
    intake: Intake,
    phase: Phase,
}

/// Where a [`HoltWinters`] is in its life.
#[derive(Clone, Debug)]
enum Phase {
    /// Fewer than two seasons seen: Holt forecasts; the values wait for the initialisation.
    WarmingUp { holt: Holt, values: Vec<f64> },
    /// Smoothing level, trend and seasonal indices.
    Seasonal(Components),
}

/// The smoothing factors α, β, γ, each in [0, 1].
#[derive(Clone, Copy, Debug)]
struct Factors {
    alpha: f64,
    beta: f64,
    gamma: f64,
}

/// The state of the seasonal phase.
#[derive(Clone, Debug)]
struct Components {
    level: f64,
    trend: f64,
    /// One index per position in the season.
    season: Vec<f64>,
    /// Position in the season of the next observation.
    next: usize,
}

impl HoltWinters {
    /// A predictor that has seen nothing (it forecasts 0).
    pub fn new(params: HoltWintersParams) -> Self {
        let season_length = params.season_length.max(1);
        let holt = Holt::new(HoltParams {
            alpha: params.alpha,
            beta: params.beta,
        });
        Self {
            season_length,
            factors: Factors {
                alpha: params.alpha.clamp(0.0, 1.0),
                beta: params.beta.clamp(0.0, 1.0),
                gamma: params.gamma.clamp(0.0, 1.0),
            },
            intake: Intake::default(),
            phase: Phase::WarmingUp {
                holt,
                values: Vec::new(),
            },
        }
    }
}

impl Components {
    /// Classical initialisation from exactly two seasons of values (see [`HoltWinters`]).
    fn from_two_seasons(values: &[f64], m: usize) -> Self {
        let (first, second) = values.split_at(m);
        let mean = |s: &[f64]| s.iter().sum::<f64>() / m as f64;
        let (a1, a2) = (mean(first), mean(second));
        let trend = (a2 - a1) / m as f64;
        let centre = (m as f64 - 1.0) / 2.0;
        let season = (0..m)
            .map(|i| {
                let offset = trend * (i as f64 - centre);
                ((first[i] - a1 - offset) + (second[i] - a2 - offset)) / 2.0
            })
            .collect();
        Self {
            level: a2 + trend * centre,
            trend,
            season,
            next: 0,
        }
    }

    /// One seasonal smoothing step with the observation `x`.
    fn smooth(&mut self, x: f64, f: Factors) {
        let index = self.season[self.next];
        let level = f.alpha * (x - index) + (1.0 - f.alpha) * (self.level + self.trend);
        self.trend = f.beta * (level - self.level) + (1.0 - f.beta) * self.trend;
        self.level = level;
        self.season[self.next] = f.gamma * (x - level) + (1.0 - f.gamma) * index;
        self.next = (self.next + 1) % self.season.len();
    }

    /// The forecast of the next observation.
    fn forecast(&self) -> f64 {
        self.level + self.trend + self.season[self.next]
    }
}

impl LoadPredictor for HoltWinters {
    fn observe(&mut self, value: f64) {
        let Some(x) = self.intake.admit(value) else {
            return;
        };
        match &mut self.phase {
            Phase::WarmingUp { holt, values } => {
                holt.observe(x);
                values.push(x);
                if values.len() == self.season_length.saturating_mul(2) {
                    let components = Components::from_two_seasons(values, self.season_length);
                    self.phase = Phase::Seasonal(components);
                }
            }
            Phase::Seasonal(components) => components.smooth(x, self.factors),
        }
    }

    fn predict(&mut self) -> f64 {
        match &mut self.phase {
            Phase::WarmingUp { holt, .. } => holt.predict(),
            Phase::Seasonal(c) => clamp_forecast(c.forecast(), self.intake.last_or_zero()),
        }
    }

    fn name(&self) -> &'static str {
        "holt_winters"
    }
}
