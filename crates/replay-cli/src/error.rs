//! The CLI's error type: one line per failure, naming what the user has to fix.

use servesim_replay::ReplayError;
use servesim_trace::TraceError;

/// Everything a `servesim` command can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Reading, generating or writing a workload failed.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The command line is inconsistent (one line naming the flag).
    #[error("{0}")]
    Usage(String),
    /// The replay failed.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// Writing an output file failed.
    #[error("{path}: {source}")]
    Output {
        /// The file being written.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}
