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
    /// A model name is neither built in nor a readable `config.json`.
    #[error(
        "unknown model `{name}`; built-in models: {choices} (or give the path of a Hugging Face config.json)"
    )]
    UnknownModel {
        /// The name as given.
        name: String,
        /// The built-in models, comma-separated.
        choices: String,
    },
    /// A model's `config.json` is malformed or describes an unsupported model.
    #[error("{path}: {message}")]
    ModelConfig {
        /// The file (or `built-in NAME`).
        path: String,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A GPU system name is not built in.
    #[error("unknown system `{name}`; built-in systems: {choices}")]
    UnknownSystem {
        /// The name as given.
        name: String,
        /// The built-in systems, comma-separated.
        choices: String,
    },
    /// A backend name is not one of vllm, sglang, trtllm.
    #[error("unknown backend `{name}`; backends: vllm, sglang, trtllm")]
    UnknownBackend {
        /// The name as given.
        name: String,
    },
    /// The parallel layout does not fit the model (e.g. TP that does not divide the heads).
    #[error("{0}")]
    Parallelism(String),
    /// The model does not fit in the GPUs' memory.
    #[error("{0}")]
    Memory(String),
    /// AIConfigurator's database is missing, malformed, or lacks the data a query needs.
    #[error("{path}: {message}")]
    Database {
        /// The file or folder.
        path: String,
        /// What is wrong.
        message: String,
    },
}
