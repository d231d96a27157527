//! What a swept parameter name means, and how a value is applied to a `servesim run`.
//!
//! A name is a `servesim run` flag (`num_workers`, `router_mode`, `trace`), a key of the
//! engine arguments (`startup_time`; `prefill.` / `decode.` for one pool of a disaggregated
//! run), of the planner configuration (`ttft`) or of the KV-router configuration
//! (`overlap_score_weight`). A bare name must mean exactly one of these; the prefixes `cli.`,
//! `engine.`, `planner.` and `router.` say which one explicitly.

use std::ffi::OsString;

use clap::{ArgAction, Args, Command, FromArgMatches};
use serde_json::{Map, Value};
use servesim_engine::EngineArgs;
use servesim_planner::config::PlannerConfig;
use servesim_router::KvRouterConfig;

use crate::error::CliError;
use crate::run_cmd::{RunArgs, json_flag};
use crate::sweep_args::SweepArgs;

/// The engine-args flags a key goes to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Pools {
    /// Every engine (`--extra-engine-args`, or both disaggregated pools).
    All,
    /// `--prefill-engine-args`.
    Prefill,
    /// `--decode-engine-args`.
    Decode,
}

/// Where a parameter's value goes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    /// A `servesim run` flag, by its long name (or the positional trace).
    Cli { long: Option<String> },
    /// An engine-args key.
    Engine(Pools),
    /// A planner-config key.
    Planner,
    /// A KV-router key.
    Router,
}

/// A swept parameter resolved against `servesim run`.
#[derive(Clone, Debug)]
pub(crate) struct Binding {
    /// The name as given (used in tables).
    name: String,
    /// The key inside the target (flag id or JSON key).
    key: String,
    target: Target,
}

/// Flags that cannot be swept: per-run outputs (the sweep writes its own).
const NOT_SWEPT: [&str; 5] = [
    "report_json",
    "requests_jsonl",
    "report_html",
    "quiet",
    "help",
];

/// `servesim run`'s value-taking flags as `(id, long)`; the positional trace has no long.
fn cli_flags() -> Vec<(String, Option<String>)> {
    RunArgs::augment_args(Command::new("run"))
        .get_arguments()
        .filter(|a| {
            matches!(a.get_action(), ArgAction::Set | ArgAction::Append)
                && !NOT_SWEPT.contains(&a.get_id().as_str())
        })
        .map(|a| (a.get_id().to_string(), a.get_long().map(str::to_owned)))
        .collect()
}

