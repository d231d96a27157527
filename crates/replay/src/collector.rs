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

use std::collections::BTreeMap;

use serde::Serialize;
use servesim_trace::SimTime;

/// What is known about one request.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// Request id (the workload node index).
    pub id: u64,
    /// Arrival: scheduled time (trace mode) or dispatch time (concurrency mode).
    pub arrival: SimTime,
    /// First output token.
    pub first_token: Option<SimTime>,
    /// Second output token.
    pub second_token: Option<SimTime>,
    /// Last output token (completion).
    pub completed: Option<SimTime>,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
    /// Prompt tokens served from the prefix cache.
    pub reused_tokens: u32,
    /// Times the request was preempted.
    pub preemptions: u32,
    /// Worker that served the request (the decode worker in disaggregated serving).
    pub worker: u32,
}

/// Collects request summaries and the inter-token-gap histogram.
#[derive(Debug, Default)]
pub struct Collector {
    records: Vec<RequestRecord>,
    gaps: BTreeMap<SimTime, u64>,
    /// Requests `0..warmup` are the warm-up phase.
    warmup: usize,
    /// When the measured phase began (the end of the warm-up phase).
    origin: SimTime,
}

impl Collector {
    /// A collector for `n` requests, the first `warmup` of them a warm-up phase.
    pub fn new(n: usize, warmup: u32) -> Self {
        Collector {
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

    /// The record of request `id`.
    pub fn record(&self, id: u64) -> &RequestRecord {
        &self.records[id as usize]
    }

    pub(crate) fn record_mut(&mut self, id: u64) -> &mut RequestRecord {
        &mut self.records[id as usize]
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
