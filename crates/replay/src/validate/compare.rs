//! Comparing predictions with measurements: per-row relative errors and, per metric and
//! group (all rows, each backend, each GPU, each table), the mean, median and 90th percentile of the
//! absolute percentage errors.

use std::collections::BTreeMap;

use serde::Serialize;
use servesim_trace::stats::nearest_rank_index;

use super::case::{NotRun, Predicted};
use super::table::{Measured, Measurement};

/// The four compared metrics, as named in tables and summaries.
pub const METRICS: [&str; 4] = [
    "mean_ttft_ms",
    "mean_tpot_ms",
    "throughput_tok_s_per_gpu",
    "output_tok_s_per_gpu",
];

/// `(predicted − measured) / measured` of every metric the row measured.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct Errors {
    /// Of the mean TTFT.
    pub mean_ttft_ms: Option<f64>,
    /// Of the mean TPOT.
    pub mean_tpot_ms: Option<f64>,
    /// Of the total throughput per GPU.
    pub throughput_tok_s_per_gpu: Option<f64>,
    /// Of the output throughput per GPU.
    pub output_tok_s_per_gpu: Option<f64>,
}

impl Errors {
    /// The relative errors of `predicted` against `measured`.
    pub fn of(measured: &Measured, predicted: &Predicted) -> Errors {
        let rel = |m: Option<f64>, p: f64| m.map(|m| (p - m) / m);
        Errors {
            mean_ttft_ms: rel(measured.mean_ttft_ms, predicted.mean_ttft_ms),
            mean_tpot_ms: rel(measured.mean_tpot_ms, predicted.mean_tpot_ms),
            throughput_tok_s_per_gpu: rel(
                measured.throughput_tok_s_per_gpu,
                predicted.throughput_tok_s_per_gpu,
            ),
            output_tok_s_per_gpu: rel(
                measured.output_tok_s_per_gpu,
                predicted.output_tok_s_per_gpu,
            ),
        }
    }

    /// The error of metric `name` (one of [`METRICS`]).
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "mean_ttft_ms" => self.mean_ttft_ms,
            "mean_tpot_ms" => self.mean_tpot_ms,
            "throughput_tok_s_per_gpu" => self.throughput_tok_s_per_gpu,
            "output_tok_s_per_gpu" => self.output_tok_s_per_gpu,
            _ => None,
        }
    }
}

/// What became of one row.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Simulated and compared.
    Ok {
        /// What the simulation predicts.
        predicted: Predicted,
        /// Relative errors.
        errors: Errors,
    },
    /// Not simulated: the simulator lacks something the row needs.
    Unsupported {
        /// What.
        reason: String,
    },
    /// The simulation could not run.
    Failed {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// The outcome of a simulation attempt.
    pub fn of(measurement: &Measurement, result: Result<Predicted, NotRun>) -> Outcome {
        match result {
            Ok(predicted) => Outcome::Ok {
                errors: Errors::of(&measurement.measured, &predicted),
                predicted,
            },
            Err(NotRun::Unsupported(reason)) => Outcome::Unsupported { reason },
            Err(NotRun::Failed(reason)) => Outcome::Failed { reason },
        }
    }
}

/// A row and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowResult {
    /// The measured row.
    pub measurement: Measurement,
    /// Its outcome.
    pub outcome: Outcome,
}

/// Absolute-percentage-error statistics of one metric over a group of rows.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct ErrorStats {
    /// Rows.
    pub count: usize,
    /// Mean absolute percentage error.
    pub mape: f64,
    /// Median absolute percentage error.
    pub median: f64,
    /// 90th percentile of the absolute percentage errors (nearest rank).
    pub p90: f64,
    /// Mean signed percentage error (positive: the simulation predicts high).
    pub bias: f64,
}

