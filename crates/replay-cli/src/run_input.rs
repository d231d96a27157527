//! What `servesim run` replays: a workload in memory, or a trace streamed from disk
//! (`--stream`), whose memory follows the requests in flight instead of the file.

use std::path::{Path, PathBuf};

use servesim_replay::{Observer, ReplayConfig, ReplayError, ReplayOutcome, replay, replay_stream};
use servesim_trace::{ReadOptions, StreamOptions, StreamSharing, TraceStream, Workload};

use crate::error::CliError;
use crate::trace_cmd::warn_skipped;

/// The requests of a run.
pub(crate) enum RunInput {
    /// Read (or generated) whole.
    Whole(Workload),
    /// Read chunk by chunk while the replay runs.
    Stream {
        /// The trace file.
        path: PathBuf,
        /// How to read it.
        read: ReadOptions,
        /// Chunking and speed-up.
        options: StreamOptions,
    },
}

impl RunInput {
    /// The whole workload, for commands that need every request up front.
    pub(crate) fn whole(&self, command: &str) -> Result<&Workload, CliError> {
        match self {
            RunInput::Whole(workload) => Ok(workload),
            RunInput::Stream { .. } => Err(CliError::Usage(format!(
                "{command} needs the whole trace: drop --stream"
            ))),
        }
    }

    /// Requests known before the replay (`None` for a stream), for a progress bar.
    pub(crate) fn len(&self) -> Option<usize> {
        match self {
            RunInput::Whole(workload) => Some(workload.len()),
            RunInput::Stream { .. } => None,
        }
    }

    /// Replays the requests under `config`. A stream is read three times: the range and
    /// the counts of its trace ids (which blocks can be shared), then the replay; its
    /// skipped lines are warned about.
    pub(crate) fn replay(
        &self,
        config: &ReplayConfig,
        observer: &mut dyn Observer,
    ) -> Result<ReplayOutcome, ReplayError> {
        match self {
            RunInput::Whole(workload) => replay(workload, config, observer),
            RunInput::Stream {
                path,
                read,
                options,
            } => {
                let sharing = StreamSharing::count(|| TraceStream::open(path, read, *options))?;
                let mut stream = TraceStream::open(path, read, *options)?;
                let outcome = replay_stream(&mut stream, Some(&sharing), config, observer)?;
                warn_skipped(path, stream.skipped());
                Ok(outcome)
            }
        }
    }
}

/// Why `--stream` cannot be used with the other flags given, if it cannot.
pub(crate) fn stream_conflict(
    trace: Option<&Path>,
    html: bool,
    closed_loop: bool,
    planner: bool,
) -> Option<String> {
    let why = if trace.is_none() {
        "streams a trace file; a synthetic load is generated whole"
    } else if html {
        "keeps no per-request records, which the HTML report draws (drop --report-html)"
    } else if closed_loop {
        "is open-loop: closed-loop admission (--replay-concurrency) needs the whole trace"
    } else if planner {
        "cannot put a planner in the loop: its summary judges every request"
    } else {
        return None;
    };
    Some(format!("--stream {why}"))
}
