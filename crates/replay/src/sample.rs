//! A bounded-memory sample of one metric: exact while it fits, log-binned beyond.
//!
//! Every per-request metric of a replay (TTFT, TPOT, end-to-end latency, router queue time,
//! …) is one value per request. Up to [`Sample::EXACT_CAPACITY`] values (8 MiB) are kept
//! as they are, and the statistics are computed from them exactly — a replay of fewer
//! requests reports the same numbers to the last bit as if every value were kept. Past that
//! the values move into logarithmic bins of relative width 0.2 % ([`BIN_RATIO`]), each
//! standing for its midpoint: a percentile is then within **0.1 %** of the exact one (half
//! a bin), while the count, mean, standard deviation, minimum and maximum stay exact (they
//! are running sums and extremes). Memory is bounded by the range of the values, not their
//! number: about 13,800 bins cover 1 µs to 11 days in milliseconds.
//!
//! ```
//! use servesim_replay::Sample;
//! let mut sample = Sample::default();
//! for v in [3.0, 1.0, 2.0] {
//!     sample.push(v);
//! }
//! let d = sample.distribution();
//! assert_eq!((d.count, d.median, d.max), (3, 2.0, 3.0));
//! ```

use std::collections::BTreeMap;

use crate::distribution::Distribution;

/// Ratio between the bounds of one bin once a sample is binned: a bin's midpoint is within
/// `(BIN_RATIO − 1) / (BIN_RATIO + 1)` < 0.1 % of any value in it.
pub const BIN_RATIO: f64 = 1.002;

/// Values of one metric, exact up to a capacity and binned beyond (see the module docs).
#[derive(Clone, Debug)]
pub struct Sample {
    exact: Vec<f64>,
    binned: Option<Binned>,
    capacity: usize,
}

impl Default for Sample {
    fn default() -> Self {
        Sample::with_capacity(Sample::EXACT_CAPACITY)
    }
}

/// Logarithmic bins with exact running moments and extremes.
#[derive(Clone, Debug, Default)]
struct Binned {
    /// Bin `k` holds values in `[BIN_RATIO^k, BIN_RATIO^(k+1))`.
    bins: BTreeMap<i32, u64>,
    /// Values ≤ 0 (latencies can be exactly zero).
    zeros: u64,
    count: u64,
    sum: f64,
    sum_sq: f64,
    min: f64,
    max: f64,
}

impl Binned {
    fn push(&mut self, v: f64) {
        if self.count == 0 {
            (self.min, self.max) = (v, v);
        }
        self.count += 1;
        self.sum += v;
        self.sum_sq += v * v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if v > 0.0 {
            *self.bins.entry(bin_of(v)).or_default() += 1;
        } else {
            self.zeros += 1;
        }
    }

    fn distribution(&self) -> Distribution {
        let pairs = std::iter::once((0.0, self.zeros))
            .filter(|(_, c)| *c > 0)
            .chain(self.bins.iter().map(|(&k, &c)| (bin_midpoint(k), c)));
        let binned = Distribution::of_histogram(pairs);
        let n = self.count as f64;
        let mean = self.sum / n;
        let clamp = |v: f64| v.clamp(self.min, self.max);
        Distribution {
            count: self.count,
            mean,
            min: self.min,
            max: self.max,
            median: clamp(binned.median),
            p75: clamp(binned.p75),
            p90: clamp(binned.p90),
            p95: clamp(binned.p95),
            p99: clamp(binned.p99),
            std: (self.sum_sq / n - mean * mean).max(0.0).sqrt(),
        }
    }
}

fn bin_of(v: f64) -> i32 {
    // Saturating float-to-int conversion: absurd values land in the outermost bins.
    (v.ln() / BIN_RATIO.ln()).floor() as i32
}

fn bin_midpoint(k: i32) -> f64 {
    BIN_RATIO.powi(k) * (1.0 + BIN_RATIO) / 2.0
}

impl Sample {
    /// Values kept exactly before a sample switches to bins (8 MiB of `f64`).
    pub const EXACT_CAPACITY: usize = 1 << 20;

    /// A sample that keeps up to `capacity` values exactly.
    pub fn with_capacity(capacity: usize) -> Self {
        Sample {
            exact: Vec::new(),
            binned: None,
            capacity,
        }
    }

    /// Adds one value (a non-negative latency or rate).
    pub fn push(&mut self, v: f64) {
        if let Some(binned) = &mut self.binned {
            binned.push(v);
            return;
        }
        if self.exact.len() < self.capacity {
            self.exact.push(v);
            return;
        }
        let mut binned = Binned::default();
        for x in self.exact.drain(..).chain(std::iter::once(v)) {
            binned.push(x);
        }
        self.exact = Vec::new();
        self.binned = Some(binned);
    }

    /// Number of values added.
    pub fn len(&self) -> u64 {
        self.binned
            .as_ref()
            .map_or(self.exact.len() as u64, |b| b.count)
    }

    /// True when no value was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the sample still holds every value exactly.
    pub fn is_exact(&self) -> bool {
        self.binned.is_none()
    }

    /// The statistics of the values (exact, or within 0.1 % for percentiles once binned).
    pub fn distribution(&self) -> Distribution {
        match &self.binned {
            Some(binned) => binned.distribution(),
            None => Distribution::of(&mut self.exact.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_until_capacity_then_within_a_tenth_of_a_percent() {
        let values: Vec<f64> = (1..=10_000).map(|i| f64::from(i) * 0.37).collect();
        let mut exact = Sample::with_capacity(usize::MAX);
        let mut binned = Sample::with_capacity(100);
        for &v in &values {
            exact.push(v);
            binned.push(v);
        }
        assert!(exact.is_exact() && !binned.is_exact());
        let (e, b) = (exact.distribution(), binned.distribution());
        assert_eq!(e, Distribution::of(&mut values.clone()));
        assert_eq!((b.count, b.min, b.max), (e.count, e.min, e.max));
        assert!((b.mean - e.mean).abs() <= 1e-9 * e.mean);
        assert!((b.std - e.std).abs() <= 1e-6 * e.std);
        for (x, y) in [
            (b.median, e.median),
            (b.p75, e.p75),
            (b.p90, e.p90),
            (b.p95, e.p95),
            (b.p99, e.p99),
        ] {
            assert!((x - y).abs() <= 1e-3 * y, "{x} vs {y}");
        }
    }

    #[test]
    fn zeros_are_their_own_bin() {
        let mut s = Sample::with_capacity(1);
        for v in [0.0, 0.0, 0.0, 5.0] {
            s.push(v);
        }
        let d = s.distribution();
        assert_eq!((d.count, d.min, d.median, d.p75), (4, 0.0, 0.0, 0.0));
        assert!((d.max - 5.0).abs() < 1e-12 && (d.p99 - 5.0).abs() <= 5e-3);
        assert!(Sample::default().distribution() == Distribution::default());
    }
}
