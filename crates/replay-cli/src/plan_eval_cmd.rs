//! `servesim plan-eval`: score scaling policies on the same open-loop trace against the
//! hindsight oracle, over several seeds, and write the scorecard (CSV, JSON, HTML).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use rayon::prelude::*;
use serde_json::{Value, json};
use servesim_planner::config::{PlannerConfig, PolicyKind, ScalingRules};
use servesim_planner::preset::{apply_preset, is_preset};
use servesim_replay::plan_eval::{OracleSpec, PolicySummary, Score, hindsight_oracle, summarize};
use servesim_replay::{NoObserver, PlanningSummary, ReplayConfig, Topology};
use servesim_report::{ReplicaTimeline, scorecard_page};

use crate::error::CliError;
use crate::parallel::{progress_bar, thread_pool};
use crate::run_cmd::{PreparedRun, RunArgs, write_output};

/// `servesim plan-eval` flags: the policies, the seeds, the oracle, and every `servesim run`
/// flag of the deployment and the trace.
#[derive(Debug, Args)]
pub(crate) struct PlanEvalArgs {
    /// Policies to score, comma-separated: `planner` (the --planner-config as given),
    /// presets MODE_T_L (throughput_180_5, load_180_10, hybrid_180_5, …: MODE throughput,
    /// load or hybrid, T and L the throughput and load intervals in seconds), either under
    /// the reference's load rules with a `reference:` prefix (reference:hybrid_180_5),
    /// `hpa`, `kpa`, `static` (the initial fleet throughout), `static:N`, `oracle`.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "planner,hybrid_180_5,load_180_10,throughput_180_5,hpa,kpa,static,oracle"
    )]
    pub(crate) policies: Vec<String>,
    /// Seeds, comma-separated: every policy runs once per seed; `{seed}` in the trace path is
    /// replaced by the seed, so one generated trace per seed can be scored.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub(crate) seeds: Vec<u64>,
    /// Seconds between the oracle's replica changes.
    #[arg(long, default_value_t = 30.0, value_name = "S")]
    pub(crate) oracle_window: f64,
    /// Share of requests that must meet both SLA targets for the oracle.
    #[arg(long, default_value_t = 0.99, value_name = "SHARE")]
    pub(crate) sla_target: f64,
    /// Directory for scorecard.csv, scorecard.json and scorecard.html.
    #[arg(long, default_value = "plan-eval", value_name = "DIR")]
    pub(crate) out_dir: PathBuf,
    /// Runs in parallel [default: one per core].
    #[arg(long, value_name = "N")]
    pub(crate) jobs: Option<usize>,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

/// A policy to score, parsed from `--policies`.
#[derive(Clone, Debug, PartialEq)]
enum Candidate {
    /// A planner candidate under the reference's load rules (`reference:NAME`).
    Reference(Box<Candidate>),
    /// The planner configuration as given.
    Given,
    /// A named preset applied to it.
    Preset(String),
    /// A baseline policy.
    Baseline(PolicyKind),
    /// A static fleet of this many replicas.
    StaticOf(u32),
    /// The hindsight oracle.
    Oracle,
}

impl Candidate {
    fn parse(name: &str) -> Result<Candidate, CliError> {
        let bad = |why: String| CliError::Usage(format!("--policies: `{name}`: {why}"));
        if let Some(inner) = name.strip_prefix("reference:") {
            return match Candidate::parse(inner)? {
                planner @ (Candidate::Given | Candidate::Preset(_)) => {
                    Ok(Candidate::Reference(Box::new(planner)))
                }
                _ => Err(bad(
                    "reference: applies to the planner and its presets only".to_owned(),
                )),
            };
        }
        Ok(match name {
            "planner" => Candidate::Given,
            "hpa" => Candidate::Baseline(PolicyKind::Hpa),
            "kpa" => Candidate::Baseline(PolicyKind::Kpa),
            "static" => Candidate::Baseline(PolicyKind::Static),
            "oracle" => Candidate::Oracle,
            _ if name.starts_with("static:") => match name["static:".len()..].parse::<u32>() {
                Ok(n) if n > 0 => Candidate::StaticOf(n),
                _ => return Err(bad("expected static:N with N ≥ 1 replicas".to_owned())),
            },
            _ if is_preset(name) => {
                apply_preset(&PlannerConfig::default(), name).map_err(|e| bad(e.to_string()))?;
                Candidate::Preset(name.to_owned())
            }
            _ => {
                return Err(bad(
                    "unknown policy (planner, MODE_T_L presets, hpa, kpa, static, static:N, oracle)"
                        .to_owned(),
                ));
            }
        })
    }
}

