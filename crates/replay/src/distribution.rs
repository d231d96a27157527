//! Summary statistics of a sample: mean, extremes, nearest-rank percentiles and the
//! population standard deviation, in the order the reference reports them.

use serde::Serialize;
use servesim_trace::stats::nearest_rank_index;

/// Summary statistics of one metric (all zero for an empty sample).
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct Distribution {
    /// Number of values.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Median (nearest rank).
    pub median: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Population standard deviation.
    pub std: f64,
}

/// The statistic names, in the order the reference lists them.
pub const STATS: [&str; 9] = [
    "mean", "min", "max", "median", "p75", "p90", "p95", "p99", "std",
];

impl Distribution {
    /// Statistics of `values` (sorted in place).
    pub fn of(values: &mut [f64]) -> Distribution {
        values.sort_by(f64::total_cmp);
        Self::of_histogram(values.iter().map(|&v| (v, 1)))
    }

    /// Statistics of a sample given as `(value, count)` pairs in ascending value order.
    pub fn of_histogram(pairs: impl Iterator<Item = (f64, u64)> + Clone) -> Distribution {
        let (mut n, mut sum, mut sum_sq) = (0u64, 0f64, 0f64);
        for (v, c) in pairs.clone() {
            n += c;
            sum += v * c as f64;
            sum_sq += v * v * c as f64;
        }
        if n == 0 {
            return Distribution::default();
        }
        let at = |p: f64| {
            let k = nearest_rank_index(n as usize, p) as u64;
            let mut seen = 0;
            for (v, c) in pairs.clone() {
                seen += c;
                if seen > k {
                    return v;
                }
            }
            0.0
        };
        let mean = sum / n as f64;
        Distribution {
            count: n,
            mean,
            min: at(0.0),
            max: at(100.0),
            median: at(50.0),
            p75: at(75.0),
            p90: at(90.0),
            p95: at(95.0),
            p99: at(99.0),
            std: (sum_sq / n as f64 - mean * mean).max(0.0).sqrt(),
        }
    }

    /// The statistic called `name` (one of [`STATS`]).
    pub fn get(&self, name: &str) -> f64 {
        match name {
            "mean" => self.mean,
            "min" => self.min,
            "max" => self.max,
            "median" => self.median,
            "p75" => self.p75,
            "p90" => self.p90,
            "p95" => self.p95,
            "p99" => self.p99,
            "std" => self.std,
            _ => f64::NAN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_statistics() {
        let mut v: Vec<f64> = (1..=101).map(f64::from).collect();
        let d = Distribution::of(&mut v);
        assert_eq!(
            (d.min, d.max, d.median, d.p75, d.p90, d.p99),
            (1.0, 101.0, 51.0, 76.0, 91.0, 100.0)
        );
        assert_eq!(d.mean, 51.0);
        assert!((d.std - (10200.0f64 / 12.0).sqrt()).abs() < 1e-9);
        assert_eq!(Distribution::of(&mut []), Distribution::default());
    }

    #[test]
    fn histogram_equals_expanded_sample() {
        let pairs = [(1.0, 3u64), (2.5, 1), (4.0, 6)];
        let mut expanded: Vec<f64> = pairs
            .iter()
            .flat_map(|&(v, c)| std::iter::repeat_n(v, c as usize))
            .collect();
        assert_eq!(
            Distribution::of_histogram(pairs.iter().copied()),
            Distribution::of(&mut expanded)
        );
    }
}
