//! The report of one replay: latency distributions and traffic over time for every run, the
//! planner's diagnostics when a planner was in the loop.

use servesim_replay::{ReplayOutcome, RequestRecord};
use servesim_trace::SimTime;

use crate::chart::{Chart, Series, Style, XAxis};
use crate::page::{Page, Section};
use crate::planner;
use crate::shape::{Buckets, cdf, cdf_of};

/// What the report says about where a replay came from.
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    /// Page title (default: "servesim replay report", or "Planner diagnostics" with a
    /// planner).
    pub title: Option<String>,
    /// One line naming the workload and configuration (e.g. the command line).
    pub subtitle: String,
}

/// The report page of a replay.
///
/// Every run gets its headline figures, TTFT / ITL / E2E CDFs and traffic over time
/// (offered and completed requests, output tokens, requests in flight); a run with a
/// planner also gets the planner's diagnostics (replicas, traffic observed and predicted,
/// latencies against the SLA, engine load, decisions) and its summary (ticks, replica
/// transitions, GPU-hours, SLA attainment). All time axes are linked.
pub fn run_page(outcome: &ReplayOutcome, info: &RunInfo) -> Page {
    let m = &outcome.metrics;
    let mut summary = vec![
        (
            "requests completed".to_owned(),
            format!("{} of {}", m.completed_requests, m.num_requests),
        ),
        (
            "simulated duration".to_owned(),
            format!("{:.1} s", m.duration_ms / 1000.0),
        ),
        (
            "request throughput".to_owned(),
            format!("{:.2} req/s", m.request_throughput_rps()),
        ),
        (
            "output throughput".to_owned(),
            format!("{:.0} tok/s", m.output_throughput_tok_s()),
        ),
        (
            "TTFT mean / p99".to_owned(),
            format!("{:.1} / {:.1} ms", m.ttft.mean, m.ttft.p99),
        ),
        (
            "ITL mean / p99".to_owned(),
            format!("{:.2} / {:.2} ms", m.itl.mean, m.itl.p99),
        ),
        (
            "prefix cache reuse".to_owned(),
            format!("{:.1}%", m.prefix_cache_reused_ratio * 100.0),
        ),
        (
            "preemptions".to_owned(),
            outcome.counts.preemptions.to_string(),
        ),
    ];
    let mut sections = Vec::new();
    let sla = outcome
        .planning
        .as_ref()
        .map(|p| (p.sla.ttft_target_ms, p.sla.itl_target_ms));
    if let Some(planning) = &outcome.planning {
        summary.extend(planner::summary(planning));
        sections.extend(planner::sections(planning));
    }
    sections.push(latency_section(outcome, sla));
    sections.push(traffic_section(outcome));
    let default_title = if outcome.planning.is_some() {
        "Planner diagnostics"
    } else {
        "servesim replay report"
    };
    Page {
        title: info
            .title
            .clone()
            .unwrap_or_else(|| default_title.to_owned()),
        subtitle: info.subtitle.clone(),
        summary,
        sections,
    }
}

/// Milliseconds between two instants of a request.
fn span_ms(from: SimTime, to: Option<SimTime>) -> Option<f64> {
    to.map(|t| t.saturating_sub(from).as_millis_f64())
}

