//! Helpers shared by the engine's integration tests.

#![allow(dead_code, unreachable_pub, clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;

use servesim_engine::{
    EngineArgs, EngineConfig, EngineRequest, PassOutput, RequestId, Scheduler, SglangScheduler,
    Signal, SignalKind, TokenTally, VllmScheduler,
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

/// An SGLang-style engine from a JSON engine-args string (`engine_type` is implied).
pub fn sglang(json: &str) -> SglangScheduler {
    let mut args = EngineArgs::from_json(json).unwrap();
    args.engine_type = servesim_engine::EngineType::Sglang;
    SglangScheduler::new(args.resolve().unwrap())
}

/// A resolved config from a JSON engine-args string.
pub fn config(json: &str) -> EngineConfig {
    EngineArgs::from_json(json).unwrap().resolve().unwrap()
}

/// Milliseconds as rounded microseconds (how the engine converts model times).
pub fn us(ms: f64) -> u64 {
    (ms * 1000.0).round() as u64
}

/// The signals of request `id`, with their times in µs.
pub fn signal_times(trace: &Trace, id: u64) -> Vec<(SignalKind, u64)> {
    trace
        .signals
        .iter()
        .filter(|s| s.request == RequestId(id))
        .map(|s| (s.kind, s.at.as_micros()))
        .collect()
}

/// Runs `request` alone through `engine` from time 0, pass by pass.
pub fn alone<E: Scheduler + ?Sized>(engine: &mut E, request: EngineRequest) -> Trace {
    simulate(engine, vec![(SimTime::ZERO, request)], false, |_, _| {})
}

/// A 20,000-token prompt (blocks of `block` tokens) with the default 8192-token pass budget
/// takes three passes, 8192 + 8192 + 3616 tokens, priced one after the other.
pub fn check_chunked_20k<E: Scheduler + ?Sized>(engine: &mut E, block: u32) {
    engine
        .enqueue(request_with_block(1, 20_000, 2, 9, block))
        .unwrap();
    let (chunks, now) = passes_to_first_token(engine);
    assert_eq!(chunks, vec![8192, 8192, 3616]);
    let expected: u64 = [8192.0, 8192.0, 3616.0]
        .iter()
        .map(|&x| us(servesim_perf::PolynomialModel::prefill_poly(x)))
        .sum();
    assert_eq!(now.as_micros(), expected);
}

/// Steps `engine` from time 0 until a first token: the prompt tokens of each pass, and the
/// time of the first token.
pub fn passes_to_first_token<E: Scheduler + ?Sized>(engine: &mut E) -> (Vec<u64>, SimTime) {
    let mut out = PassOutput::default();
    let mut now = SimTime::ZERO;
    let mut chunks = Vec::new();
    while !out.signals.iter().any(|s| s.kind == SignalKind::FirstToken) {
        out.clear();
        now = engine.step(now, &mut out).unwrap();
        chunks.push(out.fpm.sum_prefill_tokens);
    }
    (chunks, now)
}

/// Two identical 2048-token prompts a second apart (blocks of `block` tokens): the second
/// finds all but its last token cached and prefills one token, `T_p(1)`.
pub fn check_full_prompt_hit<E: Scheduler + ?Sized>(engine: &mut E, block: u32) {
    let later = SimTime::from_secs(1);
    let trace = simulate(
        engine,
        vec![
            (SimTime::ZERO, request_with_block(1, 2048, 3, 7, block)),
            (later, request_with_block(2, 2048, 3, 7, block)),
        ],
        false,
        |_, _| {},
    );
    let prefill = us(servesim_perf::PolynomialModel::prefill_poly(1.0));
    let signals = signal_times(&trace, 2);
    assert_eq!(
        signals[0],
        (SignalKind::FirstToken, later.as_micros() + prefill)
    );
    assert!(matches!(
        signals[2].0,
        SignalKind::Completed {
            reused_tokens: 2047,
            preemptions: 0
        }
    ));
}

/// What a simulation produced.
#[derive(Debug, PartialEq)]
pub struct Trace {
    pub signals: Vec<Signal>,
    pub gaps: BTreeMap<SimTime, u64>,
    pub passes: u64,
    pub emitted: TokenTally,
}

/// Drives one engine through timed arrivals like the replay harness: arrivals are enqueued
/// when the clock reaches them, passes run back to back. With `fast`, decode runs are
/// chained with `run_until` up to the next arrival; otherwise one `step` per pass.
/// `check` runs after every call.
pub fn simulate<E: Scheduler + ?Sized>(
    engine: &mut E,
    mut arrivals: Vec<(SimTime, EngineRequest)>,
    fast: bool,
    mut check: impl FnMut(&E, SimTime),
) -> Trace {
    arrivals.sort_by_key(|(t, r)| (*t, r.id));
    let mut arrivals = arrivals.into_iter().peekable();
    let mut out = PassOutput::default();
    let mut trace = Trace {
        signals: Vec::new(),
        gaps: BTreeMap::new(),
        passes: 0,
        emitted: TokenTally::default(),
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
            trace.emitted.merge(out.emitted);
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