/// One scored run: its score, its replica timeline, and the oracle's schedule if it is one.
struct Scored {
    score: Score,
    /// The attainment at the budget's most replicas (the oracle's runs only).
    ceiling: Option<f64>,
    timeline: Vec<(f64, f64)>,
    oracle: Option<Value>,
}

/// `servesim plan-eval`.
pub(crate) fn run(args: &PlanEvalArgs) -> Result<(), CliError> {
    let started = Instant::now();
    if args.run.planner_config.is_none() {
        return Err(CliError::Usage(
            "plan-eval needs --planner-config: its ttft and itl are the SLA, max_gpu_budget the budget"
                .to_owned(),
        ));
    }
    if args.run.replay_concurrency.is_some() {
        return Err(CliError::Usage(
            "plan-eval scores open-loop traces only: under --replay-concurrency the load follows the capacity, so scaling down always looks free".to_owned(),
        ));
    }
    if args.seeds.is_empty() {
        return Err(CliError::Usage(
            "--seeds: give at least one seed".to_owned(),
        ));
    }
    let candidates = dedup(&args.policies)
        .iter()
        .map(|name| Candidate::parse(name).map(|c| (name.clone(), c)))
        .collect::<Result<Vec<_>, _>>()?;
    let runs = args
        .seeds
        .iter()
        .map(|&seed| prepare(args, seed))
        .collect::<Result<Vec<_>, _>>()?;
    // The oracle's search takes longest: start it first.
    let mut tasks: Vec<(usize, &(String, Candidate))> = (0..runs.len())
        .flat_map(|i| candidates.iter().map(move |c| (i, c)))
        .collect();
    tasks.sort_by_key(|(_, (_, c))| *c != Candidate::Oracle);
    let (pool, jobs) = thread_pool(args.jobs)?;
    let bar = progress_bar(tasks.len(), args.run.quiet);
    let results: Vec<Result<(u64, Scored), CliError>> = pool.install(|| {
        tasks
            .par_iter()
            .map(|&(i, (name, candidate))| {
                let (seed, prepared) = &runs[i];
                let scored = score(args, prepared, *seed, name, candidate);
                bar.inc(1);
                scored.map(|s| (*seed, s))
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut scored: Vec<(u64, Scored)> = results.into_iter().collect::<Result<_, _>>()?;
    let order = |name: &str| args.policies.iter().position(|p| p == name);
    scored.sort_by_key(|(seed, s)| (order(&s.score.policy), *seed));
    let oracle_scores: BTreeMap<u64, (Score, f64)> = scored
        .iter()
        .filter_map(|(seed, s)| Some((*seed, (s.score.clone(), s.ceiling?))))
        .collect();
    for (seed, s) in &mut scored {
        if let Some((oracle, ceiling)) = oracle_scores.get(seed) {
            s.score = s.score.clone().against(oracle, *ceiling);
        }
    }
    let sla = runs
        .first()
        .and_then(|(_, r)| r.config.planning.as_ref())
        .map_or((0.0, 0.0), |p| (p.planner.ttft, p.planner.itl));
    let scores: Vec<Score> = scored.iter().map(|(_, s)| s.score.clone()).collect();
    let summary = summarize(&scores);
    write_outputs(args, &scored, &scores, &summary, sla)?;
    if !args.run.quiet {
        print!("{}", render(&summary));
        println!(
            "{} runs in {:.1} s ({jobs} jobs): {}",
            scored.len(),
            started.elapsed().as_secs_f64(),
            args.out_dir.join("scorecard.{csv,json,html}").display()
        );
    }
    Ok(())
}

/// The error of a run without a planner configuration (checked first; kept for the types).
fn needs_planner() -> CliError {
    CliError::Usage("plan-eval needs --planner-config".to_owned())
}

/// The policy names in order, each once.
fn dedup(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

/// The run of one seed: the `{seed}` placeholder of the trace path replaced.
fn prepare(args: &PlanEvalArgs, seed: u64) -> Result<(u64, PreparedRun), CliError> {
    let mut run = args.run.clone();
    run.seed = seed;
    run.trace = run
        .trace
        .map(|path| PathBuf::from(path.to_string_lossy().replace("{seed}", &seed.to_string())));
    Ok((seed, run.prepare()?))
}

/// Runs `candidate` on a prepared run and scores it.
fn score(
    args: &PlanEvalArgs,
    prepared: &PreparedRun,
    seed: u64,
    name: &str,
    candidate: &Candidate,
) -> Result<Scored, CliError> {
    let mut config = prepared.config.clone();
    let Some(planning) = config.planning.as_mut() else {
        return Err(needs_planner());
    };
    let with = |planner: PlannerConfig| -> Result<PlannerConfig, CliError> {
        planner
            .validate()
            .map(|v| v.config)
            .map_err(|e| CliError::Usage(format!("--policies: `{name}`: {e}")))
    };
    let (candidate, rules) = match candidate {
        Candidate::Reference(inner) => (inner.as_ref(), ScalingRules::Reference),
        other => (other, planning.planner.scaling_rules),
    };
    planning.planner.scaling_rules = rules;
    match candidate {
        Candidate::Given | Candidate::Reference(_) => {}
        Candidate::Preset(preset) => {
            let planner = apply_preset(&planning.planner, preset)
                .map_err(|e| CliError::Usage(format!("--policies: {e}")))?;
            planning.planner = with(planner)?;
        }
        Candidate::Baseline(kind) => {
            planning.planner = with(PlannerConfig {
                scaling_policy: *kind,
                ..planning.planner.clone()
            })?;
        }
        Candidate::StaticOf(n) => {
            planning.planner = with(PlannerConfig {
                scaling_policy: PolicyKind::Static,
                ..planning.planner.clone()
            })?;
            match &mut config.topology {
                Topology::Aggregated { workers, .. } => *workers = *n,
                Topology::Disaggregated { .. } => {
                    return Err(CliError::Usage(format!(
                        "--policies: `{name}`: static:N sizes an aggregated fleet; give disaggregated fleets with --num-prefill-workers/--num-decode-workers and `static`"
                    )));
                }
            }
        }
        Candidate::Oracle => return oracle(args, prepared, &config, seed),
    }
    let outcome =
        servesim_replay::replay(prepared.input.whole("plan-eval")?, &config, &mut NoObserver)?;
    let planning = outcome.planning.as_ref();
    Ok(Scored {
        score: Score::of(name, seed, &outcome).ok_or_else(needs_planner)?,
        timeline: planning.map(timeline).unwrap_or_default(),
        ceiling: None,
        oracle: None,
    })
}

/// The oracle's search on a prepared run.
fn oracle(
    args: &PlanEvalArgs,
    prepared: &PreparedRun,
    config: &ReplayConfig,
    seed: u64,
) -> Result<Scored, CliError> {
    let Some(planning) = &config.planning else {
        return Err(needs_planner());
    };
    let gpus = f64::from(planning.decode_gpus.max(1));
    let budget = planning.planner.max_gpu_budget;
    if budget < gpus {
        return Err(CliError::Usage(format!(
            "--policies: oracle: max_gpu_budget {budget} leaves no room for one {gpus}-GPU replica (set a budget in --planner-config)"
        )));
    }
    let spec = OracleSpec {
        window_s: args.oracle_window,
        target: args.sla_target,
        min_replicas: planning.planner.min_endpoint.max(1),
        max_replicas: (budget / gpus).floor() as u32,
    };
    let found = hindsight_oracle(prepared.input.whole("plan-eval")?, config, &spec)?;
    let score = Score::of("oracle", seed, &found.outcome).ok_or_else(needs_planner)?;
    Ok(Scored {
        score,
        ceiling: Some(found.ceiling),
        timeline: found
            .outcome
            .planning
            .as_ref()
            .map(timeline)
            .unwrap_or_default(),
        oracle: Some(json!({
            "seed": seed,
            "window_s": found.schedule.window_s,
            "replicas": found.schedule.replicas,
            "window_attainment": found.window_attainment,
            "capped_windows": found.capped_windows,
            "ceiling": found.ceiling,
            "replays": found.replays,
        })),
    })
}

/// Replicas asked for over time, as steps: (time, replicas) at every change.
fn timeline(planning: &PlanningSummary) -> Vec<(f64, f64)> {
    let mut points = Vec::new();
    let mut current = None;
    for record in &planning.records {
        let pool = &record.decode;
        let before = f64::from(pool.ready + pool.starting);
        let after = f64::from(pool.target);
        if current.is_none() {
            points.push((record.time_s, before));
        }
        if current != Some(after) {
            points.push((record.time_s, current.unwrap_or(before)));
            points.push((record.time_s, after));
            current = Some(after);
        }
    }
    points
}

/// The scorecard's columns, in order.
const COLUMNS: [&str; 13] = [
    "policy",
    "seed",
    "requests",
    "sla_attainment",
    "sla_vs_ceiling",
    "ttft_attainment",
    "itl_attainment",
    "gpu_hours",
    "avg_gpus",
    "goodput_per_gpu_hour",
    "scale_events",
    "gpu_hours_vs_oracle",
    "goodput_vs_oracle",
];

/// Writes scorecard.csv, scorecard.json and scorecard.html; `sla` is (TTFT, ITL) in ms.
fn write_outputs(
    args: &PlanEvalArgs,
    scored: &[(u64, Scored)],
    scores: &[Score],
    summary: &[PolicySummary],
    sla: (f64, f64),
) -> Result<(), CliError> {
    let rows: Vec<Value> = scores
        .iter()
        .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
        .collect();
    let mut csv = COLUMNS.join(",");
    csv.push('\n');
    for row in &rows {
        let cells: Vec<String> = COLUMNS
            .iter()
            .map(|c| match &row[*c] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    let oracles: Vec<&Value> = scored
        .iter()
        .filter_map(|(_, s)| s.oracle.as_ref())
        .collect();
    let json = json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "ttft_target_ms": sla.0,
        "itl_target_ms": sla.1,
        "sla_target": args.sla_target,
        "oracle_window_s": args.oracle_window,
        "seeds": args.seeds,
        "rows": rows,
        "summary": summary,
        "oracle": oracles,
    });
    let first_seed = args.seeds.first().copied().unwrap_or_default();
    let timelines: Vec<ReplicaTimeline> = scored
        .iter()
        .filter(|(seed, _)| *seed == first_seed)
        .map(|(_, s)| ReplicaTimeline {
            policy: s.score.policy.clone(),
            points: s.timeline.clone(),
        })
        .collect();
    let subtitle = format!(
        "{} · seeds {} · oracle window {} s, target {:.1} %",
        args.run
            .trace
            .as_ref()
            .map_or_else(|| "synthetic load".to_owned(), |p| p.display().to_string()),
        args.seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        args.oracle_window,
        args.sla_target * 100.0
    );
    write_output(&args.out_dir.join("scorecard.csv"), &csv)?;
    write_output(
        &args.out_dir.join("scorecard.json"),
        &(serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"),
    )?;
    write_output(
        &args.out_dir.join("scorecard.html"),
        &scorecard_page(scores, summary, &timelines, &subtitle).to_html(),
    )?;
    Ok(())
}

/// The stdout table: one line per policy, means over the seeds.
fn render(summary: &[PolicySummary]) -> String {
    let line = |cells: [&str; 10]| {
        format!(
            "{:<22} {:>4} {:>6} {:>8} {:>8} {:>7} {:>10} {:>6} {:>8} {:>8}\n",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            cells[8],
            cells[9]
        )
    };
    let mut out = line([
        "policy",
        "runs",
        "SLA %",
        "SLA/ceil",
        "GPU-h",
        "avg GPU",
        "good/GPU-h",
        "events",
        "GPU-h/or",
        "good/or",
    ]);
    let num = |value: Option<f64>, scale: f64, digits: usize| {
        value.map_or_else(|| "–".to_owned(), |v| format!("{:.*}", digits, v * scale))
    };
    for row in summary {
        out += &line([
            &row.policy,
            &row.runs.to_string(),
            &num(row.sla_attainment, 100.0, 1),
            &num(row.sla_vs_ceiling, 1.0, 3),
            &num(row.gpu_hours, 1.0, 4),
            &num(row.avg_gpus, 1.0, 2),
            &num(row.goodput_per_gpu_hour, 1.0, 0),
            &num(row.scale_events, 1.0, 1),
            &num(row.gpu_hours_vs_oracle, 1.0, 3),
            &num(row.goodput_vs_oracle, 1.0, 3),
        ]);
    }
    out
}
