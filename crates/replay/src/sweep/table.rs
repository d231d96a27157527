//! Sweep results: one row per run (parameters, headline metrics), as JSON lines and CSV, and
//! the merge of shards back into one table.

use std::fmt::Write as _;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::SweepError;
use crate::ReplayOutcome;

/// One run of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRow {
    /// Index of the run in the grid.
    pub run: usize,
    /// Runs in the whole grid (all shards).
    pub runs: usize,
    /// Parameter values, in grid order.
    pub params: Vec<(String, Value)>,
    /// Headline metrics (see [`headline_metrics`]); empty when the run failed.
    pub metrics: Vec<(String, f64)>,
    /// Why the run failed, if it did.
    pub error: Option<String>,
}

impl SweepRow {
    /// The value of metric `name`, if the run has it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
    }
}

/// The metrics a sweep row records for a replay: request counts, throughputs, TTFT / ITL /
/// E2E statistics (ms), prefix reuse, preemptions and GPU-hours; with a planner, also its
/// scaling events, ticks, SLA attainment shares and goodput per GPU-hour.
///
/// `fleet_gpus` prices a replay without a planner: its fixed fleet holds that many GPUs for
/// the whole simulated time. With a planner the exactly integrated GPU-hours are used.
pub fn headline_metrics(outcome: &ReplayOutcome, fleet_gpus: u32) -> Vec<(String, f64)> {
    let m = &outcome.metrics;
    let hours = outcome.end_time.as_secs_f64() / 3600.0;
    let mut out: Vec<(String, f64)> = vec![
        ("completed_requests".into(), m.completed_requests as f64),
        ("duration_s".into(), m.duration_ms / 1000.0),
        ("request_throughput_rps".into(), m.request_throughput_rps()),
        (
            "output_throughput_tok_s".into(),
            m.output_throughput_tok_s(),
        ),
    ];
    for (name, d) in [("ttft", &m.ttft), ("itl", &m.itl), ("e2e", &m.e2e_latency)] {
        for (stat, v) in [
            ("mean", d.mean),
            ("p50", d.median),
            ("p90", d.p90),
            ("p99", d.p99),
        ] {
            out.push((format!("{name}_{stat}_ms"), v));
        }
    }
    out.push(("prefix_reuse_ratio".into(), m.prefix_cache_reused_ratio));
    out.push(("preemptions".into(), outcome.counts.preemptions as f64));
    match &outcome.planning {
        Some(p) => out.extend([
            ("gpu_hours".into(), p.gpu_hours),
            ("scaling_events".into(), p.scaling_events.len() as f64),
            ("planner_ticks".into(), p.ticks as f64),
            ("sla_ttft_attainment".into(), p.sla.ttft),
            ("sla_itl_attainment".into(), p.sla.itl),
            ("sla_attainment".into(), p.sla.both),
            ("goodput_per_gpu_hour".into(), p.sla.goodput_per_gpu_hour),
        ]),
        None => out.push(("gpu_hours".into(), f64::from(fleet_gpus) * hours)),
    }
    out
}

/// Writes ordered `(key, value)` pairs as a JSON object, keeping their order.
struct Ordered<'a, V>(&'a [(String, V)]);

impl<V: Serialize> Serialize for Ordered<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Reads a JSON object into `(key, value)` pairs in file order.
struct Pairs<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Pairs<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for PairsVisitor<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Pairs<V>, A::Error> {
                let mut pairs = Vec::new();
                while let Some(entry) = access.next_entry()? {
                    pairs.push(entry);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor(std::marker::PhantomData))
    }
}

/// A row as stored on one JSON line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRow {
    run: usize,
    runs: usize,
    params: Pairs<Value>,
    metrics: Pairs<Option<f64>>,
    #[serde(default)]
    error: Option<String>,
}

