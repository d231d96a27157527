//! Speculative decoding's accept length, as the planner uses it.
//!
//! The accept length — output tokens per burst, what one decode forward pass of a sequence
//! emits on average — arrives with each traffic window. Like the KV hit rate it is runtime
//! metadata with **last-value semantics**: a window without a valid sample keeps the last
//! valid one. Without speculative decoding, or before the first valid sample, the
//! effective value is 1. With it, the value is clamped to `[1, nextn + 1]`; it can sit
//! slightly below `nextn + 1` even when every draft is accepted, because a request's last
//! burst may be partial (`nextn = 2` over 64 tokens: `64 / 22 ≈ 2.91`).
//!
//! It enters decode capacity by **discounting ITL** (`forward time / accept length`), never
//! by rewriting the output length: the raw OSL still drives KV residency, context lengths
//! and request length (see [`crate::capacity`]).

/// The accept length the planner currently believes in.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AcceptLength {
    nextn: Option<u32>,
    last: Option<f64>,
}

impl AcceptLength {
    /// Tracking for engines drafting `nextn` tokens per step (`None` or 0: no speculative
    /// decoding, the value stays 1).
    pub fn new(nextn: Option<u32>) -> Self {
        AcceptLength {
            nextn: nextn.filter(|&n| n > 0),
            last: None,
        }
    }

    /// Takes a window's sample; missing or invalid samples (not finite, ≤ 0) change nothing.
    pub fn observe(&mut self, sample: Option<f64>) {
        if let Some(v) = sample.filter(|v| v.is_finite() && *v > 0.0) {
            self.last = Some(v);
        }
    }

    /// The effective accept length: 1 without speculative decoding or sample, else the last
    /// sample clamped to `[1, nextn + 1]`.
    ///
    /// ```
    /// use servesim_planner::speculative::AcceptLength;
    /// let mut accept = AcceptLength::new(Some(2));
    /// assert_eq!(accept.value(), 1.0);
    /// accept.observe(Some(64.0 / 22.0));
    /// accept.observe(None);
    /// assert_eq!(accept.value(), 64.0 / 22.0);
    /// accept.observe(Some(7.0));
    /// assert_eq!(accept.value(), 3.0);
    /// ```
    pub fn value(&self) -> f64 {
        match (self.nextn, self.last) {
            (Some(nextn), Some(v)) => v.clamp(1.0, f64::from(nextn) + 1.0),
            _ => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_value_clamped_and_one_without_mtp() {
        let mut off = AcceptLength::new(None);
        off.observe(Some(2.5));
        assert_eq!(off.value(), 1.0);
        assert_eq!(AcceptLength::new(Some(0)), AcceptLength::new(None));
        let mut on = AcceptLength::new(Some(3));
        assert_eq!(on.value(), 1.0);
        on.observe(Some(2.5));
        assert_eq!(on.value(), 2.5);
        // Missing and invalid samples keep the last valid one.
        for sample in [None, Some(f64::NAN), Some(0.0), Some(-1.0)] {
            on.observe(sample);
            assert_eq!(on.value(), 2.5);
        }
        on.observe(Some(0.5));
        assert_eq!(on.value(), 1.0);
        on.observe(Some(9.0));
        assert_eq!(on.value(), 4.0);
    }
}
