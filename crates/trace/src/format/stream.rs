//! Reading a trace chunk by chunk, so that a replay's memory does not grow with the trace.
//!
//! [`TraceStream`] reads a time-ordered Mooncake JSONL file a chunk of rows at a time and
//! hands out each chunk as a [`Workload`] whose ids continue the previous chunk's
//! ([`Workload::first_id`]). What a replay holds is then the chunks that still have a
//! request in flight, not the file. Every chunk is already prepared for an open-loop replay:
//! timestamps shifted so that the first row arrives at 0 (what
//! [`Workload::normalize_start`] does to a whole trace) and divided by the speed-up ratio.
//!
//! Two things a whole-file read allows cannot be streamed, and are refused on the line
//! that needs them: a row earlier than the row before it (a replay releases requests in
//! file order), and a later turn of a session (it depends on a request of an earlier chunk).
//!
//! ```
//! use servesim_trace::{ReadOptions, StreamOptions, TraceStream};
//! let text = "{\"timestamp\": 5, \"input_length\": 10, \"output_length\": 2, \"hash_ids\": [1]}\n\
//!             {\"timestamp\": 9, \"input_length\": 10, \"output_length\": 2, \"hash_ids\": [2]}\n\
//!             {\"timestamp\": 9, \"input_length\": 10, \"output_length\": 2, \"hash_ids\": [3]}";
//! let options = StreamOptions { chunk_rows: 2, speedup: 1.0 };
//! let stream = TraceStream::new(text.as_bytes(), "inline", &ReadOptions::default(), options)?;
//! let chunks: Vec<_> = stream.collect::<Result<_, _>>()?;
//! assert_eq!((chunks.len(), chunks[1].first_id().0), (2, 2));
//! assert_eq!(chunks[1].nodes()[0].timestamp.map(|t| t.as_millis_f64()), Some(4.0));
//! # Ok::<(), servesim_trace::TraceError>(())
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::lines::{LineReader, SkippedLines};
use super::mooncake::Reader;
use super::{ReadOptions, TraceFormat};
use crate::error::{LineError, TraceError};
use crate::time::SimTime;
use crate::workload::Workload;

/// How a trace is streamed.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct StreamOptions {
    /// Rows per chunk: the granularity at which memory is let go.
    pub chunk_rows: usize,
    /// Divide timestamps by this (`--arrival-speedup-ratio`).
    pub speedup: f64,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            chunk_rows: 16_384,
            speedup: 1.0,
        }
    }
}

/// A time-ordered trace read chunk by chunk (see the [module](self) docs); iterating
/// yields the chunks in order, or the first error.
pub struct TraceStream<R> {
    lines: LineReader<R>,
    reader: Reader,
    options: StreamOptions,
    /// The first row's timestamp: the time origin of the replay.
    origin: Option<SimTime>,
    /// The latest timestamp so far, with its line.
    latest: Option<(SimTime, u32)>,
    rows: u64,
    done: bool,
    /// An error was returned: the stream is over.
    failed: bool,
}

impl TraceStream<BufReader<File>> {
    /// Streams the trace file at `path`.
    pub fn open(
        path: &Path,
        read: &ReadOptions,
        options: StreamOptions,
    ) -> Result<Self, TraceError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| TraceError::Io {
            path: name.clone(),
            source,
        })?;
        TraceStream::new(
            BufReader::with_capacity(1 << 16, file),
            &name,
            read,
            options,
        )
    }
}

impl<R: BufRead> TraceStream<R> {
    /// Streams a trace from any buffered reader; `name` appears in error messages.
    pub fn new(
        input: R,
        name: &str,
        read: &ReadOptions,
        options: StreamOptions,
    ) -> Result<Self, TraceError> {
        if read.format != TraceFormat::Mooncake {
            return Err(TraceError::Spec(format!(
                "a streamed replay reads `mooncake` traces of independent requests, not `{}`; replay without --stream",
                read.format
            )));
        }
        if read.trace_block_size == 0 {
            return Err(TraceError::Spec("trace block size must be ≥ 1".to_owned()));
        }
        if options.chunk_rows == 0 {
            return Err(TraceError::Spec(
                "a stream chunk holds at least one row".to_owned(),
            ));
        }
        if !(options.speedup.is_finite() && options.speedup > 0.0) {
            return Err(TraceError::Spec(format!(
                "arrival speedup ratio must be finite and > 0, got {}",
                options.speedup
            )));
        }
        Ok(TraceStream {
            lines: LineReader::new(input, name, read.skip_invalid),
            reader: Reader::new(read.trace_block_size, false, true),
            options,
            origin: None,
            latest: None,
            rows: 0,
            done: false,
            failed: false,
        })
    }

    /// Lines skipped so far because they were invalid (only with `skip_invalid`).
    pub fn skipped(&self) -> &SkippedLines {
        &self.lines.skipped
    }

