//! Load predictors on series whose next value is known: exact values where the maths gives
//! them, tight bounds where it converges, and the shared conventions (idle prefix, NaN,
//! non-negative forecasts) for every predictor.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::f64::consts::PI;

use proptest::prelude::*;
use servesim_planner::predictor::{
    Arima, Constant, Holt, HoltParams, HoltWinters, HoltWintersParams, Kalman, KalmanParams,
    LoadPredictor, Log1p, MovingAverage, PredictorKind, PredictorSpec, build,
};

/// Feeds `series` and returns the forecast that follows.
fn forecast(predictor: &mut dyn LoadPredictor, series: &[f64]) -> f64 {
    for &v in series {
        predictor.observe(v);
    }
    predictor.predict()
}

fn assert_close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} is not within {tolerance} of {expected}"
    );
}

/// One predictor of every family with default parameters.
fn every_kind(log1p: bool) -> Vec<Box<dyn LoadPredictor>> {
    PredictorKind::ALL
        .into_iter()
        .map(|kind| build(&PredictorSpec::from(kind), log1p))
        .collect()
}

// ---- shared conventions ----

#[test]
fn every_predictor_forecasts_zero_before_any_traffic() {
    for mut p in every_kind(false).into_iter().chain(every_kind(true)) {
        assert_eq!(p.predict(), 0.0, "{}", p.name());
        assert_eq!(
            forecast(p.as_mut(), &[0.0, 0.0, f64::NAN]),
            0.0,
            "{}",
            p.name()
        );
    }
}

#[test]
fn leading_zeros_are_skipped_by_every_predictor() {
    // Leading zeros (and NaN, which counts as 0) must not change any forecast.
    let series = [4.0, 6.0, 5.0, 7.0, 6.0, 8.0, 7.0, 9.0];
    let mut padded = vec![0.0, f64::NAN, 0.0];
    padded.extend(series);
    for (mut plain, mut idle_first) in every_kind(false).into_iter().zip(every_kind(false)) {
        assert_eq!(
            forecast(plain.as_mut(), &series),
            forecast(idle_first.as_mut(), &padded)
        );
    }
}

#[test]
fn nan_infinite_and_negative_values_count_as_zero() {
    let mut constant = Constant::new();
    assert_eq!(forecast(&mut constant, &[3.0, f64::NAN]), 0.0);
    assert_eq!(forecast(&mut constant, &[3.0, f64::INFINITY]), 0.0);
    assert_eq!(forecast(&mut constant, &[3.0, -2.0]), 0.0);
    // After traffic, a NaN window is a real zero: the mean of [2, 0, 4] is 2.
    let mut average = MovingAverage::new(3);
    assert_eq!(forecast(&mut average, &[2.0, f64::NAN, 4.0]), 2.0);
}

#[test]
fn names_match_the_config_names() {
    let names: Vec<&str> = every_kind(true).iter().map(|p| p.name()).collect();
    assert_eq!(
        names,
        [
            "constant",
            "moving_average",
            "holt",
            "kalman",
            "arima",
            "holt_winters"
        ]
    );
}

#[test]
fn kinds_parse_from_the_reference_names_and_servesim_names() {
    for (name, kind) in [
        ("constant", PredictorKind::Constant),
        ("arima", PredictorKind::Arima),
        ("kalman", PredictorKind::Kalman),
        ("prophet", PredictorKind::HoltWinters),
        ("moving_average", PredictorKind::MovingAverage),
        ("holt", PredictorKind::Holt),
        ("holt_winters", PredictorKind::HoltWinters),
    ] {
        assert_eq!(name.parse::<PredictorKind>().unwrap(), kind);
    }
    let error = "Prophet".parse::<PredictorKind>().unwrap_err().to_string();
    assert_eq!(
        error,
        "unknown load predictor `Prophet`; valid: constant, moving_average, holt, kalman, \
         arima, holt_winters, prophet"
    );
}

#[test]
fn kinds_round_trip_through_serde() {
    let kind: PredictorKind = serde_json::from_str("\"prophet\"").unwrap();
    assert_eq!(kind, PredictorKind::HoltWinters);
    assert_eq!(serde_json::to_string(&kind).unwrap(), "\"holt_winters\"");
    let error = serde_json::from_str::<PredictorKind>("\"lstm\"")
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown load predictor `lstm`"), "{error}");
}

#[test]
fn specs_default_from_kinds_and_know_their_kind() {
    for kind in PredictorKind::ALL {
        assert_eq!(PredictorSpec::from(kind).kind(), kind);
    }
    assert_eq!(
        PredictorSpec::from(PredictorKind::Kalman),
        PredictorSpec::Kalman(KalmanParams {
            q_level: 1.0,
            q_trend: 0.1,
            r: 10.0,
            min_points: 5
        })
    );
}

// ---- constant and moving average ----

#[test]
fn constant_forecasts_the_last_value() {
    assert_eq!(forecast(&mut Constant::new(), &[0.0, 0.0, 3.0, 5.0]), 5.0);
}

