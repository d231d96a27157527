//! What a pass (or a fast-forwarded run of decode steps) tells the outside world.
//!
//! Effects take place at the time stamped on them — the end of the pass that produced them —
//! while the engine has already moved its own state there. Token timing is reported without
//! per-token records: per-request milestones as [`Signal`]s, and every inter-token gap as a
//! run-length [`TokenRun`], so that exact ITL percentiles need memory proportional to the
//! number of *distinct* gaps, not to the number of tokens.

use servesim_trace::SimTime;

use crate::fpm::ForwardPassMetrics;
use crate::kv::KvEvent;
use crate::request::RequestId;

/// A per-request milestone.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    /// The request.
    pub request: RequestId,
    /// When it happened (end of the producing pass).
    pub at: SimTime,
    /// What happened.
    pub kind: SignalKind,
}

/// The milestones the engine reports.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SignalKind {
    /// The request produced its first output token.
    FirstToken,
    /// The request produced its second output token.
    SecondToken,
    /// The request generated its last token and left the engine.
    Completed {
        /// Prompt tokens served from the prefix cache at the request's first admission.
        reused_tokens: u32,
        /// Times the request was preempted.
        preemptions: u32,
    },
    /// (Prefill workers) the prompt is in KV; the request leaves this worker.
    PrefillDone {
        /// Prompt tokens served from the prefix cache.
        reused_tokens: u32,
    },
    /// The request lost its KV and went back to the waiting queue.
    Preempted,
}

/// `count` inter-token gaps of `gap` each.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TokenRun {
    /// The gap between two consecutive tokens of one request.
    pub gap: SimTime,
    /// How many such gaps.
    pub count: u64,
}

/// Output tokens and the bursts that carried them: every pass that emits tokens for a
/// request is one burst of that request (the pass completing its prompt emits a burst of
/// one; a decode step a burst of one plus the drafts accepted by speculative decoding).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenTally {
    /// Output tokens emitted.
    pub tokens: u64,
    /// Bursts that emitted them.
    pub bursts: u64,
}

impl TokenTally {
    /// Records `bursts` bursts carrying `tokens` tokens in all.
    pub fn add(&mut self, tokens: u64, bursts: u64) {
        self.tokens += tokens;
        self.bursts += bursts;
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: TokenTally) {
        self.add(other.tokens, other.bursts);
    }

    /// Mean tokens per burst — speculative decoding's *accept length* (1 without it; e.g.
    /// `64 / 22` for 64 tokens of which 63 came in bursts of 3); `None` before any burst.
    pub fn mean_accept_length(&self) -> Option<f64> {
        (self.bursts > 0).then(|| self.tokens as f64 / self.bursts as f64)
    }
}

/// Everything produced by one call to the engine.
#[derive(Clone, Debug, Default)]
pub struct PassOutput {
    /// Per-request milestones, in the order they happened.
    pub signals: Vec<Signal>,
    /// Inter-token gaps, consecutive equal gaps merged.
    pub token_runs: Vec<TokenRun>,
    /// KV events (only when recording is on), each stamped with the start of the pass that
    /// produced it — when a prefix-aware router should see it.
    pub kv_events: Vec<(SimTime, KvEvent)>,
    /// Metrics of the last pass executed.
    pub fpm: ForwardPassMetrics,
    /// Passes executed by the call.
    pub passes: u64,
    /// Output tokens emitted by the call's passes, and in how many bursts.
    pub emitted: TokenTally,
}

impl PassOutput {
    /// Empties the buffers for reuse.
    pub fn clear(&mut self) {
        self.signals.clear();
        self.token_runs.clear();
        self.kv_events.clear();
        self.passes = 0;
        self.emitted = TokenTally::default();
    }

    /// Records `count` gaps of `gap`, merging with the previous run when equal.
    pub fn push_gaps(&mut self, gap: SimTime, count: u64) {
        if count == 0 {
            return;
        }
        match self.token_runs.last_mut() {
            Some(run) if run.gap == gap => run.count += count,
            _ => self.token_runs.push(TokenRun { gap, count }),
        }
    }
}
