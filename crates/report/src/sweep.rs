//! The sweep page: every metric against the swept parameter(s).

use serde_json::Value;
use servesim_replay::sweep::{SweepRow, SweepTable};

use crate::chart::{Chart, Series, Style, XAxis};
use crate::page::{Page, Section};

/// The sweep page of `table`: one chart per metric, the first swept parameter on the
/// horizontal axis (numbers, or the values' positions for non-numeric values), one line per
/// combination of the other parameters. The horizontal axes are linked.
///
/// ```
/// use servesim_replay::sweep::{SweepRow, SweepTable};
///
/// let rows = (0..3).map(|i| SweepRow {
///     run: i,
///     runs: 3,
///     params: vec![("startup_time".into(), (i * 100).into())],
///     metrics: vec![("ttft_p90_ms".into(), 500.0 + i as f64 * 300.0)],
///     error: None,
/// });
/// let page = servesim_report::sweep_page(&SweepTable::new(rows.collect()), "example sweep");
/// assert_eq!(page.charts().count(), 1);
/// ```
pub fn sweep_page(table: &SweepTable, subtitle: &str) -> Page {
    let params = table.param_names();
    let x_name = params.first().copied().unwrap_or("run");
    let x_labels = labels(table, 0);
    let numeric_x = table
        .rows
        .iter()
        .all(|r| r.params.first().is_none_or(|(_, v)| v.is_number()));
    let x_of = |row: &SweepRow| match row.params.first() {
        Some((_, Value::Number(n))) if numeric_x => n.as_f64().unwrap_or(0.0),
        Some((_, v)) => x_labels.iter().position(|l| l == v).unwrap_or(0) as f64,
        None => row.run as f64,
    };
    let groups = groups(table);
    let x_axis = if numeric_x {
        x_name.to_owned()
    } else {
        let values: Vec<String> = x_labels
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{i} = {}", plain(v)))
            .collect();
        format!("{x_name} ({})", values.join(", "))
    };
    let charts = table
        .metric_names()
        .into_iter()
        .map(|metric| {
            let mut chart = Chart::new(
                &format!("metric-{metric}"),
                metric,
                XAxis::Swept(x_axis.clone()),
                metric,
            );
            if metric.ends_with("attainment") || metric.ends_with("ratio") {
                chart.y_format = Some(".0%");
            }
            for (label, rows) in &groups {
                let mut points: Vec<(f64, Option<f64>)> = rows
                    .iter()
                    .map(|r| (x_of(r), r.metric(metric).filter(|v| v.is_finite())))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                chart.push(Series::new(label.as_str(), points).styled(Style::LineMarkers));
            }
            chart
        })
        .collect();
    let failed = table.rows.iter().filter(|r| r.error.is_some()).count();
    let runs = table.rows.first().map_or(0, |r| r.runs);
    let mut summary = vec![
        ("runs".to_owned(), format!("{} of {runs}", table.rows.len())),
        ("failed runs".to_owned(), failed.to_string()),
    ];
    for (i, name) in params.iter().enumerate() {
        let values = labels(table, i);
        let shown: Vec<String> = values.iter().take(6).map(plain).collect();
        let more = if values.len() > 6 { ", …" } else { "" };
        summary.push((
            (*name).to_owned(),
            format!("{} values: {}{more}", values.len(), shown.join(", ")),
        ));
    }
    Page {
        title: format!("servesim sweep over {}", params.join(" × ")),
        subtitle: subtitle.to_owned(),
        summary,
        sections: vec![
            Section::new("Metrics against the swept parameters", charts).with_note(
                "One point per run; one line per combination of the other parameters. Zoom one chart and the others follow.",
            ),
        ],
    }
}

/// A parameter value as people write it (`kv_router`, not `"kv_router"`).
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The distinct values of parameter `index`, in order of appearance.
fn labels(table: &SweepTable, index: usize) -> Vec<Value> {
    let mut values: Vec<Value> = Vec::new();
    for row in &table.rows {
        if let Some((_, v)) = row.params.get(index)
            && !values.contains(v)
        {
            values.push(v.clone());
        }
    }
    values
}

/// Rows grouped by the values of every parameter but the first, labelled `b=…, c=…`.
fn groups(table: &SweepTable) -> Vec<(String, Vec<&SweepRow>)> {
    let mut groups: Vec<(String, Vec<&SweepRow>)> = Vec::new();
    for row in table.rows.iter().filter(|r| r.error.is_none()) {
        let label = row
            .params
            .iter()
            .skip(1)
            .map(|(n, v)| format!("{n}={}", plain(v)))
            .collect::<Vec<_>>()
            .join(", ");
        let label = if label.is_empty() {
            "runs".to_owned()
        } else {
            label
        };
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((label, vec![row])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: usize, a: Value, b: Value, metric: f64) -> SweepRow {
        SweepRow {
            run,
            runs: 4,
            params: vec![("a".into(), a), ("b".into(), b)],
            metrics: vec![
                ("ttft_p90_ms".into(), metric),
                ("sla_attainment".into(), 0.5),
            ],
            error: None,
        }
    }

    #[test]
    fn one_chart_per_metric_one_line_per_other_combination() {
        let table = SweepTable::new(vec![
            row(0, 0.into(), "x".into(), 1.0),
            row(1, 0.into(), "y".into(), 2.0),
            row(2, 10.into(), "x".into(), 3.0),
            row(3, 10.into(), "y".into(), 4.0),
        ]);
        let page = sweep_page(&table, "test");
        let charts: Vec<&Chart> = page.charts().collect();
        assert_eq!(charts.len(), 2);
        let names: Vec<&str> = charts[0].series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["b=x", "b=y"]);
        assert_eq!(charts[0].series[1].x, [0.0, 10.0]);
        assert_eq!(charts[0].series[1].y, [Some(2.0), Some(4.0)]);
        assert_eq!(charts[1].y_format, Some(".0%"));
        assert_eq!(charts[0].link_group().as_deref(), Some("param:a"));
        assert_eq!(page.title, "servesim sweep over a × b");
    }

    #[test]
    fn non_numeric_parameters_are_placed_by_position() {
        let table = SweepTable::new(vec![
            row(0, "round_robin".into(), 1.into(), 1.0),
            row(1, "kv_router".into(), 1.into(), 2.0),
        ]);
        let page = sweep_page(&table, "test");
        let chart = page.charts().next().unwrap();
        assert_eq!(chart.series[0].x, [0.0, 1.0]);
        assert_eq!(
            chart.x_axis,
            XAxis::Swept("a (0 = round_robin, 1 = kv_router)".into())
        );
    }
}
