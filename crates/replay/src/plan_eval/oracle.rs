//! The hindsight oracle: the cheapest replica schedule found, by simulation, that meets the
//! SLA on a trace known in advance.
//!
//! Replica counts change on a fixed grid of `window_s` seconds, replicas are asked for one
//! start-up time ahead of the window that needs them and drain when released — the same
//! lifecycles every policy lives with ([`Scheduled`]). The search, every step confirmed by a
//! full replay:
//!
//! 1. **Forward pass.** Every window at the budget's maximum, then window by window the
//!    fewest replicas (a galloping search from the previous window's count) such that the requests *arriving* in every window so
//!    far still meet the attainment target, the windows after it held at the maximum.
//! 2. **Descent pass.** Window by window, one replica fewer is kept when the whole trace
//!    still meets the target: the per-window rule of the forward pass is stricter than the
//!    SLA a policy is scored on, and this spends the slack.
//!
//! The target is relative to what the budget can serve: a window (and the whole trace) must
//! reach `target ×` the attainment it has at the most replicas — its *ceiling*, 1 unless
//! some requests cannot meet the SLA on any replica (prompts too long to prefill within the
//! TTFT target, a burst the start-up time cannot meet). Windows whose ceiling is below the
//! target are reported as capped.
//!
//! The result is the best schedule this search finds, not a proof of optimality: the
//! search assumes more replicas never hurt, and a policy that spreads its misses
//! differently can in principle do slightly better. It is the yardstick the scorecard
//! divides by.

use std::collections::BTreeMap;

use servesim_planner::observe::Component;
use servesim_planner::schedule::{ReplicaSchedule, Scheduled};
use servesim_trace::Workload;

use crate::admission::AdmissionMode;
use crate::config::{ReplayConfig, Topology};
use crate::custom::CustomPolicy;
use crate::error::ReplayError;
use crate::metrics::SlaAttainment;
use crate::outcome::ReplayOutcome;
use crate::sim::{NoObserver, replay};

/// What the oracle searches over.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct OracleSpec {
    /// Length of a window of the replica grid, seconds.
    pub window_s: f64,
    /// Share of the requests the budget can serve within the SLA that must meet both the
    /// TTFT and ITL targets, in (0, 1].
    pub target: f64,
    /// Fewest replicas in any window.
    pub min_replicas: u32,
    /// Most replicas in any window (the GPU budget).
    pub max_replicas: u32,
}

/// The schedule the oracle found and the replay that confirms it.
#[derive(Debug)]
pub struct OracleResult {
    /// Replicas per window.
    pub schedule: ReplicaSchedule,
    /// The replay of the trace under that schedule.
    pub outcome: ReplayOutcome,
    /// Share of the requests arriving in each window that met both targets (1 when none
    /// arrived).
    pub window_attainment: Vec<f64>,
    /// Windows that miss the target even at the most replicas (their target is what the
    /// most replicas reach).
    pub capped_windows: Vec<usize>,
    /// Share of all requests meeting both targets at the most replicas: the best any
    /// schedule within the budget can do.
    pub ceiling: f64,
    /// Replays the search ran.
    pub replays: u32,
}

/// One replay of the trace under a schedule, judged per window.
struct Trial {
    outcome: ReplayOutcome,
    /// (met, arrived) per window.
    windows: Vec<(u64, u64)>,
    overall: f64,
}

impl Trial {
    fn share(&self, k: usize) -> f64 {
        match self.windows.get(k) {
            Some(&(met, arrived)) if arrived > 0 => met as f64 / arrived as f64,
            _ => 1.0,
        }
    }
}

/// The search state: the trace, the configuration, the targets.
struct Search<'a> {
    workload: &'a Workload,
    config: &'a ReplayConfig,
    spec: OracleSpec,
    ttft_ms: f64,
    itl_ms: f64,
    lead_s: f64,
    replays: u32,
}

