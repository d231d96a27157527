//! `servesim sweep`: replay a grid of configurations in parallel and tabulate the results;
//! `servesim sweep merge`: put the shards of a grid back together.

use std::ffi::OsString;
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use serde_json::Value;
use servesim_replay::NoObserver;
use servesim_replay::sweep::{
    Grid, ParamSpec, Shard, SweepError, SweepRow, SweepTable, headline_metrics,
};
use servesim_report::{RunInfo, run_page, sweep_page};

use crate::error::CliError;
use crate::parallel::{progress_bar, thread_pool};
use crate::run_cmd::{RunArgs, write_output};
use crate::sweep_args::{MergeArgs, SweepArgs, SweepCommand};
use crate::sweep_params::{Binding, apply};

/// `servesim sweep`: `base_argv` are the flags after `sweep` (re-parsed per grid point).
pub(crate) fn run(args: &SweepArgs, base_argv: &[OsString]) -> Result<(), CliError> {
    if let Some(SweepCommand::Merge(merge_args)) = &args.command {
        return merge(merge_args);
    }
    let started = Instant::now();
    let (table, shard, jobs, runs) = sweep_table(args, base_argv)?;
    let written = write_table_files(args, &table, shard)?;
    if !args.run.quiet {
        print!("{}", render_summary(&table));
        println!(
            "{} runs in {:.1} s ({jobs} jobs{}): {}",
            table.rows.len(),
            started.elapsed().as_secs_f64(),
            if shard == Shard::ALL {
                String::new()
            } else {
                format!(", shard {shard} of a {runs}-run grid")
            },
            written.join(", ")
        );
    }
    failures(&table)
}

/// Writes the table of a sweep (or of its shard) to `--out-dir`; the files written.
pub(crate) fn write_table_files(
    args: &SweepArgs,
    table: &SweepTable,
    shard: Shard,
) -> Result<Vec<String>, CliError> {
    let stem = if shard == Shard::ALL {
        "sweep".to_owned()
    } else {
        format!("sweep-shard-{}-of-{}", shard.index, shard.count)
    };
    write_table(table, &args.out_dir, &stem, &command_line())
}

