//! What to simulate: topology, routing and admission.

use std::fmt;
use std::str::FromStr;

use servesim_engine::{EngineConfig, WorkerType};

use crate::admission::AdmissionMode;
use crate::error::ReplayError;

/// How requests are routed to workers (`--router-mode`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum RouterMode {
    /// Cycle over the workers (the default).
    #[default]
    RoundRobin,
    /// Prefix- and load-aware routing.
    KvRouter,
}

impl RouterMode {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            RouterMode::RoundRobin => "round_robin",
            RouterMode::KvRouter => "kv_router",
        }
    }
}

impl fmt::Display for RouterMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RouterMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.replace('-', "_").as_str() {
            "round_robin" => Ok(RouterMode::RoundRobin),
            "kv_router" | "kv" => Ok(RouterMode::KvRouter),
            _ => Err(format!(
                "unknown router mode `{s}` (expected round_robin or kv_router)"
            )),
        }
    }
}

/// An aggregated replay: `num_workers` identical workers behind one router.
#[derive(Clone, Debug)]
pub struct ReplayConfig {
    /// Number of workers (`--num-workers`).
    pub num_workers: u32,
    /// Engine configuration of every worker.
    pub engine: EngineConfig,
    /// Routing policy.
    pub router_mode: RouterMode,
    /// Open or closed loop.
    pub admission: AdmissionMode,
    /// Seed of every random choice made during the replay.
    pub seed: u64,
}

impl ReplayConfig {
    /// Checks the topology rules of the reference (one line per problem, naming the flag).
    pub fn validate(&self) -> Result<(), ReplayError> {
        if self.num_workers == 0 {
            return Err(ReplayError::Config("--num-workers must be ≥ 1".to_owned()));
        }
        if self.engine.worker_type != WorkerType::Aggregated {
            return Err(ReplayError::Config(
                "--extra-engine-args: `worker_type` must be `aggregated` for an aggregated replay (use --prefill-engine-args / --decode-engine-args for disaggregation)".to_owned(),
            ));
        }
        if self.router_mode == RouterMode::KvRouter && self.num_workers < 2 {
            return Err(ReplayError::Config(
                "--router-mode kv_router needs --num-workers > 1".to_owned(),
            ));
        }
        if self.admission == AdmissionMode::Concurrency(0) {
            return Err(ReplayError::Config(
                "--replay-concurrency must be ≥ 1".to_owned(),
            ));
        }
        Ok(())
    }
}
