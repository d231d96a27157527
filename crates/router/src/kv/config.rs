//! `--router-config`: the reference's `KvRouterConfig` keys and defaults.

use serde::{Deserialize, Serialize};
use servesim_trace::SimTime;

/// The smallest router block the automatic [`KvRouterConfig::router_block_size`] picks, in
/// tokens: with fewer the router's index grows with every prompt token while prefix
/// matches gain at most a few tokens of precision.
pub const MIN_AUTO_BLOCK_TOKENS: u32 = 16;

/// How queued requests are ordered when every worker is busy.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueuePolicy {
    /// First come, first served (the default).
    #[default]
    Fcfs,
    /// Last come, first served.
    Lcfs,
    /// Weighted shortest processing time: the request with the fewest prompt tokens left to
    /// compute (after its best prefix hit) first.
    Wspt,
}

/// How a worker's pending prefill load is estimated.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrefillLoadModel {
    /// Every routed prompt counts in full until its first token.
    #[default]
    None,
    /// The oldest pending prompt decays linearly over its expected prefill time, predicted
    /// by the worker's timing model (the reference uses AIConfigurator here).
    Aic,
}

/// KV-router settings; every key optional, unknown keys rejected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KvRouterConfig {
    /// Weight of the prefill term in the cost (default 1.0).
    pub overlap_score_weight: f64,
    /// Softmax temperature of the choice; 0 (default) picks the cheapest worker.
    pub router_temperature: f64,
    /// Index the workers' caches from their KV events (default true); otherwise assume a
    /// routed prompt is cached on its worker for `router_ttl_secs`.
    pub use_kv_events: bool,
    /// Count active KV blocks in the cost (default true).
    pub router_track_active_blocks: bool,
    /// Count output blocks as active (default false; not simulated, accepted for
    /// compatibility).
    pub router_track_output_blocks: bool,
    /// Deduplicate a request's blocks against the worker's running requests (default true).
    pub router_assume_kv_reuse: bool,
    /// Count pending prefill tokens in the cost (default true).
    pub router_track_prefill_tokens: bool,
    /// `none` (default) or `aic` (decay of the oldest pending prefill).
    pub router_prefill_load_model: PrefillLoadModel,
    /// Queue when every worker has more than `threshold × max_num_batched_tokens` pending
    /// prefill tokens (default 4.0; `null` never queues).
    pub router_queue_threshold: Option<f64>,
    /// Queue order: `fcfs` (default), `lcfs` or `wspt`.
    pub router_queue_policy: QueuePolicy,
    /// Delay (ms) before a KV event becomes visible to the router (default 0: visible at the
    /// start of the pass that produced it, as in the reference's offline replay).
    pub router_event_delay_ms: f64,
    /// Lifetime of assumed cache entries when `use_kv_events` is false (default 120 s).
    pub router_ttl_secs: f64,
    /// Tokens per router block (servesim extension): the unit the router indexes, matches
    /// prefixes in and counts load in. A multiple of the engine block size; `null` (default)
    /// uses the engine block size, raised to the smallest multiple of it that is at least
    /// [`MIN_AUTO_BLOCK_TOKENS`] — one-token SGLang pages would otherwise make the router
    /// track every prompt token.
    pub router_block_size: Option<u32>,
    /// Live-deployment key; accepted, no effect.
    pub router_event_threads: Option<u32>,
    /// Live-deployment key; accepted, no effect.
    pub router_max_tree_size: Option<u64>,
    /// Live-deployment key; accepted, no effect.
    pub router_prune_target_ratio: Option<f64>,
    /// Live-deployment key; accepted, no effect.
    pub router_replica_sync: Option<bool>,
    /// Live-deployment key; accepted, no effect.
    pub router_snapshot_threshold: Option<u64>,
    /// Live-deployment key; accepted, no effect.
    pub router_reset_states: Option<bool>,
}

impl Default for KvRouterConfig {
    fn default() -> Self {
        KvRouterConfig {
            overlap_score_weight: 1.0,
            router_temperature: 0.0,
            use_kv_events: true,
            router_track_active_blocks: true,
            router_track_output_blocks: false,
            router_assume_kv_reuse: true,
            router_track_prefill_tokens: true,
            router_prefill_load_model: PrefillLoadModel::None,
            router_queue_threshold: Some(4.0),
            router_queue_policy: QueuePolicy::Fcfs,
            router_event_delay_ms: 0.0,
            router_ttl_secs: 120.0,
            router_block_size: None,
            router_event_threads: None,
            router_max_tree_size: None,
            router_prune_target_ratio: None,
            router_replica_sync: None,
            router_snapshot_threshold: None,
            router_reset_states: None,
        }
    }
}

