//! The policy factory: from a validated configuration to the policy it names.

use crate::baseline::{Hpa, Kpa, Static};
use crate::config::{PlannerConfig, PolicyKind};
use crate::policy::{Deployment, ScalingPolicy};
use crate::sla::SlaPlanner;

/// Builds the policy a validated configuration asks for.
pub fn build_policy(config: &PlannerConfig, deployment: &Deployment) -> Box<dyn ScalingPolicy> {
    match config.scaling_policy {
        PolicyKind::Planner => Box::new(SlaPlanner::new(config.clone(), deployment.clone())),
        PolicyKind::Static => Box::new(Static::new(config.clone(), deployment.clone())),
        PolicyKind::Hpa => Box::new(Hpa::new(config.clone(), deployment.clone())),
        PolicyKind::Kpa => Box::new(Kpa::new(config.clone(), deployment.clone())),
    }
}