#[test]
fn moving_average_forecasts_the_mean_of_its_window() {
    assert_eq!(
        forecast(&mut MovingAverage::new(3), &[1.0, 2.0, 3.0, 4.0]),
        3.0
    );
    // Fewer values than the window: the mean of what there is.
    assert_eq!(forecast(&mut MovingAverage::new(3), &[0.0, 2.0, 4.0]), 3.0);
    // A window of 0 is a window of 1.
    assert_eq!(forecast(&mut MovingAverage::new(0), &[2.0, 4.0]), 4.0);
}

// ---- Holt ----

#[test]
fn holt_is_exact_on_a_linear_series_from_the_second_value() {
    let mut p = Holt::new(HoltParams::default());
    p.observe(10.0);
    assert_eq!(p.predict(), 10.0);
    p.observe(13.0);
    // Level 13, trend 3.
    assert_eq!(p.predict(), 16.0);
    for t in 2..20 {
        p.observe(10.0 + 3.0 * f64::from(t));
        assert_close(p.predict(), 10.0 + 3.0 * f64::from(t + 1), 1e-9);
    }
}

#[test]
fn holt_smooths_by_its_factors() {
    // After [10, 20]: level 20, trend 10. Observing 26: level = 0.5·26 + 0.5·(20 + 10) = 28,
    // trend = 0.3·(28 − 20) + 0.7·10 = 9.4, forecast 37.4.
    assert_close(
        forecast(&mut Holt::new(HoltParams::default()), &[10.0, 20.0, 26.0]),
        37.4,
        1e-12,
    );
}

#[test]
fn holt_clamps_a_falling_forecast_at_zero() {
    assert_eq!(
        forecast(&mut Holt::new(HoltParams::default()), &[10.0, 1.0]),
        0.0
    );
}

// ---- Kalman ----

fn kalman(min_points: usize) -> Kalman {
    Kalman::new(KalmanParams {
        min_points,
        ..KalmanParams::default()
    })
}

#[test]
fn kalman_first_point_initialises_the_level() {
    assert_eq!(forecast(&mut kalman(1), &[0.0, 7.0]), 7.0);
}

#[test]
fn kalman_second_point_follows_the_gain_equations() {
    // P₀ = 1000·I. Predict: P = F·P·Fᵀ + Q = [[2001, 1000], [1000, 1000.1]]. Update with
    // R = 10: S = 2011, K = [2001, 1000]/2011; the innovation is 20 − 10 = 10, so the
    // forecast level + trend is 10 + 10·(2001 + 1000)/2011.
    let expected = 10.0 + 10.0 * 3001.0 / 2011.0;
    assert_close(forecast(&mut kalman(1), &[10.0, 20.0]), expected, 1e-12);
}

#[test]
fn kalman_forecasts_the_last_value_until_min_points() {
    let mut p = kalman(5);
    for (i, v) in [10.0, 20.0, 30.0, 40.0].into_iter().enumerate() {
        p.observe(v);
        assert_eq!(p.predict(), v, "after {} points", i + 1);
    }
    p.observe(50.0);
    assert_ne!(p.predict(), 50.0);
}

#[test]
fn kalman_forecasts_a_constant_series_exactly() {
    assert_eq!(forecast(&mut kalman(5), &[12.5; 8]), 12.5);
}

#[test]
fn kalman_tracks_a_ramp_without_steady_state_error() {
    let series: Vec<f64> = (0..60).map(|t| 100.0 + 5.0 * f64::from(t)).collect();
    assert_close(forecast(&mut kalman(5), &series), 400.0, 1e-6);
}

// ---- ARIMA ----

#[test]
fn arima_forecasts_the_last_value_below_five_points() {
    let mut p = Arima::new();
    for v in [3.0, 9.0, 4.0, 8.0] {
        p.observe(v);
        assert_eq!(p.predict(), v);
    }
}

#[test]
fn arima_forecasts_a_constant_series_exactly() {
    assert_eq!(
        forecast(
            &mut Arima::new(),
            &[0.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0]
        ),
        42.0
    );
}

#[test]
fn arima_is_exact_on_an_ar1_series() {
    // x_t = 0.5·x_{t−1} + 10 from x₀ = 4: 4, 12, 16, 18, 19, 19.5, 19.75, …
    let mut series = vec![4.0];
    for _ in 1..12 {
        series.push(0.5 * series[series.len() - 1] + 10.0);
    }
    for n in 5..series.len() {
        let expected = 0.5 * series[n - 1] + 10.0;
        assert_close(forecast(&mut Arima::new(), &series[..n]), expected, 1e-9);
    }
}

#[test]
fn arima_is_exact_on_a_linear_trend() {
    let series: Vec<f64> = (0..30).map(|t| 50.0 + 2.5 * f64::from(t)).collect();
    for n in 5..series.len() {
        let expected = 50.0 + 2.5 * n as f64;
        assert_close(forecast(&mut Arima::new(), &series[..n]), expected, 1e-9);
    }
}

