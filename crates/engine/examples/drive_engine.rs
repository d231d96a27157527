//! Drive one vLLM-style engine core by hand: enqueue requests, run passes, read the
//! signals. This is what the replay harness does for every worker.
//!
//! `cargo run -p servesim-engine --example drive_engine`

use servesim_engine::{
    EngineArgs, EngineRequest, PassOutput, RequestId, Scheduler, SignalKind, VllmScheduler,
};
use servesim_trace::SimTime;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = EngineArgs::from_json(r#"{"block_size": 16, "max_num_batched_tokens": 2048}"#)?
        .resolve()?;
    let mut engine = VllmScheduler::new(config);
    // Three requests; the first two share their prompt (content 7), so the second hits the cache.
    for (id, isl, osl, content) in [(0, 1500, 20, 7), (1, 1500, 20, 7), (2, 700, 40, 9)] {
        engine.enqueue(EngineRequest::uniform(RequestId(id), isl, osl, content, 16))?;
    }
    let mut now = SimTime::ZERO;
    let mut out = PassOutput::default();
    while engine.has_work() {
        out.clear();
        // Run passes until something happens that a caller may react to.
        let Some(end) = engine.run_until(now, SimTime::MAX, &mut out) else {
            break;
        };
        for signal in &out.signals {
            if matches!(
                signal.kind,
                SignalKind::FirstToken | SignalKind::Completed { .. }
            ) {
                println!(
                    "{:>9.3} ms  request {}  {:?}",
                    signal.at.as_millis_f64(),
                    signal.request.0,
                    signal.kind
                );
            }
        }
        now = end;
    }
    println!(
        "done at {:.3} ms, KV blocks in use: {}",
        now.as_millis_f64(),
        engine.kv_usage().held()
    );
    Ok(())
}

#[test]
fn serves_every_request() {
    main().expect("the example runs");
}
