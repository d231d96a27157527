//! Planner quality: the hindsight [`oracle`](hindsight_oracle) and the [`Score`] of one
//! scaling policy on one trace — what `servesim plan-eval` tabulates.
//!
//! Open-loop traces only: under a closed loop the load follows the capacity, so scaling
//! down always looks free and no schedule is cheapest.

mod oracle;

pub use oracle::{OracleResult, OracleSpec, hindsight_oracle};

use serde::Serialize;

use crate::outcome::ReplayOutcome;

/// How one scaling policy did on one trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Score {
    /// The policy's label (`planner`, `hybrid_180_5`, `hpa`, `static:2`, `oracle`, …).
    pub policy: String,
    /// Seed of the run.
    pub seed: u64,
    /// Requests completed.
    pub requests: u64,
    /// Share of requests with TTFT within the target.
    pub ttft_attainment: f64,
    /// Share of requests with mean ITL within the target.
    pub itl_attainment: f64,
    /// Share meeting both (the SLA attainment).
    pub sla_attainment: f64,
    /// GPU-hours, start-up and draining included.
    pub gpu_hours: f64,
    /// GPUs provisioned on average over the replay (GPU-hours over its span).
    pub avg_gpus: f64,
    /// Requests meeting both targets per GPU-hour.
    pub goodput_per_gpu_hour: f64,
    /// Replica changes.
    pub scale_events: u64,
    /// SLA attainment over the ceiling — the attainment at the budget's most replicas,
    /// the best any schedule can do — on the same trace and seed (`None` without an oracle).
    pub sla_vs_ceiling: Option<f64>,
    /// GPU-hours over the oracle's on the same trace and seed (`None` without an oracle).
    pub gpu_hours_vs_oracle: Option<f64>,
    /// Goodput per GPU-hour over the oracle's.
    pub goodput_vs_oracle: Option<f64>,
}

impl Score {
    /// The score of a replay run with a planning configuration; `None` without one.
    pub fn of(policy: &str, seed: u64, outcome: &ReplayOutcome) -> Option<Score> {
        let planning = outcome.planning.as_ref()?;
        let span_s = outcome.end_time.as_secs_f64();
        Some(Score {
            policy: policy.to_owned(),
            seed,
            requests: outcome.metrics.completed_requests,
            ttft_attainment: planning.sla.ttft,
            itl_attainment: planning.sla.itl,
            sla_attainment: planning.sla.both,
            gpu_hours: planning.gpu_hours,
            avg_gpus: if span_s > 0.0 {
                planning.gpu_hours * 3600.0 / span_s
            } else {
                0.0
            },
            goodput_per_gpu_hour: planning.sla.goodput_per_gpu_hour,
            scale_events: planning.scaling_events.len() as u64,
            sla_vs_ceiling: None,
            gpu_hours_vs_oracle: None,
            goodput_vs_oracle: None,
        })
    }

    /// The same score with its ratios to `oracle`'s and to the `ceiling` filled in.
    pub fn against(self, oracle: &Score, ceiling: f64) -> Score {
        let ratio = |a: f64, b: f64| (b > 0.0).then(|| a / b);
        Score {
            sla_vs_ceiling: ratio(self.sla_attainment, ceiling),
            gpu_hours_vs_oracle: ratio(self.gpu_hours, oracle.gpu_hours),
            goodput_vs_oracle: ratio(self.goodput_per_gpu_hour, oracle.goodput_per_gpu_hour),
            ..self
        }
    }
}

/// One policy's scores averaged over its seeds: a line of the scorecard's summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicySummary {
    /// The policy's label.
    pub policy: String,
    /// Runs (seeds) averaged.
    pub runs: usize,
    /// Mean SLA attainment.
    pub sla_attainment: Option<f64>,
    /// Mean SLA attainment over the ceiling (runs with an oracle).
    pub sla_vs_ceiling: Option<f64>,
    /// The lowest SLA attainment of any seed.
    pub min_sla_attainment: Option<f64>,
    /// Mean GPU-hours.
    pub gpu_hours: Option<f64>,
    /// Mean of the average provisioned GPUs.
    pub avg_gpus: Option<f64>,
    /// Mean goodput per GPU-hour.
    pub goodput_per_gpu_hour: Option<f64>,
    /// Mean scaling events.
    pub scale_events: Option<f64>,
    /// Mean GPU-hours over the oracle's (runs with an oracle).
    pub gpu_hours_vs_oracle: Option<f64>,
    /// Mean goodput over the oracle's (runs with an oracle).
    pub goodput_vs_oracle: Option<f64>,
}

/// The summary of `scores`: one line per policy, in the order the policies first appear,
/// each figure the mean over the runs that have it.
///
/// ```
/// use servesim_replay::plan_eval::{Score, summarize};
/// let score = |seed, gpu_hours| Score {
///     policy: "planner".into(), seed, requests: 100, ttft_attainment: 1.0,
///     itl_attainment: 1.0, sla_attainment: 1.0, gpu_hours, avg_gpus: 1.0,
///     goodput_per_gpu_hour: 100.0 / gpu_hours, scale_events: 2, sla_vs_ceiling: None,
///     gpu_hours_vs_oracle: None, goodput_vs_oracle: None,
/// };
/// let summary = summarize(&[score(1, 0.2), score(2, 0.4)]);
/// assert_eq!(summary.len(), 1);
/// assert_eq!(summary[0].runs, 2);
/// assert!((summary[0].gpu_hours.unwrap() - 0.3).abs() < 1e-12);
/// assert_eq!(summary[0].gpu_hours_vs_oracle, None);
/// ```
pub fn summarize(scores: &[Score]) -> Vec<PolicySummary> {
    let mut policies: Vec<&str> = Vec::new();
    for s in scores {
        if !policies.contains(&s.policy.as_str()) {
            policies.push(&s.policy);
        }
    }
    policies
        .into_iter()
        .map(|policy| {
            let runs: Vec<&Score> = scores.iter().filter(|s| s.policy == policy).collect();
            let mean = |f: &dyn Fn(&Score) -> Option<f64>| {
                let values: Vec<f64> = runs.iter().filter_map(|s| f(s)).collect();
                (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
            };
            PolicySummary {
                policy: policy.to_owned(),
                runs: runs.len(),
                sla_attainment: mean(&|s| Some(s.sla_attainment)),
                sla_vs_ceiling: mean(&|s| s.sla_vs_ceiling),
                min_sla_attainment: runs.iter().map(|s| s.sla_attainment).reduce(f64::min),
                gpu_hours: mean(&|s| Some(s.gpu_hours)),
                avg_gpus: mean(&|s| Some(s.avg_gpus)),
                goodput_per_gpu_hour: mean(&|s| Some(s.goodput_per_gpu_hour)),
                scale_events: mean(&|s| Some(s.scale_events as f64)),
                gpu_hours_vs_oracle: mean(&|s| s.gpu_hours_vs_oracle),
                goodput_vs_oracle: mean(&|s| s.goodput_vs_oracle),
            }
        })
        .collect()
}
