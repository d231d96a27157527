//! The planner: decides how many replicas each pool should run, from what a live planner
//! can observe. Pure logic — no clock, no I/O — so the replay harness (or a live control
//! loop) drives it tick by tick.

pub mod baseline;
pub mod budget;
pub mod build;
pub mod capacity;
pub mod config;
mod error;
pub mod lead;
pub mod observe;
pub mod policy;
mod pool;
pub mod predictor;
pub mod preset;
pub mod record;
pub mod regression;
pub mod schedule;
pub mod sla;
pub mod speculative;

pub use build::build_policy;
pub use error::PlannerError;
