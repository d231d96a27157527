//! `servesim validate` end to end, through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{scratch_dir, servesim, stderr, stdout};

const HEADER: &str = "model,system,backend,tp,isl,osl,concurrency,num_prompts,mean_ttft_ms,mean_tpot_ms,output_tok_s_per_gpu";

/// Two good rows, one row with a bad cell, one unsupported row.
fn table(dir: &Path) -> String {
    let text = format!(
        "{HEADER}\n\
         meta-llama/Llama-3.1-8B,h100_sxm,vllm,1,1024,128,4,16,40,8,400\n\
         meta-llama/Llama-3.1-8B,h100_sxm,vllm,two,1024,128,4,16,40,8,400\n\
         Qwen/Qwen3-32B,h200_sxm,sglang,2,2048,256,8,32,,20,\n\
         acme/Unknown-7B,h100_sxm,vllm,1,1024,128,4,16,40,8,400\n"
    );
    let path = dir.join("table.csv");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn rows_run_and_a_bad_row_is_named_with_file_line_and_column() {
    let dir = scratch_dir("validate_rows");
    let path = table(&dir);
    let json = dir.join("v.json");
    let csv = dir.join("v.csv");
    let out = servesim(&[
        "validate",
        &path,
        "--jobs",
        "2",
        "--json",
        json.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    // The bad row fails the command, after the others ran.
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "error: {path}:3: tp: expected a whole number ≥ 1, got `two`"
        )),
        "{err}"
    );
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{path}:2 meta-llama/Llama-3.1-8B h100_sxm vllm tp1 1024/128 c4: TTFT 40.0→"
        )),
        "{text}"
    );
    assert!(text.contains(":5 acme/Unknown-7B"), "{text}");
    assert!(
        text.contains("unsupported: field `aic_model_path`: unknown model `acme/Unknown-7B`"),
        "{text}"
    );
    assert!(
        text.contains("4 rows from 1 tables: 2 compared, 1 unsupported, 0 failed, 1 invalid"),
        "{text}"
    );
    for group in [
        "all",
        "backend=vllm",
        "backend=sglang",
        "system=h200_sxm",
        "table=table.csv",
    ] {
        assert!(
            text.contains(&format!("\n{group:<34} mean_tpot_ms")),
            "{text}"
        );
    }

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["rows"].as_array().unwrap().len(), 3);
    assert_eq!(report["invalid"][0]["column"], "tp");
    assert_eq!(report["summary"]["rows"]["compared"], 2);
    let first = &report["rows"][0];
    assert_eq!(first["outcome"]["status"], "ok");
    let measured = first["measurement"]["measured"]["mean_tpot_ms"]
        .as_f64()
        .unwrap();
    let predicted = first["outcome"]["predicted"]["mean_tpot_ms"]
        .as_f64()
        .unwrap();
    let error = first["outcome"]["errors"]["mean_tpot_ms"].as_f64().unwrap();
    assert!((error - (predicted - measured) / measured).abs() < 1e-12);

    let csv = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("file,line,status,model,system,backend,tp,isl,osl,concurrency,measured_mean_ttft_ms,predicted_mean_ttft_ms,error_mean_ttft_ms"), "{}", lines[0]);
    assert_eq!(lines.len(), 4);
    assert!(lines[3].contains(",unsupported,"), "{}", lines[3]);
}

#[test]
fn reruns_are_identical() {
    let dir = scratch_dir("validate_determinism");
    let path = table(&dir);
    let write = |name: &str| {
        let json = dir.join(name);
        servesim(&[
            "validate",
            &path,
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ]);
        std::fs::read_to_string(json).unwrap()
    };
    assert_eq!(write("a.json"), write("b.json"));
}

#[test]
fn a_baseline_catches_a_regression() {
    let dir = scratch_dir("validate_baseline");
    let good = dir.join("good.csv");
    std::fs::write(
        &good,
        format!("{HEADER}\nmeta-llama/Llama-3.1-8B,h100_sxm,vllm,1,1024,128,4,16,40,8,400\n"),
    )
    .unwrap();
    let good = good.to_str().unwrap();
    let baseline = dir.join("baseline.json");
    let baseline = baseline.to_str().unwrap();
    let out = servesim(&["validate", good, "--quiet", "--write-baseline", baseline]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = servesim(&["validate", good, "--quiet", "--baseline", baseline]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The same deployment measured far faster than simulated: every metric regresses.
    let worse = dir.join("worse.csv");
    std::fs::write(
        &worse,
        format!("{HEADER}\nmeta-llama/Llama-3.1-8B,h100_sxm,vllm,1,1024,128,4,16,4,0.8,4000\n"),
    )
    .unwrap();
    let out = servesim(&[
        "validate",
        worse.to_str().unwrap(),
        "--quiet",
        "--baseline",
        baseline,
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "accuracy regressed more than 2 points against {baseline}: all mean_tpot_ms: "
        )),
        "{err}"
    );

    std::fs::write(dir.join("junk.json"), "[1, 2]").unwrap();
    let junk = dir.join("junk.json");
    let out = servesim(&[
        "validate",
        good,
        "--quiet",
        "--baseline",
        junk.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("expected an object with a `mape` map"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_missing_table_or_header_is_one_line() {
    let out = servesim(&["validate", "no/such/table.csv"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("no/such/table.csv:0: file: "), "{err}");
    let dir = scratch_dir("validate_header");
    let path = dir.join("h.csv");
    std::fs::write(&path, "model,system,isl\n").unwrap();
    let out = servesim(&["validate", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(":1: header: missing the `backend` column"),
        "{}",
        stderr(&out)
    );
}
