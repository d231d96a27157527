//! Regression perf models on exact linear data, their sanity rules (skipped idle passes,
//! minimum observations, rejected or clamped negative coefficients, the prediction floor),
//! the bucketed sample retention, and the running means.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use servesim_planner::regression::{
    BucketedSamples, FitOutcome, MovingAverage, PassModel, Retention,
};

fn assert_close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} is not within {tolerance} of {expected}"
    );
}

fn kept_x(samples: &BucketedSamples) -> Vec<f64> {
    samples.iter().map(|(x, _)| x[0]).collect()
}

// ---- fitting ----

#[test]
fn a_line_is_recovered() {
    let mut model = PassModel::prefill();
    for x in 1..=10 {
        let x = f64::from(x);
        model.add(&[x], 2.0 + 3.0 * x);
    }
    assert_eq!(model.fit(), FitOutcome::Fitted);
    assert_close(model.intercept().unwrap(), 2.0, 1e-9);
    assert_close(model.coefficients().unwrap()[0], 3.0, 1e-9);
    assert_close(model.predict(&[20.0]).unwrap(), 62.0, 1e-9);
}

#[test]
fn a_plane_is_recovered() {
    // Agg: wall = 0.004 + 2e-5·prefill_tokens + 3e-7·decode_kv_tokens, on a 5 × 5 grid.
    let mut model = PassModel::agg();
    for i in 0..5 {
        for j in 0..5 {
            let (p, kv) = (f64::from(i) * 1000.0, f64::from(j) * 20_000.0 + 500.0);
            model.add(&[p, kv], 0.004 + 2e-5 * p + 3e-7 * kv);
        }
    }
    assert_eq!(model.fit(), FitOutcome::Fitted);
    assert_close(model.intercept().unwrap(), 0.004, 1e-12);
    let b = model.coefficients().unwrap();
    assert_close(b[0], 2e-5, 1e-15);
    assert_close(b[1], 3e-7, 1e-15);
    assert_close(
        model.predict(&[2048.0, 50_000.0]).unwrap(),
        0.004 + 0.04096 + 0.015,
        1e-12,
    );
}

#[test]
fn idle_and_malformed_passes_are_skipped() {
    let mut model = PassModel::decode();
    model.add(&[4.0, 4000.0], 0.0);
    model.add(&[4.0, 4000.0], -1.0);
    model.add(&[4.0, 4000.0], f64::NAN);
    model.add(&[4.0], 0.01);
    model.add(&[4.0, f64::INFINITY], 0.01);
    assert!(model.is_empty());
    model.add(&[4.0, 4000.0], 0.01);
    assert_eq!(model.len(), 1);
}

#[test]
fn a_fit_needs_min_observations() {
    let mut model = PassModel::prefill();
    assert_eq!(
        model.fit(),
        FitOutcome::InsufficientData { have: 0, need: 5 }
    );
    for x in 1..=4 {
        model.add(&[f64::from(x)], 1.0);
    }
    assert_eq!(
        model.fit(),
        FitOutcome::InsufficientData { have: 4, need: 5 }
    );
    assert_eq!(model.predict(&[1.0]), None);
    model.add(&[5.0], 1.0);
    assert_eq!(model.fit(), FitOutcome::Fitted);
}

#[test]
fn a_constant_feature_fits_the_mean_wall_time() {
    // Every prefill pass was a full 8192-token chunk: no slope is identifiable, so the model
    // predicts the mean time of a chunk (scikit-learn's answer too).
    let mut model = PassModel::prefill();
    for t in [0.10, 0.11, 0.12, 0.13, 0.14] {
        model.add(&[8192.0], t);
    }
    assert_eq!(model.fit(), FitOutcome::Fitted);
    assert_eq!(model.coefficients().unwrap(), [0.0]);
    assert_close(model.predict(&[4096.0]).unwrap(), 0.12, 1e-12);
}

#[test]
fn a_flat_relationship_is_fitted_not_rejected_for_rounding() {
    // Wall time independent of both features: least squares leaves ±1e-21 slopes, which
    // must come out as 0 rather than as a rejected negative coefficient.
    let mut agg = PassModel::agg();
    for (p, kv) in [
        (100.0, 5.0),
        (250.0, 800.0),
        (1000.0, 30.0),
        (4096.0, 9000.0),
        (8192.0, 100.0),
    ] {
        agg.add(&[p, kv], 1.7);
    }
    assert_eq!(agg.fit(), FitOutcome::Fitted);
    assert_eq!(agg.coefficients().unwrap(), [0.0, 0.0]);
    assert_close(agg.predict(&[500.0, 500.0]).unwrap(), 1.7, 1e-12);
}

