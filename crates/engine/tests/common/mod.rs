//! Helpers shared by the engine's integration tests.

#![allow(dead_code, unreachable_pub, clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;

use servesim_engine::{
    EngineArgs, EngineConfig, EngineRequest, PassOutput, RequestId, Signal, VllmScheduler,
};
use servesim_trace::SimTime;

/// A request whose prompt is `isl` tokens of content `content` (equal content ⇒ shared KV),
/// in 64-token blocks.
pub fn request(id: u64, isl: u32, osl: u32, content: u64) -> EngineRequest {
    request_with_block(id, isl, osl, content, 64)
}

/// Like [`request`] with an explicit block size.
pub fn request_with_block(id: u64, isl: u32, osl: u32, content: u64, block: u32) -> EngineRequest {
    EngineRequest::uniform(RequestId(id), isl, osl, content, block)
}

/// An engine from a JSON engine-args string.
pub fn engine(json: &str) -> VllmScheduler {
    VllmScheduler::new(config(json))
}

/// A resolved config from a JSON engine-args string.
pub fn config(json: &str) -> EngineConfig {
    EngineArgs::from_json(json).unwrap().resolve().unwrap()
}

/// What a simulation produced.
#[derive(Debug, PartialEq)]
pub struct Trace {
    pub signals: Vec<Signal>,
    pub gaps: BTreeMap<SimTime, u64>,
    pub passes: u64,
}

/// Drives one engine through timed arrivals like the replay harness: arrivals are enqueued
/// when the clock reaches them, passes run back to back. With `fast`, decode runs are
/// chained with `run_until` up to the next arrival; otherwise one `step` per pass.
/// `check` runs after every call.
pub fn simulate(
    engine: &mut VllmScheduler,
    mut arrivals: Vec<(SimTime, EngineRequest)>,
    fast: bool,
    mut check: impl FnMut(&VllmScheduler, SimTime),
) -> Trace {
    arrivals.sort_by_key(|(t, r)| (*t, r.id));
    let mut arrivals = arrivals.into_iter().peekable();
    let mut out = PassOutput::default();
    let mut trace = Trace {
        signals: Vec::new(),
        gaps: BTreeMap::new(),
        passes: 0,
    };
    let mut now = SimTime::ZERO;
    loop {
        while let Some((_, request)) = arrivals.next_if(|(t, _)| *t <= now) {
            // Unservable requests are the caller's business; skip them here.
            let _ = engine.enqueue(request);
        }
        let next_arrival = arrivals.peek().map(|(t, _)| *t);
        let end = if engine.has_work() {
            out.clear();
            let end = if fast {
                engine.run_until(now, next_arrival.unwrap_or(SimTime::MAX), &mut out)
            } else {
                engine.step(now, &mut out)
            };
            trace.signals.extend_from_slice(&out.signals);
            for run in &out.token_runs {
                *trace.gaps.entry(run.gap).or_default() += run.count;
            }
            trace.passes += out.passes;
            end
        } else {
            None
        };
        match (end, next_arrival) {
            (Some(end), _) => {
                assert!(end >= now, "time went backwards: {end:?} < {now:?}");
                now = end;
            }
            (None, Some(t)) => now = now.max(t),
            (None, None) => break,
        }
        check(engine, now);
    }
    trace
}