impl ErrorStats {
    /// Statistics of relative `errors` (fractions; reported in percent).
    pub fn of(errors: &[f64]) -> ErrorStats {
        if errors.is_empty() {
            return ErrorStats::default();
        }
        let mut abs: Vec<f64> = errors.iter().map(|e| e.abs() * 100.0).collect();
        abs.sort_by(f64::total_cmp);
        let n = abs.len();
        ErrorStats {
            count: n,
            mape: abs.iter().sum::<f64>() / n as f64,
            median: abs[nearest_rank_index(n, 50.0)],
            p90: abs[nearest_rank_index(n, 90.0)],
            bias: errors.iter().sum::<f64>() * 100.0 / n as f64,
        }
    }
}

/// Error statistics per metric for every group: `all`, `backend=…`, `system=…` and
/// `table=…` (the table's file name).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Rows compared, skipped as unsupported, and failed.
    pub rows: RowCounts,
    /// `group → metric → statistics`.
    pub groups: BTreeMap<String, BTreeMap<String, ErrorStats>>,
}

/// How many rows ended how.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    /// Simulated and compared.
    pub compared: usize,
    /// Unsupported.
    pub unsupported: usize,
    /// Failed simulations.
    pub failed: usize,
}

impl Summary {
    /// The summary of `results`.
    pub fn of(results: &[RowResult]) -> Summary {
        let mut errors: BTreeMap<String, BTreeMap<&'static str, Vec<f64>>> = BTreeMap::new();
        let mut rows = RowCounts::default();
        for result in results {
            let e = match &result.outcome {
                Outcome::Ok { errors, .. } => errors,
                Outcome::Unsupported { .. } => {
                    rows.unsupported += 1;
                    continue;
                }
                Outcome::Failed { .. } => {
                    rows.failed += 1;
                    continue;
                }
            };
            rows.compared += 1;
            let m = &result.measurement;
            for group in [
                "all".to_owned(),
                format!("backend={}", m.backend),
                format!("system={}", m.system),
                format!("table={}", m.place.table_name()),
            ] {
                let by_metric = errors.entry(group).or_default();
                for metric in METRICS {
                    if let Some(err) = e.get(metric) {
                        by_metric.entry(metric).or_default().push(err);
                    }
                }
            }
        }
        Summary {
            rows,
            groups: errors
                .into_iter()
                .map(|(group, metrics)| {
                    let stats = metrics
                        .into_iter()
                        .map(|(metric, errs)| (metric.to_owned(), ErrorStats::of(&errs)))
                        .collect();
                    (group, stats)
                })
                .collect(),
        }
    }

    /// The MAPE of `metric` in `group`, if the group measured it.
    pub fn mape(&self, group: &str, metric: &str) -> Option<f64> {
        self.groups
            .get(group)
            .and_then(|m| m.get(metric))
            .map(|s| s.mape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_absolute_percentage_errors() {
        let s = ErrorStats::of(&[0.1, -0.2, 0.05, -0.05, 0.3]);
        assert_eq!(s.count, 5);
        assert!((s.mape - 14.0).abs() < 1e-9);
        assert!((s.median - 10.0).abs() < 1e-9);
        assert!((s.p90 - 30.0).abs() < 1e-9);
        assert!((s.bias - 4.0).abs() < 1e-9);
        assert_eq!(ErrorStats::of(&[]), ErrorStats::default());
    }

    #[test]
    fn errors_are_relative_to_the_measurement() {
        let measured = Measured {
            mean_ttft_ms: Some(100.0),
            mean_tpot_ms: None,
            throughput_tok_s_per_gpu: Some(1000.0),
            output_tok_s_per_gpu: None,
        };
        let predicted = Predicted {
            mean_ttft_ms: 120.0,
            mean_tpot_ms: 9.0,
            throughput_tok_s_per_gpu: 900.0,
            output_tok_s_per_gpu: 450.0,
        };
        let e = Errors::of(&measured, &predicted);
        assert!((e.mean_ttft_ms.unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(e.mean_tpot_ms, None);
        assert!((e.throughput_tok_s_per_gpu.unwrap() + 0.1).abs() < 1e-12);
    }
}
