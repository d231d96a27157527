//! The engine factory: from a configuration to the engine core it names.

use crate::config::{EngineConfig, EngineType};
use crate::scheduler::Scheduler;
use crate::sglang::SglangScheduler;
use crate::vllm::VllmScheduler;

/// Builds the engine core a configuration asks for (`engine_type`).
pub fn new_engine(config: EngineConfig) -> Box<dyn Scheduler> {
    match config.engine_type {
        EngineType::Vllm => Box::new(VllmScheduler::new(config)),
        EngineType::Sglang => Box::new(SglangScheduler::new(config)),
    }
}
