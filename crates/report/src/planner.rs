//! The planner's diagnostics: the reference's twelve charts, over linked time axes, and the
//! summary figures of a planner run.

use servesim_planner::observe::TrafficWindow;
use servesim_planner::record::{EngineLoad, PoolRecord, Prediction, TickRecord};
use servesim_replay::PlanningSummary;

use crate::chart::{Chart, Series, Style};
use crate::page::Section;

/// Colours of load-scaling reasons (as in the reference's report).
const LOAD_COLORS: [(&str, &str); 10] = [
    ("scale_up", "green"),
    ("scale_down", "blue"),
    ("scale_down_capped_by_throughput", "purple"),
    ("scale_down_stabilizing", "teal"),
    ("no_change", "gray"),
    ("disabled", "lightgray"),
    ("no_fpm_data", "gold"),
    ("scaling_in_progress", "orange"),
    ("worker_count_mismatch", "red"),
    ("insufficient_data", "pink"),
];

/// Colours of throughput-scaling reasons.
const THROUGHPUT_COLORS: [(&str, &str); 7] = [
    ("scale", "green"),
    ("set_lower_bound", "blue"),
    ("forecast", "teal"),
    ("disabled", "lightgray"),
    ("no_traffic_data", "gold"),
    ("model_not_ready", "orange"),
    ("partner_not_ready", "pink"),
];

/// The header figures of a planner run: policy, time range, ticks, replica transitions,
/// GPU-hours, SLA targets and attainment, goodput.
pub(crate) fn summary(planning: &PlanningSummary) -> Vec<(String, String)> {
    let records = &planning.records;
    let range = match (records.first(), records.last()) {
        (Some(first), Some(last)) => format!("{:.0} s – {:.0} s", first.time_s, last.time_s),
        _ => "no ticks".to_owned(),
    };
    let sla = &planning.sla;
    vec![
        ("scaling policy".to_owned(), planning.policy.to_owned()),
        ("planner time range".to_owned(), range),
        ("planner ticks".to_owned(), planning.ticks.to_string()),
        (
            "replica transitions".to_owned(),
            replica_transitions(records).to_string(),
        ),
        ("GPU hours".to_owned(), format!("{:.4}", planning.gpu_hours)),
        (
            "SLA targets".to_owned(),
            format!(
                "TTFT ≤ {} ms, ITL ≤ {} ms",
                sla.ttft_target_ms, sla.itl_target_ms
            ),
        ),
        (
            "SLA attainment (TTFT / ITL / both)".to_owned(),
            format!(
                "{:.1}% / {:.1}% / {:.1}%",
                sla.ttft * 100.0,
                sla.itl * 100.0,
                sla.both * 100.0
            ),
        ),
        (
            "goodput".to_owned(),
            format!("{:.1} req per GPU-hour", sla.goodput_per_gpu_hour),
        ),
    ]
}

/// Changes of a pool's ready replica count from one tick to the next, over both pools.
pub fn replica_transitions(records: &[TickRecord]) -> usize {
    records
        .windows(2)
        .map(|w| {
            let prefill =
                w[0].prefill.as_ref().map(|p| p.ready) != w[1].prefill.as_ref().map(|p| p.ready);
            usize::from(prefill) + usize::from(w[0].decode.ready != w[1].decode.ready)
        })
        .sum()
}

/// A series over the ticks, `None` where `value` has nothing.
fn over_ticks(
    name: &str,
    records: &[TickRecord],
    value: impl Fn(&TickRecord) -> Option<f64>,
) -> Series {
    Series::new(name, records.iter().map(|r| (r.time_s, value(r))))
}

/// The pools present: `(label, accessor)`, prefill first in disaggregated deployments.
type PoolAccess = fn(&TickRecord) -> Option<&PoolRecord>;

fn pools(records: &[TickRecord]) -> Vec<(&'static str, PoolAccess)> {
    let decode: PoolAccess = |r| Some(&r.decode);
    if records.iter().any(|r| r.prefill.is_some()) {
        vec![("prefill", |r| r.prefill.as_ref()), ("decode", decode)]
    } else {
        vec![("workers", decode)]
    }
}

