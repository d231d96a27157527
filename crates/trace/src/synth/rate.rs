//! Rate-shaped single-turn traces: the request rate follows a curve over time.
//!
//! Arrivals are generated window by window, as the planner benchmark's `sin_synth` does: for
//! each window `[t, t + w)` the count is `Poisson(rate(t) · w)` and the requests are spaced
//! evenly inside the window. A constant rate can instead use a true Poisson process
//! (exponential gaps, [`RateTraceSpec::exact_poisson`]).

use std::f64::consts::PI;

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Poisson};
use rand_pcg::Pcg64;

use super::{IdMinter, LengthDist, PrefixSharing};
use crate::error::TraceError;
use crate::time::SimTime;
use crate::workload::{Content, MAX_REQUESTS, NodeSpec, Workload, WorkloadBuilder};

/// Requests per second as a function of time.
#[derive(Clone, Debug, PartialEq)]
pub enum RateShape {
    /// `(min+max)/2 + (max−min)/2 · sin(2πt/period − π/2)`: starts at `min`, peaks at
    /// `period/2` (the `sin_synth` curve).
    Sinusoid {
        /// Lowest rate.
        min: f64,
        /// Highest rate.
        max: f64,
        /// Period in seconds.
        period_s: f64,
    },
    /// Each rate in turn, held for `step_s` seconds; the last one holds to the end.
    Step {
        /// The successive rates.
        rates: Vec<f64>,
        /// Seconds per step.
        step_s: f64,
    },
    /// `base`, except `peak` during `[start_s, start_s + duration_s)`.
    Spike {
        /// Rate outside the spike.
        base: f64,
        /// Rate during the spike.
        peak: f64,
        /// Spike start in seconds.
        start_s: f64,
        /// Spike length in seconds.
        duration_s: f64,
    },
    /// Linear from `from` at time 0 to `to` at the end of the trace.
    Ramp {
        /// Initial rate.
        from: f64,
        /// Final rate.
        to: f64,
    },
    /// A constant rate.
    Constant(f64),
}

impl RateShape {
    /// The rate at `t_s` seconds into a trace of `duration_s` seconds.
    pub fn rate_at(&self, t_s: f64, duration_s: f64) -> f64 {
        let rate = match self {
            RateShape::Sinusoid { min, max, period_s } => sinusoid(*min, *max, *period_s, t_s),
            RateShape::Step { rates, step_s } => {
                let index = (t_s / step_s).floor().max(0.0) as usize;
                rates
                    .get(index.min(rates.len().saturating_sub(1)))
                    .copied()
                    .unwrap_or(0.0)
            }
            RateShape::Spike {
                base,
                peak,
                start_s,
                duration_s: len,
            } => {
                if (*start_s..start_s + len).contains(&t_s) {
                    *peak
                } else {
                    *base
                }
            }
            RateShape::Ramp { from, to } => from + (to - from) * (t_s / duration_s).clamp(0.0, 1.0),
            RateShape::Constant(rate) => *rate,
        };
        rate.max(0.0)
    }

    fn validate(&self) -> Result<(), TraceError> {
        let rates: Vec<f64> = match self {
            RateShape::Sinusoid { min, max, period_s } => {
                if !(*period_s > 0.0 && min <= max) {
                    return Err(spec("sinusoid needs min ≤ max and a period > 0"));
                }
                vec![*min, *max]
            }
            RateShape::Step { rates, step_s } => {
                if rates.is_empty() || step_s.is_nan() || *step_s <= 0.0 {
                    return Err(spec("step needs at least one rate and a step length > 0"));
                }
                rates.clone()
            }
            RateShape::Spike {
                base,
                peak,
                start_s,
                duration_s,
            } => {
                if !(*start_s >= 0.0 && *duration_s > 0.0) {
                    return Err(spec("spike needs a start ≥ 0 and a duration > 0"));
                }
                vec![*base, *peak]
            }
            RateShape::Ramp { from, to } => vec![*from, *to],
            RateShape::Constant(rate) => vec![*rate],
        };
        if rates.iter().all(|r| r.is_finite() && *r >= 0.0) {
            Ok(())
        } else {
            Err(spec("request rates must be finite and ≥ 0"))
        }
    }
}

fn sinusoid(min: f64, max: f64, period: f64, t: f64) -> f64 {
    (min + max) / 2.0 + (max - min) / 2.0 * (2.0 * PI * t / period - PI / 2.0).sin()
}

fn spec(message: impl Into<String>) -> TraceError {
    TraceError::Spec(message.into())
}

/// Probability over time that a request takes the *first* ISL/OSL pair of a [`LengthMix`]:
/// a sinusoid between `min` and `max` (constant when they are equal).
#[derive(Clone, Debug, PartialEq)]
pub struct RatioShape {
    /// Lowest probability.
    pub min: f64,
    /// Highest probability.
    pub max: f64,
    /// Period in seconds.
    pub period_s: f64,
}

/// A time-varying mixture of two (ISL, OSL) pairs.
#[derive(Clone, Debug, PartialEq)]
pub struct LengthMix {
    /// First pair: input and output length.
    pub first: (LengthDist, LengthDist),
    /// Second pair.
    pub second: (LengthDist, LengthDist),
    /// Probability of the first pair over time.
    pub ratio: RatioShape,
}

