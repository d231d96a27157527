//! Per-request summaries and inter-token gaps, without per-token records.
//!
//! A request is summarised by its arrival, first, second and last token times, lengths and
//! reused prompt tokens. Inter-token gaps arrive from the engines run-length encoded and are
//! kept as a histogram (`gap → count`), so exact ITL percentiles cost memory proportional to
//! the number of distinct gaps.

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
}

impl Collector {
    /// A collector for `n` requests.
    pub fn new(n: usize) -> Self {
        Collector {
            records: vec![RequestRecord::default(); n],
            gaps: BTreeMap::new(),
        }
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
