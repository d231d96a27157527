//! The reports in a real browser: headless Chromium opens them with no JavaScript error,
//! draws every chart, and zooming one linked axis moves the others.
//!
//! Chromium is found as `$SERVESIM_CHROMIUM`, `chromium`, `chromium-browser` or
//! `google-chrome`. Without one the tests are skipped with a notice — unless
//! `SERVESIM_REQUIRE_BROWSER` is set, as CI does, in which case they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use servesim_engine::EngineArgs;
use servesim_planner::config::PlannerConfig;
use servesim_replay::plan_eval::{Score, summarize};
use servesim_replay::sweep::{SweepRow, SweepTable};
use servesim_replay::{
    AdmissionMode, NoObserver, PlanningConfig, ReplayConfig, ReplayOutcome, RouterMode, replay,
};
use servesim_report::{Page, ReplicaTimeline, RunInfo, run_page, scorecard_page, sweep_page};
use servesim_trace::{ReadOptions, read_trace};

/// Captures every error the page raises, before any of its scripts run.
const CAPTURE_ERRORS: &str = r#"<script>
window.__errors = [];
window.addEventListener("error", function (e) { __errors.push(String(e.message)); });
window.addEventListener("unhandledrejection", function (e) { __errors.push("unhandled rejection: " + e.reason); });
(function () {
  var original = console.error;
  console.error = function () { __errors.push(Array.prototype.join.call(arguments, " ")); original.apply(console, arguments); };
})();
</script>"#;