impl LengthMix {
    /// Every request takes the same pair.
    pub fn single(isl: LengthDist, osl: LengthDist) -> Self {
        LengthMix {
            first: (isl.clone(), osl.clone()),
            second: (isl, osl),
            ratio: RatioShape {
                min: 1.0,
                max: 1.0,
                period_s: 1.0,
            },
        }
    }

    fn sample(&self, t_s: f64, rng: &mut impl Rng) -> (u32, u32) {
        let p = sinusoid(self.ratio.min, self.ratio.max, self.ratio.period_s, t_s);
        let pair = if rng.random::<f64>() < p {
            &self.first
        } else {
            &self.second
        };
        (pair.0.sample(rng), pair.1.sample(rng))
    }
}

/// A single-turn trace whose request rate follows a [`RateShape`].
///
/// ```
/// use servesim_trace::synth::{LengthDist, LengthMix, RateShape, RateTraceSpec};
/// let spec = RateTraceSpec::new(
///     RateShape::Sinusoid { min: 5.0, max: 20.0, period_s: 150.0 },
///     600.0,
///     LengthMix::single(LengthDist::Fixed(3000), LengthDist::Fixed(150)),
/// );
/// let trace = spec.generate()?;
/// // About 12.5 requests per second on average over 600 s.
/// assert!((7000..8000).contains(&trace.len()));
/// # Ok::<(), servesim_trace::TraceError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RateTraceSpec {
    /// Requests per second over time.
    pub shape: RateShape,
    /// Trace length in seconds.
    pub duration_s: f64,
    /// Window length for per-window Poisson counts, in seconds (`sin_synth`: 1).
    pub window_s: f64,
    /// Use exponential gaps instead of windows (only meaningful for a constant rate).
    pub exact_poisson: bool,
    /// ISL/OSL mixture.
    pub mix: LengthMix,
    /// Shared prefixes.
    pub sharing: PrefixSharing,
    /// Tokens per block id (`sin_synth`: 512).
    pub block_size: u32,
    /// RNG seed.
    pub seed: u64,
}

impl RateTraceSpec {
    /// A spec with `sin_synth`'s defaults: 1 s windows, 512-token blocks, no shared prefix,
    /// seed 42.
    pub fn new(shape: RateShape, duration_s: f64, mix: LengthMix) -> Self {
        RateTraceSpec {
            shape,
            duration_s,
            window_s: 1.0,
            exact_poisson: false,
            mix,
            sharing: PrefixSharing::default(),
            block_size: 512,
            seed: 42,
        }
    }

    /// The mean number of requests the shape asks for, checked before generating.
    fn expected_requests(&self) -> f64 {
        if self.exact_poisson {
            return self.shape.rate_at(0.0, self.duration_s) * self.duration_s;
        }
        self.windows().map(|(_, _, mean)| mean.max(0.0)).sum()
    }

    /// Every rate window: its start and width in seconds, and the mean number of arrivals
    /// the shape puts in it.
    fn windows(&self) -> impl Iterator<Item = (f64, f64, f64)> + '_ {
        let windows = (self.duration_s / self.window_s).ceil() as u64;
        (0..windows).map(|k| {
            let start = k as f64 * self.window_s;
            let width = self.window_s.min(self.duration_s - start);
            (
                start,
                width,
                self.shape.rate_at(start, self.duration_s) * width,
            )
        })
    }

    /// Generates the trace.
    pub fn generate(&self) -> Result<Workload, TraceError> {
        self.shape.validate()?;
        self.sharing.validate()?;
        if !(self.duration_s > 0.0 && self.duration_s <= MAX_DURATION_S) {
            return Err(spec(format!(
                "duration must be in (0, {MAX_DURATION_S:e}] seconds, got {}",
                self.duration_s
            )));
        }
        if !(self.window_s > 0.0 && self.duration_s / self.window_s <= MAX_WINDOWS) {
            return Err(spec(format!(
                "the rate window must be > 0 and cut the duration into at most {MAX_WINDOWS:e} windows, got {} s",
                self.window_s
            )));
        }
        let expected = self.expected_requests();
        if expected > MAX_REQUESTS as f64 {
            return Err(spec(format!(
                "the rate shape asks for about {expected:.3e} requests, more than a workload holds ({MAX_REQUESTS}); shorten the duration or lower the rate"
            )));
        }
        let mut rng = Pcg64::seed_from_u64(self.seed);
        let mut out = Emitter {
            builder: WorkloadBuilder::new(self.block_size),
            minter: IdMinter::new(self.block_size),
            ids: Vec::new(),
        };
        if self.exact_poisson {
            let rate = self.shape.rate_at(0.0, self.duration_s);
            if rate > 0.0 {
                let mut t = 0.0;
                loop {
                    t += -(1.0 - rng.random::<f64>()).ln() / rate;
                    if t >= self.duration_s {
                        break;
                    }
                    out.request(self, t, &mut rng)?;
                }
            }
        } else {
            for (start, width, mean) in self.windows() {
                let n = if mean > 0.0 {
                    Poisson::new(mean).map_or(0.0, |d| d.sample(&mut rng)) as u64
                } else {
                    0
                };
                for i in 0..n {
                    out.request(self, start + width * i as f64 / n as f64, &mut rng)?;
                }
            }
        }
        Ok(out.builder.finish())
    }
}