#[test]
fn a_negative_coefficient_rejects_the_fit_and_clears_the_previous_one() {
    let mut model = PassModel::prefill();
    for x in 1..=5 {
        model.add(&[f64::from(x)], 1.0 + f64::from(x));
    }
    assert_eq!(model.fit(), FitOutcome::Fitted);
    // Much slower passes at small sizes: the slope over all samples turns negative.
    for x in [0.5, 0.6, 0.7] {
        model.add(&[x], 100.0);
    }
    // Until the refit, the last good fit still predicts.
    assert_close(model.predict(&[2.0]).unwrap(), 3.0, 1e-9);
    assert_eq!(model.fit(), FitOutcome::NegativeCoefficient { feature: 0 });
    assert!(!model.is_fitted());
    assert_eq!(
        (
            model.predict(&[2.0]),
            model.intercept(),
            model.coefficients()
        ),
        (None, None, None)
    );
}

#[test]
fn decode_clamps_a_negative_batch_coefficient_and_keeps_the_rest() {
    // wall = 0.01 − 0.0005·requests + 2e-6·kv exactly, requests and kv independent.
    let samples = [
        (1.0, 1000.0),
        (2.0, 9000.0),
        (4.0, 3000.0),
        (8.0, 20_000.0),
        (16.0, 12_000.0),
        (3.0, 30_000.0),
    ];
    let wall = |n: f64, kv: f64| 0.01 - 0.0005 * n + 2e-6 * kv;
    let mut decode = PassModel::decode();
    let mut agg = PassModel::agg();
    for (n, kv) in samples {
        decode.add(&[n, kv], wall(n, kv));
        agg.add(&[n, kv], wall(n, kv));
    }
    assert_eq!(decode.fit(), FitOutcome::Fitted);
    let b = decode.coefficients().unwrap();
    assert_eq!(b[0], 0.0);
    assert_close(b[1], 2e-6, 1e-15);
    assert_close(decode.intercept().unwrap(), 0.01, 1e-12);
    assert_close(decode.predict(&[100.0, 10_000.0]).unwrap(), 0.03, 1e-12);
    // Without the clamp (the agg model) the same data is rejected.
    assert_eq!(agg.fit(), FitOutcome::NegativeCoefficient { feature: 0 });
}

#[test]
fn decode_still_rejects_a_negative_kv_coefficient() {
    let mut decode = PassModel::decode();
    for (n, kv) in [
        (1.0, 1000.0),
        (2.0, 9000.0),
        (4.0, 3000.0),
        (8.0, 20_000.0),
        (16.0, 12_000.0),
    ] {
        decode.add(&[n, kv], 0.1 + 0.001 * n - 1e-6 * kv);
    }
    assert_eq!(decode.fit(), FitOutcome::NegativeCoefficient { feature: 1 });
}

#[test]
fn predictions_are_floored_at_one_microsecond() {
    // wall = x − 0.5: a negative intercept is allowed, but not a negative prediction.
    let mut model = PassModel::prefill();
    for x in 1..=5 {
        model.add(&[f64::from(x)], f64::from(x) - 0.5);
    }
    assert_eq!(model.fit(), FitOutcome::Fitted);
    assert_eq!(model.predict(&[0.0]), Some(PassModel::MIN_WALL_TIME_S));
    assert_eq!(PassModel::MIN_WALL_TIME_S, 1e-6);
}

#[test]
fn predict_needs_one_finite_value_per_feature() {
    let mut model = PassModel::decode();
    for (n, kv) in [
        (1.0, 100.0),
        (2.0, 900.0),
        (4.0, 300.0),
        (8.0, 2000.0),
        (16.0, 1200.0),
    ] {
        model.add(&[n, kv], 0.01 + 0.001 * n + 1e-5 * kv);
    }
    assert_eq!(model.fit(), FitOutcome::Fitted);
    assert_eq!(model.predict(&[1.0]), None);
    assert_eq!(model.predict(&[1.0, f64::NAN]), None);
    assert!(model.predict(&[1.0, 100.0]).is_some());
}