    /// Requests read so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn next_chunk(&mut self) -> Result<Option<Workload>, TraceError> {
        while !self.done {
            let reader = &mut self.reader;
            self.done = self
                .lines
                .for_lines(self.options.chunk_rows, |line, text| reader.row(line, text))?;
            let mut chunk = self.reader.take_chunk();
            if chunk.is_empty() {
                continue;
            }
            self.check_order(&chunk)?;
            self.rows += chunk.len() as u64;
            if let Some(origin) = self.origin {
                chunk.shift_back(origin);
            }
            chunk.speed_up(self.options.speedup)?;
            return Ok(Some(chunk));
        }
        if self.rows == 0 && !self.failed {
            let message = match self.lines.skipped.count {
                0 => "trace is empty: no request found".to_owned(),
                n => format!("no valid request ({n} invalid lines skipped)"),
            };
            return Err(TraceError::File {
                path: self.lines.name.clone(),
                message,
            });
        }
        Ok(None)
    }

    /// Every row has a timestamp no earlier than the row before it.
    fn check_order(&mut self, chunk: &Workload) -> Result<(), TraceError> {
        for node in chunk.nodes() {
            let line = u64::from(node.line);
            let Some(t) = node.timestamp else {
                return Err(TraceError::at_line(
                    &self.lines.name,
                    LineError::field(
                        line,
                        "timestamp",
                        "required for a streamed (open-loop) replay",
                    ),
                ));
            };
            if let Some((latest, at)) = self.latest
                && t < latest
            {
                return Err(TraceError::at_line(
                    &self.lines.name,
                    LineError::field(
                        line,
                        "timestamp",
                        format!(
                            "{} ms is earlier than line {at}'s {} ms: a streamed replay needs a time-ordered trace (sort it, or replay without --stream)",
                            t.as_millis_f64(),
                            latest.as_millis_f64()
                        ),
                    ),
                ));
            }
            self.latest = Some((t, node.line));
            self.origin.get_or_insert(t);
        }
        Ok(())
    }
}

impl<R: BufRead> Iterator for TraceStream<R> {
    type Item = Result<Workload, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_chunk() {
            Ok(chunk) => chunk.map(Ok),
            Err(e) => {
                self.done = true;
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(text: &str, chunk_rows: usize) -> Result<Vec<Workload>, TraceError> {
        let options = StreamOptions {
            chunk_rows,
            speedup: 2.0,
        };
        TraceStream::new(text.as_bytes(), "t.jsonl", &ReadOptions::default(), options)?.collect()
    }

    fn row(ts: u64, ids: &str) -> String {
        format!(
            "{{\"timestamp\": {ts}, \"input_length\": 600, \"output_length\": 3, \"hash_ids\": [{ids}]}}\n"
        )
    }

    #[test]
    fn chunks_continue_ids_and_match_the_whole_read() {
        let text: String = (0..7)
            .map(|i| row(100 + 10 * i, &format!("{i}, 99")))
            .collect();
        let chunks = stream(&text, 3).unwrap();
        assert_eq!(
            chunks
                .iter()
                .map(|c| (c.first_id().0, c.len()))
                .collect::<Vec<_>>(),
            [(0, 3), (3, 3), (6, 1)]
        );
        let mut whole = super::super::parse_trace(text.as_bytes(), "t", &ReadOptions::default())
            .unwrap()
            .workload;
        whole.normalize_start();
        whole.speed_up(2.0).unwrap();
        for chunk in &chunks {
            for (i, node) in chunk.nodes().iter().enumerate() {
                let id = crate::NodeId(chunk.first_id().0 + i as u32);
                let w = whole.node(id);
                let fields = |n: &crate::RequestNode| {
                    (
                        n.session,
                        n.turn,
                        n.timestamp,
                        n.input_tokens,
                        n.output_tokens,
                        n.line,
                    )
                };
                assert_eq!(fields(node), fields(w));
                assert_eq!(chunk.prompt_blocks(id, 64), whole.prompt_blocks(id, 64));
            }
        }
    }

    #[test]
    fn refuses_what_cannot_be_streamed() {
        let late = row(50, "1, 2") + &row(40, "3, 4");
        let err = stream(&late, 8).unwrap_err().to_string();
        assert!(
            err.contains("t.jsonl:2") && err.contains("time-ordered"),
            "{err}"
        );
        let session = "{\"session_id\": 1, \"timestamp\": 0, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": [1]}\n\
                       {\"session_id\": 1, \"timestamp\": 9, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": [2]}";
        let err = stream(session, 8).unwrap_err().to_string();
        assert!(err.contains(":2") && err.contains("session_id"), "{err}");
        assert!(stream("\n\n", 8).unwrap_err().to_string().contains("empty"));
        let azure = ReadOptions {
            format: TraceFormat::Azure,
            ..ReadOptions::default()
        };
        let refused = TraceStream::new(&b""[..], "a.csv", &azure, StreamOptions::default());
        assert!(refused.is_err());
    }
}