fn latency_section(outcome: &ReplayOutcome, sla: Option<(f64, f64)>) -> Section {
    let records = outcome.collector.records();
    let mut ttft: Vec<f64> = records
        .iter()
        .filter_map(|r| span_ms(r.arrival, r.first_token))
        .collect();
    let mut e2e: Vec<f64> = records
        .iter()
        .filter_map(|r| span_ms(r.arrival, r.completed))
        .collect();
    let itl = cdf(outcome
        .collector
        .gaps()
        .iter()
        .map(|(gap, &count)| (gap.as_millis_f64(), count)));
    let distribution = |id: &str, title: &str, points, target: Option<f64>| {
        let mut chart = Chart::new(
            id,
            title,
            XAxis::Own("milliseconds".to_owned()),
            "share ≤ x",
        );
        chart.y_format = Some(".0%");
        chart.push(Series::new("requests", points));
        if let Some(target) = target {
            chart.push(
                Series::new("SLA", [(target, Some(0.0)), (target, Some(1.0))])
                    .styled(Style::Target),
            );
        }
        chart
    };
    let mut itl_chart = distribution("cdf-itl", "Inter-token gaps (CDF)", itl, sla.map(|s| s.1));
    if let Some(series) = itl_chart.series.first_mut() {
        series.name = "token gaps".to_owned();
    }
    Section::new(
        "Latency distributions",
        vec![
            distribution(
                "cdf-ttft",
                "Time to first token (CDF)",
                cdf_of(&mut ttft),
                sla.map(|s| s.0),
            ),
            itl_chart,
            distribution("cdf-e2e", "End-to-end latency (CDF)", cdf_of(&mut e2e), None),
        ],
    )
    .with_note(
        "Share of requests (of token gaps, for ITL) at or below each latency; the dashed red line is the SLA target.",
    )
}

fn traffic_section(outcome: &ReplayOutcome) -> Section {
    let records = outcome.collector.records();
    let end_s = outcome.end_time.as_secs_f64();
    let buckets = Buckets::covering(end_s);
    let per_second = 1.0 / buckets.width_s;
    let (mut offered, mut completed, mut tokens) = (
        vec![0.0; buckets.count],
        vec![0.0; buckets.count],
        vec![0.0; buckets.count],
    );
    for r in records {
        offered[buckets.index(r.arrival.as_secs_f64())] += per_second;
        if let Some(done) = r.completed {
            completed[buckets.index(done.as_secs_f64())] += per_second;
        }
        spread_tokens(&buckets, &mut tokens, r);
    }
    let series = |name: &str, values: &[f64], scale: f64| {
        Series::new(
            name,
            buckets
                .centers()
                .zip(values.iter().map(|v| Some(v * scale))),
        )
    };
    let mut rates = Chart::over_time("traffic-requests", "Requests per second", "requests/s");
    rates.push(series("offered (arrivals)", &offered, 1.0));
    rates.push(series("completed", &completed, 1.0));
    let mut output = Chart::over_time("traffic-tokens", "Output tokens per second", "tokens/s");
    output.push(series("output tokens", &tokens, per_second));
    let mut in_flight = Chart::over_time("traffic-in-flight", "Requests in the system", "requests");
    in_flight.push(Series::new("in flight", in_flight_at(records, &buckets)));
    Section::new("Traffic over time", vec![rates, output, in_flight]).with_note(&format!(
        "Averages over {} s buckets. Output tokens are spread evenly between a request's first and last token.",
        buckets.width_s
    ))
}

/// Adds a request's output tokens to `sums`: the first at its first token, the rest spread
/// evenly up to its completion.
fn spread_tokens(buckets: &Buckets, sums: &mut [f64], r: &RequestRecord) {
    let (Some(first), Some(done)) = (r.first_token, r.completed) else {
        return;
    };
    sums[buckets.index(first.as_secs_f64())] += 1.0;
    if r.output_tokens > 1 {
        buckets.spread(
            sums,
            f64::from(r.output_tokens - 1),
            first.as_secs_f64(),
            done.as_secs_f64(),
        );
    }
}

/// Requests arrived but not completed, at each bucket's end.
fn in_flight_at(records: &[RequestRecord], buckets: &Buckets) -> Vec<(f64, Option<f64>)> {
    let mut arrivals: Vec<SimTime> = records.iter().map(|r| r.arrival).collect();
    let mut completions: Vec<SimTime> = records.iter().filter_map(|r| r.completed).collect();
    arrivals.sort_unstable();
    completions.sort_unstable();
    (1..=buckets.count)
        .map(|i| {
            let t = SimTime::from_secs_f64(i as f64 * buckets.width_s).unwrap_or(SimTime::MAX);
            let arrived = arrivals.partition_point(|&a| a <= t);
            let done = completions.partition_point(|&c| c <= t);
            (
                i as f64 * buckets.width_s,
                Some(arrived.saturating_sub(done) as f64),
            )
        })
        .collect()
}
