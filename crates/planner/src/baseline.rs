//! Baseline policies the SLA planner is compared with.
//!
//! * [`Static`] never scales (observe only): the fixed-size deployment.
//! * [`Hpa`] is Kubernetes' Horizontal Pod Autoscaler rule on KV utilisation:
//!   `desired = ⌈replicas · utilisation / target⌉`, ignoring changes within 10%; scale-up
//!   is immediate, scale-down takes the highest recommendation of the stabilisation window.
//! * [`Kpa`] is Knative's Pod Autoscaler rule on in-flight requests: `desired =
//!   ⌈average concurrency / target⌉` over a stable window; when the average over the short
//!   panic window asks for `panic_threshold ×` the current replicas, it enters panic mode for
//!   one stable window, scaling up to the panic demand and never down.
//!
//! All tick every `load_adjustment_interval` and respect `min_endpoint` and the GPU budget.

use std::collections::{BTreeMap, VecDeque};

use crate::config::PlannerConfig;
use crate::observe::{Component, TickInput};
use crate::policy::{Deployment, ScalingPolicy, TickOutput};
use crate::pool::{observed_pool, tick_record, within_budget};
use crate::record::LoadReason;

fn reason(current: u32, target: u32) -> LoadReason {
    match target.cmp(&current) {
        std::cmp::Ordering::Greater => LoadReason::ScaleUp,
        std::cmp::Ordering::Less => LoadReason::ScaleDown,
        std::cmp::Ordering::Equal => LoadReason::NoChange,
    }
}

/// Finishes a baseline tick: budget, reasons, record.
pub(crate) fn decide(
    config: &PlannerConfig,
    deployment: &Deployment,
    input: &TickInput,
    mut desired: BTreeMap<Component, u32>,
) -> TickOutput {
    within_budget(config, deployment, &mut desired);
    let mut pools = BTreeMap::new();
    for (&component, &target) in &desired {
        let pool = input.pool(component);
        let mut record = observed_pool(pool);
        record.load_reason = Some(reason(pool.ready + pool.starting, target));
        record.target = target;
        pools.insert(component, record);
    }
    TickOutput {
        targets: desired,
        record: tick_record(input, pools),
    }
}

/// Never scales; records what it sees every `load_adjustment_interval`.
#[derive(Debug)]
pub struct Static {
    config: PlannerConfig,
    deployment: Deployment,
    next: f64,
}

impl Static {
    /// A static policy over `deployment`.
    pub fn new(config: PlannerConfig, deployment: Deployment) -> Self {
        Static {
            next: config.load_adjustment_interval,
            config,
            deployment,
        }
    }
}

impl ScalingPolicy for Static {
    fn next_tick_s(&self) -> f64 {
        self.next
    }

    fn on_tick(&mut self, input: &TickInput) -> TickOutput {
        self.next = input.now_s + self.config.load_adjustment_interval;
        let mut pools = BTreeMap::new();
        for &component in self.deployment.pools.keys() {
            let mut record = observed_pool(input.pool(component));
            record.load_reason = Some(LoadReason::Disabled);
            pools.insert(component, record);
        }
        TickOutput {
            targets: BTreeMap::new(),
            record: tick_record(input, pools),
        }
    }

    fn name(&self) -> &'static str {
        "static"
    }
}

/// Kubernetes HPA-style scaling on KV utilisation.
#[derive(Debug)]
pub struct Hpa {
    config: PlannerConfig,
    deployment: Deployment,
    next: f64,
    recommendations: BTreeMap<Component, VecDeque<(f64, u32)>>,
}

/// HPA ignores utilisation within this share of the target.
const HPA_TOLERANCE: f64 = 0.1;

impl Hpa {
    /// An HPA policy over `deployment`.
    pub fn new(config: PlannerConfig, deployment: Deployment) -> Self {
        Hpa {
            next: config.load_adjustment_interval,
            config,
            deployment,
            recommendations: BTreeMap::new(),
        }
    }
}

impl ScalingPolicy for Hpa {
    fn next_tick_s(&self) -> f64 {
        self.next
    }