/// The planner sections of a run report.
pub(crate) fn sections(planning: &PlanningSummary) -> Vec<Section> {
    let records = &planning.records;
    let span = (
        records.first().map_or(0.0, |r| r.time_s),
        records.last().map_or(0.0, |r| r.time_s),
    );
    let (ttft_sla, itl_sla) = (planning.sla.ttft_target_ms, planning.sla.itl_target_ms);
    let pools = pools(records);
    let disaggregated = pools.len() == 2;

    let mut replicas = Chart::over_time("planner-replicas", "Replica counts", "replicas");
    for &(label, pool) in &pools {
        replicas.push(over_ticks(label, records, |r| {
            pool(r).map(|p| f64::from(p.ready))
        }));
    }
    for &(label, pool) in &pools {
        if records
            .iter()
            .any(|r| pool(r).is_some_and(|p| p.lower_bound > 1))
        {
            replicas.push(
                over_ticks(&format!("{label} throughput lower bound"), records, |r| {
                    pool(r).map(|p| f64::from(p.lower_bound))
                })
                .styled(Style::Dashed("gray")),
            );
        }
    }

    let mut rate = Chart::over_time(
        "planner-request-rate",
        "Request rate (observed vs predicted)",
        "requests/s",
    );
    rate.push(over_ticks("observed", records, |r| {
        r.observed.map(|o| o.rps())
    }));
    rate.push(
        over_ticks("predicted", records, |r| r.predicted.map(|p| p.rps))
            .compact()
            .styled(Style::Dashed("darkorange")),
    );

    let against_sla = |id: &str, title: &str, series: Series, target: f64| {
        let mut chart = Chart::over_time(id, title, "ms");
        chart.push(series);
        chart.push(Series::target("SLA", target, span));
        chart
    };
    // Observed means gap where a window had no traffic; estimates exist only at the ticks
    // that computed one, and are joined.
    let observed = |metric: &str, target: f64, value: fn(&TrafficWindow) -> f64| {
        let series = over_ticks(&format!("mean {metric}"), records, |r| {
            r.observed.as_ref().map(value).filter(|&v| v > 0.0)
        });
        let id = format!("planner-observed-{}", metric.to_lowercase());
        against_sla(&id, &format!("Observed {metric} vs SLA"), series, target)
    };
    let estimated = |metric: &str, target: f64, value: fn(&TickRecord) -> Option<f64>| {
        let series = over_ticks(&format!("estimated {metric}"), records, value).compact();
        let id = format!("planner-estimated-{}", metric.to_lowercase());
        against_sla(&id, &format!("Estimated {metric} vs SLA"), series, target)
    };
    let observed_ttft = observed("TTFT", ttft_sla, |o| o.avg_ttft_ms);
    let observed_itl = observed("ITL", itl_sla, |o| o.avg_itl_ms);
    let estimated_ttft = estimated("TTFT", ttft_sla, |r| {
        r.prefill
            .as_ref()
            .and_then(|p| p.estimated_ttft_ms)
            .or(r.decode.estimated_ttft_ms)
    });
    let estimated_itl = estimated("ITL", itl_sla, |r| r.decode.estimated_itl_ms);

    let prefill_load = engine_load(
        "planner-prefill-load",
        "Prefill engine load (queued prefill tokens)",
        records,
        pools[0].1,
        |e| e.queued_prefill_tokens,
    );
    let mut decode_load = engine_load(
        "planner-decode-load",
        "Decode engine load (queued + in-flight decode KV tokens)",
        records,
        |r| Some(&r.decode),
        |e| e.queued_decode_kv + e.inflight_decode_kv,
    );
    decode_load.push(Series::target(
        "KV capacity (max_kv_tokens)",
        planning.kv_capacity_tokens,
        span,
    ));

    let mut capacity = Chart::over_time(
        "planner-engine-capacity",
        "Engine capacity (requests/s one engine sustains)",
        "requests/s",
    );
    for &(label, pool) in &pools {
        capacity.push(
            over_ticks(label, records, |r| pool(r).and_then(|p| p.engine_rps))
                .compact()
                .styled(Style::LineMarkers),
        );
    }

    let mut lengths = Chart::over_time(
        "planner-sequence-lengths",
        "Sequence lengths (observed vs predicted)",
        "tokens",
    );
    type Length = (
        &'static str,
        fn(&TrafficWindow) -> f64,
        fn(&Prediction) -> f64,
        &'static str,
    );
    let lengths_of: [Length; 2] = [
        ("ISL", |o| o.avg_isl, |p| p.isl, "darkorange"),
        ("OSL", |o| o.avg_osl, |p| p.osl, "purple"),
    ];
    for (name, observed, predicted, color) in lengths_of {
        lengths.push(over_ticks(&format!("{name} observed"), records, |r| {
            r.observed.as_ref().map(observed).filter(|&v| v > 0.0)
        }));
        lengths.push(
            over_ticks(&format!("{name} predicted"), records, |r| {
                r.predicted.as_ref().map(predicted)
            })
            .compact()
            .styled(Style::Dashed(color)),
        );
    }

    let mut load_charts = vec![prefill_load, decode_load, lengths];
    if let Some(accept) = accept_length(records) {
        load_charts.push(accept);
    }

    let mut gpu_hours =
        Chart::over_time("planner-gpu-hours", "GPU-hours (cumulative)", "GPU-hours");
    gpu_hours.push(over_ticks("GPU-hours", records, |r| Some(r.gpu_hours)));

    let load_decisions = decisions(
        "planner-load-decisions",
        "Load scaling decisions",
        records,
        &pools,
        &LOAD_COLORS,
        |p| p.load_reason.and_then(|r| name_of(&r)),
    );
    let throughput_decisions = decisions(
        "planner-throughput-decisions",
        "Throughput scaling decisions",
        records,
        &pools,
        &THROUGHPUT_COLORS,
        |p| p.throughput_reason.and_then(|r| name_of(&r)),
    );

    let note = if disaggregated {
        "One point per planner tick. Prefill and decode pools are scaled separately."
    } else {
        "One point per planner tick."
    };
    vec![
        Section::new("Replicas and traffic", vec![replicas, rate, capacity, gpu_hours])
            .with_note(note),
        Section::new(
            "Latency against the SLA",
            vec![observed_ttft, observed_itl, estimated_ttft, estimated_itl],
        )
        .with_note("Observed: means over each tick's window. Estimated: the planner's regression at the load it saw."),
        Section::new("Engine load", load_charts),
        Section::new("Decisions", vec![load_decisions, throughput_decisions])
            .with_note("Each marker is a decision at a tick; its colour is the reason."),
    ]
}

