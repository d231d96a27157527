//! Data shaping for charts: empirical CDFs thinned to a readable number of points, and time
//! buckets.

/// Most points drawn for one distribution (enough for a smooth curve, small files).
pub(crate) const CDF_POINTS: usize = 1000;

/// The empirical CDF of `(value, count)` pairs in ascending value order, as `(value, share
/// of the sample ≤ value)`, thinned so consecutive points differ by at least 1/[`CDF_POINTS`]
/// of the sample (the first and last points are always kept).
pub(crate) fn cdf(pairs: impl IntoIterator<Item = (f64, u64)> + Clone) -> Vec<(f64, Option<f64>)> {
    let total: u64 = pairs.clone().into_iter().map(|(_, c)| c).sum();
    if total == 0 {
        return Vec::new();
    }
    let step = (total / CDF_POINTS as u64).max(1);
    let mut points = Vec::new();
    let (mut seen, mut last_kept) = (0u64, 0u64);
    let mut last = None;
    for (value, count) in pairs {
        seen += count;
        if points.is_empty() || seen - last_kept >= step {
            points.push((value, Some(seen as f64 / total as f64)));
            last_kept = seen;
            last = None;
        } else {
            last = Some((value, seen));
        }
    }
    if let Some((value, seen)) = last {
        points.push((value, Some(seen as f64 / total as f64)));
    }
    points
}

/// The empirical CDF of a sample (sorted in place).
pub(crate) fn cdf_of(values: &mut [f64]) -> Vec<(f64, Option<f64>)> {
    values.sort_by(f64::total_cmp);
    cdf(values.iter().map(|&v| (v, 1)))
}

/// Equal time buckets over `[0, end_s]`, about [`TARGET_BUCKETS`] of them, each a round
/// width (1, 2 or 5 × a power of ten seconds).
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct Buckets {
    /// Bucket width, seconds.
    pub(crate) width_s: f64,
    /// Number of buckets.
    pub(crate) count: usize,
}

/// About how many buckets a time series gets.
pub(crate) const TARGET_BUCKETS: f64 = 150.0;

impl Buckets {
    /// Buckets covering `[0, end_s]`.
    pub(crate) fn covering(end_s: f64) -> Buckets {
        let raw = (end_s / TARGET_BUCKETS).max(1e-3);
        let magnitude = 10f64.powf(raw.log10().floor());
        let width_s = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|&w| w >= raw)
            .unwrap_or(10.0 * magnitude);
        let count = ((end_s / width_s).ceil() as usize).max(1);
        Buckets { width_s, count }
    }

    /// The bucket of time `t_s` (the last bucket for times at or beyond the end).
    pub(crate) fn index(&self, t_s: f64) -> usize {
        ((t_s / self.width_s).max(0.0) as usize).min(self.count - 1)
    }

    /// Bucket midpoints, seconds.
    pub(crate) fn centers(&self) -> impl Iterator<Item = f64> + '_ {
        (0..self.count).map(|i| (i as f64 + 0.5) * self.width_s)
    }

    /// Adds `amount`, spread evenly over `[from_s, to_s]`, to `sums` (one per bucket); an
    /// empty interval puts it all in the bucket of `from_s`.
    pub(crate) fn spread(&self, sums: &mut [f64], amount: f64, from_s: f64, to_s: f64) {
        if to_s <= from_s {
            sums[self.index(from_s)] += amount;
            return;
        }
        let rate = amount / (to_s - from_s);
        for (i, sum) in sums
            .iter_mut()
            .enumerate()
            .take(self.index(to_s) + 1)
            .skip(self.index(from_s))
        {
            let (start, end) = (i as f64 * self.width_s, (i + 1) as f64 * self.width_s);
            let overlap = to_s.min(end) - from_s.max(start);
            if overlap > 0.0 {
                *sum += rate * overlap;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_samples_keep_every_point() {
        let points = cdf_of(&mut [3.0, 1.0, 2.0, 2.0]);
        assert_eq!(
            points,
            [
                (1.0, Some(0.25)),
                (2.0, Some(0.5)),
                (2.0, Some(0.75)),
                (3.0, Some(1.0))
            ]
        );
    }

    #[test]
    fn large_samples_are_thinned_but_end_at_one() {
        let mut values: Vec<f64> = (0..100_000).map(f64::from).collect();
        let points = cdf_of(&mut values);
        assert!(points.len() <= CDF_POINTS + 2, "{}", points.len());
        assert_eq!(points.first(), Some(&(0.0, Some(1e-5))));
        assert_eq!(points.last(), Some(&(99_999.0, Some(1.0))));
        assert!(points.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn histograms_weigh_by_count() {
        assert_eq!(
            cdf([(10.0, 3), (20.0, 1)]),
            [(10.0, Some(0.75)), (20.0, Some(1.0))]
        );
        assert!(cdf(Vec::<(f64, u64)>::new()).is_empty());
    }

    #[test]
    fn buckets_have_round_widths() {
        assert_eq!(
            Buckets::covering(3600.0),
            Buckets {
                width_s: 50.0,
                count: 72
            }
        );
        assert_eq!(Buckets::covering(330.0).width_s, 5.0);
        assert_eq!(Buckets::covering(0.0).count, 1);
    }

    #[test]
    fn spreading_conserves_the_amount() {
        let b = Buckets {
            width_s: 10.0,
            count: 4,
        };
        let mut sums = vec![0.0; 4];
        b.spread(&mut sums, 30.0, 5.0, 35.0);
        assert_eq!(sums, [5.0, 10.0, 10.0, 5.0]);
        b.spread(&mut sums, 2.0, 40.0, 40.0);
        assert_eq!(sums[3], 7.0);
    }
}