/// Once the report is drawn: counts charts and drawn plots, zooms the first chart of every
/// linked group to [A, B] and reads every chart's range, then resets it (double-click's
/// autorange) and checks the others reset too; writes the findings into the DOM.
const PROBE: &str = r#"<script>
(function () {
  function done(result) {
    var pre = document.createElement("pre");
    pre.id = "probe-result";
    pre.textContent = JSON.stringify(result);
    document.body.appendChild(pre);
  }
  function settle() { return new Promise(function (r) { setTimeout(r, 50); }); }
  function range(id) { var r = document.getElementById(id).layout.xaxis.range; return [r[0], r[1]]; }
  if (!window.servesimReport) { done({ errors: __errors.concat(["servesimReport missing"]) }); return; }
  servesimReport.ready.then(function (groups) {
    var charts = document.querySelectorAll(".chart");
    var drawn = Array.prototype.filter.call(charts, function (c) {
      return c.querySelector(".main-svg") !== null && c.querySelector(".cartesianlayer") !== null;
    }).length;
    var result = { errors: __errors, charts: charts.length, drawn: drawn, groups: {} };
    var names = Object.keys(groups);
    return names.reduce(function (chain, name) {
      var ids = groups[name];
      var zoom;
      return chain.then(function () {
        var full = range(ids[0]);
        zoom = [full[0] + (full[1] - full[0]) * 0.25, full[0] + (full[1] - full[0]) * 0.5];
        return Plotly.relayout(ids[0], { "xaxis.range": zoom });
      }).then(settle).then(function () {
        var zoomed = ids.map(range);
        return Plotly.relayout(ids[ids.length - 1], { "xaxis.autorange": true }).then(settle).then(function () {
          result.groups[name] = {
            charts: ids.length,
            zoom: zoom,
            zoomed: zoomed,
            reset: ids.map(function (id) { return document.getElementById(id).layout.xaxis.autorange === true; }),
          };
        });
      });
    }, Promise.resolve()).then(function () { done(result); });
  }).catch(function (e) { done({ errors: __errors.concat([String(e)]) }); });
})();
</script>"#;

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SERVESIM_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Opens `page` in headless Chromium and returns what the probe found; `None` when no
/// browser is installed and none is required.
fn probe(page: &Page, name: &str) -> Option<Value> {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("SERVESIM_REQUIRE_BROWSER").is_none(),
            "SERVESIM_REQUIRE_BROWSER is set but no Chromium was found (set SERVESIM_CHROMIUM)"
        );
        eprintln!("skipped: no Chromium found (install it or set SERVESIM_CHROMIUM)");
        return None;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let html = page
        .to_html()
        .replacen("<head>\n", &format!("<head>\n{CAPTURE_ERRORS}\n"), 1)
        .replacen("</body>", &format!("{PROBE}\n</body>"), 1);
    let file = dir.join("report.html");
    std::fs::write(&file, html).unwrap();
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=60000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("file://{}", file.display()))
        // The DOM (plotly.js included) is megabytes: a file, not a pipe nobody drains yet.
        .stdout(std::fs::File::create(dir.join("dom.html")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", browser.display()));
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("{} did not finish within 120 s", browser.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let dom = std::fs::read_to_string(dir.join("dom.html")).unwrap();
    let start = dom
        .find("<pre id=\"probe-result\">")
        .unwrap_or_else(|| panic!("the probe never reported; DOM starts: {:.300}", dom))
        + "<pre id=\"probe-result\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let text = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    Some(serde_json::from_str(&text).unwrap())
}

/// Every chart drawn, no error, and every linked group zooming and resetting together.
fn assert_drawn_and_linked(result: &Value, page: &Page, linked: &str) {
    assert_eq!(result["errors"], serde_json::json!([]), "{result}");
    let charts = page.charts().count() as u64;
    assert_eq!(result["charts"], charts, "{result}");
    assert_eq!(result["drawn"], charts, "every chart has a plot: {result}");
    let group = &result["groups"][linked];
    assert!(group["charts"].as_u64().unwrap() >= 2, "{result}");
    for zoomed in group["zoomed"].as_array().unwrap() {
        assert_eq!(zoomed, &group["zoom"], "zooming one chart moves the others");
    }
    for reset in group["reset"].as_array().unwrap() {
        assert_eq!(reset, true, "resetting one chart resets the others");
    }
}

fn planner_outcome() -> ReplayOutcome {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/mooncake_conversation_1000.jsonl");
    let workload = read_trace(&fixture, &ReadOptions::default())
        .unwrap()
        .workload;
    let planner = PlannerConfig::parse(
        r#"{"mode": "agg", "optimization_target": "sla", "ttft": 1500, "itl": 50,
            "enable_throughput_scaling": true, "enable_load_scaling": true,
            "throughput_adjustment_interval": 60, "load_adjustment_interval": 5}"#,
    )
    .unwrap()
    .validate()
    .unwrap()
    .config;
    let engine = EngineArgs::default().resolve().unwrap();
    let mut config =
        ReplayConfig::aggregated(2, engine, RouterMode::RoundRobin, AdmissionMode::Trace, 42);
    config.planning = Some(PlanningConfig {
        planner,
        prefill_gpus: 1,
        decode_gpus: 1,
        benchmark_granularity: 8,
        custom_policy: None,
    });
    replay(&workload, &config, &mut NoObserver).unwrap()
}

#[test]
fn planner_report_draws_every_chart_with_linked_time_axes() {
    let outcome = planner_outcome();
    let page = run_page(
        &outcome,
        &RunInfo {
            title: None,
            subtitle: "conversation fixture, SLA planner".into(),
        },
    );
    assert!(page.charts().count() >= 16, "planner charts present");
    if let Some(result) = probe(&page, "planner") {
        assert_drawn_and_linked(&result, &page, "time");
    }
}

#[test]
fn sweep_page_draws_every_metric_with_linked_parameter_axes() {
    let rows = (0..31)
        .map(|i| SweepRow {
            run: i,
            runs: 31,
            params: vec![("startup_time".into(), (i * 10).into())],
            metrics: vec![
                ("ttft_p90_ms".into(), 400.0 + (i * i) as f64),
                ("gpu_hours".into(), 2.0 + i as f64 * 0.01),
                ("sla_attainment".into(), 1.0 - i as f64 * 0.02),
            ],
            error: None,
        })
        .collect();
    let page = sweep_page(&SweepTable::new(rows), "cold-start sweep");
    if let Some(result) = probe(&page, "sweep") {
        assert_drawn_and_linked(&result, &page, "param:startup_time");
    }
}

#[test]
fn scorecard_page_draws_every_chart() {
    let score = |policy: &str, seed: u64, gpu_hours: f64, sla: f64| Score {
        policy: policy.into(),
        seed,
        requests: 1000,
        ttft_attainment: sla,
        itl_attainment: 1.0,
        sla_attainment: sla,
        gpu_hours,
        avg_gpus: gpu_hours * 6.0,
        goodput_per_gpu_hour: 1000.0 * sla / gpu_hours,
        scale_events: 4,
        sla_vs_ceiling: Some(sla),
        gpu_hours_vs_oracle: Some(gpu_hours / 0.25),
        goodput_vs_oracle: Some(sla * 0.25 / gpu_hours),
    };
    let scores: Vec<Score> = (1..=3)
        .flat_map(|seed| {
            [
                score("planner", seed, 0.27, 0.995),
                score("hpa", seed, 0.31, 0.9),
                score("oracle", seed, 0.25, 0.99),
            ]
        })
        .collect();
    let timelines = vec![
        ReplicaTimeline {
            policy: "planner".into(),
            points: vec![(0.0, 2.0), (35.0, 2.0), (35.0, 3.0), (600.0, 3.0)],
        },
        ReplicaTimeline {
            policy: "oracle".into(),
            points: vec![(0.0, 1.0), (30.0, 1.0), (30.0, 2.0), (600.0, 2.0)],
        },
    ];
    let page = scorecard_page(&scores, &summarize(&scores), &timelines, "scorecard");
    if let Some(result) = probe(&page, "scorecard") {
        assert_eq!(result["errors"], serde_json::json!([]), "{result}");
        assert_eq!(result["charts"], 3);
        assert_eq!(result["drawn"], 3);
    }
}