/// Speculative decoding's accept length per tick window — what the planner discounts ITL
/// and decode capacity by — or `None` when no window emitted more than one token per pass.
fn accept_length(records: &[TickRecord]) -> Option<Chart> {
    let observed = |r: &TickRecord| r.observed.and_then(|o| o.accept_length);
    if !records.iter().any(|r| observed(r).is_some_and(|a| a > 1.0)) {
        return None;
    }
    let mut chart = Chart::over_time(
        "planner-accept-length",
        "Accept length (tokens per sequence per decode pass)",
        "tokens",
    );
    chart.push(over_ticks("observed", records, observed));
    Some(chart)
}

/// One line per engine of `pool` (the `i`-th ready engine at each tick) with `value` of its
/// load.
fn engine_load(
    id: &str,
    title: &str,
    records: &[TickRecord],
    pool: PoolAccess,
    value: fn(&EngineLoad) -> f64,
) -> Chart {
    let mut chart = Chart::over_time(id, title, "tokens");
    for engine in 0..max_engines(records, pool) {
        chart.push(over_ticks(&format!("engine {engine}"), records, |r| {
            pool(r).and_then(|p| p.engines.get(engine)).map(value)
        }));
    }
    chart
}

/// Most engines a pool had at any tick.
fn max_engines(records: &[TickRecord], pool: PoolAccess) -> usize {
    records
        .iter()
        .filter_map(|r| pool(r).map(|p| p.engines.len()))
        .max()
        .unwrap_or(0)
}

/// A reason's snake-case name.
fn name_of<T: serde::Serialize>(reason: &T) -> Option<String> {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// A decision timeline: one marker series per reason, one track per pool.
fn decisions(
    id: &str,
    title: &str,
    records: &[TickRecord],
    pools: &[(&'static str, PoolAccess)],
    colors: &[(&'static str, &'static str)],
    reason: impl Fn(&PoolRecord) -> Option<String>,
) -> Chart {
    let mut chart = Chart::over_time(id, title, "pool");
    // The first pool (prefill when disaggregated) is drawn on the top track.
    let tracks: Vec<(f64, &'static str, PoolAccess)> = pools
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &(label, pool))| (i as f64 + 1.0, label, pool))
        .collect();
    chart.y_categories = tracks
        .iter()
        .map(|&(y, label, _)| (y, label.to_owned()))
        .collect();
    for &(name, color) in colors {
        let mut points = Vec::new();
        for &(y, _, pool) in &tracks {
            points.extend(records.iter().filter_map(|r| {
                pool(r)
                    .and_then(&reason)
                    .filter(|n| n == name)
                    .map(|_| (r.time_s, Some(y)))
            }));
        }
        if !points.is_empty() {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            chart.push(Series::new(name, points).styled(Style::Markers(color)));
        }
    }
    chart
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(t: f64, prefill: Option<u32>, decode: u32) -> TickRecord {
        TickRecord {
            time_s: t,
            prefill: prefill.map(|ready| PoolRecord {
                ready,
                ..PoolRecord::default()
            }),
            decode: PoolRecord {
                ready: decode,
                ..PoolRecord::default()
            },
            ..TickRecord::default()
        }
    }

    #[test]
    fn transitions_count_changes_of_each_pool() {
        let records = [
            record(0.0, Some(1), 1),
            record(10.0, Some(2), 1),
            record(20.0, Some(2), 2),
            record(30.0, Some(1), 3),
            record(40.0, Some(1), 3),
        ];
        assert_eq!(replica_transitions(&records), 4);
        assert_eq!(replica_transitions(&records[..1]), 0);
    }

    #[test]
    fn accept_length_is_charted_only_with_speculative_decoding() {
        let window = |accept| {
            Some(TrafficWindow {
                accept_length: accept,
                ..TrafficWindow::default()
            })
        };
        let mut records = [
            record(0.0, None, 1),
            record(10.0, None, 1),
            record(20.0, None, 1),
        ];
        records[0].observed = window(Some(1.0));
        records[1].observed = window(None);
        assert!(accept_length(&records).is_none());
        records[2].observed = window(Some(2.4));
        let chart = accept_length(&records).unwrap();
        assert_eq!(chart.series[0].y, vec![Some(1.0), None, Some(2.4)]);
    }
}
