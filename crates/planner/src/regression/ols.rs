//! Ordinary least squares with an intercept, on `linfa-linear`, made safe for the
//! rank-deficient designs an online planner meets (a feature that never varies, two
//! features that move in lockstep).

use linfa::Dataset;
use linfa::traits::Fit;
use linfa_linear::LinearRegression;
use ndarray::{Array1, ArrayView1, ArrayView2, Axis};

/// A column whose centred part, once the earlier kept columns are projected out, keeps less
/// than this fraction of its norm carries no information of its own: it is left out of the
/// solve and gets coefficient 0.
const DEPENDENCE_TOLERANCE: f64 = 1e-10;

/// A coefficient whose effect over the sampled range of its feature is below this fraction
/// of the largest |y| is rounding noise, not a slope: it is set to exactly 0 (so that the sign
/// of a flat relationship's slope is not decided by the last bit of a float).
const NEGLIGIBLE_EFFECT: f64 = 1e-9;

/// A fitted `y ≈ intercept + Σ coefficients[j]·x[j]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LinearFit {
    pub(crate) intercept: f64,
    pub(crate) coefficients: Vec<f64>,
}

impl LinearFit {
    /// The fitted value at `x` (which has one value per coefficient).
    pub(crate) fn evaluate(&self, x: &[f64]) -> f64 {
        self.intercept
            + self
                .coefficients
                .iter()
                .zip(x)
                .map(|(b, v)| b * v)
                .sum::<f64>()
    }
}

/// Least-squares fit of `y` on the columns of `x` with an intercept.
///
/// Columns that are (numerically) constant or linear combinations of earlier columns are
/// left out and get coefficient 0, like R's `lm` leaves aliased coefficients out: the
/// solution is then unique, and a constant feature yields the intercept-only mean, as
/// scikit-learn's minimum-norm solution does. The remaining, full-rank problem is solved by
/// `linfa-linear` (Householder QR). Coefficients of negligible effect are then snapped to 0
/// (see [`NEGLIGIBLE_EFFECT`]). `None` if there are no rows, the shapes disagree, or the solve
/// fails or is not finite.
pub(crate) fn fit(x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Option<LinearFit> {
    let (rows, features) = x.dim();
    if rows == 0 || y.len() != rows {
        return None;
    }
    let kept = independent_columns(x);
    let mut coefficients = vec![0.0; features];
    let intercept = if kept.is_empty() {
        y.mean()?
    } else {
        let dataset = Dataset::new(x.select(Axis(1), &kept), y.to_owned());
        let fitted = LinearRegression::new().fit(&dataset).ok()?;
        for (&column, &b) in kept.iter().zip(fitted.params()) {
            coefficients[column] = b;
        }
        fitted.intercept()
    };
    let y_scale = y.fold(0.0_f64, |m, v| m.max(v.abs()));
    for (b, column) in coefficients.iter_mut().zip(x.axis_iter(Axis(1))) {
        let (lo, hi) = column.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
        if (*b * (hi - lo)).abs() <= NEGLIGIBLE_EFFECT * y_scale {
            *b = 0.0;
        }
    }
    let fit = LinearFit {
        intercept,
        coefficients,
    };
    (fit.intercept.is_finite() && fit.coefficients.iter().all(|b| b.is_finite())).then_some(fit)
}

/// Indices of the columns of `x` that add a direction to the span of the intercept and the
/// columns kept before them (modified Gram–Schmidt on the centred columns).
fn independent_columns(x: ArrayView2<'_, f64>) -> Vec<usize> {
    let mut basis: Vec<Array1<f64>> = Vec::new();
    let mut kept = Vec::new();
    for (index, column) in x.axis_iter(Axis(1)).enumerate() {
        let mean = column.mean().unwrap_or(0.0);
        let mut residual = column.mapv(|v| v - mean);
        let norm = residual.dot(&residual).sqrt();
        for direction in &basis {
            let projection = direction.dot(&residual);
            residual.scaled_add(-projection, direction);
        }
        let residual_norm = residual.dot(&residual).sqrt();
        if residual_norm > DEPENDENCE_TOLERANCE * norm {
            residual /= residual_norm;
            basis.push(residual);
            kept.push(index);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn recovers_an_exact_plane() {
        let x = array![[0.0, 1.0], [1.0, 0.0], [2.0, 3.0], [3.0, 1.0], [4.0, 5.0]];
        let y = x.map_axis(Axis(1), |r| 1.0 + 2.0 * r[0] + 0.5 * r[1]);
        let fit = fit(x.view(), y.view()).unwrap();
        assert!((fit.intercept - 1.0).abs() < 1e-12);
        assert!((fit.coefficients[0] - 2.0).abs() < 1e-12);
        assert!((fit.coefficients[1] - 0.5).abs() < 1e-12);
        assert!((fit.evaluate(&[10.0, 2.0]) - 22.0).abs() < 1e-10);
    }

    #[test]
    fn a_constant_feature_gets_zero_and_the_intercept_the_mean() {
        let x = array![[8.0], [8.0], [8.0]];
        let y = array![1.0, 2.0, 6.0];
        let fit = fit(x.view(), y.view()).unwrap();
        assert_eq!(fit.coefficients, vec![0.0]);
        assert_eq!(fit.intercept, 3.0);
    }

    #[test]
    fn a_collinear_feature_is_left_out() {
        // The second column is 100× the first: only the first carries the slope.
        let x = array![[1.0, 100.0], [2.0, 200.0], [3.0, 300.0], [5.0, 500.0]];
        let y = array![3.0, 5.0, 7.0, 11.0];
        let fit = fit(x.view(), y.view()).unwrap();
        assert!((fit.coefficients[0] - 2.0).abs() < 1e-12);
        assert_eq!(fit.coefficients[1], 0.0);
        assert!((fit.intercept - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_flat_relationship_has_an_exact_zero_slope() {
        // Least squares leaves ±1e-21-sized slopes here; they must not read as negative.
        let x = array![
            [100.0, 5.0],
            [250.0, 800.0],
            [1000.0, 30.0],
            [4096.0, 9000.0],
            [333.0, 7.0]
        ];
        let y = array![0.3, 0.3, 0.3, 0.3, 0.3];
        let fit = fit(x.view(), y.view()).unwrap();
        assert_eq!(fit.coefficients, vec![0.0, 0.0]);
        assert!((fit.intercept - 0.3).abs() < 1e-15);
    }

    #[test]
    fn no_rows_is_no_fit() {
        let x = ndarray::Array2::<f64>::zeros((0, 1));
        let y = ndarray::Array1::<f64>::zeros(0);
        assert_eq!(fit(x.view(), y.view()), None);
    }
}
