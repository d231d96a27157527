//! Per-request summaries and inter-token gaps, without per-token records.
//!
//! A request is summarised by its arrival, first, second and last token times, lengths and
//! reused prompt tokens. Inter-token gaps arrive from the engines run-length encoded and are
//! kept as a histogram (`gap → count`), so exact ITL percentiles cost memory proportional to
//! the number of distinct gaps.
//!
//! With a warm-up phase (`--warmup-requests W`), requests `0..W` are recorded but not
//! measured: [`Collector::measured`] leaves them out, and the gap histogram and the time
//! origin of throughputs restart when the last of them completes.
//!
//! A streamed replay's collector ([`Collector::streaming`]) keeps only the records from the
//! oldest request not yet completed on: completed requests at the front are folded into a
//! [`MetricsAccumulator`], in id order as a whole replay's metrics fold them, and let go.

use std::collections::{BTreeMap, VecDeque};

use servesim_trace::SimTime;

use crate::metrics::{Metrics, MetricsAccumulator};
use crate::record::RequestRecord;

/// Collects request summaries and the inter-token-gap histogram.
#[derive(Debug, Default)]
pub struct Collector {
    records: Vec<RequestRecord>,
    /// Streaming: the records from the oldest open request on, and what came before.
    window: Option<Box<Window>>,
    gaps: BTreeMap<SimTime, u64>,
    /// Requests `0..warmup` are the warm-up phase.
    warmup: usize,
    /// When the measured phase began (the end of the warm-up phase).
    origin: SimTime,
}

/// The open end of a streamed replay's records.
#[derive(Debug, Default)]
struct Window {
    /// Id of `open[0]`.
    first: u64,
    open: VecDeque<RequestRecord>,
    folded: MetricsAccumulator,
}

impl Collector {
    /// A collector for a streamed replay: it keeps the records of requests in flight only
    /// (see the [module](self) docs); [`records`](Self::records) and
    /// [`measured`](Self::measured) are empty.
    pub fn streaming() -> Self {
        Collector {
            window: Some(Box::default()),
            ..Collector::default()
        }
    }

    /// Whether every request's record is kept (false for a streamed replay).
    pub fn keeps_records(&self) -> bool {
        self.window.is_none()
    }

    /// The metrics of every request.
    pub fn metrics(&self) -> Metrics {
        let (mut acc, unfolded) = match &self.window {
            Some(window) => (window.folded.clone(), window.open.as_slices()),
            None => (MetricsAccumulator::default(), (self.measured(), &[][..])),
        };
        for r in unfolded.0.iter().chain(unfolded.1) {
            acc.add(r, self.origin);
        }
        acc.finish(&self.gaps)
    }

    /// Streaming: folds the completed records at the front; the id of the oldest request
    /// still open (everything before it is let go). `None` when all records are kept.
    pub(crate) fn fold_completed(&mut self) -> Option<u64> {
        let window = self.window.as_mut()?;
        while let Some(r) = window.open.front().filter(|r| r.completed.is_some()) {
            window.folded.add(r, self.origin);
            window.open.pop_front();
            window.first += 1;
        }
        Some(window.first)
    }

    /// A collector for `n` requests, the first `warmup` of them a warm-up phase.
    pub fn new(n: usize, warmup: u32) -> Self {
        Collector {
            window: None,
            records: vec![RequestRecord::default(); n],
            gaps: BTreeMap::new(),
            warmup: (warmup as usize).min(n),
            origin: SimTime::ZERO,
        }
    }

    /// The warm-up phase ended at `at`: later gaps and throughputs are measured from there.
    pub(crate) fn begin_measurement(&mut self, at: SimTime) {
        self.gaps.clear();
        self.origin = at;
    }

    /// When the measured phase began (0 without a warm-up phase).
    pub fn origin(&self) -> SimTime {
        self.origin
    }

    /// The records of measured requests (all but the warm-up phase's), by id.
    pub fn measured(&self) -> &[RequestRecord] {
        &self.records[self.warmup..]
    }

    /// The record of request `id` (for a streamed replay, a request in flight).
    pub fn record(&self, id: u64) -> &RequestRecord {
        match &self.window {
            Some(w) => &w.open[(id - w.first) as usize],
            None => &self.records[id as usize],
        }
    }

    pub(crate) fn record_mut(&mut self, id: u64) -> &mut RequestRecord {
        match &mut self.window {
            Some(w) => {
                let at = (id - w.first) as usize;
                if at >= w.open.len() {
                    w.open.resize(at + 1, RequestRecord::default());
                }
                &mut w.open[at]
            }
            None => &mut self.records[id as usize],
        }
    }

    /// All records, by id.
    pub fn records(&self) -> &[RequestRecord] {
        &self.records
    }

    /// Adds `count` inter-token gaps of `gap`.
    pub(crate) fn add_gaps(&mut self, gap: SimTime, count: u64) {
        *self.gaps.entry(gap).or_default() += count;
    }

    /// The inter-token-gap histogram.
    pub fn gaps(&self) -> &BTreeMap<SimTime, u64> {
        &self.gaps
    }
}
