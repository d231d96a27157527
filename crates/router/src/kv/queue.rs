//! Requests a KV router holds while every worker is busy, in its queue policy's order.

use std::collections::BTreeMap;

use servesim_engine::RequestId;
use servesim_trace::BlockHash;

/// A held request.
#[derive(Clone, Debug)]
pub(super) struct Queued {
    pub(super) id: RequestId,
    pub(super) input_tokens: u32,
    /// Router-block hashes of the prompt.
    pub(super) hashes: Vec<BlockHash>,
    /// Leading router blocks another request may share.
    pub(super) shared: usize,
}

/// Held requests ordered by `(key, arrival sequence)`: the smallest key leaves first, ties in
/// arrival order.
#[derive(Clone, Debug, Default)]
pub(super) struct RouterQueue {
    entries: BTreeMap<(u64, u64), Queued>,
    seq: u64,
}

impl RouterQueue {
    /// Holds `queued` under `key`.
    pub(super) fn push(&mut self, key: u64, queued: Queued) {
        self.seq += 1;
        self.entries.insert((key, self.seq), queued);
    }

    /// The next request to release.
    pub(super) fn pop(&mut self) -> Option<Queued> {
        self.entries.pop_first().map(|(_, queued)| queued)
    }

    /// Requests held.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
