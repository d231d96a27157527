//! Errors of the replay harness.

use servesim_engine::EngineError;
use servesim_trace::{SimTime, TraceError};

/// Why a replay could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The configuration or topology is invalid (one line, naming the flag or key).
    #[error("{0}")]
    Config(String),
    /// The workload cannot be replayed this way (names the source line).
    #[error("line {line}: {message}")]
    Workload {
        /// Source line of the offending request.
        line: u32,
        /// What is wrong.
        message: String,
    },
    /// An engine can never serve a request.
    #[error("line {line}: {source}")]
    Unservable {
        /// Source line of the request.
        line: u32,
        /// The engine's explanation.
        #[source]
        source: EngineError,
    },
    /// A streamed trace could not be read further (names the file, line and field).
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// Requests are in flight but no event can ever happen again.
    #[error("simulation stuck at t={at}: {in_flight} requests in flight and no pending event")]
    DeadEnd {
        /// When the simulation got stuck.
        at: SimTime,
        /// Requests that can never finish.
        in_flight: usize,
    },
}
