//! The reference's `python -m dynamo.replay` flags that are not engine or workload settings:
//! `--replay-mode` and the router-side `--aic-*` flags of its prompt-load model.

use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};
use servesim_engine::{EngineArgs, PassTiming};
use servesim_replay::RouterMode;
use servesim_router::KvRouterConfig;
use servesim_router::kv::PrefillLoadModel;

use crate::error::CliError;

/// How the reference replays: in simulated time, or against live mock workers.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReplayMode {
    /// A simulated clock, no workers launched (the reference's default; servesim's only mode).
    #[default]
    Offline,
    /// Live mock workers behind a real runtime (not available: see `--help`).
    Online,
}

/// `--replay-mode` and the top-level `--aic-*` flags.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct CompatArgs {
    /// offline (default: simulated time) or online (live mock workers; not available yet).
    #[arg(long, value_enum, default_value_t = ReplayMode::Offline, value_name = "MODE")]
    pub(crate) replay_mode: ReplayMode,
    /// Router-side prompt-load model: AIConfigurator backend (vllm, sglang, trtllm).
    #[arg(long, value_name = "BACKEND")]
    aic_backend: Option<String>,
    /// Router-side prompt-load model: GPU system (e.g. h200_sxm).
    #[arg(long, value_name = "SYSTEM")]
    aic_system: Option<String>,
    /// Router-side prompt-load model: backend version of AIConfigurator's tables.
    #[arg(long, value_name = "VERSION")]
    aic_backend_version: Option<String>,
    /// Router-side prompt-load model: tensor-parallel size.
    #[arg(long, value_name = "N")]
    aic_tp_size: Option<u32>,
    /// Router-side prompt-load model: the model (built-in name, Hugging Face id or config.json).
    #[arg(long, value_name = "MODEL")]
    aic_model_path: Option<String>,
    /// Router-side prompt-load model: MoE tensor-parallel size.
    #[arg(long, value_name = "N")]
    aic_moe_tp_size: Option<u32>,
    /// Router-side prompt-load model: MoE expert-parallel size.
    #[arg(long, value_name = "N")]
    aic_moe_ep_size: Option<u32>,
    /// Router-side prompt-load model: attention data-parallel size.
    #[arg(long, value_name = "N")]
    aic_attention_dp_size: Option<u32>,
}

impl CompatArgs {
    /// Fails on `--replay-mode online`, which needs live workers.
    pub(crate) fn check_mode(&self) -> Result<(), CliError> {
        match self.replay_mode {
            ReplayMode::Offline => Ok(()),
            ReplayMode::Online => Err(CliError::Usage(
                "--replay-mode online replays against live mock workers, which servesim does not \
                 run yet; use --replay-mode offline (the default), which simulates the same \
                 cluster in simulated time"
                    .to_owned(),
            )),
        }
    }

    /// The `--aic-*` flags as engine-argument keys (empty when none is given).
    fn engine_keys(&self) -> Map<String, Value> {
        let mut keys = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(v) = value {
                keys.insert(key.to_owned(), v);
            }
        };
        put("aic_backend", self.aic_backend.clone().map(Value::from));
        put("aic_system", self.aic_system.clone().map(Value::from));
        put(
            "aic_backend_version",
            self.aic_backend_version.clone().map(Value::from),
        );
        put("aic_tp_size", self.aic_tp_size.map(Value::from));
        put(
            "aic_model_path",
            self.aic_model_path.clone().map(Value::from),
        );
        put("aic_moe_tp_size", self.aic_moe_tp_size.map(Value::from));
        put("aic_moe_ep_size", self.aic_moe_ep_size.map(Value::from));
        put(
            "aic_attention_dp_size",
            self.aic_attention_dp_size.map(Value::from),
        );
        keys
    }

    /// The timing model the `--aic-*` flags select for the KV router's per-request prefill
    /// estimate, and the flags as the report records them; `None` without flags. A model
    /// path is required; flags that cannot act (no `kv_router`, or a prefill-load model
    /// other than `aic`) are a warning, not silently dropped.
    pub(crate) fn router_prefill_timing(
        &self,
        router_mode: RouterMode,
        router: &KvRouterConfig,
    ) -> Result<Option<(PassTiming, Value)>, CliError> {
        let keys = self.engine_keys();
        if keys.is_empty() {
            return Ok(None);
        }
        if self.aic_model_path.is_none() {
            return Err(CliError::Usage(
                "--aic-* flags need --aic-model-path (the model whose prefill time the router \
                 predicts)"
                    .to_owned(),
            ));
        }
        if router_mode != RouterMode::KvRouter
            || router.router_prefill_load_model != PrefillLoadModel::Aic
        {
            eprintln!(
                "warning: the --aic-* flags drive only the KV router's prefill-load estimate \
                 (--router-mode kv_router with --router-config \
                 '{{\"router_prefill_load_model\": \"aic\"}}'); they have no effect on this run"
            );
        }
        let text = Value::Object(keys.clone()).to_string();
        let config = EngineArgs::from_json(&text)
            .and_then(|args| args.resolve())
            .map_err(|e| CliError::Usage(format!("--aic-* flags: {e}")))?;
        Ok(Some((config.timing, json!(keys))))
    }
}
