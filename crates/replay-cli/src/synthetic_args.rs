//! The synthetic-load flags of `servesim run` (`--input-tokens`, `--output-tokens`,
//! `--request-count`, …): a load generated instead of read from a trace.

use clap::Args;
use serde_json::{Value, json};
use servesim_trace::synth::{ArrivalProcess, DelayDist, LengthDist, PrefixSharing, SyntheticSpec};

use crate::error::CliError;

/// Flags of a synthetic load. Prompt and output lengths are fixed, or drawn uniformly from
/// `[⌊R·L⌋, L]` with `--random-range-ratio R` as benchmark clients' random datasets do.
#[derive(Clone, Debug, Args)]
pub(crate) struct SyntheticArgs {
    /// Synthetic load: prompt tokens per request (the longest with --random-range-ratio).
    #[arg(long, value_name = "N")]
    pub(crate) input_tokens: Option<u32>,
    /// Synthetic load: output tokens per request (the longest with --random-range-ratio).
    #[arg(long, value_name = "N")]
    pub(crate) output_tokens: Option<u32>,
    /// Synthetic load: number of sessions (requests when single-turn), warm-up excluded.
    #[arg(long, value_name = "N")]
    pub(crate) request_count: Option<u32>,
    /// Synthetic load: draw each prompt and output length uniformly from [⌊R·L⌋, L], as
    /// SGLang's bench_serving, InferenceMAX and vLLM's random dataset before 0.8.5 do (1 =
    /// fixed lengths; newer vLLM spreads ±R·L around L instead).
    #[arg(long, default_value_t = 1.0, value_name = "R")]
    pub(crate) random_range_ratio: f64,
    /// Synthetic load: milliseconds between session starts (0 = all at once).
    #[arg(long, default_value_t = 1.0, value_name = "MS")]
    pub(crate) arrival_interval_ms: f64,
    /// Synthetic load: turns per session (each extends the previous context).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) turns_per_session: u32,
    /// Synthetic load: share of each first prompt taken from a shared prefix group, in [0, 1].
    #[arg(long, default_value_t = 0.0, value_name = "RATIO")]
    pub(crate) shared_prefix_ratio: f64,
    /// Synthetic load: number of shared prefix groups (0 with a ratio > 0: one group).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub(crate) num_prefix_groups: u32,
    /// Synthetic load: delay after a turn completes before the next one, in ms.
    #[arg(long, default_value_t = 0.0, value_name = "MS")]
    pub(crate) inter_turn_delay_ms: f64,
}

impl SyntheticArgs {
    /// The synthetic flags given (those that differ from their defaults).
    pub(crate) fn given(&self) -> Vec<&'static str> {
        [
            ("--input-tokens", self.input_tokens.is_some()),
            ("--output-tokens", self.output_tokens.is_some()),
            ("--request-count", self.request_count.is_some()),
            ("--random-range-ratio", self.random_range_ratio != 1.0),
            ("--arrival-interval-ms", self.arrival_interval_ms != 1.0),
            ("--turns-per-session", self.turns_per_session != 1),
            ("--shared-prefix-ratio", self.shared_prefix_ratio != 0.0),
            ("--num-prefix-groups", self.num_prefix_groups != 0),
            ("--inter-turn-delay-ms", self.inter_turn_delay_ms != 0.0),
        ]
        .into_iter()
        .filter_map(|(flag, set)| set.then_some(flag))
        .collect()
    }

    /// Checks the flags of a synthetic load (no trace file given).
    pub(crate) fn validate(&self) -> Result<(), CliError> {
        let usage = |m: String| Err(CliError::Usage(m));
        let missing: Vec<&str> = [
            ("--input-tokens", self.input_tokens),
            ("--output-tokens", self.output_tokens),
            ("--request-count", self.request_count),
        ]
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(f, _)| *f)
        .collect();
        if !missing.is_empty() {
            return usage(format!(
                "give a trace file, or a synthetic load with --input-tokens, --output-tokens and --request-count (missing: {})",
                missing.join(", ")
            ));
        }
        if !(self.random_range_ratio.is_finite() && (0.0..=1.0).contains(&self.random_range_ratio))
        {
            return usage(format!(
                "--random-range-ratio must be in [0, 1], got {}",
                self.random_range_ratio
            ));
        }
        if !(self.arrival_interval_ms.is_finite() && self.arrival_interval_ms >= 0.0) {
            return usage(format!(
                "--arrival-interval-ms must be ≥ 0, got {}",
                self.arrival_interval_ms
            ));
        }
        if !(0.0..=1.0).contains(&self.shared_prefix_ratio) {
            return usage(format!(
                "--shared-prefix-ratio must be in [0, 1], got {}",
                self.shared_prefix_ratio
            ));
        }
        if !(self.inter_turn_delay_ms.is_finite() && self.inter_turn_delay_ms >= 0.0) {
            return usage(format!(
                "--inter-turn-delay-ms must be ≥ 0, got {}",
                self.inter_turn_delay_ms
            ));
        }
        if self.turns_per_session == 0 || self.request_count == Some(0) {
            return usage("--request-count and --turns-per-session must be ≥ 1".to_owned());
        }
        if self.input_tokens == Some(0) || self.output_tokens == Some(0) {
            return usage("--input-tokens and --output-tokens must be ≥ 1".to_owned());
        }
        Ok(())
    }

    /// The load: `warmup` extra sessions first (the warm-up phase), then `--request-count`
    /// measured ones, with ids of `block_size` tokens.
    pub(crate) fn spec(&self, warmup: u32, block_size: u32, seed: u64) -> SyntheticSpec {
        let ratio = self.random_range_ratio;
        SyntheticSpec {
            sessions: self
                .request_count
                .unwrap_or_default()
                .saturating_add(warmup),
            turns_per_session: self.turns_per_session,
            input: LengthDist::random_range(self.input_tokens.unwrap_or_default(), ratio),
            followup_input: None,
            output: LengthDist::random_range(self.output_tokens.unwrap_or_default(), ratio),
            arrival: if self.arrival_interval_ms == 0.0 {
                ArrivalProcess::Burst
            } else {
                ArrivalProcess::Interval(self.arrival_interval_ms)
            },
            sharing: PrefixSharing {
                ratio: self.shared_prefix_ratio,
                groups: self.num_prefix_groups,
            },
            inter_turn_delay: if self.inter_turn_delay_ms > 0.0 {
                DelayDist::Constant(self.inter_turn_delay_ms)
            } else {
                DelayDist::None
            },
            accumulate: true,
            block_size,
            seed,
        }
    }

    /// The load's description for the report's `servesim.config.workload`.
    pub(crate) fn describe(&self) -> Value {
        let mut synthetic = json!({
            "input_tokens": self.input_tokens.unwrap_or_default(),
            "output_tokens": self.output_tokens.unwrap_or_default(),
            "request_count": self.request_count.unwrap_or_default(),
            "arrival_interval_ms": self.arrival_interval_ms,
            "turns_per_session": self.turns_per_session,
            "shared_prefix_ratio": self.shared_prefix_ratio,
            "num_prefix_groups": self.num_prefix_groups,
            "inter_turn_delay_ms": self.inter_turn_delay_ms,
        });
        if self.random_range_ratio != 1.0 {
            synthetic["random_range_ratio"] = self.random_range_ratio.into();
        }
        json!({ "synthetic": synthetic })
    }
}
