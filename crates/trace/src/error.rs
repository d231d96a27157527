//! Errors of the workload crate.
//!
//! Every error a user can cause names the file, and where it applies the 1-based line and
//! the field, so a bad trace is fixed in one go: `trace.jsonl:17: field `input_length`:
//! must be a positive integer, got -5`.

use std::fmt;

/// A problem with one line of a trace file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file (for CSV: counting the header).
    pub line: u64,
    /// The offending field, when one field is to blame.
    pub field: Option<&'static str>,
    /// What is wrong, in words.
    pub message: String,
}

impl LineError {
    /// An error about a whole line (e.g. malformed JSON).
    pub fn line(line: u64, message: impl Into<String>) -> Self {
        LineError {
            line,
            field: None,
            message: message.into(),
        }
    }

    /// An error about one field of a line.
    pub fn field(line: u64, field: &'static str, message: impl Into<String>) -> Self {
        LineError {
            line,
            field: Some(field),
            message: message.into(),
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "{}: field `{}`: {}", self.line, field, self.message),
            None => write!(f, "{}: {}", self.line, self.message),
        }
    }
}

/// Everything that can go wrong while reading, generating or transforming a workload.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// One line of the file is invalid.
    #[error("{path}:{error}")]
    Line {
        /// The file.
        path: String,
        /// Line, field and message.
        error: LineError,
    },
    /// The file as a whole is unusable (e.g. it holds no request).
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A generator or transform was given impossible parameters.
    #[error("invalid workload parameters: {0}")]
    Spec(String),
}

impl TraceError {
    /// Attaches a path to a line error.
    pub fn at_line(path: &str, error: LineError) -> Self {
        TraceError::Line {
            path: path.to_owned(),
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_errors_name_file_line_and_field() {
        let err = TraceError::at_line(
            "t.jsonl",
            LineError::field(17, "input_length", "must be a positive integer, got -5"),
        );
        assert_eq!(
            err.to_string(),
            "t.jsonl:17: field `input_length`: must be a positive integer, got -5"
        );
        let err = TraceError::at_line("t.jsonl", LineError::line(3, "malformed JSON"));
        assert_eq!(err.to_string(), "t.jsonl:3: malformed JSON");
    }
}
