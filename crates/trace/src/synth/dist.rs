//! Seeded distributions for token lengths, arrival gaps and inter-turn delays.
//!
//! Each distribution parses from a compact command-line form (`3000`, `normal:3000,300`,
//! `poisson:10`, `exp:500`) and samples from a caller-owned RNG, so one seed fixes a whole
//! generated workload.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Normal};

use crate::error::TraceError;
use crate::time::SimTime;

fn spec_error(message: String) -> TraceError {
    TraceError::Spec(message)
}

/// Parses `name:a,b` into `(name, [a, b])`; a bare number is `("", [n])`.
fn split_spec(text: &str) -> Result<(&str, Vec<f64>), String> {
    let (name, args) = text.split_once(':').unwrap_or(("", text));
    let values = args
        .split(',')
        .map(|a| {
            a.trim()
                .parse::<f64>()
                .map_err(|_| format!("`{a}` in `{text}` is not a number"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err(format!("`{text}` holds a non-finite number"));
    }
    Ok((name.trim(), values))
}

/// A distribution of token counts; samples are rounded and at least 1.
#[derive(Clone, Debug, PartialEq)]
pub enum LengthDist {
    /// Always the same length (`3000`).
    Fixed(u32),
    /// Normal with the given mean and standard deviation (`normal:3000,300`).
    Normal {
        /// Mean length.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Log-normal with the given mean and standard deviation *of the lengths*
    /// (`lognormal:3000,1500`): heavy right tail, as real prompt lengths have.
    LogNormal {
        /// Mean length.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Uniform integers in `[min, max]` (`uniform:800,1000`): what benchmark clients' random
    /// datasets draw ([`LengthDist::random_range`]).
    Uniform {
        /// Shortest length (≥ 1).
        min: u32,
        /// Longest length (≥ `min`).
        max: u32,
    },
}

impl LengthDist {
    /// The lengths `vllm bench serve --dataset-name random --random-range-ratio R` (before
    /// vLLM 0.8.5), SGLang's `bench_serving` and InferenceMAX draw for a nominal length `L`:
    /// uniform integers in `[⌊R·L⌋, L]` (at least 1); `R ≥ 1` means exactly `L`.
    ///
    /// ```
    /// use servesim_trace::synth::LengthDist;
    /// assert_eq!(LengthDist::random_range(1024, 0.8), LengthDist::Uniform { min: 819, max: 1024 });
    /// assert_eq!(LengthDist::random_range(1024, 1.0), LengthDist::Fixed(1024));
    /// assert_eq!(LengthDist::random_range(1024, 0.0), LengthDist::Uniform { min: 1, max: 1024 });
    /// ```
    pub fn random_range(length: u32, ratio: f64) -> LengthDist {
        let length = length.max(1);
        if ratio >= 1.0 {
            return LengthDist::Fixed(length);
        }
        let min = (f64::from(length) * ratio.max(0.0)).floor() as u32;
        LengthDist::Uniform {
            min: min.clamp(1, length),
            max: length,
        }
    }

    /// Draws one length.
    pub fn sample(&self, rng: &mut impl Rng) -> u32 {
        let x = match *self {
            LengthDist::Fixed(n) => return n.max(1),
            LengthDist::Uniform { min, max } => {
                return rng.random_range(min.max(1)..=max.max(min).max(1));
            }
            LengthDist::Normal { mean, std } => {
                Normal::new(mean, std).map_or(mean, |d| d.sample(rng))
            }
            LengthDist::LogNormal { mean, std } => {
                // Moments of the log: sigma² = ln(1 + std²/mean²), mu = ln(mean) − sigma²/2.
                let sigma2 = (1.0 + (std * std) / (mean * mean)).ln();
                LogNormal::new(mean.ln() - sigma2 / 2.0, sigma2.sqrt())
                    .map_or(mean, |d| d.sample(rng))
            }
        };
        x.round().clamp(1.0, f64::from(u32::MAX)) as u32
    }

    /// The distribution's mean.
    pub fn mean(&self) -> f64 {
        match *self {
            LengthDist::Fixed(n) => f64::from(n),
            LengthDist::Normal { mean, .. } | LengthDist::LogNormal { mean, .. } => mean,
            LengthDist::Uniform { min, max } => (f64::from(min) + f64::from(max)) / 2.0,
        }
    }
}

impl FromStr for LengthDist {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, v) = split_spec(text)?;
        let positive = |x: f64| x > 0.0;
        match (name, v.as_slice()) {
            ("" | "fixed", [n]) if *n >= 1.0 && n.fract() == 0.0 && *n <= f64::from(u32::MAX) => {
                Ok(LengthDist::Fixed(*n as u32))
            }
            ("normal", [mean, std]) if positive(*mean) && *std >= 0.0 => Ok(LengthDist::Normal {
                mean: *mean,
                std: *std,
            }),
            ("lognormal", [mean, std]) if positive(*mean) && *std >= 0.0 => {
                Ok(LengthDist::LogNormal {
                    mean: *mean,
                    std: *std,
                })
            }
            ("uniform", [min, max])
                if *min >= 1.0
                    && min.fract() == 0.0
                    && max.fract() == 0.0
                    && min <= max
                    && *max <= f64::from(u32::MAX) =>
            {
                Ok(LengthDist::Uniform {
                    min: *min as u32,
                    max: *max as u32,
                })
            }
            _ => Err(format!(
                "invalid length `{text}`: expected N ≥ 1, normal:MEAN,STD, lognormal:MEAN,STD or uniform:MIN,MAX (integers, 1 ≤ MIN ≤ MAX)"
            )),
        }
    }
}

impl fmt::Display for LengthDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LengthDist::Fixed(n) => write!(f, "{n}"),
            LengthDist::Normal { mean, std } => write!(f, "normal:{mean},{std}"),
            LengthDist::LogNormal { mean, std } => write!(f, "lognormal:{mean},{std}"),
            LengthDist::Uniform { min, max } => write!(f, "uniform:{min},{max}"),
        }
    }
}

