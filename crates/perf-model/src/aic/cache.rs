//! A lock-free memo of attention latency by batch and sequence length, so that the decode
//! fast path (about a million calls per replayed hour) reads two cached values instead of
//! interpolating the table five times, and long prefills do not search the whole table for
//! neighbours each time they fall beyond it.
//!
//! Lengths are bucketed: every integer below 128, then 64 points per octave (spacing under
//! 1.6 %); a query blends the two buckets around it linearly (for a latency growing as s²,
//! at most 0.01 % off). Buckets are computed on first use. Values are pure functions of
//! their bucket, so concurrent first uses store the same bits and results stay
//! deterministic.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Key counts below this are their own bucket.
const DENSE: u32 = 128;
/// Buckets per octave above [`DENSE`].
const PER_OCTAVE: u32 = 64;
/// Octaves above [`DENSE`] covered (up to 2³¹ keys).
const OCTAVES: u32 = 24;
/// Buckets per batch size.
const BUCKETS: usize = (DENSE + PER_OCTAVE * OCTAVES + 1) as usize;
/// Batch sizes memoised; larger batches are computed directly.
const MAX_BATCH: usize = 4096;
/// Marks a bucket not yet computed.
const EMPTY: u64 = u64::MAX;

/// The key count of bucket `j`.
fn bucket_keys(j: u32) -> u32 {
    if j < DENSE {
        return j;
    }
    let (octave, r) = ((j - DENSE) / PER_OCTAVE, (j - DENSE) % PER_OCTAVE);
    (DENSE << octave) + r * (2 << octave)
}

/// The bucket at or below `keys` (≥ 0) and the position of `keys` towards the next one.
fn bucket_of(keys: f64) -> (u32, f64) {
    if keys < f64::from(DENSE) {
        let j = keys as u32; // truncation is the floor of a non-negative value
        return (j, keys - f64::from(j));
    }
    // The binary exponent of a normal f64 is ⌊log₂ keys⌋.
    let exponent = ((keys.to_bits() >> 52) & 0x7ff) as u32 - 1023;
    let octave = exponent
        .saturating_sub(DENSE.trailing_zeros())
        .min(OCTAVES - 1);
    let base = f64::from(DENSE << octave);
    let step = f64::from(2u32 << octave);
    let r = (((keys - base) / step) as u32).min(PER_OCTAVE - 1);
    let j = DENSE + PER_OCTAVE * octave + r;
    (j, (keys - f64::from(bucket_keys(j))) / step)
}

/// Memoised `f(batch, length)` at integer lengths, blended between buckets.
#[derive(Debug, Default)]
pub(crate) struct BatchMemo {
    rows: Vec<OnceLock<Box<[AtomicU64]>>>,
}

impl BatchMemo {
    /// An empty memo.
    pub(crate) fn new() -> BatchMemo {
        BatchMemo {
            rows: (0..=MAX_BATCH).map(|_| OnceLock::new()).collect(),
        }
    }

    /// `f(batch, keys)` for a length `keys ≥ 1`, from the memo when `batch` is small enough.
    pub(crate) fn get(&self, batch: u32, keys: f64, f: &dyn Fn(u32, u32) -> f64) -> f64 {
        let keys = keys.clamp(1.0, f64::from(bucket_keys(BUCKETS as u32 - 1)));
        let Some(row) = self.rows.get(batch as usize) else {
            return f(batch, keys.round() as u32);
        };
        let row = row.get_or_init(|| (0..BUCKETS).map(|_| AtomicU64::new(EMPTY)).collect());
        let at = |j: u32| {
            let cell = &row[j as usize];
            match cell.load(Ordering::Relaxed) {
                EMPTY => {
                    let v = f(batch, bucket_keys(j));
                    cell.store(v.to_bits(), Ordering::Relaxed);
                    v
                }
                bits => f64::from_bits(bits),
            }
        };
        let (j, frac) = bucket_of(keys);
        let lo = at(j);
        if frac <= 0.0 || j as usize + 1 >= BUCKETS {
            return lo;
        }
        lo + (at(j + 1) - lo) * frac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_dense_then_geometric() {
        assert_eq!(
            (
                bucket_keys(5),
                bucket_keys(127),
                bucket_keys(128),
                bucket_keys(129)
            ),
            (5, 127, 128, 130)
        );
        assert_eq!((bucket_keys(192), bucket_keys(256)), (256, 512));
        for keys in [1.0, 5.5, 127.0, 128.0, 129.0, 4097.0, 1e6] {
            let (j, frac) = bucket_of(keys);
            assert!((0.0..1.0).contains(&frac), "{keys}: {frac}");
            assert!(
                f64::from(bucket_keys(j)) <= keys && keys < f64::from(bucket_keys(j + 1)),
                "{keys}"
            );
        }
    }

    #[test]
    fn memo_is_exact_at_buckets_and_linear_between() {
        let memo = BatchMemo::new();
        let f = |b: u32, s: u32| f64::from(b) * 1e-3 + f64::from(s) * f64::from(s) * 1e-6;
        assert_eq!(memo.get(8, 4096.0, &f), f(8, 4096));
        assert_eq!(memo.get(8, 4096.0, &f), f(8, 4096)); // from the memo
        let mid = memo.get(8, 4128.0, &f);
        assert!((mid - (f(8, 4096) + f(8, 4160)) / 2.0).abs() < 1e-12);
        assert!((mid / f(8, 4128) - 1.0).abs() < 1e-3);
        assert_eq!(memo.get(100_000, 10.4, &f), f(100_000, 10));
    }
}
