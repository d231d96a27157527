//! Simulated time.
//!
//! Every timestamp and duration inside servesim is a [`SimTime`]: an integer number of
//! microseconds. Integers make event ordering exact (no float-equality hazards) and keep
//! reruns byte-identical; models may compute in `f64` milliseconds internally and convert
//! once, at the boundary, with [`SimTime::from_millis_f64`].

use std::fmt;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

/// A point in simulated time, or a span of it, in integer microseconds.
///
/// Arithmetic saturates instead of overflowing: a simulation never runs for 584,000 years,
/// so saturation only ever guards against nonsensical user input.
///
/// ```
/// use servesim_trace::SimTime;
/// let t = SimTime::from_millis(2) + SimTime::from_micros(500);
/// assert_eq!(t.as_micros(), 2_500);
/// assert_eq!(t.as_millis_f64(), 2.5);
/// assert_eq!(SimTime::from_millis_f64(49.364).map(SimTime::as_micros), Some(49_364));
/// ```
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(u64);

impl SimTime {
    /// Time zero: the start of every simulation.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);
    /// The first time a trace or a flag may not name: 2^62 µs (about 146,000 years). Times
    /// read from input stay below it.
    pub const LIMIT: SimTime = SimTime(1 << 62);

    /// A time of `us` microseconds.
    pub const fn from_micros(us: u64) -> Self {
        SimTime(us)
    }

    /// A time of `ms` whole milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimTime(ms.saturating_mul(1_000))
    }

    /// A time of `s` whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimTime(s.saturating_mul(1_000_000))
    }

    /// Converts fractional milliseconds to the nearest microsecond.
    ///
    /// Returns `None` for negative, NaN, infinite or out-of-range input (at or beyond
    /// [`SimTime::LIMIT`]), so that callers can report the offending value instead of
    /// silently clamping it.
    ///
    /// ```
    /// use servesim_trace::SimTime;
    /// assert_eq!(SimTime::from_millis_f64(1.5), Some(SimTime::from_micros(1500)));
    /// assert_eq!(SimTime::from_millis_f64(1e20), None);
    /// ```
    pub fn from_millis_f64(ms: f64) -> Option<Self> {
        Self::from_micros_f64(ms * 1_000.0)
    }

    /// Converts fractional seconds to the nearest microsecond (`None` if negative, not finite
    /// or out of range).
    pub fn from_secs_f64(s: f64) -> Option<Self> {
        Self::from_micros_f64(s * 1_000_000.0)
    }

    fn from_micros_f64(us: f64) -> Option<Self> {
        // The bound keeps times clear of `SimTime::MAX`, the "never" of the engines, and of
        // overflow when delays are added.
        if us.is_finite() && us >= 0.0 && us < Self::LIMIT.0 as f64 {
            Some(SimTime(us.round() as u64))
        } else {
            None
        }
    }

    /// The time in microseconds.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// The time in (fractional) milliseconds.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1_000.0
    }

    /// The time in (fractional) seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }

    /// `self - other`, or zero if `other` is later.
    pub const fn saturating_sub(self, other: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(other.0))
    }

    /// `self - other`, or `None` if `other` is later.
    pub const fn checked_sub(self, other: SimTime) -> Option<SimTime> {
        match self.0.checked_sub(other.0) {
            Some(us) => Some(SimTime(us)),
            None => None,
        }
    }

    /// This span divided by a positive, finite factor, rounded to the nearest microsecond.
    ///
    /// Used for arrival speed-up: `t / ratio`. A non-positive or non-finite ratio returns
    /// `self` unchanged; callers validate ratios before they get here.
    pub fn scaled_down(self, ratio: f64) -> SimTime {
        if ratio.is_finite() && ratio > 0.0 {
            SimTime((self.0 as f64 / ratio).round() as u64)
        } else {
            self
        }
    }
}

impl Add for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for SimTime {
    fn add_assign(&mut self, rhs: SimTime) {
        *self = *self + rhs;
    }
}

impl fmt::Display for SimTime {
    /// Formats as seconds with microsecond precision, e.g. `12.500000s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_to_nearest_microsecond() {
        assert_eq!(SimTime::from_millis_f64(0.0004), Some(SimTime::ZERO));
        assert_eq!(
            SimTime::from_millis_f64(0.0006),
            Some(SimTime::from_micros(1))
        );
        assert_eq!(
            SimTime::from_secs_f64(1.5),
            Some(SimTime::from_millis(1_500))
        );
        assert_eq!(SimTime::from_millis_f64(-1.0), None);
        assert_eq!(SimTime::from_millis_f64(f64::NAN), None);
        assert_eq!(SimTime::from_millis_f64(f64::INFINITY), None);
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(SimTime::MAX + SimTime::from_micros(1), SimTime::MAX);
        assert_eq!(
            SimTime::ZERO.saturating_sub(SimTime::from_micros(1)),
            SimTime::ZERO
        );
        assert_eq!(SimTime::ZERO.checked_sub(SimTime::from_micros(1)), None);
    }

    #[test]
    fn scaling_divides_by_ratio() {
        assert_eq!(
            SimTime::from_millis(10).scaled_down(4.0),
            SimTime::from_micros(2_500)
        );
        assert_eq!(
            SimTime::from_millis(10).scaled_down(0.0),
            SimTime::from_millis(10)
        );
    }

    #[test]
    fn display_is_seconds() {
        assert_eq!(SimTime::from_micros(12_500_000).to_string(), "12.500000s");
    }
}
