//! Plug your own scaling policy into a replay: keep at most 8 requests in flight per
//! replica of an aggregated pool, checked every 30 s, on a sinusoidal load.
//!
//! `cargo run -p servesim-replay --example custom_policy`

use std::collections::BTreeMap;

use servesim_engine::EngineArgs;
use servesim_planner::config::{PlannerConfig, PlannerMode};
use servesim_planner::observe::{Component, TickInput};
use servesim_planner::policy::{ScalingPolicy, TickOutput};
use servesim_planner::record::TickRecord;
use servesim_replay::{
    AdmissionMode, CustomPolicy, NoObserver, PlanningConfig, ReplayConfig, RouterMode, replay,
};
use servesim_trace::synth::{LengthDist, LengthMix, RateShape, RateTraceSpec};

/// Replicas = ⌈requests in flight / per_replica⌉, between 1 and `max`.
#[derive(Debug)]
struct InFlightTarget {
    per_replica: f64,
    max: u32,
    next_s: f64,
}

impl ScalingPolicy for InFlightTarget {
    fn next_tick_s(&self) -> f64 {
        self.next_s
    }

    fn on_tick(&mut self, input: &TickInput) -> TickOutput {
        self.next_s = input.now_s + 30.0;
        let wanted = (input.decode.in_flight / self.per_replica).ceil() as u32;
        TickOutput {
            targets: BTreeMap::from([(Component::Decode, wanted.clamp(1, self.max))]),
            record: TickRecord {
                time_s: input.now_s,
                ..TickRecord::default()
            },
        }
    }

    fn name(&self) -> &'static str {
        "in_flight_target"
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 10 minutes of traffic between 2 and 12 requests per second, 3000 tokens in, 150 out.
    let shape = RateShape::Sinusoid {
        min: 2.0,
        max: 12.0,
        period_s: 300.0,
    };
    let mix = LengthMix::single(LengthDist::Fixed(3000), LengthDist::Fixed(150));
    let workload = RateTraceSpec::new(shape, 600.0, mix).generate()?;
    let engine = EngineArgs::from_json(r#"{"startup_time": 20}"#)?.resolve()?;
    let mut config =
        ReplayConfig::aggregated(1, engine, RouterMode::RoundRobin, AdmissionMode::Trace, 42);
    config.planning = Some(PlanningConfig {
        planner: PlannerConfig {
            mode: PlannerMode::Agg,
            ..PlannerConfig::default()
        }
        .validate()?
        .config,
        prefill_gpus: 1,
        decode_gpus: 1,
        benchmark_granularity: 8,
        custom_policy: Some(CustomPolicy::new(|_planner, _deployment| {
            Box::new(InFlightTarget {
                per_replica: 8.0,
                max: 6,
                next_s: 30.0,
            })
        })),
    });
    let outcome = replay(&workload, &config, &mut NoObserver)?;
    let planning = outcome.planning.as_ref().ok_or("the policy ran")?;
    for e in &planning.scaling_events {
        println!("t={:>5.0}s  {} -> {} replicas", e.time_s, e.from, e.to);
    }
    println!(
        "{}: {:.3} GPU-hours, TTFT p90 {:.0} ms",
        planning.policy, planning.gpu_hours, outcome.metrics.ttft.p90
    );
    assert!(!planning.scaling_events.is_empty());
    Ok(())
}

#[test]
fn the_policy_scales_the_pool() {
    main().expect("the example runs");
}