impl Serialize for SweepRow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let metrics: Vec<(String, Option<f64>)> = self
            .metrics
            .iter()
            .map(|(k, v)| (k.clone(), v.is_finite().then_some(*v)))
            .collect();
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("run", &self.run)?;
        map.serialize_entry("runs", &self.runs)?;
        map.serialize_entry("params", &Ordered(&self.params))?;
        map.serialize_entry("metrics", &Ordered(&metrics))?;
        map.serialize_entry("error", &self.error)?;
        map.end()
    }
}

/// The rows of a sweep (or of one shard), ordered by run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepTable {
    /// Rows, ascending by run.
    pub rows: Vec<SweepRow>,
}

impl SweepTable {
    /// A table of `rows`, sorted by run.
    pub fn new(mut rows: Vec<SweepRow>) -> SweepTable {
        rows.sort_by_key(|r| r.run);
        SweepTable { rows }
    }

    /// Parameter names, in grid order.
    pub fn param_names(&self) -> Vec<&str> {
        self.rows
            .first()
            .map(|r| r.params.iter().map(|(n, _)| n.as_str()).collect())
            .unwrap_or_default()
    }

    /// Metric names, in the order they first appear.
    pub fn metric_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for row in &self.rows {
            for (name, _) in &row.metrics {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// One JSON object per line, per run.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for row in &self.rows {
            out += &serde_json::to_string(row).unwrap_or_default();
            out.push('\n');
        }
        out
    }

    /// CSV: a header `run,<params>,<metrics>,error`, then one line per run (empty cells for
    /// metrics a run lacks).
    pub fn to_csv(&self) -> String {
        let metrics = self.metric_names();
        let mut header: Vec<String> = vec!["run".into()];
        header.extend(self.param_names().iter().map(|n| csv_field(n)));
        header.extend(metrics.iter().map(|n| csv_field(n)));
        header.push("error".into());
        let mut out = header.join(",");
        out.push('\n');
        for row in &self.rows {
            let mut cells = vec![row.run.to_string()];
            cells.extend(row.params.iter().map(|(_, v)| match v {
                Value::String(s) => csv_field(s),
                other => csv_field(&other.to_string()),
            }));
            cells.extend(metrics.iter().map(|name| {
                row.metric(name)
                    .filter(|v| v.is_finite())
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            }));
            cells.push(csv_field(row.error.as_deref().unwrap_or("")));
            let _ = writeln!(out, "{}", cells.join(","));
        }
        out
    }

