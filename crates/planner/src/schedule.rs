//! A replica schedule fixed in advance, and the policy that follows it.
//!
//! The hindsight oracle (in the replay crate) searches for the cheapest [`ReplicaSchedule`]
//! that meets an SLA on a known trace; [`Scheduled`] plays such a schedule back inside a
//! replay like any other [`ScalingPolicy`]. It asks for replicas `lead_s` seconds (the
//! engine's start-up time) before a window needs them, so they are ready when it begins,
//! and releases them when the window that needs fewer begins.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::baseline::decide;
use crate::config::PlannerConfig;
use crate::observe::{Component, TickInput};
use crate::policy::{Deployment, ScalingPolicy, TickOutput};

/// Replicas wanted in each window of a fixed grid: `replicas[k]` serve over
/// `[k · window_s, (k + 1) · window_s)`, and the last count holds after the grid ends.
///
/// ```
/// use servesim_planner::schedule::ReplicaSchedule;
/// let schedule = ReplicaSchedule { window_s: 30.0, replicas: vec![2, 4, 1] };
/// assert_eq!(schedule.at(0.0), 2);
/// assert_eq!(schedule.at(45.0), 4);
/// assert_eq!(schedule.at(600.0), 1);
/// // Replica-seconds over the grid: (2 + 4 + 1) · 30.
/// assert_eq!(schedule.replica_seconds(), 210.0);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplicaSchedule {
    /// Length of one window, seconds (> 0).
    pub window_s: f64,
    /// Replicas per window (at least one window).
    pub replicas: Vec<u32>,
}

impl ReplicaSchedule {
    /// The same count in `windows` windows of `window_s` seconds.
    pub fn constant(window_s: f64, windows: usize, replicas: u32) -> Self {
        ReplicaSchedule {
            window_s,
            replicas: vec![replicas; windows.max(1)],
        }
    }

    /// The window holding time `t_s` (times before 0 fall in the first).
    pub fn window_of(&self, t_s: f64) -> usize {
        let k = (t_s / self.window_s).floor();
        if k.is_finite() && k > 0.0 {
            k as usize
        } else {
            0
        }
    }

    /// Replicas wanted at time `t_s`.
    pub fn at(&self, t_s: f64) -> u32 {
        let k = self
            .window_of(t_s)
            .min(self.replicas.len().saturating_sub(1));
        self.replicas.get(k).copied().unwrap_or(0)
    }

    /// Replica-seconds the grid asks for (start-up and draining time not included).
    pub fn replica_seconds(&self) -> f64 {
        self.replicas.iter().map(|&n| f64::from(n)).sum::<f64>() * self.window_s
    }
}

/// Plays fixed schedules back: one per pool it scales.
///
/// At time `τ` a pool's target is `max(schedule(τ), schedule(τ + lead))`: replicas a later
/// window needs are requested `lead_s` ahead (they cost GPU time while they start), and a
/// window that needs fewer releases the surplus as it begins. Ticks fall exactly on the
/// instants where that target changes.
///
/// ```
/// use std::collections::BTreeMap;
/// use servesim_planner::config::PlannerConfig;
/// use servesim_planner::observe::{Component, EngineCaps, TickInput};
/// use servesim_planner::policy::{Deployment, ScalingPolicy};
/// use servesim_planner::schedule::{ReplicaSchedule, Scheduled};
///
/// let caps = EngineCaps { max_num_batched_tokens: 8192.0, max_num_seqs: 256.0,
///                         max_kv_tokens: 1e6, speculative_nextn: 0,
///                         startup_time_s: 0.0 };
/// let deployment = Deployment { pools: BTreeMap::from([(Component::Decode, (caps, 1))]) };
/// let config = PlannerConfig { max_gpu_budget: 16.0, ..PlannerConfig::default() };
/// let schedule = ReplicaSchedule { window_s: 60.0, replicas: vec![1, 3, 2] };
/// let mut policy = Scheduled::new(config, deployment,
///     BTreeMap::from([(Component::Decode, schedule)]), 20.0);
/// assert_eq!(policy.next_tick_s(), 0.0);
/// let first = policy.on_tick(&TickInput::default());
/// assert_eq!(first.targets[&Component::Decode], 1);
/// assert_eq!(policy.next_tick_s(), 40.0); // window 1 needs 3, 20 s of start-up ahead
/// ```
#[derive(Debug)]
pub struct Scheduled {
    config: PlannerConfig,
    deployment: Deployment,
    schedules: BTreeMap<Component, ReplicaSchedule>,
    lead_s: f64,
    /// Instants where some pool's target changes, ascending; `next` indexes it.
    instants: Vec<f64>,
    next: usize,
}

