//! Self-contained HTML reports for servesim.
//!
//! A report is one HTML file that opens offline in any browser: plotly.js is embedded, the
//! figures are built with [plotly.rs](https://docs.rs/plotly), and charts over the same axis
//! (simulated time, or a swept parameter) zoom together.
//!
//! * [`run_page`] — the report of one replay: headline figures, TTFT / ITL / E2E
//!   distributions, traffic over time and, when a planner was in the loop, its diagnostics
//!   (the reference's twelve charts: replicas, request rate observed vs predicted, TTFT and
//!   ITL observed and estimated against the SLA, engine load with the KV capacity line,
//!   engine capacity, sequence lengths, load and throughput decisions) with a summary of
//!   ticks, replica transitions, GPU-hours and SLA attainment.
//! * [`sweep_page`] — every metric of a sweep against the swept parameter(s).
//! * [`scorecard_page`] — scaling policies against the hindsight oracle (`servesim plan-eval`).
//! * [`Page`], [`Chart`], [`Series`] — the building blocks, for custom reports.
//!
//! ```no_run
//! use servesim_replay::{replay, NoObserver, ReplayConfig};
//! # fn run(workload: &servesim_trace::Workload, config: &ReplayConfig) -> Result<(), Box<dyn std::error::Error>> {
//! let outcome = replay(workload, config, &mut NoObserver)?;
//! let info = servesim_report::RunInfo { title: None, subtitle: "my trace, 4 workers".into() };
//! std::fs::write("report.html", servesim_report::run_page(&outcome, &info).to_html())?;
//! # Ok(())
//! # }
//! ```

mod chart;
mod page;
mod planner;
mod run;
mod scorecard;
mod shape;
mod sweep;

pub use chart::{Chart, Series, Style, XAxis};
pub use page::{Page, Section};
pub use planner::replica_transitions;
pub use run::{RunInfo, run_page};
pub use scorecard::{ReplicaTimeline, scorecard_page};
pub use sweep::sweep_page;
