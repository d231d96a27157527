//! The moving average: a predictor for noisy, level loads, and the planner's running means.

use std::collections::VecDeque;

use super::intake::Intake;
use super::load_predictor::LoadPredictor;

/// Mean of the last `window` observed values, skipping the leading zeros of the series.
///
/// As a load predictor it forecasts that mean (0 before any traffic). The same type keeps
/// the planner's running means of per-pass quantities (average ISL, decode length, numbers
/// of prefills and decodes, prefill tokens), for which the reference uses a window of 64
/// ([`MovingAverage::DEFAULT_WINDOW`]) and reports nothing until a non-zero value arrives.
///
/// The mean is recomputed from the window on every call rather than kept as a running sum,
/// so it never accumulates rounding drift over a long replay.
///
/// ```
/// use servesim_planner::predictor::{LoadPredictor, MovingAverage};
///
/// let mut avg = MovingAverage::new(3);
/// assert_eq!(avg.mean(), None);
/// for v in [1.0, 2.0, 3.0, 4.0] {
///     avg.push(v);
/// }
/// assert_eq!(avg.mean(), Some(3.0));
/// assert_eq!(avg.predict(), 3.0);
/// ```
#[derive(Clone, Debug)]
pub struct MovingAverage {
    window: usize,
    intake: Intake,
    values: VecDeque<f64>,
}

impl MovingAverage {
    /// The reference's window for the planner's running means (`max_num_fpm_samples`).
    pub const DEFAULT_WINDOW: usize = 64;

    /// An empty average over the last `window` values (a window of 0 is taken as 1).
    pub fn new(window: usize) -> Self {
        let window = window.max(1);
        Self {
            window,
            intake: Intake::default(),
            values: VecDeque::with_capacity(window),
        }
    }

    /// Adds a value (NaN, infinite or negative values count as 0; leading zeros are skipped).
    pub fn push(&mut self, value: f64) {
        let Some(value) = self.intake.admit(value) else {
            return;
        };
        if self.values.len() == self.window {
            self.values.pop_front();
        }
        self.values.push_back(value);
    }

    /// The mean of the values in the window, `None` before the first non-zero value.
    pub fn mean(&self) -> Option<f64> {
        if self.values.is_empty() {
            return None;
        }
        Some(self.values.iter().sum::<f64>() / self.values.len() as f64)
    }

    /// How many values the window holds.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the window holds no value yet.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl Default for MovingAverage {
    /// An average over [`MovingAverage::DEFAULT_WINDOW`] values.
    fn default() -> Self {
        Self::new(Self::DEFAULT_WINDOW)
    }
}

impl LoadPredictor for MovingAverage {
    fn observe(&mut self, value: f64) {
        self.push(value);
    }

    fn predict(&mut self) -> f64 {
        self.mean().unwrap_or(0.0)
    }

    fn name(&self) -> &'static str {
        "moving_average"
    }
}
