//! The `sglang` engine-args object: the reference's keys and defaults, validated.

use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// In what order waiting requests are considered for admission.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchedulePolicy {
    /// Arrival order (the default; `fcfs` is accepted too).
    #[default]
    #[serde(alias = "fcfs")]
    Fifo,
    /// Longest cached prefix first, with in-batch prefix deprioritisation; falls back to
    /// arrival order when more than 128 requests wait.
    Lpm,
}

/// The `sglang` object of the engine arguments, as written (every key optional, unknown keys
/// rejected).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SglangArgs {
    /// `fifo` (default, alias `fcfs`) or `lpm`.
    pub schedule_policy: SchedulePolicy,
    /// Tokens per KV page (default: `block_size`, else 1); an alias of `block_size`, which must
    /// agree when both are given.
    pub page_size: Option<u32>,
    /// Most prompt tokens one prefill pass admits (default 16384).
    pub max_prefill_tokens: u32,
    /// Most prompt tokens one pass computes; longer prompts are chunked (default 8192; a
    /// multiple of the page size).
    pub chunked_prefill_size: u32,
    /// Cap on a request's remaining output when reserving KV for it (default 4096).
    pub clip_max_new_tokens: u32,
    /// Scales the initial `new_token_ratio` (0.7 × this, at most 1; default 1.0, ≥ 0).
    pub schedule_conservativeness: f64,
}

impl Default for SglangArgs {
    fn default() -> Self {
        SglangArgs {
            schedule_policy: SchedulePolicy::Fifo,
            page_size: None,
            max_prefill_tokens: 16_384,
            chunked_prefill_size: 8192,
            clip_max_new_tokens: 4096,
            schedule_conservativeness: 1.0,
        }
    }
}

/// Validated SGLang scheduler settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SglangConfig {
    /// Admission order.
    pub schedule_policy: SchedulePolicy,
    /// Tokens per KV page (the engine's block size).
    pub page_size: u32,
    /// Prompt-token budget of one prefill pass.
    pub max_prefill_tokens: u32,
    /// Chunk size of long prompts.
    pub chunked_prefill_size: u32,
    /// Cap on the remaining output reserved per request.
    pub clip_max_new_tokens: u32,
    /// Scale of the initial `new_token_ratio`.
    pub schedule_conservativeness: f64,
}

impl SglangArgs {
    /// The page size these arguments and the top-level `block_size` (0 = unset) agree on.
    pub fn page_size(&self, block_size: u32) -> Result<u32, EngineError> {
        match (self.page_size, block_size) {
            (Some(0), _) => Err(EngineError::config(
                "sglang.page_size",
                "must be ≥ 1".to_owned(),
            )),
            (Some(p), b) if b != 0 && b != p => Err(EngineError::config(
                "sglang.page_size",
                format!("{p} contradicts `block_size: {b}` (page_size is an alias of block_size)"),
            )),
            (Some(p), _) => Ok(p),
            (None, 0) => Ok(1),
            (None, b) => Ok(b),
        }
    }

    /// Validates the arguments for pages of `page_size` tokens.
    pub fn resolve(&self, page_size: u32) -> Result<SglangConfig, EngineError> {
        if self.max_prefill_tokens == 0 {
            return Err(EngineError::config(
                "sglang.max_prefill_tokens",
                "must be ≥ 1".to_owned(),
            ));
        }
        if self.chunked_prefill_size == 0 || !self.chunked_prefill_size.is_multiple_of(page_size) {
            return Err(EngineError::config(
                "sglang.chunked_prefill_size",
                format!(
                    "must be a positive multiple of the page size {page_size}, got {}",
                    self.chunked_prefill_size
                ),
            ));
        }
        let c = self.schedule_conservativeness;
        if !(c.is_finite() && c >= 0.0) {
            return Err(EngineError::config(
                "sglang.schedule_conservativeness",
                format!("must be a finite number ≥ 0, got {c}"),
            ));
        }
        Ok(self.settings(page_size))
    }

    /// The settings as given, for pages of `page_size` tokens, without validation.
    pub(crate) fn settings(&self, page_size: u32) -> SglangConfig {
        SglangConfig {
            schedule_policy: self.schedule_policy,
            page_size,
            max_prefill_tokens: self.max_prefill_tokens,
            chunked_prefill_size: self.chunked_prefill_size,
            clip_max_new_tokens: self.clip_max_new_tokens,
            schedule_conservativeness: self.schedule_conservativeness,
        }
    }
}