impl KvRouterConfig {
    /// Parses a JSON object (partial: unspecified keys keep their defaults).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let config: KvRouterConfig = servesim_trace::json_named(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks value ranges and the reference's combination rules.
    pub fn validate(&self) -> Result<(), String> {
        let finite_non_negative = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("field `{name}`: must be finite and ≥ 0, got {v}"))
            }
        };
        finite_non_negative("overlap_score_weight", self.overlap_score_weight)?;
        finite_non_negative("router_temperature", self.router_temperature)?;
        if let Some(t) = self.router_queue_threshold {
            finite_non_negative("router_queue_threshold", t)?;
        }
        // Times must fit the simulated clock.
        if SimTime::from_millis_f64(self.router_event_delay_ms).is_none() {
            return Err(format!(
                "field `router_event_delay_ms`: must be finite milliseconds in [0, {:.3e}), got {}",
                SimTime::LIMIT.as_millis_f64(),
                self.router_event_delay_ms
            ));
        }
        if SimTime::from_secs_f64(self.router_ttl_secs).is_none() {
            return Err(format!(
                "field `router_ttl_secs`: must be finite seconds in [0, {:.3e}), got {}",
                SimTime::LIMIT.as_secs_f64(),
                self.router_ttl_secs
            ));
        }
        let at_least_one = [
            ("router_block_size", self.router_block_size.map(u64::from)),
            (
                "router_event_threads",
                self.router_event_threads.map(u64::from),
            ),
            ("router_max_tree_size", self.router_max_tree_size),
        ];
        for (name, value) in at_least_one {
            if value == Some(0) {
                return Err(format!("field `{name}`: must be ≥ 1"));
            }
        }
        if let Some(ratio) = self.router_prune_target_ratio
            && !(ratio > 0.0 && ratio <= 1.0)
        {
            return Err(format!(
                "field `router_prune_target_ratio`: must be in (0, 1], got {ratio}"
            ));
        }
        if self.router_prefill_load_model == PrefillLoadModel::Aic {
            if !self.router_track_prefill_tokens {
                return Err("field `router_prefill_load_model`: `aic` requires `router_track_prefill_tokens: true`".to_owned());
            }
            if self.router_queue_policy != QueuePolicy::Fcfs {
                return Err(
                    "field `router_prefill_load_model`: `aic` requires `router_queue_policy: fcfs`"
                        .to_owned(),
                );
            }
        }
        Ok(())
    }

    /// Engine blocks per router block for engines with `engine_block_size`-token blocks:
    /// `router_block_size / engine_block_size`, or the automatic choice (see
    /// [`router_block_size`](Self::router_block_size)); always ≥ 1.
    ///
    /// ```
    /// use servesim_router::KvRouterConfig;
    /// let auto = KvRouterConfig::default();
    /// assert_eq!(auto.blocks_per_router_block(64), Ok(1)); // vLLM's 64-token blocks
    /// assert_eq!(auto.blocks_per_router_block(1), Ok(16)); // SGLang's 1-token pages
    /// let exact = KvRouterConfig { router_block_size: Some(1), ..auto };
    /// assert_eq!(exact.blocks_per_router_block(1), Ok(1));
    /// assert!(exact.blocks_per_router_block(16).is_err());
    /// ```
    pub fn blocks_per_router_block(&self, engine_block_size: u32) -> Result<u32, String> {
        let engine = engine_block_size.max(1);
        match self.router_block_size {
            None => Ok(MIN_AUTO_BLOCK_TOKENS.div_ceil(engine)),
            Some(tokens) if tokens >= engine && tokens.is_multiple_of(engine) => {
                Ok(tokens / engine)
            }
            Some(tokens) => Err(format!(
                "field `router_block_size`: {tokens} is not a multiple of the engine block size {engine}"
            )),
        }
    }

    /// The prefill-side router of a disaggregated deployment: no active-block term.
    pub fn for_prefill_pool(&self) -> Self {
        KvRouterConfig {
            router_track_active_blocks: false,
            ..self.clone()
        }
    }

    /// The decode-side router: balances active blocks only and never queues.
    pub fn for_decode_pool(&self) -> Self {
        KvRouterConfig {
            overlap_score_weight: 0.0,
            router_assume_kv_reuse: false,
            router_track_prefill_tokens: false,
            router_prefill_load_model: PrefillLoadModel::None,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_json_keeps_defaults() {
        let c = KvRouterConfig::from_json(
            r#"{"router_temperature": 0.5, "router_queue_threshold": null}"#,
        )
        .unwrap();
        assert_eq!(c.router_temperature, 0.5);
        assert_eq!(c.router_queue_threshold, None);
        assert_eq!(c.overlap_score_weight, 1.0);
        assert_eq!(c.router_queue_policy, QueuePolicy::Fcfs);
    }

    #[test]
    fn invalid_configs_name_the_key() {
        assert!(
            KvRouterConfig::from_json(r#"{"overlap_weight": 1}"#)
                .unwrap_err()
                .contains("unknown field `overlap_weight`")
        );
        assert!(
            KvRouterConfig::from_json(r#"{"router_queue_policy": "random"}"#)
                .unwrap_err()
                .contains("unknown variant `random`")
        );
        assert_eq!(
            KvRouterConfig::from_json(r#"{"router_temperature": -1}"#).unwrap_err(),
            "field `router_temperature`: must be finite and ≥ 0, got -1"
        );
        assert!(
            KvRouterConfig::from_json(
                r#"{"router_prefill_load_model": "aic", "router_queue_policy": "wspt"}"#
            )
            .unwrap_err()
            .contains("requires `router_queue_policy: fcfs`")
        );
    }

    #[test]
    fn pool_variants() {
        let base = KvRouterConfig::default();
        assert!(!base.for_prefill_pool().router_track_active_blocks);
        let decode = base.for_decode_pool();
        assert_eq!(decode.overlap_score_weight, 0.0);
        assert!(!decode.router_track_prefill_tokens && !decode.router_assume_kv_reuse);
    }
}
