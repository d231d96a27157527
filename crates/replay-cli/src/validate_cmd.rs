//! `servesim validate TABLE.csv …`: replay measured serving benchmarks and report how close
//! the simulation comes, per row and per metric, backend and GPU.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use rayon::prelude::*;
use serde_json::json;
use servesim_replay::validate::{
    ErrorStats, METRICS, Measurement, Outcome, RowError, RowResult, Summary, Table,
};

use crate::error::CliError;
use crate::parallel::{progress_bar, thread_pool};
use crate::run_cmd::write_output;

/// `servesim validate` flags.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Measurement tables (CSV, one benchmark per row; docs/accuracy.md lists the columns).
    #[arg(required = true, value_name = "TABLE.csv")]
    tables: Vec<PathBuf>,
    /// Simulations in parallel [default: one per core].
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Write every row's measurement, prediction and errors, and the summary, as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write one line per row (measured, predicted, error of each metric) as CSV.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Fail when a metric's MAPE in a group rises more than 2 points above this baseline (a
    /// file written by --write-baseline).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write the MAPE of every metric and group as a baseline file.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Print only the summary (no per-row lines).
    #[arg(long)]
    summary_only: bool,
    /// No progress bar and nothing on stdout.
    #[arg(long, short)]
    quiet: bool,
}

/// How far a metric's MAPE may rise above the baseline, in percentage points.
const BASELINE_SLACK: f64 = 2.0;

pub(crate) fn run(args: &ValidateArgs) -> Result<(), CliError> {
    let mut rows = Vec::new();
    let mut invalid: Vec<RowError> = Vec::new();
    for path in &args.tables {
        let table = Table::read(path).map_err(|e| CliError::Usage(e.to_string()))?;
        if !table.unknown_columns.is_empty() {
            eprintln!(
                "warning: {}: ignoring unknown columns {}",
                path.display(),
                table.unknown_columns.join(", ")
            );
        }
        rows.extend(table.rows);
        invalid.extend(table.errors);
    }
    let (pool, jobs) = thread_pool(args.jobs)?;
    let bar = progress_bar(rows.len(), args.quiet);
    let started = Instant::now();
    let simulated: Vec<Result<RowResult, RowError>> = pool.install(|| {
        rows.par_iter()
            .map(|row| {
                let result = simulate(row);
                bar.inc(1);
                result
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut results = Vec::new();
    for result in simulated {
        match result {
            Ok(r) => results.push(r),
            Err(e) => invalid.push(e),
        }
    }
    let summary = Summary::of(&results);
    if !args.quiet {
        if !args.summary_only {
            print!("{}", render_rows(&results));
        }
        print!("{}", render_summary(&summary));
        println!(
            "{} rows from {} tables: {} compared, {} unsupported, {} failed, {} invalid; {:.1} s ({jobs} jobs)",
            results.len() + invalid.len(),
            args.tables.len(),
            summary.rows.compared,
            summary.rows.unsupported,
            summary.rows.failed,
            invalid.len(),
            started.elapsed().as_secs_f64(),
        );
    }
    for e in &invalid {
        eprintln!("error: {e}");
    }
    if let Some(path) = &args.json {
        let value = json!({ "rows": results, "summary": summary, "invalid": invalid });
        write_output(path, &format!("{value:#}\n"))?;
    }
    if let Some(path) = &args.csv {
        write_output(path, &rows_csv(&results))?;
    }
    if let Some(path) = &args.write_baseline {
        write_output(path, &format!("{:#}\n", baseline_of(&summary)))?;
    }
    if let Some(path) = &args.baseline {
        check_baseline(path, &summary)?;
    }
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "{} rows could not be read (listed above)",
            invalid.len()
        )))
    }
}

/// Builds and runs one row's simulation.
fn simulate(row: &Measurement) -> Result<RowResult, RowError> {
    let result = match row.case()? {
        Ok(case) => case.run(),
        Err(not_run) => Err(not_run),
    };
    Ok(RowResult {
        measurement: row.clone(),
        outcome: Outcome::of(row, result),
    })
}

/// A percentage error, signed.
fn pct(e: Option<f64>) -> String {
    e.map_or_else(|| "—".to_owned(), |e| format!("{:+.1}%", e * 100.0))
}

/// One line per row: the deployment, then each measured metric as measured → predicted (error).
fn render_rows(results: &[RowResult]) -> String {
    let mut out = String::new();
    for r in results {
        let m = &r.measurement;
        let head = format!(
            "{} {} {} {} tp{} {}/{} c{}",
            m.place, m.model, m.system, m.backend, m.tp, m.isl, m.osl, m.concurrency
        );
        match &r.outcome {
            Outcome::Ok { predicted, errors } => {
                let mut cells = Vec::new();
                let pairs = [
                    (
                        "TTFT",
                        m.measured.mean_ttft_ms,
                        predicted.mean_ttft_ms,
                        errors.mean_ttft_ms,
                    ),
                    (
                        "TPOT",
                        m.measured.mean_tpot_ms,
                        predicted.mean_tpot_ms,
                        errors.mean_tpot_ms,
                    ),
                    (
                        "tok/s/GPU",
                        m.measured.throughput_tok_s_per_gpu,
                        predicted.throughput_tok_s_per_gpu,
                        errors.throughput_tok_s_per_gpu,
                    ),
                    (
                        "out/s/GPU",
                        m.measured.output_tok_s_per_gpu,
                        predicted.output_tok_s_per_gpu,
                        errors.output_tok_s_per_gpu,
                    ),
                ];
                for (name, measured, predicted, error) in pairs {
                    if let Some(measured) = measured {
                        cells.push(format!(
                            "{name} {measured:.1}→{predicted:.1} ({})",
                            pct(error)
                        ));
                    }
                }
                let _ = writeln!(out, "{head}: {}", cells.join(", "));
            }
            Outcome::Unsupported { reason } => {
                let _ = writeln!(out, "{head}: unsupported: {reason}");
            }
            Outcome::Failed { reason } => {
                let _ = writeln!(out, "{head}: failed: {reason}");
            }
        }
    }
    out
}

