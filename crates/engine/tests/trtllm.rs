//! Closed-form checks of the TensorRT-LLM-style engine (`engine_type: trtllm`) with the
//! polynomial timing model: its capacity scheduler, its chunking rule, its defaults.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{passes_to_first_token, request_with_block, signal_times, simulate, us};
use servesim_engine::{EngineArgs, Scheduler, SignalKind, new_engine};
use servesim_perf::PolynomialModel;
use servesim_trace::SimTime;

/// A TensorRT-LLM-style engine from JSON engine arguments (`engine_type` implied).
fn trtllm(json: &str) -> Box<dyn Scheduler> {
    let mut args = EngineArgs::from_json(json).unwrap();
    args.engine_type = servesim_engine::EngineType::Trtllm;
    new_engine(args.resolve().unwrap())
}

fn first_token(trace: &common::Trace, id: u64) -> u64 {
    signal_times(trace, id)
        .into_iter()
        .find(|(k, _)| *k == SignalKind::FirstToken)
        .map(|(_, t)| t)
        .unwrap()
}

fn completion(trace: &common::Trace, id: u64) -> u64 {
    signal_times(trace, id)
        .into_iter()
        .find(|(k, _)| matches!(k, SignalKind::Completed { .. }))
        .map(|(_, t)| t)
        .unwrap()
}

#[test]
fn guaranteed_no_evict_reserves_each_request_to_completion() {
    // 10 blocks of 32 tokens. Each request needs ⌈(100 + 60) / 32⌉ = 5 blocks to complete,
    // although its prompt takes only 4: two run, the third waits for a completion — where
    // vLLM would admit it on its 4 prompt blocks and preempt later.
    let mut e = trtllm(r#"{"num_gpu_blocks": 10}"#);
    let arrivals = (0..3)
        .map(|i| (SimTime::ZERO, request_with_block(i, 100, 60, i, 32)))
        .collect();
    let trace = simulate(e.as_mut(), arrivals, false, |_, _| {});
    // Both prompts in one pass of 200 tokens (no chunking, budget 8192).
    let prefill = us(PolynomialModel::prefill_poly(200.0));
    assert_eq!(first_token(&trace, 0), prefill);
    assert_eq!(first_token(&trace, 1), prefill);
    let done = completion(&trace, 0).min(completion(&trace, 1));
    assert!(first_token(&trace, 2) > done);
    // Nothing is ever preempted.
    assert!(
        trace
            .signals
            .iter()
            .all(|s| s.kind != SignalKind::Preempted)
    );
}

#[test]
fn max_utilization_admits_greedily_and_pauses_the_newest() {
    let mut e = trtllm(
        r#"{"num_gpu_blocks": 10, "trtllm": {"capacity_scheduler_policy": "MAX_UTILIZATION"}}"#,
    );
    let arrivals = (0..3)
        .map(|i| (SimTime::ZERO, request_with_block(i, 100, 80, i, 32)))
        .collect();
    let trace = simulate(e.as_mut(), arrivals, false, |_, _| {});
    // 4 + 4 prompt blocks fit (no-evict would admit one: each needs 6 to complete), the
    // third's 4 do not; the two decodes then outgrow the last two blocks and the newest
    // request is paused.
    let preempted: Vec<u64> = trace
        .signals
        .iter()
        .filter(|s| s.kind == SignalKind::Preempted)
        .map(|s| s.request.0)
        .collect();
    assert_eq!(preempted.first(), Some(&1));
}

#[test]
fn context_is_not_chunked_by_default() {
    // A prompt longer than max_num_tokens can never run without chunked context.
    let mut e = trtllm(r#"{"max_num_batched_tokens": 1000}"#);
    let err = e
        .enqueue(request_with_block(1, 1500, 2, 1, 32))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exceeds max_num_batched_tokens 1000 and chunked prefill is off"),
        "{err}"
    );
    // One that fits runs in a single pass.
    e.enqueue(request_with_block(2, 1000, 2, 2, 32)).unwrap();
    let (chunks, _) = passes_to_first_token(e.as_mut());
    assert_eq!(chunks, vec![1000]);
}

#[test]
fn chunked_context_truncates_to_whole_blocks() {
    // Budget 100 tokens with 32-token blocks: a truncated chunk is 96 tokens (3 blocks); the
    // last one takes the rest. vLLM would chunk 100, 100, 50.
    let mut e = trtllm(
        r#"{"max_num_batched_tokens": 100, "max_num_seqs": 8, "enable_chunked_prefill": true}"#,
    );
    e.enqueue(request_with_block(1, 250, 2, 1, 32)).unwrap();
    let (chunks, _) = passes_to_first_token(e.as_mut());
    assert_eq!(chunks, vec![96, 96, 58]);
}

#[test]
fn defaults_are_tensorrt_llms() {
    let config = EngineArgs::from_json(r#"{"engine_type": "trtllm"}"#)
        .unwrap()
        .resolve()
        .unwrap();
    assert_eq!(config.block_size, 32);
    assert_eq!(
        (config.max_num_seqs, config.max_num_batched_tokens),
        (2048, 8192)
    );
    assert!(!config.enable_chunked_prefill);
    // The reference's KV memory (1,048,576 tokens) in 32-token blocks.
    assert_eq!(config.num_gpu_blocks, 32_768);
}
