//! Forward-pass metrics: what a live engine publishes after every pass, and what the
//! planner's regressions and load estimates read.

use serde::Serialize;
use servesim_perf::PrefillChunk;

/// Count, sum and population variance of a sample, mergeable in O(1).
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct Moments {
    /// Number of values.
    pub count: u64,
    /// Sum of values.
    pub sum: f64,
    /// Population variance.
    pub var: f64,
}

impl Moments {
    /// Moments from a count, a sum and a sum of squares.
    pub fn from_sums(count: u64, sum: f64, sum_sq: f64) -> Self {
        if count == 0 {
            return Moments::default();
        }
        let n = count as f64;
        let mean = sum / n;
        Moments {
            count,
            sum,
            var: (sum_sq / n - mean * mean).max(0.0),
        }
    }
}

/// Count, sum and sum of squares of queued lengths, updated as requests come and go.
#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct QueueSums {
    pub(crate) count: u64,
    pub(crate) sum: u64,
    sum_sq: f64,
}

impl QueueSums {
    pub(crate) fn add(&mut self, len: u32) {
        self.count += 1;
        self.sum += u64::from(len);
        self.sum_sq += f64::from(len) * f64::from(len);
    }

    pub(crate) fn remove(&mut self, len: u32) {
        self.count -= 1;
        self.sum -= u64::from(len);
        self.sum_sq -= f64::from(len) * f64::from(len);
    }

    pub(crate) fn moments(&self) -> Moments {
        Moments::from_sums(self.count, self.sum as f64, self.sum_sq)
    }
}

/// Moments of the prompt tokens a pass computes per request, and the KV context before them.
pub(crate) fn prefill_stats(chunks: &[PrefillChunk]) -> (Moments, u64) {
    let (mut sum, mut sum_sq, mut context) = (0u64, 0f64, 0u64);
    for c in chunks {
        sum += u64::from(c.new_tokens);
        sum_sq += f64::from(c.new_tokens) * f64::from(c.new_tokens);
        context += u64::from(c.context_tokens);
    }
    (
        Moments::from_sums(chunks.len() as u64, sum as f64, sum_sq),
        context,
    )
}

/// Metrics of one forward pass (the reference's `ForwardPassSnapshot`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct ForwardPassMetrics {
    /// Requests that computed prompt tokens in the pass.
    pub num_prefill_requests: u64,
    /// Prompt tokens computed in the pass.
    pub sum_prefill_tokens: u64,
    /// Population variance of the prompt tokens computed per request.
    pub var_prefill_length: f64,
    /// KV tokens already present before the chunks (cached prefix and earlier chunks).
    pub sum_prefill_kv_tokens: u64,
    /// Sequences that decoded in the pass.
    pub num_decode_requests: u64,
    /// Sum of the decoding sequences' KV lengths.
    pub sum_decode_kv_tokens: u64,
    /// Population variance of the decoding sequences' KV lengths.
    pub var_decode_kv_tokens: f64,
    /// Waiting requests that never started.
    pub num_queued_prefill: u64,
    /// Their prompt tokens.
    pub sum_queued_prefill_tokens: u64,
    /// Population variance of their prompt lengths.
    pub var_queued_prefill_tokens: f64,
    /// Waiting requests that were preempted (prompt + generated tokens to recompute).
    pub num_queued_decode: u64,
    /// Their tokens.
    pub sum_queued_decode_kv_tokens: u64,
    /// KV blocks held by sequences after the pass.
    pub kv_blocks_in_use: u64,
    /// KV capacity in blocks.
    pub kv_blocks_total: u64,
    /// Duration of the pass in seconds.
    pub wall_time_secs: f64,
}
