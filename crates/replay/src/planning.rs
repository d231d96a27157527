//! The planner in the loop: what the harness feeds a scaling policy and what it keeps.
//!
//! The harness owns the lifecycles (starting, active, draining workers); this module owns
//! the policy, the traffic window since the last tick (offered load counted at **arrival**,
//! latencies at first token and completion), the forward-pass samples published since the
//! last tick, the pre-deployment sweep of the engine's timing model, the scaling events and
//! the tick records.

use std::collections::BTreeMap;

use serde::Serialize;
use servesim_engine::{EngineConfig, ForwardPassMetrics, TokenTally};
use servesim_perf::{DecodeShape, PassShape, PrefillChunk};
use servesim_planner::build_policy;
use servesim_planner::config::{PlannerConfig, SweepMode};
use servesim_planner::observe::{Component, EngineCaps, EngineSample, TrafficWindow};
use servesim_planner::policy::{Deployment, ScalingPolicy};
use servesim_planner::record::TickRecord;
use servesim_trace::SimTime;

use crate::custom::CustomPolicy;

/// How the planner runs inside a replay.
#[derive(Clone, Debug)]
pub struct PlanningConfig {
    /// The validated planner configuration (its `scaling_policy` picks the policy).
    pub planner: PlannerConfig,
    /// GPUs per prefill replica (disaggregated).
    pub prefill_gpus: u32,
    /// GPUs per decode (or aggregated) replica.
    pub decode_gpus: u32,
    /// Points per axis of the pre-deployment sweep (`--benchmark-granularity`, default 8).
    pub benchmark_granularity: u32,
    /// Your own scaling policy, instead of the one `planner.scaling_policy` names.
    pub custom_policy: Option<CustomPolicy>,
}

/// A change of a pool's replica count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScalingEvent {
    /// When, in seconds.
    pub time_s: f64,
    /// Which pool (`prefill`, or `decode` for decode and aggregated pools).
    pub component: Component,
    /// Replicas (active + starting) before.
    pub from: u32,
    /// Replicas asked for.
    pub to: u32,
    /// `scale_up` or `scale_down`.
    pub direction: &'static str,
}

/// What the planner did during a replay.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanningSummary {
    /// The policy's name.
    pub policy: &'static str,
    /// Ticks run.
    pub ticks: u64,
    /// GPU-hours of every worker, integrated exactly over its life (starting, active and
    /// draining time).
    pub gpu_hours: f64,
    /// Share of requests meeting the TTFT and ITL targets, and goodput per GPU-hour.
    pub sla: crate::metrics::SlaAttainment,
    /// Replica changes, in order.
    pub scaling_events: Vec<ScalingEvent>,
    /// One record per tick.
    pub records: Vec<TickRecord>,
    /// KV capacity of one decode (or aggregated) engine, tokens: the ceiling of the
    /// decode-load chart.
    pub kv_capacity_tokens: f64,
}

/// Traffic since the last tick.
#[derive(Clone, Debug, Default)]
struct TrafficAccumulator {
    since: SimTime,
    arrivals: u64,
    isl: f64,
    osl: f64,
    ttft_ms: (f64, u64),
    itl_ms: (f64, u64),
    reused: f64,
    admitted_input: f64,
    emitted: TokenTally,
}

/// Most forward-pass samples kept per pool between two ticks (the most recent ones).
const SAMPLES_PER_TICK: usize = 256;

/// The policy and the data it is fed.
pub(crate) struct Planning {
    pub(crate) policy: Box<dyn ScalingPolicy>,
    traffic: TrafficAccumulator,
    samples: BTreeMap<Component, Vec<EngineSample>>,
    pub(crate) events: Vec<ScalingEvent>,
    pub(crate) records: Vec<TickRecord>,
    pub(crate) ticks: u64,
    /// The SLA targets attainment is measured against (ms).
    pub(crate) ttft_ms: f64,
    pub(crate) itl_ms: f64,
    /// KV capacity of one decode (or aggregated) engine, tokens.
    pub(crate) kv_capacity_tokens: f64,
}

