//! From a timing model's milliseconds to simulated microseconds.
//!
//! [`PassTiming`] applies the engine's speed-up ratios, its rule for mixed passes and the
//! tokens each decoding sequence scores per step (`nextn + 1` with speculative decoding),
//! then rounds once to integer microseconds — the only place where model floats become
//! simulated time.

use std::sync::Arc;

use servesim_perf::{DecodeShape, MixedCost, PassShape, PerfModel};
use servesim_trace::SimTime;

/// Prices passes for one engine.
#[derive(Clone, Debug)]
pub struct PassTiming {
    model: Arc<dyn PerfModel>,
    speedup: f64,
    decode_speedup: f64,
    mixed: MixedCost,
    tokens_per_sequence: u32,
}

impl PassTiming {
    /// Wraps `model`; ratios ≤ 0 mean "no scaling", as in the reference.
    pub fn new(
        model: Arc<dyn PerfModel>,
        speedup: f64,
        decode_speedup: f64,
        mixed: MixedCost,
    ) -> Self {
        let ratio = |r: f64| if r > 0.0 && r.is_finite() { r } else { 1.0 };
        PassTiming {
            model,
            speedup: ratio(speedup),
            decode_speedup: ratio(decode_speedup),
            mixed,
            tokens_per_sequence: 1,
        }
    }

    /// Prices every decoding sequence as scoring `tokens` positions per step (`nextn + 1`
    /// with speculative decoding: the verified token and the drafts), whatever the scheduler
    /// puts in the shape.
    pub fn with_tokens_per_sequence(mut self, tokens: u32) -> Self {
        self.tokens_per_sequence = tokens.max(1);
        self
    }

    fn shaped(&self, decode: &DecodeShape) -> DecodeShape {
        DecodeShape {
            tokens_per_sequence: self.tokens_per_sequence,
            ..*decode
        }
    }

    /// The underlying model's name.
    pub fn model_name(&self) -> &str {
        self.model.name()
    }

    /// The underlying model.
    pub fn model(&self) -> &Arc<dyn PerfModel> {
        &self.model
    }

    /// The effective settings, for reports.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "perf_model": self.model.name(),
            "speedup_ratio": self.speedup,
            "decode_speedup_ratio": self.decode_speedup,
            "mixed_pass_cost": self.mixed,
            "tokens_per_sequence": self.tokens_per_sequence,
        })
    }

    /// Milliseconds of a pass, after speed-ups.
    pub fn pass_ms(&self, pass: &PassShape<'_>) -> f64 {
        let pass = &PassShape {
            prefill: pass.prefill,
            decode: self.shaped(&pass.decode),
        };
        let has_prefill = !pass.prefill.is_empty();
        let has_decode = pass.decode.sequences > 0;
        let prefill = |m: &dyn PerfModel| m.prefill_ms(pass.prefill) / self.speedup;
        let decode =
            |m: &dyn PerfModel| m.decode_ms(&pass.decode) / (self.speedup * self.decode_speedup);
        match (has_prefill, has_decode, self.mixed) {
            (false, false, _) => 0.0,
            (true, false, _) => prefill(self.model.as_ref()),
            (false, true, _) => decode(self.model.as_ref()),
            (true, true, MixedCost::Additive) => {
                prefill(self.model.as_ref()) + decode(self.model.as_ref())
            }
            (true, true, MixedCost::Fused) => self.model.fused_ms(pass) / self.speedup,
        }
    }

    /// Duration of a pass as simulated time (rounded to the nearest microsecond).
    pub fn pass_time(&self, pass: &PassShape<'_>) -> SimTime {
        to_sim_time(self.pass_ms(pass))
    }

    /// Duration of a decode-only step.
    pub fn decode_time(&self, decode: &DecodeShape) -> SimTime {
        to_sim_time(
            self.model.decode_ms(&self.shaped(decode)) / (self.speedup * self.decode_speedup),
        )
    }
}

fn to_sim_time(ms: f64) -> SimTime {
    let ms = ms.max(0.0);
    // A pass beyond the representable range lasts "for ever", not zero.
    SimTime::from_millis_f64(ms).unwrap_or(if ms.is_finite() {
        SimTime::LIMIT
    } else {
        SimTime::ZERO
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use servesim_perf::{PolynomialModel, PrefillChunk};

    #[test]
    fn speedups_divide_the_right_parts() {
        let chunks = [PrefillChunk {
            new_tokens: 2048,
            context_tokens: 0,
        }];
        let decode = DecodeShape {
            sequences: 1,
            kv_tokens_in_use: 0,
            kv_capacity_tokens: 100,
            ..DecodeShape::default()
        };
        let pass = PassShape {
            prefill: &chunks,
            decode,
        };
        let base = PassTiming::new(Arc::new(PolynomialModel), 1.0, 1.0, MixedCost::Additive);
        assert_eq!(base.pass_time(&pass), SimTime::from_micros(49_363 + 5_740));
        let both = PassTiming::new(Arc::new(PolynomialModel), 2.0, 1.0, MixedCost::Additive);
        assert_eq!(both.pass_time(&pass), SimTime::from_micros(27_551));
        let decode_only = PassTiming::new(Arc::new(PolynomialModel), 1.0, 2.0, MixedCost::Additive);
        assert_eq!(
            decode_only.pass_time(&pass),
            SimTime::from_micros(49_363 + 2_870)
        );
        let none = PassTiming::new(Arc::new(PolynomialModel), 0.0, -1.0, MixedCost::Additive);
        assert_eq!(none.pass_time(&pass), base.pass_time(&pass));
        let fused = PassTiming::new(Arc::new(PolynomialModel), 1.0, 1.0, MixedCost::Fused);
        assert!(fused.pass_time(&pass) < base.pass_time(&pass));
    }

    /// One millisecond per token scored.
    #[derive(Debug)]
    struct PerToken;

    impl PerfModel for PerToken {
        fn prefill_ms(&self, chunks: &[PrefillChunk]) -> f64 {
            chunks.iter().map(|c| f64::from(c.new_tokens)).sum()
        }
        fn decode_ms(&self, decode: &DecodeShape) -> f64 {
            f64::from(decode.sequences * decode.tokens_per_sequence)
        }
        fn name(&self) -> &str {
            "per-token"
        }
    }

    #[test]
    fn speculative_steps_score_nextn_plus_one_tokens_per_sequence() {
        let mtp = |mixed| {
            PassTiming::new(Arc::new(PerToken), 1.0, 1.0, mixed).with_tokens_per_sequence(3)
        };
        let decode = DecodeShape {
            sequences: 4,
            tokens_per_sequence: 1,
            ..DecodeShape::default()
        };
        assert_eq!(
            mtp(MixedCost::Additive).decode_time(&decode),
            SimTime::from_millis(12)
        );
        let chunks = [PrefillChunk {
            new_tokens: 100,
            context_tokens: 0,
        }];
        let pass = PassShape {
            prefill: &chunks,
            decode,
        };
        assert_eq!(
            mtp(MixedCost::Additive).pass_time(&pass),
            SimTime::from_millis(112)
        );
        // Fused: the 12 decode tokens join the prefill chunk.
        assert_eq!(
            mtp(MixedCost::Fused).pass_time(&pass),
            SimTime::from_millis(112)
        );
        let plain = PassTiming::new(Arc::new(PerToken), 1.0, 1.0, MixedCost::Additive);
        assert_eq!(plain.decode_time(&decode), SimTime::from_millis(4));
    }
}