impl Search<'_> {
    fn trial(&mut self, replicas: &[u32]) -> Result<Trial, ReplayError> {
        let schedule = ReplicaSchedule {
            window_s: self.spec.window_s,
            replicas: replicas.to_vec(),
        };
        let lead_s = self.lead_s;
        let mut config = self.config.clone();
        if let Some(planning) = config.planning.as_mut() {
            planning.custom_policy = Some(CustomPolicy::new(move |planner, deployment| {
                Box::new(Scheduled::new(
                    planner.clone(),
                    deployment.clone(),
                    BTreeMap::from([(Component::Decode, schedule.clone())]),
                    lead_s,
                ))
            }));
        }
        let outcome = replay(self.workload, &config, &mut NoObserver)?;
        self.replays += 1;
        let mut windows = vec![(0u64, 0u64); replicas.len()];
        let (mut met_all, mut done) = (0u64, 0u64);
        for record in outcome.collector.measured() {
            let Some((ttft, itl)) = SlaAttainment::judge(record, self.ttft_ms, self.itl_ms) else {
                continue;
            };
            let met = u64::from(ttft && itl);
            let k = (record.arrival.as_secs_f64() / self.spec.window_s) as usize;
            if let Some(w) = windows.get_mut(k.min(replicas.len() - 1)) {
                w.0 += met;
                w.1 += 1;
            }
            met_all += met;
            done += 1;
        }
        Ok(Trial {
            outcome,
            windows,
            overall: if done == 0 {
                1.0
            } else {
                met_all as f64 / done as f64
            },
        })
    }

    /// The fewest replicas in window `k`, within `range`, such that every window up to
    /// `k` meets its target; the maximum is known to. Gallops from `guess` (the previous
    /// window's count: neighbours rarely differ much), then bisects. `best` becomes the
    /// replay of the answer; `replicas[k]` is left at an arbitrary probe.
    fn fewest(
        &mut self,
        replicas: &mut [u32],
        k: usize,
        targets: &[f64],
        (lo, hi): (u32, u32),
        guess: u32,
        best: &mut Trial,
    ) -> Result<u32, ReplayError> {
        let (mut pass, mut fail) = (hi, lo - 1);
        let mut holds = |n: u32, best: &mut Trial| -> Result<bool, ReplayError> {
            replicas[k] = n;
            let trial = self.trial(replicas)?;
            let ok = Search::holds_through(&trial, k, targets);
            if ok {
                *best = trial;
            }
            Ok(ok)
        };
        if guess < pass {
            let mut step = 1;
            if holds(guess, best)? {
                pass = guess;
                while let Some(probe) = pass.checked_sub(step).filter(|&p| p > fail) {
                    if !holds(probe, best)? {
                        fail = probe;
                        break;
                    }
                    pass = probe;
                    step *= 2;
                }
            } else {
                fail = guess;
                while fail + step < pass {
                    let probe = fail + step;
                    if holds(probe, best)? {
                        pass = probe;
                        break;
                    }
                    fail = probe;
                    step *= 2;
                }
            }
        }
        while fail + 1 < pass {
            let mid = fail + (pass - fail) / 2;
            if holds(mid, best)? {
                pass = mid;
            } else {
                fail = mid;
            }
        }
        Ok(pass)
    }

    /// Whether every window up to `k` meets its target.
    fn holds_through(trial: &Trial, k: usize, targets: &[f64]) -> bool {
        (0..=k).all(|j| trial.share(j) >= targets[j])
    }
}

/// Searches the cheapest schedule of the aggregated pool of `config` that meets `spec` on
/// `workload` (an open-loop trace). `config` needs a planning configuration: its TTFT and
/// ITL targets are the SLA, and its GPUs per replica price the schedule.
pub fn hindsight_oracle(
    workload: &Workload,
    config: &ReplayConfig,
    spec: &OracleSpec,
) -> Result<OracleResult, ReplayError> {
    let bad = |why: &str| Err(ReplayError::Config(format!("oracle: {why}")));
    if config.admission != AdmissionMode::Trace {
        return bad(
            "open-loop traces only: a closed loop sends the next request when one finishes, so the load follows the capacity and no schedule is cheapest",
        );
    }
    let Topology::Aggregated { engine, .. } = &config.topology else {
        return bad("aggregated deployments only (one pool to schedule)");
    };
    let Some(planning) = &config.planning else {
        return bad("needs a planner configuration (its ttft and itl are the SLA)");
    };
    if !(spec.window_s.is_finite() && spec.window_s > 0.0) {
        return bad("the window must be a positive number of seconds");
    }
    if !(spec.target > 0.0 && spec.target <= 1.0) {
        return bad("the attainment target must be in (0, 1]");
    }
    if spec.max_replicas == 0 || spec.min_replicas > spec.max_replicas {
        return bad("the replica range is empty (check min_endpoint and the GPU budget)");
    }
    let mut search = Search {
        workload,
        config,
        spec: *spec,
        ttft_ms: planning.planner.ttft,
        itl_ms: planning.planner.itl,
        lead_s: engine.startup_time.as_secs_f64(),
        replays: 0,
    };
    let (lo, hi) = (spec.min_replicas.max(1), spec.max_replicas);
    // The windows: up to the last arrival at the most replicas.
    let probe = search.trial(&[hi])?;
    let last_arrival = probe
        .outcome
        .collector
        .measured()
        .iter()
        .map(|r| r.arrival.as_secs_f64())
        .fold(0.0, f64::max);
    let windows = (last_arrival / spec.window_s) as usize + 1;
    let mut replicas = vec![hi; windows];
    let mut best = search.trial(&replicas)?;
    let targets: Vec<f64> = (0..windows).map(|k| best.share(k) * spec.target).collect();
    let capped: Vec<usize> = (0..windows)
        .filter(|&k| best.share(k) < spec.target)
        .collect();
    let (ceiling, overall_target) = (best.overall, best.overall * spec.target);
    // Invariant of both passes: `best` is the replay of `replicas` as it stands.
    for k in 0..windows {
        let guess = if k == 0 { hi } else { replicas[k - 1] };
        replicas[k] = search.fewest(&mut replicas, k, &targets, (lo, hi), guess, &mut best)?;
    }
    for k in 0..windows {
        if replicas[k] <= lo {
            continue;
        }
        replicas[k] -= 1;
        let trial = search.trial(&replicas)?;
        if trial.overall >= overall_target {
            best = trial;
        } else {
            replicas[k] += 1;
        }
    }
    let window_attainment = (0..windows).map(|k| best.share(k)).collect();
    Ok(OracleResult {
        schedule: ReplicaSchedule {
            window_s: spec.window_s,
            replicas,
        },
        outcome: best.outcome,
        window_attainment,
        capped_windows: capped,
        ceiling,
        replays: search.replays,
    })
}
