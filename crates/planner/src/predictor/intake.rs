//! The input and output hygiene every load predictor shares, so that all of them see the same
//! cleaned series and return the same kind of forecast.

/// Maps a raw observation to a load value: NaN, infinities and negatives become 0.
///
/// A load (a request count, a mean length) is finite and non-negative; a window without
/// traffic reports NaN means, which is no load.
pub(crate) fn sanitize(raw: f64) -> f64 {
    if raw.is_finite() && raw > 0.0 {
        raw
    } else {
        0.0
    }
}

/// Makes a forecast finite and non-negative: NaN becomes `fallback` (a value already seen),
/// negatives become 0 and +∞ becomes `f64::MAX`.
pub(crate) fn clamp_forecast(forecast: f64, fallback: f64) -> f64 {
    if forecast.is_nan() {
        fallback
    } else {
        forecast.clamp(0.0, f64::MAX)
    }
}

/// The front door of a predictor: sanitises observations and drops the idle prefix of the
/// series (the leading zeros before the first traffic), as the reference does, so that a
/// quiet start does not drag the first forecasts towards 0.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Intake {
    last: Option<f64>,
}

impl Intake {
    /// The sanitised `raw`, or `None` while the series is still in its idle prefix.
    pub(crate) fn admit(&mut self, raw: f64) -> Option<f64> {
        let value = sanitize(raw);
        if self.last.is_none() && value == 0.0 {
            return None;
        }
        self.last = Some(value);
        Some(value)
    }

    /// The last admitted value, 0 before the first traffic: the forecast of predictors that
    /// have not seen enough of the series yet.
    pub(crate) fn last_or_zero(&self) -> f64 {
        self.last.unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_maps_invalid_loads_to_zero() {
        for raw in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, -0.0] {
            assert_eq!(sanitize(raw), 0.0, "{raw}");
        }
        assert_eq!(sanitize(2.5), 2.5);
    }

    #[test]
    fn clamp_forecast_is_finite_and_non_negative() {
        assert_eq!(clamp_forecast(f64::NAN, 3.0), 3.0);
        assert_eq!(clamp_forecast(-4.0, 3.0), 0.0);
        assert_eq!(clamp_forecast(f64::INFINITY, 3.0), f64::MAX);
        assert_eq!(clamp_forecast(7.0, 3.0), 7.0);
    }

    #[test]
    fn intake_skips_only_the_leading_zeros() {
        let mut intake = Intake::default();
        assert_eq!(intake.admit(0.0), None);
        assert_eq!(intake.admit(f64::NAN), None);
        assert_eq!(intake.last_or_zero(), 0.0);
        assert_eq!(intake.admit(2.0), Some(2.0));
        assert_eq!(intake.admit(0.0), Some(0.0));
        assert_eq!(intake.admit(-3.0), Some(0.0));
        assert_eq!(intake.last_or_zero(), 0.0);
        assert_eq!(intake.admit(5.0), Some(5.0));
        assert_eq!(intake.last_or_zero(), 5.0);
    }
}
