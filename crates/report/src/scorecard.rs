//! The planner scorecard page: every policy's SLA attainment against its GPU-hours, goodput
//! per GPU-hour per seed, and the replicas each asked for over time.

use servesim_replay::plan_eval::{PolicySummary, Score};

use crate::chart::{Chart, Series, Style, XAxis};
use crate::page::{Page, Section};

/// Replicas a policy asked for over time: `(time_s, replicas)` steps.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaTimeline {
    /// The policy's label.
    pub policy: String,
    /// Points of the step line, in time order.
    pub points: Vec<(f64, f64)>,
}

/// Marker colours, one per policy (Plotly's default cycle).
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// The scorecard page of `scores` (one per policy and seed), their [`summarize`]d means and
/// the replica timelines of one seed.
///
/// [`summarize`]: servesim_replay::plan_eval::summarize
///
/// ```
/// use servesim_replay::plan_eval::{Score, summarize};
/// use servesim_report::{ReplicaTimeline, scorecard_page};
/// let score = Score {
///     policy: "oracle".into(), seed: 1, requests: 100, ttft_attainment: 1.0,
///     itl_attainment: 1.0, sla_attainment: 1.0, gpu_hours: 0.2, avg_gpus: 1.2,
///     goodput_per_gpu_hour: 500.0, scale_events: 3, sla_vs_ceiling: Some(1.0),
///     gpu_hours_vs_oracle: Some(1.0),
///     goodput_vs_oracle: Some(1.0),
/// };
/// let timeline = ReplicaTimeline { policy: "oracle".into(), points: vec![(0.0, 1.0), (30.0, 2.0)] };
/// let scores = [score];
/// let page = scorecard_page(&scores, &summarize(&scores), &[timeline], "example");
/// assert_eq!(page.charts().count(), 3);
/// ```
pub fn scorecard_page(
    scores: &[Score],
    summary: &[PolicySummary],
    timelines: &[ReplicaTimeline],
    subtitle: &str,
) -> Page {
    let policies: Vec<&str> = summary.iter().map(|row| row.policy.as_str()).collect();
    let colour = |i: usize| PALETTE[i % PALETTE.len()];
    fn of<'a>(scores: &'a [Score], policy: &'a str) -> impl Iterator<Item = &'a Score> {
        scores.iter().filter(move |s| s.policy == policy)
    }

    let mut tradeoff = Chart::new(
        "sla-vs-gpu-hours",
        "SLA attainment against GPU-hours (one point per seed)",
        XAxis::Own("GPU-hours".into()),
        "requests meeting TTFT and ITL",
    );
    tradeoff.y_format = Some(".1%");
    let mut goodput = Chart::new(
        "goodput-per-seed",
        "Goodput per GPU-hour",
        XAxis::Own("seed".into()),
        "requests meeting both targets per GPU-hour",
    );
    for (i, policy) in policies.iter().enumerate() {
        tradeoff.push(
            Series::new(
                *policy,
                of(scores, policy).map(|s| (s.gpu_hours, Some(s.sla_attainment))),
            )
            .styled(Style::Markers(colour(i))),
        );
        goodput.push(
            Series::new(
                *policy,
                of(scores, policy).map(|s| (s.seed as f64, Some(s.goodput_per_gpu_hour))),
            )
            .styled(Style::Markers(colour(i))),
        );
    }
    let mut replicas = Chart::over_time("replicas", "Replicas asked for (first seed)", "replicas");
    for timeline in timelines {
        replicas.push(Series::new(
            timeline.policy.clone(),
            timeline.points.iter().map(|&(t, n)| (t, Some(n))),
        ));
    }
    let summary = summary
        .iter()
        .map(|row| {
            let ratio = row
                .gpu_hours_vs_oracle
                .map_or_else(String::new, |r| format!(", {r:.2}× oracle"));
            (
                row.policy.clone(),
                format!(
                    "SLA {:.1} %, {:.3} GPU-h{ratio}",
                    100.0 * row.sla_attainment.unwrap_or(0.0),
                    row.gpu_hours.unwrap_or(0.0)
                ),
            )
        })
        .collect();
    Page {
        title: "servesim planner scorecard".into(),
        subtitle: subtitle.to_owned(),
        summary,
        sections: vec![
            Section::new("Cost and SLA", vec![tradeoff, goodput]).with_note(
                "Up and to the left is better: the oracle is the cheapest schedule the search found that meets the target; ratios are to it on the same seed.",
            ),
            Section::new("Replicas over time", vec![replicas]),
        ],
    }
}
