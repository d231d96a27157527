//! The requests a replay can see: a whole workload, or the chunks of a stream still in use.
//!
//! A replay of a [`Workload`] borrows it whole. A streamed replay
//! ([`replay_stream`](crate::replay_stream)) holds only the chunks from the oldest request
//! still in flight to the next request to arrive: it pulls a chunk when admission reaches
//! its end and lets a chunk go once all of its requests have completed. Node ids are global
//! in both cases ([`Workload::first_id`]).

use std::borrow::Cow;
use std::collections::VecDeque;

use servesim_trace::{
    NodeId, PromptBlocks, RequestNode, Sharing, StreamSharing, TraceError, Workload,
};

use crate::error::ReplayError;

/// The chunks a streamed replay pulls, in id order.
pub type ChunkSource<'s> = dyn Iterator<Item = Result<Workload, TraceError>> + 's;

/// A whole workload, or a window over a stream of chunks.
pub(crate) struct Requests<'w> {
    /// Chunks in id order, contiguous, with which of their blocks may be shared.
    chunks: VecDeque<(Cow<'w, Workload>, Sharing)>,
    /// Where further chunks come from (`None` once exhausted, or for a whole workload).
    source: Option<&'w mut ChunkSource<'w>>,
    /// What a stream's chunks share (`None`: every block may be).
    counts: Option<&'w StreamSharing>,
    /// Requests seen so far (all of them for a whole workload).
    seen: usize,
    streaming: bool,
}

impl<'w> Requests<'w> {
    /// All of `workload`.
    pub(crate) fn whole(workload: &'w Workload) -> Self {
        Requests {
            chunks: VecDeque::from([(Cow::Borrowed(workload), Sharing::of(workload))]),
            source: None,
            counts: None,
            seen: workload.len(),
            streaming: false,
        }
    }

    /// A window over `source`, with its first chunk loaded; `counts` says which blocks of
    /// its requests may be shared (all of them without).
    pub(crate) fn stream(
        source: &'w mut ChunkSource<'w>,
        counts: Option<&'w StreamSharing>,
    ) -> Result<Self, ReplayError> {
        let mut requests = Requests {
            chunks: VecDeque::new(),
            source: Some(source),
            counts,
            seen: 0,
            streaming: true,
        };
        requests.load_through(NodeId(0))?;
        Ok(requests)
    }

    /// Requests seen so far: the workload's size, or the rows a stream has yielded.
    pub(crate) fn seen(&self) -> usize {
        self.seen
    }

    /// Whether request `id` is loaded.
    pub(crate) fn contains(&self, id: NodeId) -> bool {
        self.chunks.iter().any(|(c, _)| c.contains(id))
    }

    /// The chunk holding `id` (which must be loaded), and its sharing.
    fn entry(&self, id: NodeId) -> &(Cow<'w, Workload>, Sharing) {
        let i = self.chunks.partition_point(|(c, _)| ends_before(c, id));
        &self.chunks[i]
    }

    /// The chunk holding `id` (which must be loaded).
    fn chunk(&self, id: NodeId) -> &Workload {
        &self.entry(id).0
    }

    /// Leading full blocks of `block_size` tokens of `id`'s sequence that another request
    /// may share (`u32::MAX`: all of them).
    pub(crate) fn shared_blocks(&self, id: NodeId, block_size: u32) -> u32 {
        self.entry(id).1.shared_blocks(id, block_size)
    }

    /// Request `id` (loaded).
    pub(crate) fn node(&self, id: NodeId) -> &RequestNode {
        self.chunk(id).node(id)
    }

    /// The engine blocks of `id`'s prompt.
    pub(crate) fn prompt_blocks(&self, id: NodeId, block_size: u32) -> PromptBlocks {
        self.chunk(id).prompt_blocks(id, block_size)
    }

    /// Pulls chunks until `id` is loaded or the stream ends.
    pub(crate) fn load_through(&mut self, id: NodeId) -> Result<(), ReplayError> {
        while !self.contains(id) {
            let Some(source) = self.source.as_mut() else {
                return Ok(());
            };
            match source.next() {
                Some(chunk) => {
                    let chunk = chunk?;
                    self.seen += chunk.len();
                    let sharing = match self.counts {
                        Some(counts) => counts.of_chunk(&chunk),
                        None => Sharing::everything(0),
                    };
                    self.chunks.push_back((Cow::Owned(chunk), sharing));
                }
                None => self.source = None,
            }
        }
        Ok(())
    }

    /// Lets go of the chunks whose requests all come before `id` (all completed).
    pub(crate) fn release_before(&mut self, id: NodeId) {
        while self.streaming && self.chunks.front().is_some_and(|(c, _)| ends_before(c, id)) {
            self.chunks.pop_front();
        }
    }
}

/// Whether every node of `chunk` comes before `id`.
fn ends_before(chunk: &Workload, id: NodeId) -> bool {
    u64::from(chunk.first_id().0) + chunk.len() as u64 <= u64::from(id.0)
}
