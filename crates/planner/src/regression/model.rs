//! The linear forward-pass time model: bucketed samples, an OLS fit with the physical
//! sanity checks of the reference, and floored predictions.

use super::ols::{self, LinearFit};
use super::samples::BucketedSamples;

/// How many samples a [`PassModel`] keeps, over how many buckets, and how many it needs to
/// fit (the planner config's `max_num_fpm_samples`, `fpm_sample_bucket_size` and
/// `load_min_observations`).
///
/// Any values are accepted, with the reference model's meaning (see [`BucketedSamples`]);
/// rejecting a bucket count that is not a perfect square is the planner config's job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Most samples kept (default 64).
    pub max_samples: usize,
    /// Cells of the retention grid (default 16: 16 buckets for one feature, 4 × 4 for two).
    pub bucket_count: usize,
    /// Samples needed before a fit is attempted (default 5; 0 is taken as 1).
    pub min_observations: usize,
}

impl Default for Retention {
    /// The reference planner's defaults.
    fn default() -> Self {
        Self {
            max_samples: 64,
            bucket_count: 16,
            min_observations: 5,
        }
    }
}

/// What [`PassModel::fit`] concluded. Only `Fitted` leaves the model usable; every
/// other outcome clears the previous fit, so that the planner sees "not ready" rather than
/// acting on a model its data no longer supports (as the reference does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FitOutcome {
    /// The model was fitted and predicts.
    Fitted,
    /// Fewer samples than `min_observations` are held.
    InsufficientData {
        /// Samples held.
        have: usize,
        /// Samples needed.
        need: usize,
    },
    /// The fit gave feature `feature` a negative coefficient — more work, less time — which
    /// is physically impossible, so it is rejected (the first such feature is named).
    NegativeCoefficient {
        /// Index of the offending feature.
        feature: usize,
    },
    /// The least-squares solve failed or produced non-finite values.
    Degenerate,
}

/// Forward-pass wall time (seconds) as an OLS linear function, with intercept, of the
/// features of the pass, learnt online from the engine's forward-pass metrics (the
/// reference's regression perf models).
///
/// * [`add`](Self::add) keeps a sample in a [`BucketedSamples`] store; samples with a
///   wall time of 0 (idle heartbeats) or below are skipped.
/// * [`fit`](Self::fit) refits on every sample held. A fit with a negative coefficient is
///   rejected — except for a *clamped* feature (the decode model's batch size), whose
///   negative coefficient is set to 0 while the intercept and the other coefficients are
///   kept as fitted, as the reference does. A feature that never varied, or varies in
///   lockstep with an earlier one, gets coefficient 0 (see the least-squares notes in the
///   module docs).
/// * [`predict`](Self::predict) evaluates the last successful fit, floored at
///   [`MIN_WALL_TIME_S`](Self::MIN_WALL_TIME_S). Samples added since that fit are used only
///   at the next `fit`.
///
/// ```
/// use servesim_planner::regression::{FitOutcome, PassModel};
///
/// let mut prefill = PassModel::prefill();
/// for tokens in [512.0, 1024.0, 2048.0, 4096.0, 8192.0] {
///     prefill.add(&[tokens], 0.002 + 1e-5 * tokens);
/// }
/// assert_eq!(prefill.fit(), FitOutcome::Fitted);
/// let t = prefill.predict(&[3000.0]).unwrap();
/// assert!((t - 0.032).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct PassModel {
    samples: BucketedSamples,
    min_observations: usize,
    clamped_feature: Option<usize>,
    fit: Option<LinearFit>,
}

impl PassModel {
    /// Predictions never go below this many seconds (a pass always costs something, and
    /// callers divide by it).
    pub const MIN_WALL_TIME_S: f64 = 1e-6;

    /// An unfitted model of `features` features with the default [`Retention`].
    pub fn new(features: usize) -> Self {
        Self::configured(features, Retention::default())
    }

    /// An unfitted model of `features` features with `retention`, no clamped feature.
    fn configured(features: usize, retention: Retention) -> Self {
        Self {
            samples: BucketedSamples::new(features, retention.max_samples, retention.bucket_count),
            min_observations: retention.min_observations,
            clamped_feature: None,
            fit: None,
        }
    }