/// How session start times are spaced.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrivalProcess {
    /// Everything arrives at time 0 (`burst`).
    Burst,
    /// A constant gap in milliseconds (`interval:250`).
    Interval(f64),
    /// A Poisson process of `rate` per second (`poisson:4`).
    Poisson(f64),
    /// Gamma-distributed gaps with mean `1/rate` and shape `burstiness`
    /// (`gamma:4,0.5`): shape < 1 is burstier than Poisson, > 1 smoother; 1 is Poisson.
    Gamma {
        /// Mean arrivals per second.
        rate: f64,
        /// Gamma shape (coefficient of variation of the gaps is `1/√shape`).
        burstiness: f64,
    },
}

impl ArrivalProcess {
    /// Starts a sampler of successive arrival times from zero.
    pub fn gaps(&self) -> Result<ArrivalGaps, TraceError> {
        let kind = match *self {
            ArrivalProcess::Burst => GapKind::Burst,
            ArrivalProcess::Interval(ms) if ms >= 0.0 => GapKind::Constant(ms),
            ArrivalProcess::Poisson(rate) if rate > 0.0 => {
                GapKind::Exp(Exp::new(rate / 1000.0).map_err(|e| spec_error(e.to_string()))?)
            }
            ArrivalProcess::Gamma { rate, burstiness } if rate > 0.0 && burstiness > 0.0 => {
                let mean_gap_ms = 1000.0 / rate;
                GapKind::Gamma(
                    Gamma::new(burstiness, mean_gap_ms / burstiness)
                        .map_err(|e| spec_error(e.to_string()))?,
                )
            }
            _ => return Err(spec_error(format!("invalid arrival process {self:?}"))),
        };
        Ok(ArrivalGaps {
            kind,
            next_ms: 0.0,
            first: true,
        })
    }
}