// ---- configuration ----

#[test]
fn one_feature_uses_sixteen_buckets_and_two_a_four_by_four_grid() {
    let prefill = PassModel::prefill();
    let decode = PassModel::decode();
    assert_eq!(prefill.samples().buckets_per_axis(), 16);
    assert_eq!(decode.samples().buckets_per_axis(), 4);
    assert_eq!(decode.samples().bucket_count(), 16);
    assert_eq!(decode.samples().capacity(), 64);
}

#[test]
fn retention_follows_the_config() {
    let retention = Retention {
        max_samples: 8,
        bucket_count: 9,
        min_observations: 3,
    };
    let mut decode = PassModel::decode().with_retention(retention);
    assert_eq!(
        (
            decode.samples().capacity(),
            decode.samples().buckets_per_axis()
        ),
        (8, 3)
    );
    for n in 1..=3 {
        let n = f64::from(n);
        decode.add(
            &[n, 1000.0 * n * n],
            0.01 - 0.001 * n + 1e-6 * 1000.0 * n * n,
        );
    }
    // Three samples suffice, and the decode clamp survives the reconfiguration.
    assert_eq!(decode.fit(), FitOutcome::Fitted);
    assert_eq!(decode.coefficients().unwrap()[0], 0.0);
    // Not a perfect square: ⌊√8⌋ = 2 buckets per axis, as the reference's model does.
    let agg = PassModel::agg().with_retention(Retention {
        bucket_count: 8,
        ..retention
    });
    assert_eq!(
        (
            agg.samples().buckets_per_axis(),
            agg.samples().bucket_count()
        ),
        (2, 4)
    );
}

#[test]
fn a_store_of_capacity_zero_keeps_nothing() {
    let mut samples = BucketedSamples::new(1, 0, 16);
    samples.push(&[1.0], 1.0);
    assert!(samples.is_empty());
}

// ---- retention ----

#[test]
fn the_oldest_sample_of_the_fullest_bucket_is_retired() {
    // Capacity 4, buckets [0, 5) and [5, 10] once the bounds are [0, 10].
    let mut samples = BucketedSamples::new(1, 4, 2);
    for x in [0.0, 10.0, 1.0, 2.0] {
        samples.push(&[x], 1.0);
    }
    samples.push(&[9.0], 1.0);
    // Low bucket {0, 1, 2} is the fullest: its oldest, 0, goes.
    assert_eq!(kept_x(&samples), [10.0, 1.0, 2.0, 9.0]);
    samples.push(&[3.0], 1.0);
    // Low bucket {1, 2, 3} against high {10, 9}: 1 goes.
    assert_eq!(kept_x(&samples), [10.0, 2.0, 9.0, 3.0]);
}

#[test]
fn equally_full_buckets_give_up_the_oldest_sample() {
    let mut samples = BucketedSamples::new(1, 3, 2);
    for x in [0.0, 10.0, 1.0, 9.0] {
        samples.push(&[x], 1.0);
    }
    // {0, 1} and {10, 9} are both full; 0 is older than 10.
    assert_eq!(kept_x(&samples), [10.0, 1.0, 9.0]);
}

#[test]
fn widening_the_bounds_rebuilds_the_buckets() {
    let mut samples = BucketedSamples::new(1, 4, 2);
    for x in [0.0, 1.0, 2.0, 3.0] {
        samples.push(&[x], 1.0);
    }
    assert_eq!(samples.axis_bounds(0), Some((0.0, 3.0)));
    assert_eq!(
        (samples.bucket_of(&[1.0]), samples.bucket_of(&[2.0])),
        (0, 1)
    );
    // 100 widens the bounds to [0, 100]: 0…3 now all share the low bucket, which is the
    // fullest, so 0 goes. (With the stale buckets {0, 1} {2, 3, 100}, 2 would have gone.)
    samples.push(&[100.0], 1.0);
    assert_eq!(samples.axis_bounds(0), Some((0.0, 100.0)));
    assert_eq!(samples.bucket_of(&[2.0]), 0);
    assert_eq!(kept_x(&samples), [1.0, 2.0, 3.0, 100.0]);
}

#[test]
fn bounds_only_widen() {
    let mut samples = BucketedSamples::new(1, 2, 2);
    for x in [0.0, 10.0, 5.0, 6.0, 7.0] {
        samples.push(&[x], 1.0);
    }
    assert_eq!(samples.axis_bounds(0), Some((0.0, 10.0)));
    assert_eq!(samples.axis_bounds(1), None);
}

