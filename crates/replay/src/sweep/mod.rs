//! Parameter sweeps: the grid of runs, shards of it, and the table of results.
//!
//! A sweep crosses parameters ([`ParamSpec`]: `startup_time=0:300:10`,
//! `num_workers=1,2,4,8`) into a [`Grid`] of runs; a [`Shard`] takes a disjoint slice of it
//! so a large grid can be spread over a batch system; every run becomes a [`SweepRow`] of
//! parameters and [`headline_metrics`], and [`SweepTable::merge`] puts shards back together.
//! What a parameter *means* (a CLI flag, an engine or planner key) is the caller's business.
//!
//! ```
//! use servesim_replay::sweep::{Grid, ParamSpec, Shard};
//!
//! let grid = Grid::new(vec![
//!     ParamSpec::parse("startup_time=0:300:10")?,
//!     ParamSpec::parse("num_workers=2,4")?,
//! ])?;
//! assert_eq!(grid.runs(), 62);
//! assert_eq!(grid.point(1)[1].1, 4);
//! let shard: Shard = "0/2".parse()?;
//! assert_eq!(shard.runs(grid.runs()).count(), 31);
//! # Ok::<(), servesim_replay::sweep::SweepError>(())
//! ```

mod error;
mod grid;
mod shard;
mod table;

pub use error::SweepError;
pub use grid::{Grid, MAX_RUNS, ParamSpec};
pub use shard::Shard;
pub use table::{SweepRow, SweepTable, headline_metrics};
