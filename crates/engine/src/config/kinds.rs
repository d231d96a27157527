//! The enumerated engine arguments: scheduler family, worker role, preemption victim, timing
//! model.

use serde::{Deserialize, Serialize};

/// Which scheduler family the engine simulates.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineType {
    /// vLLM V1-style scheduling (the default).
    #[default]
    Vllm,
    /// SGLang-style scheduling.
    Sglang,
}

/// The role of a worker in the serving topology.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerType {
    /// Prefills and decodes (aggregated serving; the default).
    #[default]
    Aggregated,
    /// Prefill only: a request ends when its prompt is in KV (disaggregated serving).
    Prefill,
    /// Decode only: requests arrive with their prompt's KV transferred; no prefill is charged.
    Decode,
}

/// Which running request vLLM preempts when KV blocks run out.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreemptionMode {
    /// The most recently admitted (vLLM's default).
    #[default]
    Lifo,
    /// The earliest admitted.
    Fifo,
}

/// Which timing model prices forward passes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PerfModelKind {
    /// The reference's polynomial formulas.
    Polynomial,
    /// A measured profile table (`planner_profile_data`).
    Interpolated,
    /// The per-GPU analytical op model (`aic_*` keys).
    Analytical,
    /// AIConfigurator's measured database (`aic_*` keys).
    AicDb,
}
