//! The constant predictor: tomorrow looks like today.

use super::intake::Intake;
use super::load_predictor::LoadPredictor;

/// Forecasts the last observed value (the reference's `constant` predictor).
///
/// The baseline every other predictor should beat; also the right choice for a load that
/// changes in steps rather than trends.
///
/// ```
/// use servesim_planner::predictor::{Constant, LoadPredictor};
///
/// let mut p = Constant::new();
/// for v in [0.0, 0.0, 3.0, 5.0] {
///     p.observe(v);
/// }
/// assert_eq!(p.predict(), 5.0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Constant {
    intake: Intake,
}

impl Constant {
    /// A constant predictor that has seen nothing (it forecasts 0).
    pub fn new() -> Self {
        Self::default()
    }
}

impl LoadPredictor for Constant {
    fn observe(&mut self, value: f64) {
        self.intake.admit(value);
    }

    fn predict(&mut self) -> f64 {
        self.intake.last_or_zero()
    }

    fn name(&self) -> &'static str {
        "constant"
    }
}
