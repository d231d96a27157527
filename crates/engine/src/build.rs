//! The engine factory: from a configuration to the engine core it names.

use crate::config::{EngineConfig, EngineType};
use crate::scheduler::Scheduler;
use crate::sglang::SglangScheduler;
use crate::vllm::VllmScheduler;

/// Builds the engine core a configuration asks for (`engine_type`).
pub fn new_engine(config: EngineConfig) -> Box<dyn Scheduler> {
    match config.engine_type {
        // TensorRT-LLM's in-flight batching is vLLM's loop (generation first, then context
        // chunks under one token budget) with its own capacity rule and chunk unit.
        EngineType::Vllm | EngineType::Trtllm => Box::new(VllmScheduler::new(config)),
        EngineType::Sglang => Box::new(SglangScheduler::new(config)),
    }
}
