//! Errors from loading timing models.

/// Why a timing model could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PerfError {
    /// A profile file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A profile file is malformed or inconsistent.
    #[error("{path}: {message}")]
    Profile {
        /// The file (or `inline`).
        path: String,
        /// What is wrong, naming the field or line.
        message: String,
    },
}
