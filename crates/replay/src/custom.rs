//! Your own router or scaling policy inside a replay.
//!
//! [`CustomRouter`] replaces the built-in routers of every pool (set
//! [`ReplayConfig::custom_router`](crate::ReplayConfig)); [`CustomPolicy`] replaces the policy
//! a planner configuration would build (set
//! [`PlanningConfig::custom_policy`](crate::PlanningConfig)). Both are factories: a replay
//! builds one instance per pool, or one policy per run, from the pool's engine and seed.

use std::fmt;
use std::sync::Arc;

use servesim_engine::EngineConfig;
use servesim_planner::config::PlannerConfig;
use servesim_planner::policy::{Deployment, ScalingPolicy};
use servesim_router::Router;

/// Builds the router of a pool from its engine configuration and seed.
type RouterFn = dyn Fn(&EngineConfig, u64) -> Box<dyn Router> + Send + Sync;

/// Builds the scaling policy of a run from the planner configuration and the deployment.
type PolicyFn = dyn Fn(&PlannerConfig, &Deployment) -> Box<dyn ScalingPolicy> + Send + Sync;

/// A router factory used for every pool of a replay instead of `router_mode`.
///
/// ```
/// use servesim_replay::CustomRouter;
/// use servesim_router::RoundRobin;
/// let custom = CustomRouter::new(|_engine, _seed| Box::new(RoundRobin::default()));
/// # let _ = custom;
/// ```
#[derive(Clone)]
pub struct CustomRouter(Arc<RouterFn>);

impl CustomRouter {
    /// Wraps `build`, called once per pool with the pool's engine configuration and seed.
    pub fn new(
        build: impl Fn(&EngineConfig, u64) -> Box<dyn Router> + Send + Sync + 'static,
    ) -> Self {
        CustomRouter(Arc::new(build))
    }

    /// A router for a pool of `engine` workers.
    pub fn build(&self, engine: &EngineConfig, seed: u64) -> Box<dyn Router> {
        (self.0)(engine, seed)
    }
}

impl fmt::Debug for CustomRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustomRouter(..)")
    }
}

/// A scaling-policy factory used instead of the policy the planner configuration names.
#[derive(Clone)]
pub struct CustomPolicy(Arc<PolicyFn>);

impl CustomPolicy {
    /// Wraps `build`, called once per replay.
    pub fn new(
        build: impl Fn(&PlannerConfig, &Deployment) -> Box<dyn ScalingPolicy> + Send + Sync + 'static,
    ) -> Self {
        CustomPolicy(Arc::new(build))
    }

    /// The policy for `deployment`.
    pub fn build(&self, config: &PlannerConfig, deployment: &Deployment) -> Box<dyn ScalingPolicy> {
        (self.0)(config, deployment)
    }
}

impl fmt::Debug for CustomPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustomPolicy(..)")
    }
}
