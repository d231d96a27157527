//! The report: JSON with the reference's keys, and the AIPerf-style table.

use serde_json::{Map, Value};

use crate::ReplayOutcome;
use crate::distribution::Distribution;
use crate::metrics::Metrics;

/// The report as JSON: every key of the reference's report, `wall_time_ms`, and a
/// `servesim` section holding the version, event counts, per-pool and per-worker results
/// (requests, prefix hit rates, router queue times, accept lengths), KV transfer statistics
/// in disaggregated replays, speculative decoding's accept length when engines use it
/// (`speculative`), and whatever the caller adds in `servesim` (seed, effective
/// configuration, …).
///
/// Keys are sorted (serde_json's default map), so two reports of the same replay are
/// byte-identical apart from `wall_time_ms`.
pub fn report_json(
    outcome: &ReplayOutcome,
    wall_time_ms: f64,
    mut servesim: Map<String, Value>,
) -> Value {
    let mut map = outcome.metrics.reference_keys();
    map.insert(
        "wall_time_ms".into(),
        serde_json::Number::from_f64(wall_time_ms).map_or(Value::Null, Value::Number),
    );
    servesim.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    servesim.insert(
        "counts".into(),
        serde_json::to_value(outcome.counts).unwrap_or(Value::Null),
    );
    servesim.insert(
        "pools".into(),
        serde_json::to_value(&outcome.pools).unwrap_or(Value::Null),
    );
    if let Some(planning) = &outcome.planning {
        map_planning(&mut servesim, planning);
    }
    if let Some(speculative) = &outcome.speculative {
        servesim.insert(
            "speculative".into(),
            serde_json::to_value(speculative).unwrap_or(Value::Null),
        );
    }
    if let Some(transfers) = &outcome.transfers {
        servesim.insert(
            "kv_transfer".into(),
            serde_json::to_value(transfers).unwrap_or(Value::Null),
        );
    }
    servesim.insert(
        "simulated_end_ms".into(),
        outcome.end_time.as_millis_f64().into(),
    );
    map.insert("servesim".into(), Value::Object(servesim));
    Value::Object(map)
}

fn map_planning(servesim: &mut Map<String, Value>, planning: &crate::PlanningSummary) {
    servesim.insert(
        "planner".into(),
        serde_json::to_value(planning).unwrap_or(Value::Null),
    );
}

/// Formats like Python's `{:,.2f}`: thousands separators, two decimals.
pub fn format_number(value: f64) -> String {
    if !value.is_finite() {
        return "N/A".to_owned();
    }
    let text = format!("{:.2}", value.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if value < 0.0 && text != "0.00" {
        "-"
    } else {
        ""
    };
    format!("{sign}{grouped}.{frac}")
}

const COLUMNS: [&str; 9] = [
    "Metric", "avg", "min", "max", "p99", "p90", "p75", "p50", "std",
];

fn distribution_row(name: &str, d: &Distribution) -> Vec<String> {
    let mut row = vec![name.to_owned()];
    row.extend([d.mean, d.min, d.max, d.p99, d.p90, d.p75, d.median, d.std].map(format_number));
    row
}

fn single_row(name: &str, value: f64) -> Vec<String> {
    let mut row = vec![name.to_owned(), format_number(value)];
    row.extend(std::iter::repeat_n("N/A".to_owned(), COLUMNS.len() - 2));
    row
}

/// The AIPerf-style table (the reference's rows and columns with AIPerf's per-request ITL,
/// plus the pooled inter-token gaps and p50), followed by the wall time, the prefix-cache
/// reuse and where the report was saved.
pub fn render_table(metrics: &Metrics, wall_time_ms: f64, saved_to: Option<&str>) -> String {
    let rows = vec![
        distribution_row("Time to First Token (ms)", &metrics.ttft),
        distribution_row("Time to Second Token (ms)", &metrics.ttst),
        distribution_row("Request Latency (ms)", &metrics.e2e_latency),
        distribution_row("Inter Token Latency (ms)", &metrics.itl),
        distribution_row("Inter Token Gap (ms)", &metrics.token_gap),
        distribution_row(
            "Output Token Throughput Per User (tokens/sec/user)",
            &metrics.output_token_throughput_per_user,
        ),
        single_row(
            "Output Token Throughput (tokens/sec)",
            metrics.output_throughput_tok_s(),
        ),
        single_row(
            "Request Throughput (requests/sec)",
            metrics.request_throughput_rps(),
        ),
        single_row(
            "Request Count (requests)",
            metrics.completed_requests as f64,
        ),
    ];
    let mut widths: Vec<usize> = COLUMNS.iter().map(|c| c.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |left: &str, fill: &str, mid: &str, right: &str| {
        let parts: Vec<String> = widths.iter().map(|w| fill.repeat(w + 2)).collect();
        format!("{left}{}{right}\n", parts.join(mid))
    };
    let cells = |cells: &[String], sep: &str| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 {
                    format!(" {c:<w$} ")
                } else {
                    format!(" {c:>w$} ")
                }
            })
            .collect();
        format!("{sep}{}{sep}\n", parts.join(sep))
    };
    let total_width: usize = widths.iter().map(|w| w + 3).sum::<usize>() + 1;
    let title = "servesim | LLM Metrics";
    let mut out = format!("{:^total_width$}\n", title);
    out += &line("┏", "━", "┳", "┓");
    out += &cells(&COLUMNS.map(str::to_owned), "┃");
    out += &line("┡", "━", "╇", "┩");
    for row in &rows {
        out += &cells(row, "│");
    }
    out += &line("└", "─", "┴", "┘");
    out += &format!("Wall Time (ms): {}\n", format_number(wall_time_ms));
    out += &format!(
        "Prefix Cache Reused Ratio: {:.4}\n",
        metrics.prefix_cache_reused_ratio
    );
    if let Some(path) = saved_to {
        out += &format!("Saved full report to: {path}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_like_python() {
        assert_eq!(format_number(0.0), "0.00");
        assert_eq!(format_number(1234567.891), "1,234,567.89");
        assert_eq!(format_number(999.999), "1,000.00");
        assert_eq!(format_number(-1234.5), "-1,234.50");
        assert_eq!(format_number(-0.001), "0.00");
        assert_eq!(format_number(f64::NAN), "N/A");
    }
}
