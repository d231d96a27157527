//! Validation against measured serving benchmarks (`servesim validate`).
//!
//! A [`Table`] holds measured benchmarks, one per row: a deployment (model, GPU, engine,
//! parallelism, engine settings), the benchmark client's closed loop (lengths, concurrency,
//! requests, warm-up) and the measured mean TTFT, mean TPOT and throughputs per GPU. Each row
//! becomes a [`Case`] — the engine arguments and workload that reproduce it — whose
//! [`Case::run`] predicts what the client measured; [`Summary`] reports the errors per
//! metric, backend and GPU.
//!
//! ```
//! use servesim_replay::validate::{Outcome, RowResult, Summary, Table};
//!
//! let csv = "model,system,backend,tp,isl,osl,concurrency,num_prompts,mean_tpot_ms\n\
//!            meta-llama/Llama-3.1-8B,h100_sxm,vllm,1,1024,128,4,16,8.0\n";
//! let table = Table::parse(csv, "inline.csv")?;
//! let row = &table.rows[0];
//! let case = row.case()?.expect("a supported deployment");
//! let outcome = Outcome::of(row, case.run());
//! let summary = Summary::of(&[RowResult { measurement: row.clone(), outcome }]);
//! assert_eq!(summary.rows.compared, 1);
//! assert!(summary.mape("backend=vllm", "mean_tpot_ms").is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod case;
mod compare;
mod table;

pub use case::{Case, NotRun, Predicted};
pub use compare::{ErrorStats, Errors, METRICS, Outcome, RowCounts, RowResult, Summary};
pub use table::{COLUMNS, Measured, Measurement, RowError, RowPlace, Table};
