//! SGLang's `new_token_ratio`: the share of running requests' remaining output that prefill
//! admission keeps free for them.
//!
//! It starts at `min(0.7 × schedule_conservativeness, 1)`, decays by `(init − min) / 600`
//! per decode pass down to `min = 0.14 × init`, and returns to its initial value whenever a
//! decode retraction or an allocation failure shows the reservation was too optimistic.

/// SGLang's initial `new_token_ratio` at conservativeness 1.
const INIT_NEW_TOKEN_RATIO: f64 = 0.7;
/// The floor of the ratio, as a share of its initial value.
const MIN_NEW_TOKEN_RATIO_FACTOR: f64 = 0.14;
/// Decode passes over which the ratio decays from its initial value to its floor.
const NEW_TOKEN_RATIO_DECAY_STEPS: f64 = 600.0;

/// The share of running requests' remaining output that admission keeps free for them.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct NewTokenRatio {
    init: f64,
    min: f64,
    decay: f64,
    value: f64,
}

impl NewTokenRatio {
    pub(crate) fn new(conservativeness: f64) -> Self {
        let init = (INIT_NEW_TOKEN_RATIO * conservativeness).min(1.0);
        let min = (init * MIN_NEW_TOKEN_RATIO_FACTOR).min(1.0);
        NewTokenRatio {
            init,
            min,
            decay: (init - min) / NEW_TOKEN_RATIO_DECAY_STEPS,
            value: init,
        }
    }

    pub(crate) fn value(&self) -> f64 {
        self.value
    }

    /// One decode pass went by without trouble.
    pub(crate) fn decay(&mut self) {
        self.value = (self.value - self.decay).max(self.min);
    }

    /// The reservation proved too optimistic (retraction, allocation failure) or the engine
    /// starts over.
    pub(crate) fn reset(&mut self) {
        self.value = self.init;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_token_ratio_decays_to_its_floor_and_resets() {
        let mut ratio = NewTokenRatio::new(1.0);
        assert_eq!(ratio.value(), 0.7);
        ratio.decay();
        // (0.7 − 0.098) / 600 per decode pass.
        assert!((ratio.value() - (0.7 - 0.602 / 600.0)).abs() < 1e-15);
        for _ in 0..299 {
            ratio.decay();
        }
        assert!((ratio.value() - 0.399).abs() < 1e-12);
        for _ in 0..1000 {
            ratio.decay();
        }
        assert!((ratio.value() - 0.098).abs() < 1e-15);
        ratio.reset();
        assert_eq!(ratio.value(), 0.7);
        // Conservativeness scales the start; the ratio never exceeds 1.
        assert!((NewTokenRatio::new(0.5).value() - 0.35).abs() < 1e-15);
        assert_eq!(NewTokenRatio::new(2.0).value(), 1.0);
    }
}