    fn on_tick(&mut self, input: &TickInput) -> TickOutput {
        self.next = input.now_s + self.config.load_adjustment_interval;
        let mut desired = BTreeMap::new();
        for (&component, (caps, _)) in &self.deployment.pools {
            let pool = input.pool(component);
            let current = pool.ready + pool.starting;
            let utilisation = if pool.engines.is_empty() || caps.max_kv_tokens <= 0.0 {
                0.0
            } else {
                let total: f64 = pool
                    .engines
                    .iter()
                    .map(|e| e.decode_kv() + e.sum_queued_prefill_tokens)
                    .sum();
                total / pool.engines.len() as f64 / caps.max_kv_tokens
            };
            let ratio = utilisation / self.config.hpa_target_utilization;
            let recommendation = if (ratio - 1.0).abs() <= HPA_TOLERANCE || pool.ready == 0 {
                current
            } else {
                (f64::from(pool.ready) * ratio).ceil() as u32
            };
            let window = self.recommendations.entry(component).or_default();
            window.push_back((input.now_s, recommendation));
            while window
                .front()
                .is_some_and(|(t, _)| *t < input.now_s - self.config.hpa_stabilization_window)
            {
                window.pop_front();
            }
            let target = if recommendation >= current {
                recommendation
            } else {
                window
                    .iter()
                    .map(|(_, r)| *r)
                    .max()
                    .unwrap_or(recommendation)
                    .min(current)
            };
            desired.insert(component, target);
        }
        decide(&self.config, &self.deployment, input, desired)
    }

    fn name(&self) -> &'static str {
        "hpa"
    }
}

/// Knative KPA-style scaling on in-flight requests.
#[derive(Debug)]
pub struct Kpa {
    config: PlannerConfig,
    deployment: Deployment,
    next: f64,
    samples: BTreeMap<Component, VecDeque<(f64, f64)>>,
    panic_until: BTreeMap<Component, f64>,
}

impl Kpa {
    /// A KPA policy over `deployment`.
    pub fn new(config: PlannerConfig, deployment: Deployment) -> Self {
        Kpa {
            next: config.load_adjustment_interval,
            config,
            deployment,
            samples: BTreeMap::new(),
            panic_until: BTreeMap::new(),
        }
    }
}

fn mean_since(samples: &VecDeque<(f64, f64)>, since: f64) -> f64 {
    let recent: Vec<f64> = samples
        .iter()
        .filter(|(t, _)| *t > since)
        .map(|(_, v)| *v)
        .collect();
    if recent.is_empty() {
        0.0
    } else {
        recent.iter().sum::<f64>() / recent.len() as f64
    }
}

impl ScalingPolicy for Kpa {
    fn next_tick_s(&self) -> f64 {
        self.next
    }

    fn on_tick(&mut self, input: &TickInput) -> TickOutput {
        self.next = input.now_s + self.config.load_adjustment_interval;
        let (stable, target_concurrency) = (
            self.config.kpa_stable_window,
            self.config.kpa_target_concurrency,
        );
        let panic_window = stable * self.config.kpa_panic_window_fraction;
        let mut desired = BTreeMap::new();
        for &component in self.deployment.pools.keys() {
            let pool = input.pool(component);
            let current = pool.ready + pool.starting;
            let samples = self.samples.entry(component).or_default();
            samples.push_back((input.now_s, pool.in_flight));
            while samples
                .front()
                .is_some_and(|(t, _)| *t <= input.now_s - stable)
            {
                samples.pop_front();
            }
            let want = |window: f64| {
                (mean_since(samples, input.now_s - window) / target_concurrency).ceil() as u32
            };
            let (stable_want, panic_want) = (want(stable), want(panic_window.max(1e-9)));
            if current > 0
                && f64::from(panic_want) >= self.config.kpa_panic_threshold * f64::from(current)
            {
                self.panic_until.insert(component, input.now_s + stable);
            }
            let panicking = self
                .panic_until
                .get(&component)
                .is_some_and(|until| input.now_s < *until);
            let target = if panicking {
                panic_want.max(current)
            } else {
                stable_want
            };
            desired.insert(component, target);
        }
        decide(&self.config, &self.deployment, input, desired)
    }

    fn name(&self) -> &'static str {
        "kpa"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{EngineCaps, EngineSample, PoolState};

    fn deployment() -> Deployment {
        let caps = EngineCaps {
            max_num_batched_tokens: 8192.0,
            max_num_seqs: 256.0,
            max_kv_tokens: 100_000.0,
            speculative_nextn: 0,
            startup_time_s: 0.0,
        };
        Deployment {
            pools: BTreeMap::from([(Component::Decode, (caps, 1))]),
        }
    }

