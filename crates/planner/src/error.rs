//! Errors of the planner.

/// What can go wrong configuring a planner.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlannerError {
    /// The configuration is invalid (one line naming the key).
    #[error("planner config: {0}")]
    Config(String),
}