/// The longest generated trace: about 31 years of traffic.
const MAX_DURATION_S: f64 = 1e9;

/// The most rate windows a generated trace may have.
const MAX_WINDOWS: f64 = 1e8;

struct Emitter {
    builder: WorkloadBuilder,
    minter: IdMinter,
    ids: Vec<u64>,
}

impl Emitter {
    fn request(
        &mut self,
        spec: &RateTraceSpec,
        t_s: f64,
        rng: &mut Pcg64,
    ) -> Result<(), TraceError> {
        let (isl, osl) = spec.mix.sample(t_s, rng);
        let group = spec.sharing.draw_group(rng);
        self.minter.prompt(isl, &spec.sharing, group, &mut self.ids);
        let index = u32::try_from(self.builder.len()).unwrap_or(u32::MAX);
        // Whole milliseconds, like sin_synth's `int(t * 1000)`.
        let timestamp = SimTime::from_millis((t_s * 1000.0).floor() as u64);
        self.builder.push(NodeSpec {
            session: index,
            turn: 0,
            timestamp: Some(timestamp),
            delay: SimTime::ZERO,
            deps: &[],
            base: None,
            content: Content::TraceBlocks(&self.ids),
            own_tokens: isl,
            output_tokens: osl,
            line: index.saturating_add(1),
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_between(w: &Workload, from_s: f64, to_s: f64) -> usize {
        w.nodes()
            .iter()
            .filter(|n| {
                n.timestamp
                    .is_some_and(|t| (from_s..to_s).contains(&t.as_secs_f64()))
            })
            .count()
    }

    #[test]
    fn sinusoid_starts_low_and_peaks_mid_period() {
        let shape = RateShape::Sinusoid {
            min: 5.0,
            max: 20.0,
            period_s: 150.0,
        };
        assert!((shape.rate_at(0.0, 600.0) - 5.0).abs() < 1e-9);
        assert!((shape.rate_at(75.0, 600.0) - 20.0).abs() < 1e-9);
        let spec = RateTraceSpec::new(
            shape,
            600.0,
            LengthMix::single(LengthDist::Fixed(3000), LengthDist::Fixed(150)),
        );
        let w = spec.generate().unwrap();
        let low = count_between(&w, 0.0, 20.0) + count_between(&w, 150.0, 170.0);
        let high = count_between(&w, 65.0, 85.0) + count_between(&w, 215.0, 235.0);
        assert!(high > 3 * low, "high {high} low {low}");
        assert_eq!(w, spec.generate().unwrap());
        assert_eq!(w.own_hash_ids(crate::NodeId(0)).len(), 6);
    }

    #[test]
    fn other_shapes() {
        let step = RateShape::Step {
            rates: vec![1.0, 10.0],
            step_s: 60.0,
        };
        assert_eq!(step.rate_at(59.0, 600.0), 1.0);
        assert_eq!(step.rate_at(500.0, 600.0), 10.0);
        let spike = RateShape::Spike {
            base: 2.0,
            peak: 30.0,
            start_s: 10.0,
            duration_s: 5.0,
        };
        assert_eq!(spike.rate_at(12.0, 60.0), 30.0);
        assert_eq!(spike.rate_at(15.0, 60.0), 2.0);
        let ramp = RateShape::Ramp {
            from: 0.0,
            to: 10.0,
        };
        assert_eq!(ramp.rate_at(30.0, 60.0), 5.0);
        assert!(
            RateShape::Step {
                rates: vec![],
                step_s: 1.0
            }
            .validate()
            .is_err()
        );
        assert!(RateShape::Constant(-1.0).validate().is_err());
    }

    #[test]
    fn exact_poisson_has_the_right_count() {
        let mut spec = RateTraceSpec::new(
            RateShape::Constant(10.0),
            1000.0,
            LengthMix::single(LengthDist::Fixed(100), LengthDist::Fixed(10)),
        );
        spec.exact_poisson = true;
        let n = spec.generate().unwrap().len() as f64;
        assert!((n - 10_000.0).abs() < 400.0, "{n}");
    }

    #[test]
    fn mixture_follows_the_ratio() {
        let mix = LengthMix {
            first: (LengthDist::Fixed(100), LengthDist::Fixed(1)),
            second: (LengthDist::Fixed(200), LengthDist::Fixed(2)),
            ratio: RatioShape {
                min: 0.25,
                max: 0.25,
                period_s: 10.0,
            },
        };
        let spec = RateTraceSpec::new(RateShape::Constant(50.0), 200.0, mix);
        let w = spec.generate().unwrap();
        let first = w.nodes().iter().filter(|n| n.input_tokens == 100).count() as f64;
        let share = first / w.len() as f64;
        assert!((share - 0.25).abs() < 0.03, "{share}");
    }
}
