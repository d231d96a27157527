//! Bounded retention of regression samples that keeps the whole operating range covered.

use std::collections::{BTreeMap, VecDeque};

use ndarray::{Array1, Array2};

/// One retained observation.
#[derive(Clone, Debug)]
struct Sample {
    x: Vec<f64>,
    wall_time_s: f64,
}

/// At most `capacity` samples `(x, wall_time_s)`, retired so that every part of the
/// observed feature range keeps its share (the reference's bucketed FPM retention).
///
/// A FIFO window would let a sustained operating point push out everything else and
/// leave the regression blind elsewhere. Instead each feature axis is cut into equal-width
/// buckets between the smallest and largest value ever added on that axis (bounds only
/// widen), giving a grid of about `bucket_count` cells: `bucket_count` buckets on the one
/// axis of a 1-feature model, `⌊√bucket_count⌋` per axis for 2 features (in general the
/// largest `r` with `r^features ≤ bucket_count`, and at least 1). The planner config requires
/// a perfect square, so the 2-feature grid is exact. When a sample takes the total
/// over `capacity`, the **oldest sample of the fullest cell** is dropped; among equally full
/// cells, the one whose oldest sample is oldest. Cells are always computed against the
/// current bounds, so a sample that widens the bounds re-buckets everything (the
/// reference's rebuild).
///
/// ```
/// use servesim_planner::regression::BucketedSamples;
///
/// let mut samples = BucketedSamples::new(1, 3, 2);
/// for (x, t) in [(0.0, 1.0), (10.0, 2.0), (1.0, 1.1), (2.0, 1.2)] {
///     samples.push(&[x], t);
/// }
/// // Cells [0, 5) and [5, 10]: the fullest is the first, whose oldest sample (x = 0) goes.
/// let kept: Vec<f64> = samples.iter().map(|(x, _)| x[0]).collect();
/// assert_eq!(kept, [10.0, 1.0, 2.0]);
/// ```
#[derive(Clone, Debug)]
pub struct BucketedSamples {
    features: usize,
    capacity: usize,
    per_axis: usize,
    bucket_count: usize,
    lower: Vec<f64>,
    upper: Vec<f64>,
    /// Oldest first.
    samples: VecDeque<Sample>,
}

impl BucketedSamples {
    /// An empty store of samples with `features` values each, keeping at most `capacity`
    /// (0 keeps nothing), over a grid of about `bucket_count` cells.
    pub fn new(features: usize, capacity: usize, bucket_count: usize) -> Self {
        let per_axis = buckets_per_axis(bucket_count, features);
        Self {
            features,
            capacity,
            per_axis,
            bucket_count: (0..features).fold(1, |cells, _| cells * per_axis),
            lower: vec![f64::INFINITY; features],
            upper: vec![f64::NEG_INFINITY; features],
            samples: VecDeque::with_capacity(capacity.saturating_add(1)),
        }
    }

    /// Adds a sample, retiring one if the store is over capacity. A sample whose `x` does
    /// not have one finite value per feature, or whose wall time is not finite, is ignored.
    pub fn push(&mut self, x: &[f64], wall_time_s: f64) {
        if x.len() != self.features || !x.iter().all(|v| v.is_finite()) || !wall_time_s.is_finite()
        {
            return;
        }
        for (axis, &v) in x.iter().enumerate() {
            self.lower[axis] = self.lower[axis].min(v);
            self.upper[axis] = self.upper[axis].max(v);
        }
        self.samples.push_back(Sample {
            x: x.to_vec(),
            wall_time_s,
        });
        if self.samples.len() > self.capacity {
            self.retire_one();
        }
    }

    /// Drops the oldest sample of the fullest cell (ties: the cell with the oldest sample).
    fn retire_one(&mut self) {
        let cells: Vec<usize> = self.samples.iter().map(|s| self.bucket_of(&s.x)).collect();
        let mut counts = BTreeMap::new();
        for &cell in &cells {
            *counts.entry(cell).or_insert(0_usize) += 1;
        }
        let fullest = counts.values().copied().max().unwrap_or(0);
        if let Some(oldest) = cells
            .iter()
            .position(|cell| counts.get(cell) == Some(&fullest))
        {
            self.samples.remove(oldest);
        }
    }

    /// The grid cell of `x` under the current bounds, in `0..bucket_count()`: the per-axis
    /// bucket indices read as the digits of a base-`buckets_per_axis()` number, the first
    /// feature most significant. An axis whose bounds are still a single value has one
    /// bucket (index 0); values outside the bounds go to the end buckets.
    pub fn bucket_of(&self, x: &[f64]) -> usize {
        x.iter().enumerate().fold(0, |cell, (axis, &v)| {
            cell * self.per_axis + self.axis_bucket(axis, v)
        })
    }

    /// The bucket of `v` on `axis`.
    fn axis_bucket(&self, axis: usize, v: f64) -> usize {
        let (lo, hi) = (self.lower[axis], self.upper[axis]);
        if hi <= lo {
            return 0;
        }
        let position = ((v - lo) / (hi - lo) * self.per_axis as f64)
            .floor()
            .max(0.0);
        (position as usize).min(self.per_axis - 1)
    }

    /// The samples, oldest first: `(x, wall_time_s)`.
    pub fn iter(&self) -> impl Iterator<Item = (&[f64], f64)> + '_ {
        self.samples.iter().map(|s| (&s.x[..], s.wall_time_s))
    }

    /// The samples as a design matrix (one row per sample) and the wall times.
    pub(crate) fn design(&self) -> (Array2<f64>, Array1<f64>) {
        let x = Array2::from_shape_fn((self.samples.len(), self.features), |(row, column)| {
            self.samples[row].x[column]
        });
        let y = self.samples.iter().map(|s| s.wall_time_s).collect();
        (x, y)
    }

    /// The smallest and largest value ever added on `axis` (`None` before the first sample
    /// or for an axis beyond the features).
    pub fn axis_bounds(&self, axis: usize) -> Option<(f64, f64)> {
        let (lo, hi) = (*self.lower.get(axis)?, *self.upper.get(axis)?);
        (lo <= hi).then_some((lo, hi))
    }

    /// Number of samples held.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether no sample is held.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Values per sample.
    pub fn features(&self) -> usize {
        self.features
    }

    /// Most samples held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Buckets per feature axis.
    pub fn buckets_per_axis(&self) -> usize {
        self.per_axis
    }

    /// Cells of the grid (`buckets_per_axis()^features()`).
    pub fn bucket_count(&self) -> usize {
        self.bucket_count
    }
}

/// Buckets per axis of a grid of at most `bucket_count` cells over `axes` axes: the largest
/// `r ≥ 1` with `r^axes ≤ bucket_count` (all of them for one axis, `⌊√bucket_count⌋` for two).
fn buckets_per_axis(bucket_count: usize, axes: usize) -> usize {
    let Ok(exponent) = u32::try_from(axes) else {
        return 1;
    };
    if axes <= 1 {
        return bucket_count.max(1);
    }
    let fits = |r: usize| {
        r.checked_pow(exponent)
            .is_some_and(|cells| cells <= bucket_count)
    };
    let mut root = ((bucket_count as f64).powf(1.0 / axes as f64).floor() as usize).max(1);
    while root > 1 && !fits(root) {
        root -= 1;
    }
    while fits(root + 1) {
        root += 1;
    }
    root
}