impl FromStr for ArrivalProcess {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        if text.trim() == "burst" {
            return Ok(ArrivalProcess::Burst);
        }
        let (name, v) = split_spec(text)?;
        match (name, v.as_slice()) {
            ("interval", [ms]) if *ms >= 0.0 => Ok(ArrivalProcess::Interval(*ms)),
            ("poisson", [rate]) if *rate > 0.0 => Ok(ArrivalProcess::Poisson(*rate)),
            ("gamma", [rate, shape]) if *rate > 0.0 && *shape > 0.0 => Ok(ArrivalProcess::Gamma {
                rate: *rate,
                burstiness: *shape,
            }),
            _ => Err(format!(
                "invalid arrival process `{text}`: expected burst, interval:MS, poisson:RATE or gamma:RATE,BURSTINESS"
            )),
        }
    }
}

#[derive(Clone, Debug)]
enum GapKind {
    Burst,
    Constant(f64),
    Exp(Exp<f64>),
    Gamma(Gamma<f64>),
}

/// Successive arrival times of an [`ArrivalProcess`]; the first arrival is at time 0.
#[derive(Clone, Debug)]
pub struct ArrivalGaps {
    kind: GapKind,
    next_ms: f64,
    first: bool,
}

impl ArrivalGaps {
    /// The next arrival time, or `None` once arrivals leave the simulated clock's range
    /// (beyond [`SimTime::LIMIT`]): a workload that long is a configuration error.
    pub fn next_arrival(&mut self, rng: &mut impl Rng) -> Option<SimTime> {
        if !self.first {
            self.next_ms += match &self.kind {
                GapKind::Burst => 0.0,
                GapKind::Constant(ms) => *ms,
                GapKind::Exp(d) => d.sample(rng),
                GapKind::Gamma(d) => d.sample(rng),
            };
        }
        self.first = false;
        SimTime::from_millis_f64(self.next_ms)
    }
}

/// The wait between a turn's completion and the next turn of its session.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum DelayDist {
    /// No wait.
    #[default]
    None,
    /// A constant wait in milliseconds (`500`).
    Constant(f64),
    /// Exponentially distributed with the given mean in milliseconds (`exp:500`).
    Exponential(f64),
}

impl DelayDist {
    /// Draws one delay; `None` when it is beyond the simulated clock's range.
    pub fn sample(&self, rng: &mut impl Rng) -> Option<SimTime> {
        let ms = match *self {
            DelayDist::None => 0.0,
            DelayDist::Constant(ms) => ms,
            DelayDist::Exponential(mean) => Exp::new(1.0 / mean).map_or(mean, |d| d.sample(rng)),
        };
        SimTime::from_millis_f64(ms)
    }
}

