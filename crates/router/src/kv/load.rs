//! A worker's pending prefill load, with the reference's optional decay of the oldest
//! prompt: `ceil(tokens · max(0, 1 − elapsed / expected))`, where `elapsed` counts from the
//! moment the prompt became the oldest.

use std::collections::VecDeque;

use servesim_engine::RequestId;
use servesim_trace::SimTime;

#[derive(Clone, Debug)]
struct Pending {
    request: RequestId,
    tokens: u64,
    expected: Option<SimTime>,
}

/// Prompts routed to a worker whose first token has not come yet, oldest first.
#[derive(Clone, Debug, Default)]
pub(crate) struct PrefillLoad {
    pending: VecDeque<Pending>,
    total: u64,
    oldest_since: SimTime,
}

impl PrefillLoad {
    /// Adds a prompt of `tokens` uncached tokens, expected to take `expected` to prefill
    /// (`None`: no decay).
    pub(crate) fn push(
        &mut self,
        request: RequestId,
        tokens: u64,
        expected: Option<SimTime>,
        now: SimTime,
    ) {
        if self.pending.is_empty() {
            self.oldest_since = now;
        }
        self.pending.push_back(Pending {
            request,
            tokens,
            expected,
        });
        self.total += tokens;
    }

    /// Removes a prompt (its prefill completed, or the request left).
    pub(crate) fn remove(&mut self, request: RequestId, now: SimTime) {
        if let Some(pos) = self.pending.iter().position(|p| p.request == request) {
            if let Some(p) = self.pending.remove(pos) {
                self.total -= p.tokens;
            }
            if pos == 0 {
                self.oldest_since = now;
            }
        }
    }

    /// Pending prefill tokens at `now`.
    pub(crate) fn tokens(&self, now: SimTime) -> u64 {
        let Some(oldest) = self.pending.front() else {
            return 0;
        };
        let Some(expected) = oldest.expected.filter(|e| *e > SimTime::ZERO) else {
            return self.total;
        };
        let elapsed = now.saturating_sub(self.oldest_since).as_micros() as f64;
        let left = (1.0 - elapsed / expected.as_micros() as f64).max(0.0);
        let decayed = (oldest.tokens as f64 * left).ceil() as u64;
        self.total - oldest.tokens + decayed.min(oldest.tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_prompt_decays_linearly() {
        let mut load = PrefillLoad::default();
        let t = SimTime::from_millis;
        load.push(RequestId(1), 1000, Some(t(100)), t(0));
        load.push(RequestId(2), 500, Some(t(50)), t(10));
        assert_eq!(load.tokens(t(0)), 1500);
        assert_eq!(load.tokens(t(25)), 750 + 500);
        assert_eq!(load.tokens(t(200)), 500);
        // The second prompt becomes the oldest when the first completes, and decays from then.
        load.remove(RequestId(1), t(60));
        assert_eq!(load.tokens(t(60)), 500);
        assert_eq!(load.tokens(t(85)), 250);
        load.remove(RequestId(2), t(90));
        assert_eq!(load.tokens(t(90)), 0);
    }

    #[test]
    fn without_expectation_prompts_count_in_full() {
        let mut load = PrefillLoad::default();
        load.push(RequestId(1), 100, None, SimTime::ZERO);
        assert_eq!(load.tokens(SimTime::from_secs(100)), 100);
    }
}