#[test]
fn arima_is_exact_on_an_ar2_oscillation() {
    // x_t − 10 = 1.2·(x_{t−1} − 10) − 0.5·(x_{t−2} − 10): a damped oscillation around 10,
    // stationary, so it is fitted on levels with two lags.
    let mut series = vec![14.0, 7.0];
    for t in 2..40 {
        series.push(10.0 + 1.2 * (series[t - 1] - 10.0) - 0.5 * (series[t - 2] - 10.0));
    }
    let expected = 10.0 + 1.2 * (series[39] - 10.0) - 0.5 * (series[38] - 10.0);
    assert_close(forecast(&mut Arima::new(), &series), expected, 1e-9);
}

#[test]
fn arima_refits_when_new_data_arrives() {
    let mut p = Arima::new();
    let first = forecast(&mut p, &[10.0, 12.0, 14.0, 16.0, 18.0]);
    assert_close(first, 20.0, 1e-9);
    assert_close(forecast(&mut p, &[20.0]), 22.0, 1e-9);
}

#[test]
fn arima_clamps_a_falling_trend_at_zero() {
    assert_eq!(
        forecast(&mut Arima::new(), &[40.0, 30.0, 20.0, 10.0, 1.0]),
        0.0
    );
}

// ---- Holt–Winters ----

fn holt_winters(season_length: usize) -> HoltWinters {
    HoltWinters::new(HoltWintersParams {
        season_length,
        ..HoltWintersParams::default()
    })
}

#[test]
fn holt_winters_is_holt_until_two_full_seasons() {
    let series = [5.0, 9.0, 4.0, 6.0, 10.0];
    let mut hw = holt_winters(3);
    let mut holt = Holt::new(HoltParams::default());
    for v in series {
        hw.observe(v);
        holt.observe(v);
        assert_eq!(hw.predict(), holt.predict());
    }
}

#[test]
fn holt_winters_initialises_from_two_seasons() {
    // x_t = 10 + t + [−1, 2, −1][t mod 3]: 9, 13, 11, 12, 16, 14. Season means a₁ = 11,
    // a₂ = 14, so b = 1; indices [−1, 2, −1]; level 14 + 1·1 = 15 at t = 5; the forecast of
    // t = 6 is 15 + 1 − 1 = 15.
    let series = [9.0, 13.0, 11.0, 12.0, 16.0, 14.0];
    assert_close(forecast(&mut holt_winters(3), &series), 15.0, 1e-12);
}

#[test]
fn holt_winters_is_exact_on_trend_plus_season() {
    let pattern = [3.0, -1.0, 5.0, -4.0, -3.0];
    let value = |t: usize| 50.0 + 0.75 * t as f64 + pattern[t % 5];
    let mut p = holt_winters(5);
    for t in 0..40 {
        p.observe(value(t));
        if t + 1 >= 10 {
            assert_close(p.predict(), value(t + 1), 1e-9);
        }
    }
}

#[test]
fn holt_winters_follows_a_sinusoid_with_the_season_as_period() {
    let period = 24;
    let value = |t: usize| 12.5 + 7.5 * (2.0 * PI * t as f64 / period as f64).sin();
    let mut p = holt_winters(period);
    for t in 0..3 * period {
        p.observe(value(t));
        if t + 1 >= 2 * period {
            let expected = value(t + 1);
            assert_close(p.predict(), expected, 0.01 * expected);
        }
    }
}

// ---- log1p ----

#[test]
fn log1p_round_trips_a_constant_series() {
    for mut p in every_kind(true) {
        assert_close(
            forecast(p.as_mut(), &[0.0, 250.0, 250.0, 250.0, 250.0, 250.0, 250.0]),
            250.0,
            1e-9,
        );
    }
}

#[test]
fn log1p_extrapolates_growth_multiplicatively() {
    // 1 + x doubles every window: linear on the log scale, so Holt continues the doubling.
    let series: Vec<f64> = (0..6).map(|t| 2.0_f64.powi(t) - 1.0).collect();
    let mut p = Log1p::new(Holt::new(HoltParams::default()));
    assert_close(forecast(&mut p, &series), 63.0, 1e-9);
}

// ---- invariants ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn forecasts_are_finite_and_non_negative(
        series in prop::collection::vec(0.0_f64..1e9, 0..80),
        log1p in any::<bool>(),
    ) {
        for mut p in every_kind(log1p) {
            for &v in &series {
                p.observe(v);
                let f = p.predict();
                prop_assert!(f.is_finite() && f >= 0.0, "{} forecast {f}", p.name());
            }
        }
    }

    #[test]
    fn forecasts_stay_finite_and_non_negative_on_any_input(
        series in prop::collection::vec(any::<f64>(), 0..40),
    ) {
        for mut p in every_kind(false).into_iter().chain(every_kind(true)) {
            for &v in &series {
                p.observe(v);
                let f = p.predict();
                prop_assert!(f.is_finite() && f >= 0.0, "{} forecast {f}", p.name());
            }
        }
    }

    #[test]
    fn every_predictor_forecasts_a_constant_series_exactly(
        level in 1e-3_f64..1e6,
        len in 5_usize..40,
    ) {
        for mut p in every_kind(false) {
            let f = forecast(p.as_mut(), &vec![level; len]);
            prop_assert!((f - level).abs() <= 1e-9 * level, "{} forecast {f} for {level}", p.name());
        }
    }
}