/// An engine's capacity figures for the planner.
pub(crate) fn caps(engine: &EngineConfig) -> EngineCaps {
    EngineCaps {
        max_num_batched_tokens: f64::from(engine.pass_token_budget()),
        max_num_seqs: f64::from(engine.max_running()),
        max_kv_tokens: engine.num_gpu_blocks as f64 * f64::from(engine.block_size),
        speculative_nextn: engine.speculative.as_ref().map_or(0, |s| s.nextn),
        startup_time_s: engine.startup_time.as_secs_f64(),
    }
}

/// A forward pass as the planner sees it.
pub(crate) fn sample(fpm: &ForwardPassMetrics) -> EngineSample {
    EngineSample {
        num_prefill_requests: fpm.num_prefill_requests as f64,
        sum_prefill_tokens: fpm.sum_prefill_tokens as f64,
        num_decode_requests: fpm.num_decode_requests as f64,
        sum_decode_kv_tokens: fpm.sum_decode_kv_tokens as f64,
        num_queued_prefill: fpm.num_queued_prefill as f64,
        sum_queued_prefill_tokens: fpm.sum_queued_prefill_tokens as f64,
        num_queued_decode: fpm.num_queued_decode as f64,
        sum_queued_decode_kv_tokens: fpm.sum_queued_decode_kv_tokens as f64,
        wall_time_s: fpm.wall_time_secs,
    }
}

/// Pre-deployment samples from the engine's own timing model, as the planner would get
/// from profiling the engine: prefill passes of one prompt from 100 tokens to the budget,
/// and decode steps at contexts 500, 2000, 4000 and 8000 for batches up to `max_num_seqs`
/// that fit in KV. `granularity` points per axis (4× with the `thorough` sweep).
pub(crate) fn sweep(
    engine: &EngineConfig,
    granularity: u32,
) -> (Vec<EngineSample>, Vec<EngineSample>) {
    let points = granularity.max(1);
    let budget = engine.pass_token_budget().min(1 << 20);
    let step = (budget.saturating_sub(100) / points).max(1);
    let capacity = engine.num_gpu_blocks * u64::from(engine.block_size);
    let prefill = (0..=points)
        .map(|i| (100 + i * step).min(budget))
        .map(|tokens| {
            let chunk = [PrefillChunk {
                new_tokens: tokens,
                context_tokens: 0,
            }];
            let time = engine.timing.pass_time(&PassShape {
                prefill: &chunk,
                decode: DecodeShape::default(),
            });
            EngineSample {
                num_prefill_requests: 1.0,
                sum_prefill_tokens: f64::from(tokens),
                wall_time_s: time.as_secs_f64(),
                ..EngineSample::default()
            }
        })
        .collect();
    let seqs = engine.max_running().min(4096);
    let batch_step = (seqs / points).max(1);
    let mut decode = Vec::new();
    for context in [500u64, 2000, 4000, 8000] {
        let mut batch = 1u32;
        while batch <= seqs && u64::from(batch) * context <= capacity {
            let kv = u64::from(batch) * context;
            let shape = DecodeShape {
                sequences: batch,
                context_tokens: kv,
                kv_tokens_in_use: kv.div_ceil(u64::from(engine.block_size))
                    * u64::from(engine.block_size),
                kv_capacity_tokens: capacity,
                tokens_per_sequence: 1,
            };
            decode.push(EngineSample {
                num_decode_requests: f64::from(batch),
                sum_decode_kv_tokens: kv as f64,
                wall_time_s: engine.timing.decode_time(&shape).as_secs_f64(),
                ..EngineSample::default()
            });
            batch = if batch == 1 {
                batch_step.max(2)
            } else {
                batch + batch_step
            };
        }
    }
    (prefill, decode)
}

