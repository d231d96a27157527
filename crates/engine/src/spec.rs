//! Speculative decoding (MTP, Eagle): how many tokens one decode step emits per sequence.
//!
//! With `nextn` draft tokens per step, the target model verifies the drafts in the same
//! forward pass, which therefore scores `nextn + 1` positions per sequence (the timing layer
//! prices it so). Draft `i` is accepted with *conditional* probability `p_i` — given that
//! drafts `1..i` were accepted — and the step emits the verified token plus the run of
//! consecutive accepted drafts, never more than the request still has to generate:
//!
//! `E[tokens per step] = 1 + p₁ + p₁·p₂ + … + p₁·…·p_nextn`.
//!
//! Draws come from a PCG generator seeded per worker ([`crate::EngineConfig::seed`]), so a
//! replay is reproducible and fast-forwarded decode draws exactly what stepping draws.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// Most draft tokens per step (`aic_nextn`).
pub const MAX_NEXTN: u32 = 5;

/// The reference's default conditional acceptance probabilities.
pub const DEFAULT_ACCEPT_RATES: [f64; 5] = [0.85, 0.3, 0.0, 0.0, 0.0];

/// `aic_nextn_accept_rates` as written: a comma-separated string (the reference's form,
/// `"0.85,0.3"`) or a JSON array of numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "a comma-separated string of probabilities such as \"0.85,0.3\", or an array of numbers"
)]
pub enum AcceptRates {
    /// `"0.85,0.3,0,0,0"`.
    Csv(String),
    /// `[0.85, 0.3]`.
    List(Vec<f64>),
}

impl AcceptRates {
    /// The probabilities, each checked to be a number in `[0, 1]`.
    fn values(&self) -> Result<Vec<f64>, String> {
        let values = match self {
            AcceptRates::List(values) => values.clone(),
            AcceptRates::Csv(text) => text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| {
                    item.parse::<f64>()
                        .map_err(|_| format!("`{item}` is not a number"))
                })
                .collect::<Result<_, _>>()?,
        };
        match values.iter().find(|p| !(0.0..=1.0).contains(*p)) {
            Some(p) => Err(format!("probabilities must be in [0, 1], got {p}")),
            None => Ok(values),
        }
    }
}

/// Validated speculative-decoding settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpecConfig {
    /// Draft tokens per step (1–5).
    pub nextn: u32,
    /// Conditional acceptance probability of each draft, exactly `nextn` of them.
    pub accept_rates: Vec<f64>,
}

impl SpecConfig {
    /// Validates `aic_nextn` and `aic_nextn_accept_rates` (default `0.85,0.3,0,0,0`),
    /// padding the rates with zeros or truncating them to `nextn`.
    ///
    /// ```
    /// use servesim_engine::{AcceptRates, SpecConfig};
    /// let spec = SpecConfig::new(3, Some(&AcceptRates::Csv("0.9, 0.5".into())))?;
    /// assert_eq!(spec.accept_rates, vec![0.9, 0.5, 0.0]);
    /// assert!((spec.expected_tokens_per_step() - (1.0 + 0.9 + 0.45)).abs() < 1e-12);
    /// # Ok::<(), servesim_engine::EngineError>(())
    /// ```
    pub fn new(nextn: u32, rates: Option<&AcceptRates>) -> Result<Self, EngineError> {
        if !(1..=MAX_NEXTN).contains(&nextn) {
            return Err(EngineError::Config {
                key: "aic_nextn",
                message: format!(
                    "must be 1–{MAX_NEXTN} draft tokens, got {nextn} (omit it to turn speculative decoding off)"
                ),
            });
        }
        let mut accept_rates = match rates {
            Some(rates) => rates.values().map_err(|message| EngineError::Config {
                key: "aic_nextn_accept_rates",
                message,
            })?,
            None => DEFAULT_ACCEPT_RATES.to_vec(),
        };
        accept_rates.resize(nextn as usize, 0.0);
        Ok(SpecConfig {
            nextn,
            accept_rates,
        })
    }

    /// Tokens a sequence emits per step on average when far from its end:
    /// `1 + p₁ + p₁·p₂ + …`.
    pub fn expected_tokens_per_step(&self) -> f64 {
        let mut run = 1.0;
        let mut total = 1.0;
        for p in &self.accept_rates {
            run *= p;
            total += run;
        }
        total
    }
}

