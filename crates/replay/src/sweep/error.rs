//! [`SweepError`]: why a sweep cannot be set up or merged.

/// Why a sweep cannot be set up or merged.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A `--param` specification is malformed.
    #[error("--param {spec}: {message}")]
    Param {
        /// The specification as given.
        spec: String,
        /// What is wrong with it.
        message: String,
    },
    /// The grid as a whole is invalid.
    #[error("{0}")]
    Grid(String),
    /// A `--shard` value is malformed.
    #[error("--shard {0}")]
    Shard(String),
    /// A stored row cannot be read.
    #[error("{source_name}:{line}: {message}")]
    Row {
        /// File the row came from.
        source_name: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Shards do not fit together.
    #[error("{0}")]
    Merge(String),
}