    /// Reads rows written by [`to_jsonl`](Self::to_jsonl); `source` names the text in errors.
    pub fn from_jsonl(text: &str, source: &str) -> Result<SweepTable, SweepError> {
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let stored: StoredRow = serde_json::from_str(line).map_err(|e| SweepError::Row {
                source_name: source.to_owned(),
                line: i + 1,
                message: e.to_string(),
            })?;
            rows.push(SweepRow {
                run: stored.run,
                runs: stored.runs,
                params: stored.params.0,
                metrics: stored
                    .metrics
                    .0
                    .into_iter()
                    .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
                    .collect(),
                error: stored.error,
            });
        }
        Ok(SweepTable::new(rows))
    }

    /// Merges shards into one table: every row of one grid (same size and parameter names),
    /// each run once. With `allow_partial` missing runs are tolerated; otherwise they are an
    /// error listing the first few.
    pub fn merge(parts: Vec<SweepTable>, allow_partial: bool) -> Result<SweepTable, SweepError> {
        let rows: Vec<SweepRow> = parts.into_iter().flat_map(|t| t.rows).collect();
        let Some(first) = rows.first() else {
            return Err(SweepError::Merge("no rows to merge".to_owned()));
        };
        let (runs, names): (usize, Vec<String>) = (
            first.runs,
            first.params.iter().map(|(n, _)| n.clone()).collect(),
        );
        let mut seen = vec![false; runs];
        for row in &rows {
            let row_names: Vec<&String> = row.params.iter().map(|(n, _)| n).collect();
            if row.runs != runs || !row_names.iter().copied().eq(names.iter()) {
                return Err(SweepError::Merge(format!(
                    "run {} belongs to a different grid ({} runs over {:?}, expected {runs} over {names:?})",
                    row.run, row.runs, row_names
                )));
            }
            match seen.get_mut(row.run) {
                Some(s) if !*s => *s = true,
                Some(_) => {
                    return Err(SweepError::Merge(format!(
                        "run {} appears twice (overlapping shards?)",
                        row.run
                    )));
                }
                None => {
                    return Err(SweepError::Merge(format!(
                        "run {} is outside the grid of {runs} runs",
                        row.run
                    )));
                }
            }
        }
        let missing: Vec<usize> = (0..runs).filter(|&i| !seen[i]).collect();
        if !missing.is_empty() && !allow_partial {
            let shown: Vec<String> = missing.iter().take(10).map(usize::to_string).collect();
            return Err(SweepError::Merge(format!(
                "{} of {runs} runs missing (runs {}{}); merge every shard or pass --allow-partial",
                missing.len(),
                shown.join(", "),
                if missing.len() > 10 { ", …" } else { "" }
            )));
        }
        Ok(SweepTable::new(rows))
    }
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: usize, runs: usize, x: i64, ttft: f64) -> SweepRow {
        SweepRow {
            run,
            runs,
            params: vec![
                ("startup_time".into(), x.into()),
                ("mode".into(), "a,b".into()),
            ],
            metrics: vec![("ttft_mean_ms".into(), ttft), ("gpu_hours".into(), 0.5)],
            error: None,
        }
    }

    #[test]
    fn jsonl_round_trips_and_keeps_order() {
        let table = SweepTable::new(vec![row(1, 2, 10, 2.5), row(0, 2, 0, 1.0)]);
        let text = table.to_jsonl();
        assert_eq!(
            text.lines().next().unwrap(),
            r#"{"run":0,"runs":2,"params":{"startup_time":0,"mode":"a,b"},"metrics":{"ttft_mean_ms":1.0,"gpu_hours":0.5},"error":null}"#
        );
        assert_eq!(SweepTable::from_jsonl(&text, "t").unwrap(), table);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut failed = row(1, 2, 10, 0.0);
        failed.metrics.clear();
        failed.error = Some("bad \"x\"".into());
        let csv = SweepTable::new(vec![row(0, 2, 0, 1.5), failed]).to_csv();
        assert_eq!(
            csv,
            "run,startup_time,mode,ttft_mean_ms,gpu_hours,error\n\
             0,0,\"a,b\",1.5,0.5,\n\
             1,10,\"a,b\",,,\"bad \"\"x\"\"\"\n"
        );
    }

    #[test]
    fn merge_checks_completeness_and_overlap() {
        let a = SweepTable::new(vec![row(0, 3, 0, 1.0), row(2, 3, 20, 3.0)]);
        let b = SweepTable::new(vec![row(1, 3, 10, 2.0)]);
        let merged = SweepTable::merge(vec![a.clone(), b.clone()], false).unwrap();
        assert_eq!(
            merged.rows.iter().map(|r| r.run).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let missing = SweepTable::merge(vec![a.clone()], false).unwrap_err();
        assert!(missing.to_string().contains("1 of 3 runs missing (runs 1)"));
        assert_eq!(
            SweepTable::merge(vec![a.clone()], true).unwrap().rows.len(),
            2
        );
        let twice = SweepTable::merge(vec![a.clone(), a.clone()], false).unwrap_err();
        assert!(twice.to_string().contains("appears twice"));
        let other = SweepTable::new(vec![row(1, 4, 10, 2.0)]);
        let mixed = SweepTable::merge(vec![a, other], false).unwrap_err();
        assert!(mixed.to_string().contains("different grid"));
    }

    #[test]
    fn bad_lines_name_the_source_and_line() {
        let e = SweepTable::from_jsonl("\n{\"run\": 0}\n", "shard-0.jsonl").unwrap_err();
        assert!(e.to_string().starts_with("shard-0.jsonl:2: "), "{e}");
    }
}