    fn input(now_s: f64, ready: u32, kv_per_engine: f64, in_flight: f64) -> TickInput {
        let engine = EngineSample {
            sum_decode_kv_tokens: kv_per_engine,
            ..EngineSample::default()
        };
        TickInput {
            now_s,
            decode: PoolState {
                ready,
                engines: vec![engine; ready as usize],
                in_flight,
                ..PoolState::default()
            },
            ..TickInput::default()
        }
    }

    fn config() -> PlannerConfig {
        PlannerConfig {
            hpa_stabilization_window: 30.0,
            ..PlannerConfig::default()
        }
    }

    #[test]
    fn static_never_scales() {
        let mut p = Static::new(config(), deployment());
        let out = p.on_tick(&input(5.0, 2, 99_000.0, 100.0));
        assert!(out.targets.is_empty());
        assert_eq!(out.record.decode.load_reason, Some(LoadReason::Disabled));
        assert_eq!(p.next_tick_s(), 10.0);
    }

    #[test]
    fn hpa_scales_up_at_once_and_down_after_the_window() {
        let mut p = Hpa::new(config(), deployment());
        // 2 replicas at 98% KV: 2 · 0.98 / 0.7 = 2.8 → 3.
        let out = p.on_tick(&input(5.0, 2, 98_000.0, 0.0));
        assert_eq!(out.targets[&Component::Decode], 3);
        assert_eq!(out.record.decode.load_reason, Some(LoadReason::ScaleUp));
        // Within 10% of the target: no change.
        assert_eq!(
            p.on_tick(&input(10.0, 3, 74_000.0, 0.0)).targets[&Component::Decode],
            3
        );
        // Load drops to 20%: recommendation 1, but the window still remembers 3.
        assert_eq!(
            p.on_tick(&input(15.0, 3, 20_000.0, 0.0)).targets[&Component::Decode],
            3
        );
        assert_eq!(
            p.on_tick(&input(40.0, 3, 20_000.0, 0.0)).targets[&Component::Decode],
            3
        );
        // 30 s after the last high recommendation (t=10) it may go down.
        let out = p.on_tick(&input(45.0, 3, 20_000.0, 0.0));
        assert_eq!(out.targets[&Component::Decode], 1);
        assert_eq!(out.record.decode.load_reason, Some(LoadReason::ScaleDown));
    }

    #[test]
    fn kpa_panics_on_bursts_and_settles_on_the_stable_average() {
        let config = PlannerConfig {
            kpa_target_concurrency: 10.0,
            kpa_stable_window: 60.0,
            ..PlannerConfig::default()
        };
        let mut p = Kpa::new(config, deployment());
        // Steady 10 in flight on 1 replica: stays at 1.
        for t in [5.0, 10.0, 15.0] {
            assert_eq!(
                p.on_tick(&input(t, 1, 0.0, 10.0)).targets[&Component::Decode],
                1
            );
        }
        // Burst to 50: the 6 s panic window (samples at 15 and 20 s: mean 30) asks for
        // 3 ≥ 2 × 1 → panic, scale to 3.
        assert_eq!(
            p.on_tick(&input(20.0, 1, 0.0, 50.0)).targets[&Component::Decode],
            3
        );
        // Burst over: in panic mode the count does not go down...
        assert_eq!(
            p.on_tick(&input(25.0, 5, 0.0, 10.0)).targets[&Component::Decode],
            5
        );
        // ...until the panic expires (60 s after it began); then the stable average rules:
        // samples in (30, 85]: 10, 10 at 80, 85 plus those in between → ⌈10/10⌉ = 1.
        for t in [30.0, 40.0, 50.0, 60.0, 70.0] {
            p.on_tick(&input(t, 5, 0.0, 10.0));
        }
        assert_eq!(
            p.on_tick(&input(85.0, 5, 0.0, 10.0)).targets[&Component::Decode],
            1
        );
    }

    #[test]
    fn budget_caps_baselines() {
        let config = PlannerConfig {
            max_gpu_budget: 4.0,
            hpa_stabilization_window: 0.0,
            ..PlannerConfig::default()
        };
        let mut p = Hpa::new(config, deployment());
        assert_eq!(
            p.on_tick(&input(5.0, 4, 100_000.0, 0.0)).targets[&Component::Decode],
            4
        );
    }
}
