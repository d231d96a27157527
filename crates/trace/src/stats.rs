//! Descriptive statistics of a workload (`servesim trace stats`).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::hash::combine;
use crate::workload::{NodeId, Workload};

/// Index of the `p`-th percentile in a sorted sample of `n` values, by the nearest-rank rule
/// the reference uses: `round((n − 1) · p / 100)`.
///
/// ```
/// assert_eq!(servesim_trace::stats::nearest_rank_index(101, 90.0), 90);
/// assert_eq!(servesim_trace::stats::nearest_rank_index(4, 50.0), 2);
/// ```
pub fn nearest_rank_index(n: usize, p: f64) -> usize {
    if n == 0 {
        return 0;
    }
    (((n - 1) as f64 * p / 100.0).round() as usize).min(n - 1)
}

/// Mean and upper percentiles of a token-length sample.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LengthSummary {
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub p50: u32,
    /// 90th percentile.
    pub p90: u32,
    /// 99th percentile.
    pub p99: u32,
    /// Largest value.
    pub max: u32,
}

impl LengthSummary {
    fn of(mut values: Vec<u32>) -> Self {
        values.sort_unstable();
        let n = values.len();
        let at = |p| values.get(nearest_rank_index(n, p)).copied().unwrap_or(0);
        let sum: u64 = values.iter().map(|&v| u64::from(v)).sum();
        LengthSummary {
            mean: if n == 0 { 0.0 } else { sum as f64 / n as f64 },
            p50: at(50.0),
            p90: at(90.0),
            p99: at(99.0),
            max: values.last().copied().unwrap_or(0),
        }
    }
}

/// What `servesim trace stats` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceStats {
    /// Number of requests.
    pub requests: usize,
    /// Number of sessions (single-turn requests count as one each).
    pub sessions: u32,
    /// Span of nominal arrivals in seconds (dependent turns: dependency arrival + delay,
    /// ignoring service time, which only a simulation knows).
    pub duration_s: f64,
    /// `requests / duration_s`; `None` when every request arrives at the same instant.
    pub mean_arrival_rate_rps: Option<f64>,
    /// Prompt lengths.
    pub input_tokens: LengthSummary,
    /// Output lengths.
    pub output_tokens: LengthSummary,
    /// Sum of prompt lengths.
    pub total_input_tokens: u64,
    /// Sum of output lengths.
    pub total_output_tokens: u64,
    /// Distinct trace `hash_ids`.
    pub unique_blocks: usize,
    /// Tokens per trace `hash_id`.
    pub trace_block_size: u32,
    /// Share of prompt tokens that are a prefix of an earlier request's prompt: what an
    /// infinite, token-granular prefix cache could reuse. No engine can reuse more.
    pub prefix_reuse_upper_bound: f64,
}

impl TraceStats {
    /// Computes the statistics in one pass over the workload (plus sorting).
    pub fn of(workload: &Workload) -> TraceStats {
        let arrivals = workload.nominal_arrivals();
        let first = arrivals.iter().min().copied().unwrap_or_default();
        let last = arrivals.iter().max().copied().unwrap_or_default();
        let duration_s = last.saturating_sub(first).as_secs_f64();
        let nodes = workload.nodes();
        let unique_blocks = (0..nodes.len())
            .flat_map(|i| workload.own_hash_ids(NodeId(i as u32)).iter().copied())
            .collect::<HashSet<u64>>()
            .len();
        TraceStats {
            requests: nodes.len(),
            sessions: workload.num_sessions(),
            duration_s,
            mean_arrival_rate_rps: (duration_s > 0.0).then(|| nodes.len() as f64 / duration_s),
            input_tokens: LengthSummary::of(nodes.iter().map(|n| n.input_tokens).collect()),
            output_tokens: LengthSummary::of(nodes.iter().map(|n| n.output_tokens).collect()),
            total_input_tokens: nodes.iter().map(|n| u64::from(n.input_tokens)).sum(),
            total_output_tokens: nodes.iter().map(|n| u64::from(n.output_tokens)).sum(),
            unique_blocks,
            trace_block_size: workload.trace_block_size(),
            prefix_reuse_upper_bound: prefix_reuse_upper_bound(workload, &arrivals),
        }
    }
}

/// Token-level longest-common-prefix of each prompt against all earlier prompts, summed.
///
/// Prompts are walked as runs; a run is keyed by everything before it, and the table keeps
/// the longest length seen for that (key, content), so a truncated trace block still matches
/// the part it shares.
fn prefix_reuse_upper_bound(workload: &Workload, arrivals: &[crate::time::SimTime]) -> f64 {
    let mut order: Vec<usize> = (0..workload.len()).collect();
    order.sort_by_key(|&i| (arrivals[i], i));
    let mut longest: HashMap<(u64, u64), u64> = HashMap::new();
    let (mut reused, mut total) = (0u64, 0u64);
    for i in order {
        let mut key = 0u64;
        let mut matching = true;
        workload.for_each_run(NodeId(i as u32), |content, len| {
            let seen = longest.entry((key, content)).or_insert(0);
            if matching {
                reused += len.min(*seen);
                matching = *seen >= len;
            }
            *seen = (*seen).max(len);
            key = combine(combine(key, content), len);
        });
        total += u64::from(workload.nodes()[i].input_tokens);
    }
    if total == 0 {
        0.0
    } else {
        reused as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{ReadOptions, TraceFormat, parse_trace};

    #[test]
    fn stats_of_a_small_trace() {
        let text = r#"{"timestamp": 0, "input_length": 8, "output_length": 2, "hash_ids": [1, 2]}
{"timestamp": 1000, "input_length": 6, "output_length": 4, "hash_ids": [1, 2]}
{"timestamp": 2000, "input_length": 8, "output_length": 6, "hash_ids": [1, 3]}
{"timestamp": 4000, "input_length": 4, "output_length": 8, "hash_ids": [9]}"#;
        let options = ReadOptions {
            format: TraceFormat::Mooncake,
            trace_block_size: 4,
            skip_invalid: false,
        };
        let w = parse_trace(text.as_bytes(), "t", &options)
            .unwrap()
            .workload;
        let s = TraceStats::of(&w);
        assert_eq!(s.requests, 4);
        assert_eq!(s.duration_s, 4.0);
        assert_eq!(s.mean_arrival_rate_rps, Some(1.0));
        assert_eq!(
            s.input_tokens,
            LengthSummary {
                mean: 6.5,
                p50: 8,
                p90: 8,
                p99: 8,
                max: 8
            }
        );
        assert_eq!(s.output_tokens.p50, 6);
        assert_eq!(s.unique_blocks, 4);
        // Request 2 reuses 6 tokens (all of its prompt), request 3 reuses block 1 (4 tokens).
        assert_eq!(s.prefix_reuse_upper_bound, 10.0 / 26.0);
    }
}