impl Planning {
    /// Builds the policy for the pools present (`prefill` only when disaggregated) and warms
    /// its regressions with the sweep.
    pub(crate) fn new(
        config: &PlanningConfig,
        prefill: Option<&EngineConfig>,
        decode: &EngineConfig,
    ) -> Self {
        let mut pools = BTreeMap::new();
        if let Some(engine) = prefill {
            pools.insert(Component::Prefill, (caps(engine), config.prefill_gpus));
        }
        pools.insert(Component::Decode, (caps(decode), config.decode_gpus));
        let deployment = Deployment { pools };
        let mut policy = match &config.custom_policy {
            Some(custom) => custom.build(&config.planner, &deployment),
            None => build_policy(&config.planner, &deployment),
        };
        if config.planner.pre_deployment_sweeping_mode != SweepMode::None {
            let factor = if config.planner.pre_deployment_sweeping_mode == SweepMode::Thorough {
                4
            } else {
                1
            };
            let granularity = config.benchmark_granularity * factor;
            match prefill {
                Some(engine) => {
                    policy.bootstrap(Component::Prefill, &sweep(engine, granularity).0);
                    policy.bootstrap(Component::Decode, &sweep(decode, granularity).1);
                }
                None => {
                    let (p, d) = sweep(decode, granularity);
                    policy.bootstrap(Component::Decode, &p);
                    policy.bootstrap(Component::Decode, &d);
                }
            }
        }
        Planning {
            policy,
            traffic: TrafficAccumulator::default(),
            samples: BTreeMap::new(),
            events: Vec::new(),
            records: Vec::new(),
            ticks: 0,
            ttft_ms: config.planner.ttft,
            itl_ms: config.planner.itl,
            kv_capacity_tokens: caps(decode).max_kv_tokens,
        }
    }

    /// When the policy wants its next tick.
    pub(crate) fn next_tick(&self) -> SimTime {
        SimTime::from_secs_f64(self.policy.next_tick_s()).unwrap_or(SimTime::MAX)
    }

    /// A request arrived (offered load).
    pub(crate) fn on_arrival(&mut self, input_tokens: u32, output_tokens: u32) {
        let t = &mut self.traffic;
        t.arrivals += 1;
        t.isl += f64::from(input_tokens);
        t.osl += f64::from(output_tokens);
    }

    /// A request produced its first token after `ttft`.
    pub(crate) fn on_first_token(&mut self, ttft: SimTime) {
        let t = &mut self.traffic.ttft_ms;
        t.0 += ttft.as_millis_f64();
        t.1 += 1;
    }

    /// A request completed with mean inter-token latency `itl` (if it had two tokens).
    pub(crate) fn on_completed(&mut self, itl_ms: Option<f64>) {
        if let Some(itl) = itl_ms {
            let t = &mut self.traffic.itl_ms;
            t.0 += itl;
            t.1 += 1;
        }
    }

    /// A prompt was admitted with `reused` of its `input` tokens cached.
    pub(crate) fn on_prefix_reuse(&mut self, reused: u32, input: u32) {
        self.traffic.reused += f64::from(reused.min(input));
        self.traffic.admitted_input += f64::from(input);
    }

    /// Output tokens were emitted (in bursts: speculative decoding's accept length).
    pub(crate) fn on_tokens(&mut self, emitted: TokenTally) {
        self.traffic.emitted.merge(emitted);
    }

    /// A pass ended on a worker of `component`'s pool.
    pub(crate) fn on_pass(&mut self, component: Component, fpm: &ForwardPassMetrics) {
        let samples = self.samples.entry(component).or_default();
        if samples.len() == SAMPLES_PER_TICK {
            samples.remove(0);
        }
        samples.push(sample(fpm));
    }

