//! `servesim perf …` end to end, through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{servesim, stderr, stdout};

#[test]
fn predict_prints_milliseconds_and_a_json_breakdown() {
    let out = servesim(&[
        "perf",
        "predict",
        "--model",
        "meta-llama/Llama-3.1-8B",
        "--system",
        "h200_sxm",
        "--backend",
        "vllm",
        "--tp",
        "1",
        "--phase",
        "prefill",
        "--batch",
        "1",
        "--isl",
        "4096",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let ms: f64 = text
        .split(": ")
        .last()
        .unwrap()
        .trim()
        .trim_end_matches(" ms")
        .parse()
        .unwrap();
    // AIConfigurator predicts 92.8 ms for this pass.
    assert!((80.0..100.0).contains(&ms), "{text}");
    let json = servesim(&[
        "perf",
        "predict",
        "--model",
        "llama-3.1-8b",
        "--phase",
        "decode",
        "--batch",
        "32",
        "--ctx",
        "4096",
        "--json",
    ]);
    assert!(json.status.success(), "{}", stderr(&json));
    let value: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert!(value.is_object(), "{value}");
}

#[test]
fn list_and_table() {
    let list = servesim(&["perf", "list"]);
    assert!(list.status.success());
    for name in [
        "llama-3.1-8b",
        "qwen3-235b-a22b",
        "deepseek-v3",
        "gpt-oss-120b",
        "h200_sxm",
        "mi300x",
    ] {
        assert!(stdout(&list).contains(name), "{name}");
    }
    let table = servesim(&["perf", "table", "--model", "qwen3-8b", "--phase", "decode"]);
    assert!(table.status.success(), "{}", stderr(&table));
    assert!(stdout(&table).lines().count() > 3);
}

#[test]
fn bad_names_fail_with_the_valid_choices() {
    let out = servesim(&[
        "perf",
        "predict",
        "--model",
        "llama-3.1-8b",
        "--system",
        "h999",
        "--phase",
        "decode",
        "--batch",
        "8",
        "--ctx",
        "2048",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.starts_with("error: unknown system `h999`; built-in systems: a100_sxm"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    let out = servesim(&[
        "perf", "predict", "--model", "llama-9", "--phase", "decode", "--batch", "8", "--ctx",
        "2048",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("llama-9"), "{}", stderr(&out));
}

/// Runs `servesim perf …` without `SERVESIM_AIC_SYSTEMS` in its environment.
fn perf_without_aic_env(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_servesim"))
        .arg("perf")
        .args(args)
        .env_remove("SERVESIM_AIC_SYSTEMS")
        .output()
        .expect("servesim binary runs")
}

const AIC_DB_DECODE: [&str; 11] = [
    "predict",
    "--model",
    "llama-3.1-8b",
    "--perf-model",
    "aic-db",
    "--phase",
    "decode",
    "--batch",
    "8",
    "--ctx",
    "2048",
];

#[test]
fn aic_db_says_what_it_needs() {
    let out = perf_without_aic_env(&AIC_DB_DECODE);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    if cfg!(feature = "aic-db") {
        assert!(
            err.starts_with("error: --perf-model aic-db needs --aic-systems PATH (or SERVESIM_AIC_SYSTEMS): the `systems` folder of an aiconfigurator-core install"),
            "{err}"
        );
        let mut args = AIC_DB_DECODE.to_vec();
        args.extend(["--aic-systems", "/nonexistent/systems"]);
        let out = perf_without_aic_env(&args);
        assert!(!out.status.success());
        assert_eq!(
            stderr(&out).trim_end(),
            "error: /nonexistent/systems: not an AIConfigurator `systems` folder (no `data` subfolder)"
        );
    } else {
        assert_eq!(
            err.trim_end(),
            "error: --perf-model aic-db: this servesim was built without the `aic-db` feature; rebuild with `cargo build --release -p replay-cli --features aic-db`, or use `--perf-model analytical`"
        );
        let table = perf_without_aic_env(&[
            "table",
            "--model",
            "qwen3-8b",
            "--phase",
            "decode",
            "--perf-model",
            "aic-db",
        ]);
        assert!(!table.status.success());
        assert!(
            stderr(&table).contains("built without the `aic-db` feature"),
            "{}",
            stderr(&table)
        );
    }
    let mut args = AIC_DB_DECODE.to_vec();
    args[4] = "roofline";
    let out = perf_without_aic_env(&args);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("[possible values: analytical, aic-db]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn aic_db_prices_a_moe_model_when_the_tables_are_there() {
    let Some(systems) = std::env::var_os("SERVESIM_AIC_SYSTEMS") else {
        eprintln!("skipped: set SERVESIM_AIC_SYSTEMS to aiconfigurator-core's `systems` folder");
        return;
    };
    if !cfg!(feature = "aic-db") {
        eprintln!("skipped: build with --features aic-db");
        return;
    }
    let out = servesim(&[
        "perf",
        "predict",
        "--model",
        "Qwen/Qwen3-30B-A3B",
        "--perf-model",
        "aic-db",
        "--aic-systems",
        systems.to_str().unwrap(),
        "--phase",
        "prefill",
        "--isl",
        "2048",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // AIConfigurator 0.12.0 predicts 40.43 ms for this pass.
    assert_eq!(
        stdout(&out).trim_end(),
        "qwen3-30b-a3b on h200_sxm (vllm, tp 1, moe_tp 1, moe_ep 1) [aic-db]: prefill, batch 1, isl 2048: 40.43 ms"
    );
}