#[test]
fn two_features_bucket_on_a_grid_first_feature_most_significant() {
    let mut samples = BucketedSamples::new(2, 64, 4);
    samples.push(&[0.0, 0.0], 1.0);
    samples.push(&[10.0, 10.0], 1.0);
    assert_eq!(samples.bucket_of(&[1.0, 1.0]), 0);
    assert_eq!(samples.bucket_of(&[1.0, 9.0]), 1);
    assert_eq!(samples.bucket_of(&[9.0, 1.0]), 2);
    assert_eq!(samples.bucket_of(&[9.0, 9.0]), 3);
    assert_eq!(samples.bucket_of(&[5.0, 5.0]), 3);
}

#[test]
fn a_hundred_samples_keep_sixty_four_covering_every_bucket_with_data() {
    let mut model = PassModel::prefill();
    // Most passes at small sizes, a few large ones: a FIFO window would keep only the
    // recent small ones; the buckets keep the large ones.
    let xs: Vec<f64> = (0..100)
        .map(|i| {
            if i % 10 == 0 {
                8000.0 + f64::from(i)
            } else {
                f64::from(i % 10) * 50.0
            }
        })
        .collect();
    for &x in &xs {
        model.add(&[x], 0.001 + 1e-5 * x);
    }
    let samples = model.samples();
    assert_eq!(samples.len(), 64);
    let cells_fed: std::collections::BTreeSet<usize> =
        xs.iter().map(|&x| samples.bucket_of(&[x])).collect();
    let cells_kept: std::collections::BTreeSet<usize> =
        samples.iter().map(|(x, _)| samples.bucket_of(x)).collect();
    assert_eq!(cells_kept, cells_fed);
    assert_eq!(model.fit(), FitOutcome::Fitted);
    assert_close(model.predict(&[4000.0]).unwrap(), 0.041, 1e-12);
}

// ---- running means ----

#[test]
fn the_running_mean_skips_leading_zeros_over_a_window_of_64() {
    let mut mean = MovingAverage::default();
    assert_eq!(mean.mean(), None);
    mean.push(0.0);
    mean.push(0.0);
    assert_eq!(mean.mean(), None);
    for v in 1..=100 {
        mean.push(f64::from(v));
    }
    // The last 64 values, 37…100.
    assert_eq!(mean.len(), 64);
    assert_eq!(mean.mean(), Some(68.5));
    // Zeros after the traffic has started are real.
    let mut mean = MovingAverage::default();
    for v in [0.0, 4.0, 0.0] {
        mean.push(v);
    }
    assert_eq!(mean.mean(), Some(2.0));
}

// ---- invariants ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn retention_never_exceeds_capacity_and_predictions_respect_the_floor(
        passes in prop::collection::vec((0.0_f64..16.0, 0.0_f64..100_000.0, 0.0_f64..0.2), 0..150),
    ) {
        let mut model = PassModel::decode();
        for &(n, kv, wall) in &passes {
            model.add(&[n.floor(), kv.floor()], wall);
            prop_assert!(model.len() <= 64);
        }
        if model.fit() == FitOutcome::Fitted {
            let b = model.coefficients().unwrap();
            prop_assert!(b.iter().all(|&b| b >= 0.0));
            for &(n, kv, _) in &passes {
                let t = model.predict(&[n, kv]).unwrap();
                prop_assert!(t.is_finite() && t >= PassModel::MIN_WALL_TIME_S);
            }
        } else {
            prop_assert_eq!(model.predict(&[1.0, 1.0]), None);
        }
    }

    #[test]
    fn exact_lines_are_recovered_from_any_spread_of_points(
        xs in prop::collection::btree_set(0_u32..100_000, 5..64),
        intercept in 1e-4_f64..0.1,
        slope in 1e-8_f64..1e-4,
    ) {
        let mut model = PassModel::prefill();
        for &x in &xs {
            model.add(&[f64::from(x)], intercept + slope * f64::from(x));
        }
        prop_assert_eq!(model.fit(), FitOutcome::Fitted);
        prop_assert!((model.intercept().unwrap() - intercept).abs() <= 1e-9);
        prop_assert!((model.coefficients().unwrap()[0] - slope).abs() <= 1e-12);
    }
}
