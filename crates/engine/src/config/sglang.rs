//! The `sglang` engine-args object: the reference's keys and defaults, validated.

use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// SGLang's `chunked_prefill_size` without a per-GPU model (the reference's default).
pub(super) const DEFAULT_CHUNK: u32 = 8192;

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
    /// Most prompt tokens one pass computes; longer prompts are chunked (a multiple of the
    /// page size). Absent: 8192, or SGLang's rule by GPU memory under a per-GPU model
    /// (docs/engine.md, "Backend defaults").
    pub chunked_prefill_size: Option<u32>,
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
            chunked_prefill_size: None,
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
    /// Most requests running at once (`max_running_requests`; `None`: no limit).
    pub max_running_requests: Option<u32>,
    /// Cap on the remaining output reserved per request.
    pub clip_max_new_tokens: u32,
    /// Scale of the initial `new_token_ratio`.
    pub schedule_conservativeness: f64,
}

impl SglangArgs {
    /// The page size these arguments and the top-level `block_size` agree on.
    pub fn page_size(&self, block_size: Option<u32>) -> Result<u32, EngineError> {
        match (self.page_size, block_size) {
            (Some(0), _) => Err(EngineError::config(
                "sglang.page_size",
                "must be ≥ 1".to_owned(),
            )),
            (Some(p), Some(b)) if b != p => Err(EngineError::config(
                "sglang.page_size",
                format!("{p} contradicts `block_size: {b}` (page_size is an alias of block_size)"),
            )),
            (Some(p), _) => Ok(p),
            (None, b) => Ok(b.unwrap_or(1)),
        }
    }

    /// Validates the arguments for pages of `page_size` tokens; an absent
    /// `chunked_prefill_size` takes `default_chunk`, and at most `max_running_requests` run.
    pub fn resolve(
        &self,
        page_size: u32,
        default_chunk: u32,
        max_running_requests: Option<u32>,
    ) -> Result<SglangConfig, EngineError> {
        if self.max_prefill_tokens == 0 {
            return Err(EngineError::config(
                "sglang.max_prefill_tokens",
                "must be ≥ 1".to_owned(),
            ));
        }
        let chunk = match self.chunked_prefill_size {
            Some(chunk) => chunk,
            // A default chunk rounds down to whole pages (at least one).
            None => (default_chunk / page_size * page_size).max(page_size),
        };
        if chunk == 0 || !chunk.is_multiple_of(page_size) {
            return Err(EngineError::config(
                "sglang.chunked_prefill_size",
                format!("must be a positive multiple of the page size {page_size}, got {chunk}"),
            ));
        }
        let c = self.schedule_conservativeness;
        if !(c.is_finite() && c >= 0.0) {
            return Err(EngineError::config(
                "sglang.schedule_conservativeness",
                format!("must be a finite number ≥ 0, got {c}"),
            ));
        }
        Ok(SglangConfig {
            chunked_prefill_size: chunk,
            max_running_requests,
            ..self.settings(page_size)
        })
    }

    /// The settings as given, for pages of `page_size` tokens, without validation (an absent
    /// chunk size is 8192, and no running limit).
    pub(crate) fn settings(&self, page_size: u32) -> SglangConfig {
        SglangConfig {
            schedule_policy: self.schedule_policy,
            page_size,
            max_prefill_tokens: self.max_prefill_tokens,
            chunked_prefill_size: self.chunked_prefill_size.unwrap_or(DEFAULT_CHUNK),
            max_running_requests: None,
            clip_max_new_tokens: self.clip_max_new_tokens,
            schedule_conservativeness: self.schedule_conservativeness,
        }
    }
}
