//! `servesim trace …` end to end, through the real binary.

mod common;

use common::{scratch_dir, scratch_file, servesim, stderr, stdout};

const FIXTURE: &str = "fixtures/mooncake_conversation_1000.jsonl";

#[test]
fn stats_of_the_bundled_fixture() {
    let out = servesim(&["trace", "stats", FIXTURE, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["requests"], 1000);
    assert_eq!(json["sessions"], 1000);
    assert_eq!(json["format"], "mooncake");
    assert_eq!(json["duration_s"], 330.0);
    let table = servesim(&["trace", "stats", FIXTURE]);
    assert!(table.status.success());
    assert!(
        stdout(&table).contains("requests            1000"),
        "{}",
        stdout(&table)
    );
}

/// Each kind of bad input gives exactly one `error:` line naming file, line and field.
#[test]
fn bad_traces_fail_with_one_clear_line() {
    let good = r#"{"timestamp": 0, "input_length": 10, "output_length": 2, "hash_ids": [1]}"#;
    let cases = [
        (
            "truncated",
            format!("{good}\n{{\"timestamp\": 5, \"input_length\": 3"),
            ":2: malformed JSON: line is truncated (EOF while parsing an object, column 34)",
        ),
        (
            "missing",
            format!("{good}\n{{\"timestamp\": 5, \"input_length\": 3, \"hash_ids\": [1]}}"),
            ":2: field `output_length`: is required but missing",
        ),
        (
            "negative",
            format!(
                "{good}\n{good}\n{{\"timestamp\": 5, \"input_length\": -3, \"output_length\": 2, \"hash_ids\": [1]}}"
            ),
            ":3: field `input_length`: must be a positive integer, got -3",
        ),
        (
            "timestamp",
            r#"{"timestamp": "noon", "output_length": 2, "hash_ids": [1]}"#.to_owned(),
            ":1: field `timestamp`: must be a finite number of milliseconds in [0, 4.612e15), got string \"noon\"",
        ),
        (
            "far_future",
            r#"{"timestamp": 1e20, "input_length": 10, "output_length": 2, "hash_ids": [1]}"#
                .to_owned(),
            ":1: field `timestamp`: must be a finite number of milliseconds in [0, 4.612e15), got 1e+20",
        ),
        (
            "empty",
            "\n\n".to_owned(),
            ": trace is empty: no request found",
        ),
    ];
    for (name, contents, expected) in cases {
        let path = scratch_file("bad_traces", &format!("{name}.jsonl"), &contents);
        let out = servesim(&["trace", "stats", path.to_str().unwrap()]);
        assert!(!out.status.success(), "{name}: should fail");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        let expected = format!("error: {}{expected}\n", path.display());
        assert_eq!(err, expected, "{name}");
    }
}

#[test]
fn skip_invalid_warns_and_counts() {
    let contents = "{\"timestamp\": 0, \"output_length\": 2, \"hash_ids\": [1]}\nnot json\n";
    let path = scratch_file("skip_invalid", "t.jsonl", contents);
    let out = servesim(&[
        "trace",
        "stats",
        path.to_str().unwrap(),
        "--skip-invalid",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("skipped 1 invalid line (first: line 2: malformed JSON"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_file_and_unknown_format_fail() {
    let out = servesim(&["trace", "stats", "no/such/file.jsonl"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).starts_with("error: no/such/file.jsonl: No such file"),
        "{}",
        stderr(&out)
    );
    let out = servesim(&["trace", "stats", FIXTURE, "--trace-format", "parquet"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown trace format `parquet`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn generated_sinusoid_reads_back() {
    let dir = scratch_dir("gen_sinusoid");
    let file = dir.join("sin.jsonl");
    let args = [
        "trace",
        "gen",
        "sinusoid",
        "--duration",
        "600",
        "--rate-min",
        "5",
        "--rate-max",
        "20",
        "--period",
        "150",
        "--isl1",
        "3000",
        "--osl1",
        "150",
        "-o",
        file.to_str().unwrap(),
    ];
    let out = servesim(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = dir.join("again.jsonl");
    let mut args2 = args.to_vec();
    let last = args2.len() - 1;
    args2[last] = again.to_str().unwrap();
    assert!(servesim(&args2).status.success());
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(&again).unwrap(),
        "same seed, same bytes"
    );
    let stats = servesim(&["trace", "stats", file.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&stats)).unwrap();
    let requests = json["requests"].as_u64().unwrap();
    assert!((7000..8000).contains(&requests), "{requests}");
    assert_eq!(json["input_tokens"]["max"], 3000);
    assert_eq!(json["output_tokens"]["p50"], 150);
}

#[test]
fn generated_sessions_are_delta_traces() {
    let dir = scratch_dir("gen_sessions");
    let file = dir.join("sessions.jsonl");
    let out = servesim(&[
        "trace",
        "gen",
        "sessions",
        "--sessions",
        "5",
        "--turns-per-session",
        "3",
        "--input-tokens",
        "100",
        "--output-tokens",
        "10",
        "--inter-turn-delay",
        "exp:200",
        "--block-size",
        "64",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("mooncake-delta"), "{}", stderr(&out));
    let stats = servesim(&[
        "trace",
        "stats",
        file.to_str().unwrap(),
        "--trace-format",
        "mooncake-delta",
        "--trace-block-size",
        "64",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&stats)).unwrap();
    assert_eq!(json["requests"], 15);
    assert_eq!(json["sessions"], 5);
    // Turn 3 holds 100 + 10 + 100 + 10 + 100 tokens.
    assert_eq!(json["input_tokens"]["max"], 320);
}

/// The agentic fixtures parse with exact counts; a malformed session row names its field.
#[test]
fn agentic_fixtures_parse_with_exact_counts() {
    let stats = |file: &str, format: &str| -> serde_json::Value {
        let out = servesim(&["trace", "stats", file, "--trace-format", format, "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let ac = stats(
        "fixtures/applied_compute_agentic.jsonl",
        "applied_compute_agentic",
    );
    // Six sessions of 2, 4, 4, … tool turns: Σ (num_turns + 1) requests.
    assert_eq!(
        (ac["requests"].as_u64(), ac["sessions"].as_u64()),
        (Some(21), Some(6))
    );
    let dag = stats("fixtures/agentic_mooncake.jsonl", "agentic_mooncake");
    assert_eq!(
        (dag["requests"].as_u64(), dag["sessions"].as_u64()),
        (Some(12), Some(3))
    );

    let weka = stats("fixtures/weka_agentic.jsonl", "weka");
    // Play a: 6 calls of the main agent and 2 of subagents; play b: 3 calls.
    assert_eq!(
        (weka["requests"].as_u64(), weka["sessions"].as_u64()),
        (Some(11), Some(2))
    );
    let out = servesim(&[
        "trace",
        "stats",
        "fixtures/weka_agentic.jsonl",
        "--trace-format",
        "weka",
        "--trace-block-size",
        "512",
    ]);
    assert!(
        stderr(&out).contains("declares block_size 64"),
        "{}",
        stderr(&out)
    );
    let bad_weka = scratch_file(
        "weka_bad",
        "w.jsonl",
        "{\"requests\": [{\"t\": 0, \"type\": \"subagent\", \"status\": \"completed\", \"requests\": [{\"t\": 0, \"in\": 64, \"out\": \"many\", \"hash_ids\": [1]}]}]}\n",
    );
    let out = servesim(&[
        "trace",
        "stats",
        bad_weka.to_str().unwrap(),
        "--trace-format",
        "weka",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "w.jsonl:1: field `out`: requests[0].requests[0]: must be a positive integer, got string \"many\""
        ),
        "{}",
        stderr(&out)
    );

    let bad = scratch_file(
        "agentic_bad",
        "ac.jsonl",
        "{\"num_turns\": 1, \"input_prompt_length\": 10, \"assistant_response_length\": [5], \"tool_call_output_length\": [1], \"tool_call_latency\": [\"soon\"], \"final_assistant_response_length\": 3}\n",
    );
    let out = servesim(&[
        "trace",
        "stats",
        bad.to_str().unwrap(),
        "--trace-format",
        "applied_compute_agentic",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "ac.jsonl:1: field `tool_call_latency`: element 0: must be a finite number of seconds ≥ 0, got string \"soon\""
        ),
        "{}",
        stderr(&out)
    );
}