    /// The traffic window since the last tick, reset for the next one.
    pub(crate) fn drain_traffic(&mut self, now: SimTime) -> TrafficWindow {
        let t = std::mem::take(&mut self.traffic);
        self.traffic.since = now;
        let mean = |(sum, n): (f64, u64)| if n == 0 { 0.0 } else { sum / n as f64 };
        let per_arrival = |v: f64| {
            if t.arrivals == 0 {
                0.0
            } else {
                v / t.arrivals as f64
            }
        };
        TrafficWindow {
            duration_s: now.saturating_sub(t.since).as_secs_f64(),
            num_req: t.arrivals as f64,
            avg_isl: per_arrival(t.isl),
            avg_osl: per_arrival(t.osl),
            avg_ttft_ms: mean(t.ttft_ms),
            avg_itl_ms: mean(t.itl_ms),
            avg_kv_hit_rate: if t.admitted_input > 0.0 {
                t.reused / t.admitted_input
            } else {
                0.0
            },
            accept_length: t.emitted.mean_accept_length(),
        }
    }

    /// The samples of `component` since the last tick.
    pub(crate) fn drain_samples(&mut self, component: Component) -> Vec<EngineSample> {
        self.samples.remove(&component).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use servesim_engine::EngineArgs;

    #[test]
    fn sweep_covers_the_budget_and_kv_capacity() {
        let engine = EngineArgs::default().resolve().unwrap();
        let (prefill, decode) = sweep(&engine, 8);
        assert_eq!(prefill.len(), 9);
        assert_eq!(prefill[0].sum_prefill_tokens, 100.0);
        assert_eq!(prefill[8].sum_prefill_tokens, 100.0 + 8.0 * 1011.0);
        assert!(
            prefill
                .windows(2)
                .all(|w| w[1].wall_time_s > w[0].wall_time_s)
        );
        // Batches 1, 32, 64, …, 256 at four contexts (all fit in 1M KV tokens but the
        // 8000-token context, which stops at 128 sequences).
        assert_eq!(
            decode
                .iter()
                .filter(|s| s.sum_decode_kv_tokens / s.num_decode_requests == 500.0)
                .count(),
            9
        );
        assert_eq!(
            decode
                .iter()
                .filter(|s| s.sum_decode_kv_tokens / s.num_decode_requests == 8000.0)
                .count(),
            5
        );
    }

    #[test]
    fn traffic_windows_count_arrivals_and_reset() {
        let engine = EngineArgs::default().resolve().unwrap();
        let config = PlanningConfig {
            planner: PlannerConfig::parse(r#"{"mode": "agg"}"#)
                .unwrap()
                .validate()
                .unwrap()
                .config,
            prefill_gpus: 1,
            decode_gpus: 1,
            benchmark_granularity: 8,
            custom_policy: None,
        };
        let mut planning = Planning::new(&config, None, &engine);
        planning.on_arrival(1000, 100);
        planning.on_arrival(3000, 300);
        planning.on_first_token(SimTime::from_millis(200));
        planning.on_completed(Some(12.0));
        planning.on_completed(None);
        planning.on_prefix_reuse(500, 1000);
        planning.on_tokens(TokenTally {
            tokens: 64,
            bursts: 22,
        });
        let w = planning.drain_traffic(SimTime::from_secs(10));
        assert_eq!(w.accept_length, Some(64.0 / 22.0));
        assert_eq!(
            (w.duration_s, w.num_req, w.avg_isl, w.avg_osl),
            (10.0, 2.0, 2000.0, 200.0)
        );
        assert_eq!(
            (w.avg_ttft_ms, w.avg_itl_ms, w.avg_kv_hit_rate),
            (200.0, 12.0, 0.5)
        );
        assert_eq!(w.rps(), 0.2);
        let next = planning.drain_traffic(SimTime::from_secs(15));
        assert_eq!((next.duration_s, next.num_req), (5.0, 0.0));
        assert_eq!(next.accept_length, None);
    }
}
