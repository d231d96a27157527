//! `servesim run --stream`: the report of a whole run, and one-line refusals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{scratch_dir, scratch_file, servesim, stderr};

const FIXTURE: &str = "fixtures/mooncake_conversation_1000.jsonl";

fn report(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_streamed_run_reports_what_a_whole_run_does() {
    let dir = scratch_dir("stream_same");
    let jsonl = dir.join("requests.jsonl");
    let mut reports = Vec::new();
    for (name, stream) in [("whole.json", false), ("stream.json", true)] {
        let path = dir.join(name);
        let mut args = vec![
            "run",
            FIXTURE,
            "--num-workers",
            "3",
            "--router-mode",
            "kv_router",
            "--arrival-speedup-ratio",
            "2",
            "--quiet",
            "--report-json",
            path.to_str().unwrap(),
        ];
        if stream {
            args.extend(["--stream", "--requests-jsonl", jsonl.to_str().unwrap()]);
        }
        let out = servesim(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        reports.push(report(&path));
    }
    assert_eq!(
        reports[1]["servesim"]["config"]["workload"]["streamed"],
        true
    );
    for r in &mut reports {
        let r = r.as_object_mut().unwrap();
        r.remove("wall_time_ms");
        r.remove("servesim");
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(
        std::fs::read_to_string(&jsonl).unwrap().lines().count(),
        1000
    );
}

#[test]
fn what_cannot_be_streamed_is_refused_in_one_line() {
    let late = scratch_file(
        "stream_late",
        "late.jsonl",
        "{\"timestamp\": 9, \"input_length\": 100, \"output_length\": 5, \"hash_ids\": [1]}\n\
         {\"timestamp\": 3, \"input_length\": 100, \"output_length\": 5, \"hash_ids\": [2]}\n",
    );
    let late = late.to_str().unwrap();
    let html = scratch_dir("stream_html").join("r.html");
    let cases: [(&[&str], &str); 5] = [
        (
            &["run", late, "--stream", "--quiet"],
            "late.jsonl:2: field `timestamp`",
        ),
        (&["run", "--stream", "--request-count", "5"], "synthetic"),
        (
            &[
                "run",
                FIXTURE,
                "--stream",
                "--report-html",
                html.to_str().unwrap(),
            ],
            "--report-html",
        ),
        (
            &["run", FIXTURE, "--stream", "--replay-concurrency", "4"],
            "closed-loop",
        ),
        (
            &[
                "run",
                FIXTURE,
                "--stream",
                "--trace-format",
                "mooncake-delta",
            ],
            "mooncake-delta",
        ),
    ];
    for (args, expected) in cases {
        let out = servesim(args);
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}
