//! Plug your own router into a replay: here "fewest requests in flight", compared with
//! round robin on the same trace.
//!
//! `cargo run -p servesim-replay --example custom_router`

use std::collections::BTreeMap;

use servesim_engine::{EngineArgs, RequestId};
use servesim_replay::{AdmissionMode, CustomRouter, NoObserver, ReplayConfig, RouterMode, replay};
use servesim_router::{RouteRequest, Routed, Router, WorkerId};
use servesim_trace::{ReadOptions, SimTime, read_trace};

/// Sends each request to the worker with the fewest requests in flight (lowest id on ties).
#[derive(Debug, Default)]
struct LeastLoaded {
    in_flight: BTreeMap<WorkerId, u32>,
    placed: BTreeMap<RequestId, WorkerId>,
}

impl Router for LeastLoaded {
    fn add_worker(&mut self, worker: WorkerId, _now: SimTime) {
        self.in_flight.entry(worker).or_insert(0);
    }

    fn remove_worker(&mut self, worker: WorkerId, _now: SimTime) {
        self.in_flight.remove(&worker);
    }

    fn route(&mut self, request: &RouteRequest<'_>, _now: SimTime) -> Routed {
        let Some((&worker, load)) = self.in_flight.iter_mut().min_by_key(|(_, load)| **load) else {
            return Routed::Queued;
        };
        *load += 1;
        self.placed.insert(request.id, worker);
        Routed::To(worker)
    }

    fn on_finished(&mut self, request: RequestId, _now: SimTime) {
        if let Some(worker) = self.placed.remove(&request)
            && let Some(load) = self.in_flight.get_mut(&worker)
        {
            *load -= 1;
        }
    }

    fn name(&self) -> &'static str {
        "least_loaded"
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/mooncake_conversation_1000.jsonl"
    );
    let trace = read_trace(fixture.as_ref(), &ReadOptions::default())?;
    let engine = EngineArgs::default().resolve()?;
    let mut config =
        ReplayConfig::aggregated(3, engine, RouterMode::RoundRobin, AdmissionMode::Trace, 42);
    let round_robin = replay(&trace.workload, &config, &mut NoObserver)?;
    config.custom_router = Some(CustomRouter::new(|_engine, _seed| {
        Box::new(LeastLoaded::default())
    }));
    let least_loaded = replay(&trace.workload, &config, &mut NoObserver)?;
    for (name, outcome) in [
        ("round_robin", &round_robin),
        ("least_loaded", &least_loaded),
    ] {
        let m = &outcome.metrics;
        println!(
            "{name:>13}: TTFT mean {:.1} ms, p99 {:.1} ms",
            m.ttft.mean, m.ttft.p99
        );
    }
    assert_eq!(least_loaded.metrics.completed_requests, 1000);
    Ok(())
}

#[test]
fn both_routers_serve_the_trace() {
    main().expect("the example runs");
}
