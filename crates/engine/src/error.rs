//! Errors of the engine crate.

/// What can go wrong configuring or feeding an engine.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The engine-args JSON does not parse (bad syntax, wrong type, unknown key).
    #[error("{0}")]
    Json(String),
    /// A key has an invalid or unsupported value.
    #[error("field `{key}`: {message}")]
    Config {
        /// The offending key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A request can never be served by this engine.
    #[error("request {request}: {message}")]
    Unservable {
        /// The request.
        request: u64,
        /// Why (too large for the KV cache or the token budget).
        message: String,
    },
}

impl EngineError {
    /// A [`EngineError::Config`] for `key`.
    pub(crate) fn config(key: &'static str, message: impl Into<String>) -> EngineError {
        EngineError::Config {
            key,
            message: message.into(),
        }
    }
}