    /// The prefill model: `x = [sum_prefill_tokens]`.
    pub fn prefill() -> Self {
        Self::new(1)
    }

    /// The decode model: `x = [num_decode_requests, sum_decode_kv_tokens]`, with a negative
    /// batch-size coefficient clamped to 0 rather than rejected (both features grow with the
    /// batch, so under noise the weaker one can flip sign while the KV term carries the cost).
    pub fn decode() -> Self {
        Self::new(2).with_clamped_feature(0)
    }

    /// The aggregated model: `x = [sum_prefill_tokens, sum_decode_kv_tokens]`.
    pub fn agg() -> Self {
        Self::new(2)
    }

    /// The same model with another [`Retention`]; the samples held so far are dropped, so
    /// configure a model before feeding it.
    pub fn with_retention(self, retention: Retention) -> Self {
        Self {
            clamped_feature: self.clamped_feature,
            ..Self::configured(self.features(), retention)
        }
    }

    /// Clamps a negative coefficient of `feature` to 0 instead of rejecting the fit (an
    /// index beyond the features has no effect).
    pub fn with_clamped_feature(mut self, feature: usize) -> Self {
        self.clamped_feature = Some(feature);
        self
    }

    /// Records a forward pass: its features `x` and its wall time. Passes with a wall time
    /// ≤ 0 (idle heartbeats) are skipped, as are malformed ones (wrong number of features,
    /// non-finite values).
    pub fn add(&mut self, x: &[f64], wall_time_s: f64) {
        if wall_time_s > 0.0 {
            self.samples.push(x, wall_time_s);
        }
    }

    /// Refits on the samples held (see [`FitOutcome`]).
    pub fn fit(&mut self) -> FitOutcome {
        let (outcome, fit) = self.try_fit();
        self.fit = fit;
        outcome
    }

    /// The outcome of a refit, and the fit if it succeeded.
    fn try_fit(&self) -> (FitOutcome, Option<LinearFit>) {
        let (have, need) = (self.samples.len(), self.min_observations.max(1));
        if have < need {
            return (FitOutcome::InsufficientData { have, need }, None);
        }
        let (x, y) = self.samples.design();
        let Some(mut fit) = ols::fit(x.view(), y.view()) else {
            return (FitOutcome::Degenerate, None);
        };
        let rejected = fit
            .coefficients
            .iter()
            .enumerate()
            .position(|(feature, &b)| b < 0.0 && Some(feature) != self.clamped_feature);
        if let Some(feature) = rejected {
            return (FitOutcome::NegativeCoefficient { feature }, None);
        }
        if let Some(b) = self
            .clamped_feature
            .and_then(|f| fit.coefficients.get_mut(f))
        {
            *b = b.max(0.0);
        }
        (FitOutcome::Fitted, Some(fit))
    }

    /// The predicted wall time (seconds, ≥ [`MIN_WALL_TIME_S`](Self::MIN_WALL_TIME_S)) of a
    /// pass with features `x`; `None` without a successful fit, or if `x` does not have one
    /// finite value per feature.
    pub fn predict(&self, x: &[f64]) -> Option<f64> {
        let fit = self.fit.as_ref()?;
        if x.len() != self.samples.features() || !x.iter().all(|v| v.is_finite()) {
            return None;
        }
        Some(fit.evaluate(x).max(Self::MIN_WALL_TIME_S))
    }

    /// Whether the last [`fit`](Self::fit) succeeded.
    pub fn is_fitted(&self) -> bool {
        self.fit.is_some()
    }

    /// The fitted intercept (seconds), `None` without a successful fit.
    pub fn intercept(&self) -> Option<f64> {
        self.fit.as_ref().map(|f| f.intercept)
    }

    /// The fitted coefficients (seconds per unit of each feature, after clamping), `None`
    /// without a successful fit.
    pub fn coefficients(&self) -> Option<&[f64]> {
        self.fit.as_ref().map(|f| &f.coefficients[..])
    }

    /// Features per sample.
    pub fn features(&self) -> usize {
        self.samples.features()
    }

    /// Samples held.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether no sample is held.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The retained samples.
    pub fn samples(&self) -> &BucketedSamples {
        &self.samples
    }
}
