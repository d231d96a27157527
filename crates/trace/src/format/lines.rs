//! Reading a trace line by line: line numbers, blank lines, and the skip-invalid policy.

use std::io::BufRead;

use crate::error::{LineError, TraceError};

/// Lines dropped under [`ReadOptions::skip_invalid`](super::ReadOptions::skip_invalid).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SkippedLines {
    /// How many lines were skipped.
    pub count: u64,
    /// The first few errors, for the warning message.
    pub first: Vec<LineError>,
}

impl SkippedLines {
    /// How many skipped-line errors are kept for display.
    pub const KEPT: usize = 5;

    /// Adds the skipped lines of another file.
    pub(super) fn absorb(&mut self, other: SkippedLines) {
        self.count += other.count;
        let room = Self::KEPT.saturating_sub(self.first.len());
        self.first.extend(other.first.into_iter().take(room));
    }

    fn record(&mut self, error: LineError) {
        self.count += 1;
        if self.first.len() < Self::KEPT {
            self.first.push(error);
        }
    }
}

/// Reads non-blank lines with their 1-based numbers and applies the skip-invalid policy.
pub(super) struct LineReader<R> {
    reader: R,
    pub(super) name: String,
    skip_invalid: bool,
    pub(super) skipped: SkippedLines,
    line_no: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    pub(super) fn new(reader: R, name: &str, skip_invalid: bool) -> Self {
        LineReader {
            reader,
            name: name.to_owned(),
            skip_invalid,
            skipped: SkippedLines::default(),
            line_no: 0,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Calls `handle(line_no, text)` for every non-blank line. A handler error fails the read,
    /// or is counted and skipped under `skip_invalid`.
    pub(super) fn for_each(
        &mut self,
        handle: impl FnMut(u64, &str) -> Result<(), LineError>,
    ) -> Result<(), TraceError> {
        self.for_lines(usize::MAX, handle).map(|_| ())
    }

    /// As [`for_each`](Self::for_each), for at most `max` non-blank lines; returns whether
    /// the input ended.
    pub(super) fn for_lines(
        &mut self,
        max: usize,
        mut handle: impl FnMut(u64, &str) -> Result<(), LineError>,
    ) -> Result<bool, TraceError> {
        let mut seen = 0usize;
        loop {
            if seen == max {
                return Ok(false);
            }
            self.buf.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|source| TraceError::Io {
                    path: self.name.to_owned(),
                    source,
                })?;
            if read == 0 {
                return Ok(true);
            }
            self.line_no += 1;
            let result = match std::str::from_utf8(&self.buf) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => {
                    seen += 1;
                    handle(self.line_no, text.trim_end_matches(['\n', '\r']))
                }
                Err(_) => Err(LineError::line(self.line_no, "line is not valid UTF-8")),
            };
            if let Err(error) = result {
                self.reject(error)?;
            }
        }
    }

    /// Calls `handle(1, text)` once with the whole input (a document that may span lines,
    /// such as a pretty-printed JSON object), unless it is blank.
    pub(super) fn whole_document(
        &mut self,
        handle: impl FnOnce(u64, &str) -> Result<(), LineError>,
    ) -> Result<(), TraceError> {
        self.buf.clear();
        self.reader
            .read_to_end(&mut self.buf)
            .map_err(|source| TraceError::Io {
                path: self.name.to_owned(),
                source,
            })?;
        self.line_no = 1;
        let result = match std::str::from_utf8(&self.buf) {
            Ok(text) if text.trim().is_empty() => return Ok(()),
            Ok(text) => handle(1, text),
            Err(_) => Err(LineError::line(1, "file is not valid UTF-8")),
        };
        match result {
            Ok(()) => Ok(()),
            Err(error) => self.reject(error),
        }
    }

    /// Applies the skip-invalid policy to one error found after reading.
    pub(super) fn reject(&mut self, error: LineError) -> Result<(), TraceError> {
        if self.skip_invalid {
            self.skipped.record(error);
            Ok(())
        } else {
            Err(TraceError::at_line(&self.name, error))
        }
    }
}