/// Runs the grid (or the shard) of `args`: the table, the shard, the jobs used and the
/// runs of the whole grid.
pub(crate) fn sweep_table(
    args: &SweepArgs,
    base_argv: &[OsString],
) -> Result<(SweepTable, Shard, usize, usize), CliError> {
    for (flag, given) in [
        ("--report-json", args.run.report_json.is_some()),
        ("--requests-jsonl", args.run.requests_jsonl.is_some()),
        ("--report-html", args.run.report_html.is_some()),
    ] {
        if given {
            return Err(CliError::Usage(format!(
                "{flag} is per run; a sweep writes its table to --out-dir (and every run's reports with --run-reports)"
            )));
        }
    }
    let specs = args
        .params
        .iter()
        .map(|p| ParamSpec::parse(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let bindings = specs
        .iter()
        .map(|p| Binding::resolve(&p.name, &args.run))
        .collect::<Result<Vec<_>, _>>()?;
    let grid = Grid::new(specs).map_err(|e| CliError::Usage(e.to_string()))?;
    let shard: Shard = match &args.shard {
        Some(text) => text
            .parse()
            .map_err(|e: SweepError| CliError::Usage(e.to_string()))?,
        None => Shard::ALL,
    };
    // Every run's flags are checked before anything runs.
    let planned = shard
        .runs(grid.runs())
        .map(|index| {
            let point = grid.point(index);
            let pairs: Vec<(&Binding, &Value)> =
                bindings.iter().zip(point.iter().map(|(_, v)| v)).collect();
            apply(base_argv, &pairs).map(|run| (index, point, run))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (pool, jobs) = thread_pool(args.jobs)?;
    let bar = progress_bar(planned.len(), args.run.quiet);
    let rows: Vec<Result<SweepRow, CliError>> = pool.install(|| {
        planned
            .par_iter()
            .map(|(index, point, run)| {
                let row = run_one(*index, grid.runs(), point, run, args);
                bar.inc(1);
                row
            })
            .collect()
    });
    bar.finish_and_clear();
    let rows = rows.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok((SweepTable::new(rows), shard, jobs, grid.runs()))
}

/// Replays one grid point; a failed replay is a row with its error (the sweep goes on).
fn run_one(
    index: usize,
    runs: usize,
    point: &[(String, Value)],
    run: &RunArgs,
    args: &SweepArgs,
) -> Result<SweepRow, CliError> {
    let mut row = SweepRow {
        run: index,
        runs,
        params: point.to_vec(),
        metrics: Vec::new(),
        error: None,
    };
    let result = run.prepare().and_then(|prepared| {
        let started = Instant::now();
        let outcome = run.execute(&prepared, &mut NoObserver)?;
        if args.run_reports {
            let wall_time_ms = started.elapsed().as_secs_f64() * 1000.0;
            let dir = args.out_dir.join("runs");
            let report = run.report(&prepared, &outcome, wall_time_ms);
            let json = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
            write_output(&dir.join(format!("run-{index:04}.json")), &json)?;
            let info = RunInfo {
                title: None,
                subtitle: format!("run {index}: {}", describe_point(point)),
            };
            write_output(
                &dir.join(format!("run-{index:04}.html")),
                &run_page(&outcome, &info).to_html(),
            )?;
        }
        Ok(headline_metrics(&outcome, prepared.fleet_gpus))
    });
    match result {
        Ok(metrics) => row.metrics = metrics,
        Err(CliError::Output { path, source }) => return Err(CliError::Output { path, source }),
        Err(e) => row.error = Some(e.to_string()),
    }
    Ok(row)
}

fn describe_point(point: &[(String, Value)]) -> String {
    point
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The command line, for the sweep page's header.
fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Writes `<stem>.csv`, `<stem>.jsonl` and `<stem>.html` into `dir`; returns their paths.
fn write_table(
    table: &SweepTable,
    dir: &Path,
    stem: &str,
    subtitle: &str,
) -> Result<Vec<String>, CliError> {
    let outputs = [
        ("csv", table.to_csv()),
        ("jsonl", table.to_jsonl()),
        ("html", sweep_page(table, subtitle).to_html()),
    ];
    let mut written = Vec::new();
    for (extension, text) in outputs {
        let path = dir.join(format!("{stem}.{extension}"));
        write_output(&path, &text)?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// The metrics shown on stdout (when the rows have them).
const SHOWN: [&str; 6] = [
    "ttft_mean_ms",
    "ttft_p90_ms",
    "itl_mean_ms",
    "itl_p90_ms",
    "gpu_hours",
    "sla_attainment",
];

/// A fixed-width table: parameters and the main metrics, one line per run (a failed run
/// shows its error after its parameters).
fn render_summary(table: &SweepTable) -> String {
    let metric_names = table.metric_names();
    let metrics: Vec<&str> = SHOWN
        .iter()
        .copied()
        .filter(|m| metric_names.contains(m))
        .collect();
    let header: Vec<String> = std::iter::once("run")
        .chain(table.param_names())
        .chain(metrics.iter().copied())
        .map(str::to_owned)
        .collect();
    let lines: Vec<(Vec<String>, Option<&str>)> = table
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.run.to_string()];
            cells.extend(row.params.iter().map(|(_, v)| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }));
            if row.error.is_none() {
                cells.extend(
                    metrics
                        .iter()
                        .map(|m| row.metric(m).map(|v| format!("{v:.4}")).unwrap_or_default()),
                );
            }
            (cells, row.error.as_deref())
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for (cells, _) in &lines {
        for (w, cell) in widths.iter_mut().zip(cells) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let render = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, &width)| format!("{cell:>width$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = render(&header) + "\n";
    for (cells, error) in &lines {
        out += &render(cells);
        if let Some(error) = error {
            out += &format!("  failed: {error}");
        }
        out.push('\n');
    }
    out
}

/// An error if any run failed (the table still has every row).
fn failures(table: &SweepTable) -> Result<(), CliError> {
    let failed: Vec<String> = table
        .rows
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| r.run.to_string())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "{} of {} runs failed (runs {}); their errors are in the table's error column",
            failed.len(),
            table.rows.len(),
            failed.join(", ")
        )))
    }
}

fn merge(args: &MergeArgs) -> Result<(), CliError> {
    let mut parts = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| CliError::Usage(format!("{name}: {e}")))?;
        parts.push(
            SweepTable::from_jsonl(&text, &name).map_err(|e| CliError::Usage(e.to_string()))?,
        );
    }
    let table =
        SweepTable::merge(parts, args.allow_partial).map_err(|e| CliError::Usage(e.to_string()))?;
    let names: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
    let subtitle = format!("merged from {}", names.join(", "));
    let written = write_table(&table, &args.out_dir, "sweep", &subtitle)?;
    if !args.quiet {
        print!("{}", render_summary(&table));
        println!(
            "{} runs merged from {} files: {}",
            table.rows.len(),
            args.files.len(),
            written.join(", ")
        );
    }
    failures(&table)
}