impl Scheduled {
    /// A policy that plays `schedules` back, asking for replicas `lead_s` seconds ahead.
    pub fn new(
        config: PlannerConfig,
        deployment: Deployment,
        schedules: BTreeMap<Component, ReplicaSchedule>,
        lead_s: f64,
    ) -> Self {
        let lead_s = lead_s.max(0.0);
        let mut instants = vec![0.0];
        for schedule in schedules.values() {
            for k in 1..schedule.replicas.len() {
                let start = k as f64 * schedule.window_s;
                instants.push(start);
                if lead_s > 0.0 && start - lead_s > 0.0 {
                    instants.push(start - lead_s);
                }
            }
        }
        instants.sort_by(f64::total_cmp);
        instants.dedup();
        Scheduled {
            config,
            deployment,
            schedules,
            lead_s,
            instants,
            next: 0,
        }
    }

    /// The target of every scheduled pool at `t_s`.
    fn targets_at(&self, t_s: f64) -> BTreeMap<Component, u32> {
        self.schedules
            .iter()
            .map(|(&component, s)| (component, s.at(t_s).max(s.at(t_s + self.lead_s))))
            .collect()
    }
}

impl ScalingPolicy for Scheduled {
    fn next_tick_s(&self) -> f64 {
        self.instants
            .get(self.next)
            .copied()
            .unwrap_or(f64::INFINITY)
    }

    fn on_tick(&mut self, input: &TickInput) -> TickOutput {
        while self
            .instants
            .get(self.next)
            .is_some_and(|&t| t <= input.now_s)
        {
            self.next += 1;
        }
        decide(
            &self.config,
            &self.deployment,
            input,
            self.targets_at(input.now_s),
        )
    }

    fn name(&self) -> &'static str {
        "oracle"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::EngineCaps;

    fn policy(replicas: Vec<u32>, lead_s: f64) -> Scheduled {
        let caps = EngineCaps {
            max_num_batched_tokens: 8192.0,
            max_num_seqs: 256.0,
            max_kv_tokens: 1e6,
            speculative_nextn: 0,
            startup_time_s: 0.0,
        };
        Scheduled::new(
            PlannerConfig {
                max_gpu_budget: 16.0,
                ..PlannerConfig::default()
            },
            Deployment {
                pools: BTreeMap::from([(Component::Decode, (caps, 1))]),
            },
            BTreeMap::from([(
                Component::Decode,
                ReplicaSchedule {
                    window_s: 60.0,
                    replicas,
                },
            )]),
            lead_s,
        )
    }

    /// Every tick of a schedule: (time, target).
    fn play(mut policy: Scheduled) -> Vec<(f64, u32)> {
        let mut out = Vec::new();
        while policy.next_tick_s().is_finite() {
            let now_s = policy.next_tick_s();
            let decision = policy.on_tick(&TickInput {
                now_s,
                ..TickInput::default()
            });
            out.push((now_s, decision.targets[&Component::Decode]));
        }
        out
    }

    #[test]
    fn without_start_up_the_targets_follow_the_windows() {
        assert_eq!(
            play(policy(vec![1, 3, 2, 2], 0.0)),
            vec![(0.0, 1), (60.0, 3), (120.0, 2), (180.0, 2)]
        );
    }

    #[test]
    fn scale_ups_are_asked_for_one_start_up_ahead_and_scale_downs_wait() {
        // Window 1 needs 3 from t = 60: asked for at 60 − 25 = 35. Window 2 needs 1: the
        // surplus goes at 120, not at 95. Window 3 needs 4: asked for at 155.
        assert_eq!(
            play(policy(vec![1, 3, 1, 4], 25.0)),
            vec![
                (0.0, 1),
                (35.0, 3),
                (60.0, 3),
                (95.0, 3),
                (120.0, 1),
                (155.0, 4),
                (180.0, 4)
            ]
        );
    }

    #[test]
    fn a_start_up_longer_than_the_first_windows_asks_at_once() {
        // Windows 1 and 2 start within the 150 s lead of t = 0: both are asked for at 0.
        let ticks = play(policy(vec![1, 2, 3, 1], 150.0));
        assert_eq!(ticks[0], (0.0, 3));
        assert_eq!(ticks.last(), Some(&(180.0, 1)));
    }

    #[test]
    fn the_budget_still_applies() {
        assert_eq!(play(policy(vec![40], 0.0)), vec![(0.0, 16)]);
    }
}