/// The per-worker draft-acceptance sampler.
#[derive(Clone, Debug)]
pub(crate) struct Speculator {
    accept_rates: Vec<f64>,
    rng: Pcg64Mcg,
}

impl Speculator {
    /// A sampler for `config`, seeded with the worker's seed.
    pub(crate) fn new(config: &SpecConfig, seed: u64) -> Self {
        Speculator {
            accept_rates: config.accept_rates.clone(),
            rng: Pcg64Mcg::seed_from_u64(seed),
        }
    }

    /// Tokens one decode step emits for a sequence with `remaining ≥ 1` tokens to go: 1 plus
    /// the consecutive accepted drafts, at most `remaining`. Draws stop at the first
    /// rejection or when the clamp is reached.
    pub(crate) fn draw(&mut self, remaining: u32) -> u32 {
        let mut tokens = 1;
        for &p in &self.accept_rates {
            if tokens >= remaining || self.rng.random::<f64>() >= p {
                break;
            }
            tokens += 1;
        }
        tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(nextn: u32, rates: &str) -> SpecConfig {
        SpecConfig::new(nextn, Some(&AcceptRates::Csv(rates.to_owned()))).unwrap()
    }

    #[test]
    fn mean_tokens_per_step_matches_the_closed_form_within_one_percent() {
        for (nextn, rates) in [(2, "0.85,0.3"), (5, "0.9,0.8,0.6,0.5,0.2"), (3, "0.5")] {
            let spec = config(nextn, rates);
            let mut sampler = Speculator::new(&spec, 7);
            let steps = 100_000u32;
            let tokens: u64 = (0..steps).map(|_| u64::from(sampler.draw(u32::MAX))).sum();
            let mean = tokens as f64 / f64::from(steps);
            let expected = spec.expected_tokens_per_step();
            assert!(
                (mean / expected - 1.0).abs() < 0.01,
                "{rates}: {mean} vs {expected}"
            );
        }
        // The default rates: E = 1 + 0.85 + 0.85·0.3 = 2.105.
        let default = SpecConfig::new(2, None).unwrap();
        assert!((default.expected_tokens_per_step() - 2.105).abs() < 1e-12);
    }

    #[test]
    fn draws_are_clamped_and_deterministic() {
        let spec = config(3, "1,1,1");
        let mut sampler = Speculator::new(&spec, 1);
        assert_eq!(sampler.draw(10), 4);
        assert_eq!(sampler.draw(2), 2);
        assert_eq!(sampler.draw(1), 1);
        let spec = config(2, "0.85,0.3");
        let a: Vec<u32> = {
            let mut s = Speculator::new(&spec, 9);
            (0..50).map(|_| s.draw(100)).collect()
        };
        let mut s = Speculator::new(&spec, 9);
        assert!(a.iter().all(|&t| t == s.draw(100)));
        assert!(a.iter().all(|&t| (1..=3).contains(&t)));
    }

    #[test]
    fn rates_are_padded_truncated_and_validated() {
        assert_eq!(
            config(5, "0.85,0.3").accept_rates,
            vec![0.85, 0.3, 0.0, 0.0, 0.0]
        );
        assert_eq!(config(1, "0.85,0.3").accept_rates, vec![0.85]);
        let list = SpecConfig::new(2, Some(&AcceptRates::List(vec![0.5, 0.25]))).unwrap();
        assert_eq!(list.accept_rates, vec![0.5, 0.25]);
        let cases = [
            (0, "0.5", "field `aic_nextn`: must be 1–5"),
            (6, "0.5", "field `aic_nextn`: must be 1–5"),
            (
                2,
                "0.5,x",
                "field `aic_nextn_accept_rates`: `x` is not a number",
            ),
            (
                2,
                "1.5",
                "field `aic_nextn_accept_rates`: probabilities must be in [0, 1]",
            ),
        ];
        for (nextn, rates, expected) in cases {
            let err = SpecConfig::new(nextn, Some(&AcceptRates::Csv(rates.to_owned())))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(expected), "{err}");
        }
    }
}