impl FromStr for DelayDist {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, v) = split_spec(text)?;
        match (name, v.as_slice()) {
            ("" | "constant", [ms]) if *ms == 0.0 => Ok(DelayDist::None),
            ("" | "constant", [ms]) if *ms > 0.0 => Ok(DelayDist::Constant(*ms)),
            ("exp", [mean]) if *mean > 0.0 => Ok(DelayDist::Exponential(*mean)),
            _ => Err(format!(
                "invalid delay `{text}`: expected MS ≥ 0 or exp:MEAN_MS"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64;

    #[test]
    fn lengths_parse_and_sample() {
        let mut rng = Pcg64::seed_from_u64(1);
        assert_eq!("3000".parse::<LengthDist>(), Ok(LengthDist::Fixed(3000)));
        assert_eq!(LengthDist::Fixed(3000).sample(&mut rng), 3000);
        assert!("0".parse::<LengthDist>().is_err());
        assert!("normal:5".parse::<LengthDist>().is_err());
        let d: LengthDist = "lognormal:1000,500".parse().unwrap();
        let n = 20_000;
        let mean = (0..n).map(|_| f64::from(d.sample(&mut rng))).sum::<f64>() / f64::from(n);
        assert!((mean - 1000.0).abs() < 20.0, "lognormal mean {mean}");
        let d: LengthDist = "normal:50,100".parse().unwrap();
        assert!((0..1000).all(|_| d.sample(&mut rng) >= 1));
    }

    #[test]
    fn uniform_lengths_cover_their_range_evenly() {
        let mut rng = Pcg64::seed_from_u64(7);
        let d: LengthDist = "uniform:819,1024".parse().unwrap();
        assert_eq!(d, LengthDist::random_range(1024, 0.8));
        assert_eq!(d.to_string(), "uniform:819,1024");
        assert_eq!(d.mean(), 921.5);
        let draws: Vec<u32> = (0..40_000).map(|_| d.sample(&mut rng)).collect();
        assert!(draws.iter().all(|&n| (819..=1024).contains(&n)));
        assert!(draws.contains(&819) && draws.contains(&1024));
        let mean = draws.iter().map(|&n| f64::from(n)).sum::<f64>() / draws.len() as f64;
        assert!((mean - 921.5).abs() < 1.0, "uniform mean {mean}");
        for bad in ["uniform:0,5", "uniform:6,5", "uniform:1.5,5", "uniform:5"] {
            assert!(bad.parse::<LengthDist>().is_err(), "{bad}");
        }
        // A ratio of 0 still never draws an empty prompt; a one-token range is fixed.
        assert_eq!(
            LengthDist::random_range(10, 0.0),
            LengthDist::Uniform { min: 1, max: 10 }
        );
        assert_eq!(LengthDist::random_range(1, 0.5).sample(&mut rng), 1);
    }

    #[test]
    fn poisson_and_gamma_gaps_have_the_right_mean() {
        let mut rng = Pcg64::seed_from_u64(7);
        for process in ["poisson:10", "gamma:10,0.25", "gamma:10,4"] {
            let mut gaps = process.parse::<ArrivalProcess>().unwrap().gaps().unwrap();
            let n = 50_000;
            let mut last = SimTime::ZERO;
            for _ in 0..n {
                last = gaps.next_arrival(&mut rng).unwrap();
            }
            let rate = f64::from(n - 1) / last.as_secs_f64();
            assert!((rate - 10.0).abs() < 0.3, "{process}: rate {rate}");
        }
    }

    #[test]
    fn burst_and_interval_are_deterministic() {
        let mut rng = Pcg64::seed_from_u64(0);
        let mut burst = ArrivalProcess::Burst.gaps().unwrap();
        assert_eq!(burst.next_arrival(&mut rng), Some(SimTime::ZERO));
        assert_eq!(burst.next_arrival(&mut rng), Some(SimTime::ZERO));
        let mut every = "interval:2.5"
            .parse::<ArrivalProcess>()
            .unwrap()
            .gaps()
            .unwrap();
        assert_eq!(every.next_arrival(&mut rng), Some(SimTime::ZERO));
        assert_eq!(
            every.next_arrival(&mut rng),
            Some(SimTime::from_micros(2_500))
        );
        let mut far = ArrivalProcess::Interval(1e30).gaps().unwrap();
        assert_eq!(far.next_arrival(&mut rng), Some(SimTime::ZERO));
        assert_eq!(far.next_arrival(&mut rng), None);
    }

    #[test]
    fn delays_parse() {
        assert_eq!("0".parse::<DelayDist>(), Ok(DelayDist::None));
        assert_eq!("250".parse::<DelayDist>(), Ok(DelayDist::Constant(250.0)));
        assert_eq!(
            "exp:100".parse::<DelayDist>(),
            Ok(DelayDist::Exponential(100.0))
        );
        assert!("-1".parse::<DelayDist>().is_err());
    }
}