/// The error statistics per group and metric.
fn render_summary(summary: &Summary) -> String {
    let mut out = format!(
        "\n{:<34} {:<26} {:>5} {:>8} {:>8} {:>8} {:>8}\n",
        "group", "metric", "rows", "MAPE %", "median", "p90", "bias"
    );
    for (group, metrics) in &summary.groups {
        for metric in METRICS {
            if let Some(ErrorStats {
                count,
                mape,
                median,
                p90,
                bias,
            }) = metrics.get(metric)
            {
                let _ = writeln!(
                    out,
                    "{group:<34} {metric:<26} {count:>5} {mape:>8.1} {median:>8.1} {p90:>8.1} {bias:>+8.1}"
                );
            }
        }
    }
    out
}

/// Every row as CSV: where, what, then measured / predicted / error per metric.
fn rows_csv(results: &[RowResult]) -> String {
    let mut out = String::from("file,line,status,model,system,backend,tp,isl,osl,concurrency");
    for metric in METRICS {
        let _ = write!(out, ",measured_{metric},predicted_{metric},error_{metric}");
    }
    out.push_str(",reason\n");
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    for r in results {
        let m = &r.measurement;
        let status = match &r.outcome {
            Outcome::Ok { .. } => "ok",
            Outcome::Unsupported { .. } => "unsupported",
            Outcome::Failed { .. } => "failed",
        };
        let _ = write!(
            out,
            "{},{},{status},{},{},{},{},{},{},{}",
            quote(&m.place.file),
            m.place.line,
            quote(&m.model),
            m.system,
            m.backend,
            m.tp,
            m.isl,
            m.osl,
            m.concurrency
        );
        let num = |x: Option<f64>| x.map_or(String::new(), |x| format!("{x}"));
        let measured = [
            m.measured.mean_ttft_ms,
            m.measured.mean_tpot_ms,
            m.measured.throughput_tok_s_per_gpu,
            m.measured.output_tok_s_per_gpu,
        ];
        let reason = match &r.outcome {
            Outcome::Ok { predicted, errors } => {
                let predicted = [
                    predicted.mean_ttft_ms,
                    predicted.mean_tpot_ms,
                    predicted.throughput_tok_s_per_gpu,
                    predicted.output_tok_s_per_gpu,
                ];
                for ((metric, measured), predicted) in METRICS.iter().zip(measured).zip(predicted) {
                    let _ = write!(
                        out,
                        ",{},{predicted},{}",
                        num(measured),
                        num(errors.get(metric))
                    );
                }
                String::new()
            }
            Outcome::Unsupported { reason } | Outcome::Failed { reason } => {
                for measured in measured {
                    let _ = write!(out, ",{},,", num(measured));
                }
                reason.clone()
            }
        };
        let _ = writeln!(out, ",{}", quote(&reason));
    }
    out
}

/// `{group: {metric: MAPE}}` of a summary.
fn baseline_of(summary: &Summary) -> serde_json::Value {
    let map: BTreeMap<&String, BTreeMap<&String, f64>> = summary
        .groups
        .iter()
        .map(|(group, metrics)| {
            let mapes = metrics
                .iter()
                .map(|(metric, stats)| (metric, (stats.mape * 100.0).round() / 100.0))
                .collect();
            (group, mapes)
        })
        .collect();
    json!({ "mape": map })
}

/// Fails if a metric's MAPE in any group of the baseline rose by more than the slack.
fn check_baseline(path: &std::path::Path, summary: &Summary) -> Result<(), CliError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("--baseline {name}: {e}")))?;
    let baseline: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("--baseline {name}: {e}")))?;
    let Some(groups) = baseline.get("mape").and_then(|m| m.as_object()) else {
        return Err(CliError::Usage(format!(
            "--baseline {name}: expected an object with a `mape` map (write one with --write-baseline)"
        )));
    };
    let mut worse = Vec::new();
    for (group, metrics) in groups {
        let Some(metrics) = metrics.as_object() else {
            continue;
        };
        for (metric, base) in metrics {
            let (Some(base), Some(now)) = (base.as_f64(), summary.mape(group, metric)) else {
                continue;
            };
            if now > base + BASELINE_SLACK {
                worse.push(format!("{group} {metric}: {now:.1}% (baseline {base:.1}%)"));
            }
        }
    }
    if worse.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "accuracy regressed more than {BASELINE_SLACK} points against {name}: {}",
            worse.join("; ")
        )))
    }
}
