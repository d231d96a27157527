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