/// The keys of a configuration type, from its serialized defaults.
fn keys_of(defaults: Result<Value, serde_json::Error>) -> Vec<String> {
    match defaults {
        Ok(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

impl Binding {
    /// Resolves `name` for `run` (whose engine flags say whether it is disaggregated).
    pub(crate) fn resolve(name: &str, run: &RunArgs) -> Result<Binding, CliError> {
        let disaggregated = run.prefill_engine_args.is_some() || run.decode_engine_args.is_some();
        let engine_keys = keys_of(serde_json::to_value(EngineArgs::default()));
        let planner_keys = keys_of(serde_json::to_value(PlannerConfig::default()));
        let router_keys = keys_of(serde_json::to_value(KvRouterConfig::default()));
        let flags = cli_flags();
        let cli = |key: &str| {
            let id = key.replace('-', "_");
            flags
                .iter()
                .find(|(flag, _)| *flag == id)
                .map(|(id, long)| (id.clone(), Target::Cli { long: long.clone() }))
        };
        let bad = |message: String| CliError::Usage(format!("--param {name}: {message}"));
        let (prefix, key) = match name.split_once('.') {
            Some((prefix, key)) => (Some(prefix), key),
            None => (None, name),
        };
        let in_keys = |keys: &[String]| keys.iter().any(|k| k == key);
        let resolved = match prefix {
            Some("cli") => cli(key).ok_or_else(|| {
                bad(format!(
                    "`servesim run` has no value flag `--{}`",
                    key.replace('_', "-")
                ))
            })?,
            Some("engine") => (key.to_owned(), Target::Engine(Pools::All)),
            Some("prefill" | "decode") if !disaggregated => {
                return Err(bad(
                    "`prefill.` / `decode.` keys need a disaggregated run (--prefill-engine-args and --decode-engine-args)".to_owned(),
                ));
            }
            Some("prefill") => (key.to_owned(), Target::Engine(Pools::Prefill)),
            Some("decode") => (key.to_owned(), Target::Engine(Pools::Decode)),
            Some("planner") => (key.to_owned(), Target::Planner),
            Some("router") => (key.to_owned(), Target::Router),
            Some(other) => {
                return Err(bad(format!(
                    "unknown prefix `{other}.` (use cli., engine., prefill., decode., planner. or router.)"
                )));
            }
            None => {
                let mut found = Vec::new();
                if let Some(hit) = cli(key) {
                    found.push(("cli", hit));
                }
                if in_keys(&engine_keys) {
                    found.push(("engine", (key.to_owned(), Target::Engine(Pools::All))));
                }
                if in_keys(&planner_keys) {
                    found.push(("planner", (key.to_owned(), Target::Planner)));
                }
                if in_keys(&router_keys) {
                    found.push(("router", (key.to_owned(), Target::Router)));
                }
                match found.len() {
                    0 => {
                        return Err(bad(
                            "not a `servesim run` flag, engine-args, planner or router key"
                                .to_owned(),
                        ));
                    }
                    1 => found.remove(0).1,
                    _ => {
                        let options: Vec<String> =
                            found.iter().map(|(p, _)| format!("{p}.{key}")).collect();
                        return Err(bad(format!(
                            "ambiguous; write one of {}",
                            options.join(", ")
                        )));
                    }
                }
            }
        };
        let (key, target) = resolved;
        Ok(Binding {
            name: name.to_owned(),
            key,
            target,
        })
    }
}

/// The `servesim run` flags of `base_argv` (the arguments after `servesim sweep`) with every
/// `(binding, value)` applied: flag values replace the given ones (the command line is parsed
/// again with the new flags last, so defaults and other flags stay as the user wrote them);
/// configuration keys are set inside the JSON flags.
pub(crate) fn apply(
    base_argv: &[OsString],
    point: &[(&Binding, &Value)],
) -> Result<RunArgs, CliError> {
    let mut argv: Vec<OsString> = vec!["servesim sweep".into()];
    argv.extend(base_argv.iter().cloned());
    let mut trace = None;
    let mut flags = Vec::new();
    for &(binding, value) in point {
        if let Target::Cli { long } = &binding.target {
            flags.push(format!("{}={}", binding.name, plain(value)));
            match long {
                Some(long) => argv.extend([format!("--{long}").into(), plain(value).into()]),
                None => trace = Some(plain(value)),
            }
        }
    }
    let matches = SweepArgs::augment_args(Command::new("servesim sweep"))
        .args_override_self(true)
        .try_get_matches_from(&argv)
        .and_then(|m| SweepArgs::from_arg_matches(&m));
    let mut run = matches
        .map_err(|e| {
            let error = first_line(&e.to_string());
            CliError::Usage(if flags.is_empty() {
                error
            } else {
                format!("--param {}: {error}", flags.join(" "))
            })
        })?
        .run;
    if let Some(trace) = trace {
        run.trace = Some(trace.into());
    }
    for &(binding, value) in point {
        let usage =
            |message: String| CliError::Usage(format!("--param {}: {message}", binding.name));
        let disaggregated = run.prefill_engine_args.is_some() || run.decode_engine_args.is_some();
        match &binding.target {
            Target::Cli { .. } => {}
            Target::Engine(pools) => {
                let flags: &mut [&mut Option<String>] = match (pools, disaggregated) {
                    (Pools::All, false) => &mut [&mut run.extra_engine_args],
                    (Pools::All, true) => {
                        &mut [&mut run.prefill_engine_args, &mut run.decode_engine_args]
                    }
                    (Pools::Prefill, _) => &mut [&mut run.prefill_engine_args],
                    (Pools::Decode, _) => &mut [&mut run.decode_engine_args],
                };
                for flag in flags.iter_mut() {
                    **flag = Some(set_key(flag.as_deref(), &binding.key, value).map_err(usage)?);
                }
            }
            Target::Planner => {
                let mut config = match &run.planner_config {
                    Some(text) => {
                        PlannerConfig::parse_value(text.strip_prefix('@').unwrap_or(text))
                            .map_err(|e| usage(format!("--planner-config: {e}")))?
                    }
                    None => Value::Object(Map::new()),
                };
                insert(&mut config, &binding.key, value).map_err(usage)?;
                run.planner_config = Some(config.to_string());
            }
            Target::Router => {
                run.router_config = Some(
                    set_key(run.router_config.as_deref(), &binding.key, value).map_err(usage)?,
                );
            }
        }
    }
    Ok(run)
}

/// A value as it would be typed on a command line (`kv_router`, not `"kv_router"`).
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A `JSON|@FILE` flag's object with `key` set to `value`, as inline JSON.
fn set_key(current: Option<&str>, key: &str, value: &Value) -> Result<String, String> {
    let mut object = match current {
        Some(text) => {
            let (json, source) = json_flag("flag", text).map_err(|e| e.to_string())?;
            serde_json::from_str(&json).map_err(|e| format!("{source}: {e}"))?
        }
        None => Value::Object(Map::new()),
    };
    insert(&mut object, key, value)?;
    Ok(object.to_string())
}

fn insert(object: &mut Value, key: &str, value: &Value) -> Result<(), String> {
    match object {
        Value::Object(map) => {
            map.insert(key.to_owned(), value.clone());
            Ok(())
        }
        _ => Err("the configuration it goes into is not a JSON object".to_owned()),
    }
}

/// The first line of a clap error, without its `error: ` prefix.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn base(args: &[&str]) -> RunArgs {
        apply(&argv(args), &[]).unwrap()
    }

    fn applied(args: &[&str], name: &str, value: Value) -> Result<RunArgs, CliError> {
        let binding = Binding::resolve(name, &base(args))?;
        apply(&argv(args), &[(&binding, &value)])
    }

    #[test]
    fn bare_names_find_their_target() {
        let args = [
            "trace.jsonl",
            "--extra-engine-args",
            r#"{"block_size": 32}"#,
        ];
        let r = applied(&args, "num_workers", 4.into()).unwrap();
        assert!(format!("{r:?}").contains("num_workers: 4,"));
        let r = applied(&args, "startup_time", 30.into()).unwrap();
        assert_eq!(
            r.extra_engine_args.as_deref(),
            Some(r#"{"block_size":32,"startup_time":30}"#)
        );
        let r = applied(&args, "ttft", 800.into()).unwrap();
        assert_eq!(r.planner_config.as_deref(), Some(r#"{"ttft":800}"#));
        let r = applied(&args, "router.overlap_score_weight", 0.5.into()).unwrap();
        assert_eq!(
            r.router_config.as_deref(),
            Some(r#"{"overlap_score_weight":0.5}"#)
        );
        let r = applied(&args, "trace", "other.jsonl".into()).unwrap();
        assert_eq!(
            r.trace.as_deref(),
            Some(std::path::Path::new("other.jsonl"))
        );
    }

    #[test]
    fn cli_overrides_keep_the_other_flags() {
        let args = [
            "t.jsonl",
            "--num-workers",
            "2",
            "--seed",
            "7",
            "--skip-invalid",
            "--param",
            "x=1",
        ];
        let r = applied(&args, "router-mode", "kv_router".into()).unwrap();
        let debug = format!("{r:?}");
        for field in [
            "num_workers: 2,",
            "seed: 7,",
            "router_mode: KvRouter,",
            "skip_invalid: true",
        ] {
            assert!(debug.contains(field), "{field}: {debug}");
        }
        let r = applied(&args, "num_workers", 8.into()).unwrap();
        assert!(format!("{r:?}").contains("num_workers: 8,"));
    }

    #[test]
    fn disaggregated_runs_take_pool_prefixes() {
        let args = [
            "t.jsonl",
            "--prefill-engine-args",
            "{}",
            "--decode-engine-args",
            r#"{"max_num_seqs": 64}"#,
        ];
        let r = applied(&args, "decode.max_num_seqs", 128.into()).unwrap();
        assert_eq!(
            r.decode_engine_args.as_deref(),
            Some(r#"{"max_num_seqs":128}"#)
        );
        assert_eq!(r.prefill_engine_args.as_deref(), Some("{}"));
        let r = applied(&args, "startup_time", 60.into()).unwrap();
        assert_eq!(
            r.prefill_engine_args.as_deref(),
            Some(r#"{"startup_time":60}"#)
        );
        assert!(applied(&["t.jsonl"], "prefill.block_size", 16.into()).is_err());
    }

    #[test]
    fn bad_names_are_explained() {
        let run = base(&["t.jsonl"]);
        for (name, needle) in [
            ("no_such_key", "not a `servesim run` flag"),
            ("cli.no_such_flag", "no value flag `--no-such-flag`"),
            ("x.y", "unknown prefix"),
            ("report_json", "not a `servesim run` flag"),
        ] {
            let message = Binding::resolve(name, &run).unwrap_err().to_string();
            assert!(message.contains(needle), "{name}: {message}");
            assert!(
                message.starts_with(&format!("--param {name}: ")),
                "{message}"
            );
        }
        let bad_value = applied(&["t.jsonl"], "num_workers", "many".into()).unwrap_err();
        assert!(bad_value.to_string().contains("many"), "{bad_value}");
    }
}
