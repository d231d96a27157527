//! The KV events a cache reports to a prefix-aware router.

use std::num::NonZeroU32;
use std::ops::Range;

use servesim_trace::{BlockHash, SimTime};

/// A change of the set of registered blocks, as seen by a prefix-aware router.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KvEvent {
    /// A block became registered (cached) on this worker.
    Stored {
        /// The block.
        hash: BlockHash,
        /// The block before it in its sequence (`None` for a first block).
        parent: Option<BlockHash>,
    },
    /// A block was evicted from this worker.
    Removed {
        /// The block.
        hash: BlockHash,
    },
    /// `count` private blocks were stored: no other request can ever match them, so a router
    /// counts them without indexing them.
    StoredPrivate {
        /// Blocks stored.
        count: u32,
    },
    /// `count` private blocks were evicted.
    RemovedPrivate {
        /// Blocks evicted.
        count: u32,
    },
}

/// The KV events a cache records while a prefix-aware router listens (off by default).
///
/// A router may index blocks coarser than the engine's: at a **stride** of `n` only the
/// blocks at 1-based positions `n, 2n, …` of their sequence are reported, each with the
/// reported block `n` positions earlier as its parent. Block hashes are chained, so the
/// `n`-th block's hash names its whole prefix, and the router sees exactly the blocks of
/// `n × block_size` tokens it would have seen from an engine with that block size. This is
/// what keeps a router affordable over one-token SGLang pages.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventLog(Option<Recording>);

#[derive(Clone, Debug)]
struct Recording {
    events: Vec<KvEvent>,
    stride: usize,
}

impl Recording {
    fn reports(&self, position: usize) -> bool {
        (position + 1).is_multiple_of(self.stride)
    }
}

impl EventLog {
    /// Starts recording every `stride`-th block (empty), or stops with `None`.
    pub(crate) fn record(&mut self, stride: Option<NonZeroU32>) {
        self.0 = stride.map(|n| Recording {
            events: Vec::new(),
            stride: n.get() as usize,
        });
    }

    /// Block `position` (0-based) of `sequence` was stored.
    pub(crate) fn stored(&mut self, sequence: &[BlockHash], position: usize) {
        if let Some(log) = &mut self.0
            && log.reports(position)
        {
            let parent = position.checked_sub(log.stride).map(|p| sequence[p]);
            log.events.push(KvEvent::Stored {
                hash: sequence[position],
                parent,
            });
        }
    }

    /// Block `hash`, at `position` (0-based) of its sequence, was evicted.
    pub(crate) fn removed(&mut self, hash: BlockHash, position: usize) {
        if let Some(log) = &mut self.0
            && log.reports(position)
        {
            log.events.push(KvEvent::Removed { hash });
        }
    }

    /// The private blocks at `positions` (0-based) of their sequence were stored (`true`) or
    /// evicted (`false`); consecutive private events of one kind merge into one count.
    pub(crate) fn private_range(&mut self, stored: bool, positions: Range<usize>) {
        if let Some(log) = &mut self.0 {
            // Reported positions p have (p + 1) a multiple of the stride.
            let reported = positions.end / log.stride - positions.start / log.stride;
            let Ok(reported @ 1..) = u32::try_from(reported) else {
                return;
            };
            match (log.events.last_mut(), stored) {
                (Some(KvEvent::StoredPrivate { count }), true)
                | (Some(KvEvent::RemovedPrivate { count }), false) => *count += reported,
                (_, true) => log.events.push(KvEvent::StoredPrivate { count: reported }),
                (_, false) => log.events.push(KvEvent::RemovedPrivate { count: reported }),
            }
        }
    }

    /// Moves the recorded events to `out`, stamped with `at`.
    pub(crate) fn drain(&mut self, at: SimTime, out: &mut Vec<(SimTime, KvEvent)>) {
        if let Some(log) = &mut self.0 {
            out.extend(log.events.drain(..).map(|e| (at, e)));
        }
    }
}
