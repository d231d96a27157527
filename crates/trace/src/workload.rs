//! The in-memory workload: a compact DAG of request nodes.
//!
//! Every trace format and generator produces a [`Workload`]. A node is one request: its
//! prompt and output lengths, *how* it becomes ready, and what its prompt is made of.
//!
//! * **Readiness.** A node without dependencies arrives at its `timestamp` (open-loop trace
//!   mode). A node with dependencies becomes ready `delay` after the *last* of them completes:
//!   a later turn of a conversation depends on the previous turn, an agentic node on every
//!   node it waits for.
//! * **Prompt content.** Optionally the whole sequence (prompt + generated output) of an earlier
//!   `base` node, followed by the node's own tokens: trace blocks (`hash_ids`, each
//!   `trace_block_size` tokens, the last one possibly truncated) or content unique to the node.
//!   Block hashes are derived from this description on demand — no token is ever stored.
//!
//! Storage is flat (one arena for `hash_ids`, one for dependency lists), so the 12k-request
//! Mooncake conversation trace takes about 3 MB.

use crate::error::TraceError;
use crate::hash::{BlockHash, BlockHasher, content_id};
use crate::time::SimTime;

/// Namespace of content that is unique to one request (Azure prompts, synthetic suffixes).
const UNIQUE_NS: u64 = 0x5eed_0000_0000_0001;
/// Namespace of the tokens a request generates.
const OUTPUT_NS: u64 = 0x5eed_0000_0000_0002;

/// Index of a node in its [`Workload`]; dependencies always point to smaller ids.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The id as a `usize` index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a node's own prompt tokens are.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum OwnContent {
    /// `hash_ids[start..end]` of the workload's arena, `trace_block_size` tokens each.
    TraceBlocks { start: u32, end: u32 },
    /// Tokens shared with no other request.
    Unique,
}

/// One request of a workload.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestNode {
    /// Session (conversation, agent run) this node belongs to, numbered from 0 in order of
    /// first appearance.
    pub session: u32,
    /// Position of the node within its session (0 = first).
    pub turn: u32,
    /// Arrival time of a node without dependencies; for dependent nodes, only informational.
    pub timestamp: Option<SimTime>,
    /// Time between the completion of the last dependency and this node's readiness.
    pub delay: SimTime,
    /// Prompt tokens, including any inherited `base` sequence.
    pub input_tokens: u32,
    /// Tokens to generate (the request always generates exactly this many).
    pub output_tokens: u32,
    /// Source line (1-based) or generator index, for error messages.
    pub line: u32,
    deps: (u32, u32),
    base: Option<NodeId>,
    own: OwnContent,
    own_tokens: u32,
}

/// A node's own prompt content, as given to [`WorkloadBuilder::push`].
#[derive(Clone, Copy, Debug)]
pub enum Content<'a> {
    /// Trace `hash_ids`, each standing for `trace_block_size` tokens.
    TraceBlocks(&'a [u64]),
    /// Content unique to this request (no prefix sharing possible).
    Unique,
}

/// Everything needed to add a node with [`WorkloadBuilder::push`].
#[derive(Clone, Debug)]
pub struct NodeSpec<'a> {
    /// Session index.
    pub session: u32,
    /// Turn within the session.
    pub turn: u32,
    /// Arrival time (required in trace mode for nodes without dependencies).
    pub timestamp: Option<SimTime>,
    /// Wait after the last dependency completes.
    pub delay: SimTime,
    /// Nodes that must complete first (all earlier than this node).
    pub deps: &'a [NodeId],
    /// Earlier node whose full sequence (prompt + output) prefixes this prompt.
    pub base: Option<NodeId>,
    /// The node's own prompt content.
    pub content: Content<'a>,
    /// Number of own prompt tokens (at most `len(hash_ids) · trace_block_size`).
    pub own_tokens: u32,
    /// Tokens to generate.
    pub output_tokens: u32,
    /// Source line for messages.
    pub line: u32,
}

/// Builds a [`Workload`] node by node; used by every reader and generator.
#[derive(Debug)]
pub struct WorkloadBuilder {
    workload: Workload,
}

impl WorkloadBuilder {
    /// An empty workload whose trace blocks hold `trace_block_size` tokens each.
    pub fn new(trace_block_size: u32) -> Self {
        WorkloadBuilder {
            workload: Workload {
                first: 0,
                nodes: Vec::new(),
                deps: Vec::new(),
                hash_ids: Vec::new(),
                trace_block_size: trace_block_size.max(1),
                num_sessions: 0,
            },
        }
    }

    /// An empty chunk of a streamed workload whose first node gets id `first` (and session
    /// numbers from `first_session`). Its nodes may depend only on nodes of the same chunk;
    /// content identities (outputs, unique prompts) follow the global ids, so chunks of one
    /// stream never collide.
    pub fn continuing(trace_block_size: u32, first: NodeId, first_session: u32) -> Self {
        let mut builder = WorkloadBuilder::new(trace_block_size);
        builder.workload.first = first.0;
        builder.workload.num_sessions = first_session;
        builder
    }

    /// The id the next pushed node gets.
    pub fn next_id(&self) -> u32 {
        self.workload
            .first
            .saturating_add(u32::try_from(self.workload.nodes.len()).unwrap_or(u32::MAX))
    }

    /// Number of nodes pushed so far.
    pub fn len(&self) -> usize {
        self.workload.nodes.len()
    }

    /// True when no node has been pushed.
    pub fn is_empty(&self) -> bool {
        self.workload.nodes.is_empty()
    }

    /// Adds a node and returns its id.
    ///
    /// Fails if a dependency or base is not an earlier node, or if the lengths are
    /// impossible (no prompt, no output, more own tokens than the trace blocks hold, or a
    /// prompt longer than `u32::MAX` tokens).
    pub fn push(&mut self, spec: NodeSpec<'_>) -> Result<NodeId, TraceError> {
        let w = &mut self.workload;
        if w.nodes.len() >= MAX_REQUESTS {
            return Err(too_many());
        }
        let id = u32::try_from(w.nodes.len())
            .ok()
            .and_then(|n| n.checked_add(w.first))
            .map(NodeId)
            .ok_or_else(too_many)?;
        let first = w.first;
        let earlier = |n: &NodeId| (first..id.0).contains(&n.0);
        if !spec.deps.iter().all(earlier) || !spec.base.iter().all(earlier) {
            return Err(TraceError::Spec(format!(
                "node {} (line {}) depends on a node that is not earlier",
                id.0, spec.line
            )));
        }
        if spec.output_tokens == 0 {
            return Err(TraceError::Spec(format!(
                "line {}: output length must be ≥ 1",
                spec.line
            )));
        }
        let own = match spec.content {
            Content::TraceBlocks(ids) => {
                let capacity = ids.len() as u64 * u64::from(w.trace_block_size);
                if u64::from(spec.own_tokens) > capacity {
                    return Err(TraceError::Spec(format!(
                        "line {}: {} prompt tokens exceed the {} tokens of {} hash_ids",
                        spec.line,
                        spec.own_tokens,
                        capacity,
                        ids.len()
                    )));
                }
                if w.hash_ids.len() + ids.len() > MAX_TRACE_BLOCKS {
                    return Err(too_many());
                }
                let start = arena_len(&w.hash_ids)?;
                w.hash_ids.extend_from_slice(ids);
                OwnContent::TraceBlocks {
                    start,
                    end: arena_len(&w.hash_ids)?,
                }
            }
            Content::Unique => OwnContent::Unique,
        };
        let inherited = match spec.base {
            Some(base) => {
                let b = &w.nodes[(base.0 - w.first) as usize];
                u64::from(b.input_tokens) + u64::from(b.output_tokens)
            }
            None => 0,
        };
        let input_tokens = u32::try_from(inherited + u64::from(spec.own_tokens)).map_err(|_| {
            TraceError::Spec(format!(
                "line {}: prompt longer than 2^32 tokens",
                spec.line
            ))
        })?;
        if input_tokens == 0 {
            return Err(TraceError::Spec(format!(
                "line {}: input length must be ≥ 1",
                spec.line
            )));
        }
        let dep_start = arena_len(&w.deps)?;
        w.deps.extend_from_slice(spec.deps);
        w.num_sessions = w.num_sessions.max(spec.session + 1);
        w.nodes.push(RequestNode {
            session: spec.session,
            turn: spec.turn,
            timestamp: spec.timestamp,
            delay: spec.delay,
            input_tokens,
            output_tokens: spec.output_tokens,
            line: spec.line,
            deps: (dep_start, arena_len(&w.deps)?),
            base: spec.base,
            own,
            own_tokens: spec.own_tokens,
        });
        Ok(id)
    }

    /// The finished workload (arenas trimmed to size).
    pub fn finish(mut self) -> Workload {
        let w = &mut self.workload;
        w.nodes.shrink_to_fit();
        w.deps.shrink_to_fit();
        w.hash_ids.shrink_to_fit();
        self.workload
    }
}

/// The most requests one workload holds (about 4 GiB of nodes): a bound on memory, far
/// beyond the traces users replay.
pub const MAX_REQUESTS: usize = 1 << 26;

/// The most trace blocks (`hash_ids`) one workload holds: 4 GiB of ids.
pub const MAX_TRACE_BLOCKS: usize = 1 << 29;

fn too_many() -> TraceError {
    TraceError::Spec(format!(
        "a workload holds at most {MAX_REQUESTS} requests and {MAX_TRACE_BLOCKS} trace blocks (hash ids); split the trace or shorten the generated load"
    ))
}

fn arena_len<T>(arena: &[T]) -> Result<u32, TraceError> {
    u32::try_from(arena.len()).map_err(|_| too_many())
}

/// A workload: requests, their dependencies and their prompt contents.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Id of `nodes[0]`: 0 for a whole workload, the chunk's first id for a chunk of a
    /// stream ([`WorkloadBuilder::continuing`]).
    first: u32,
    nodes: Vec<RequestNode>,
    deps: Vec<NodeId>,
    hash_ids: Vec<u64>,
    trace_block_size: u32,
    num_sessions: u32,
}

/// The engine-block view of one prompt: the chained hash of every full block, plus the
/// hasher positioned after the last prompt token, ready to hash generated tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptBlocks {
    /// Hashes of the full blocks of the prompt, in order.
    pub hashes: Vec<BlockHash>,
    /// Hasher state after the prompt (its partial block holds the prompt's tail).
    pub hasher: BlockHasher,
    /// Content identity of the tokens this request generates.
    pub output_content: u64,
}

impl Workload {
    /// Number of requests.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Id of the first node (0 unless this is a later chunk of a stream).
    pub fn first_id(&self) -> NodeId {
        NodeId(self.first)
    }

    /// The ids of the nodes, in order.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        let first = self.first;
        (0..self.nodes.len() as u32).map(move |i| NodeId(first + i))
    }

    /// Whether node `id` is in this workload (or chunk).
    pub fn contains(&self, id: NodeId) -> bool {
        id.0.checked_sub(self.first)
            .is_some_and(|i| (i as usize) < self.nodes.len())
    }

    /// Index of node `id` in `nodes`.
    fn at(&self, id: NodeId) -> usize {
        (id.0 - self.first) as usize
    }

    /// True when the workload holds no request.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Trace blocks (`hash_ids`) held by all nodes together.
    pub fn trace_blocks(&self) -> usize {
        self.hash_ids.len()
    }

    /// The largest trace `hash_id` of any node (`None` without trace blocks).
    pub(crate) fn max_hash_id(&self) -> Option<u64> {
        self.hash_ids.iter().copied().max()
    }

    /// Number of sessions (a single-turn request is its own session).
    pub fn num_sessions(&self) -> u32 {
        self.num_sessions
    }

    /// Tokens per trace `hash_id`.
    pub fn trace_block_size(&self) -> u32 {
        self.trace_block_size
    }

    /// All nodes, in id order.
    pub fn nodes(&self) -> &[RequestNode] {
        &self.nodes
    }

    /// One node.
    pub fn node(&self, id: NodeId) -> &RequestNode {
        &self.nodes[self.at(id)]
    }

    /// The nodes that must complete before `id` becomes ready.
    pub fn deps(&self, id: NodeId) -> &[NodeId] {
        let (start, end) = self.nodes[self.at(id)].deps;
        &self.deps[start as usize..end as usize]
    }

    /// For every node, the nodes that wait for it (compressed adjacency, built in one pass;
    /// a whole workload, whose ids start at 0).
    pub fn dependants(&self) -> Dependants {
        let mut offsets = vec![0u32; self.nodes.len() + 1];
        for dep in &self.deps {
            offsets[dep.index() + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut cursor = offsets.clone();
        let mut targets = vec![NodeId(0); self.deps.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            let (start, end) = node.deps;
            for dep in &self.deps[start as usize..end as usize] {
                let slot = &mut cursor[dep.index()];
                targets[*slot as usize] = NodeId(i as u32);
                *slot += 1;
            }
        }
        Dependants { offsets, targets }
    }

    /// Content identity of the tokens node `id` generates.
    pub fn output_content(&self, id: NodeId) -> u64 {
        content_id(OUTPUT_NS, u64::from(id.0))
    }

    /// Calls `f(content, len)` for every run of the prompt of `id`, in order.
    pub fn for_each_run(&self, id: NodeId, mut f: impl FnMut(u64, u64)) {
        let mut chain = vec![id];
        while let Some(base) = self.nodes[self.at(chain[chain.len() - 1])].base {
            chain.push(base);
        }
        let last = chain.len() - 1;
        for (depth, node_id) in chain.iter().rev().enumerate() {
            self.own_runs(*node_id, &mut f);
            if depth < last {
                f(
                    self.output_content(*node_id),
                    u64::from(self.nodes[self.at(*node_id)].output_tokens),
                );
            }
        }
    }

    fn own_runs(&self, id: NodeId, f: &mut impl FnMut(u64, u64)) {
        let node = &self.nodes[self.at(id)];
        match node.own {
            OwnContent::Unique => f(
                content_id(UNIQUE_NS, u64::from(id.0)),
                u64::from(node.own_tokens),
            ),
            OwnContent::TraceBlocks { start, end } => {
                let mut left = u64::from(node.own_tokens);
                let block = u64::from(self.trace_block_size);
                for &hash_id in &self.hash_ids[start as usize..end as usize] {
                    if left == 0 {
                        break;
                    }
                    let len = left.min(block);
                    f(hash_id, len);
                    left -= len;
                }
            }
        }
    }

    /// The trace `hash_ids` a node carries itself (empty for unique content).
    pub fn own_hash_ids(&self, id: NodeId) -> &[u64] {
        match self.nodes[self.at(id)].own {
            OwnContent::TraceBlocks { start, end } => &self.hash_ids[start as usize..end as usize],
            OwnContent::Unique => &[],
        }
    }

    /// True when the prompt of `id` starts with an earlier node's whole sequence.
    pub fn extends_base(&self, id: NodeId) -> bool {
        self.nodes[self.at(id)].base.is_some()
    }

    /// Prompt tokens `id` adds on top of its base (all of them when it has none).
    pub fn own_tokens(&self, id: NodeId) -> u32 {
        self.nodes[self.at(id)].own_tokens
    }

    /// Expands the prompt of `id` into engine blocks of `block_size` tokens.
    ///
    /// Two prompts get equal hashes at block `i` exactly when their first
    /// `(i + 1) · block_size` tokens are equal, for any combination of trace and engine block
    /// sizes, including sizes that do not divide each other.
    pub fn prompt_blocks(&self, id: NodeId, block_size: u32) -> PromptBlocks {
        let mut hasher = BlockHasher::new(block_size);
        let capacity = self.nodes[self.at(id)].input_tokens / hasher.block_size();
        let mut hashes = Vec::with_capacity(capacity as usize);
        self.for_each_run(id, |content, len| {
            hasher.push_run(content, len, &mut hashes)
        });
        PromptBlocks {
            hashes,
            hasher,
            output_content: self.output_content(id),
        }
    }

    /// The first node without dependencies that has no timestamp, if any: such a workload
    /// cannot be replayed open-loop (trace mode), only closed-loop (concurrency mode).
    pub fn first_root_without_timestamp(&self) -> Option<&RequestNode> {
        self.nodes.iter().enumerate().find_map(|(i, node)| {
            (node.timestamp.is_none() && self.deps(NodeId(i as u32)).is_empty()).then_some(node)
        })
    }

    /// Divides every timestamp and delay by `ratio` (`--arrival-speedup-ratio`).
    pub fn speed_up(&mut self, ratio: f64) -> Result<(), TraceError> {
        if !(ratio.is_finite() && ratio > 0.0) {
            return Err(TraceError::Spec(format!(
                "arrival speedup ratio must be finite and > 0, got {ratio}"
            )));
        }
        for node in &mut self.nodes {
            node.timestamp = node.timestamp.map(|t| t.scaled_down(ratio));
            node.delay = node.delay.scaled_down(ratio);
        }
        Ok(())
    }

    /// Shifts timestamps so that the earliest arrival of a node without dependencies is zero
    /// (timestamps of dependent nodes are informational and shift alongside).
    pub fn normalize_start(&mut self) {
        if let Some(first) = self.first_arrival() {
            self.shift_back(first);
        }
    }

    /// The earliest timestamp of a node without dependencies, if any has one.
    pub fn first_arrival(&self) -> Option<SimTime> {
        let roots = self.nodes.iter().filter(|n| n.deps.0 == n.deps.1);
        roots.filter_map(|n| n.timestamp).min()
    }

    /// Moves every timestamp `by` earlier (saturating at zero): what [`normalize_start`]
    /// does with the first arrival, and what a stream does to each chunk with the first
    /// arrival of its first chunk.
    ///
    /// [`normalize_start`]: Workload::normalize_start
    pub fn shift_back(&mut self, by: SimTime) {
        for node in &mut self.nodes {
            node.timestamp = node.timestamp.map(|t| t.saturating_sub(by));
        }
    }

    /// Estimated arrival of every node ignoring service time: its timestamp, or for a
    /// dependent node the latest estimate of its dependencies plus its delay. Used by
    /// `trace stats` and by time-window slicing, where no simulation has run yet (a whole
    /// workload, whose ids start at 0).
    pub fn nominal_arrivals(&self) -> Vec<SimTime> {
        let mut out: Vec<SimTime> = Vec::with_capacity(self.nodes.len());
        for (i, node) in self.nodes.iter().enumerate() {
            let deps = self.deps(NodeId(i as u32));
            let t = if deps.is_empty() {
                node.timestamp.unwrap_or(SimTime::ZERO)
            } else {
                deps.iter()
                    .map(|d| out[d.index()])
                    .max()
                    .unwrap_or(SimTime::ZERO)
                    + node.delay
            };
            out.push(t);
        }
        out
    }

    /// Keeps the first `n` requests (in file order) and every node they need.
    pub fn head(&self, n: usize) -> Workload {
        self.retain(|id, _| id.index() < n)
    }

    /// Keeps requests whose nominal arrival lies in `[start, end)`, dropping any node whose
    /// dependency or base was dropped.
    pub fn window(&self, start: SimTime, end: SimTime) -> Workload {
        let arrivals = self.nominal_arrivals();
        self.retain(|id, _| (start..end).contains(&arrivals[id.index()]))
    }

    /// A new workload with the nodes `keep` accepts whose dependencies and base are kept too;
    /// ids, sessions and arenas are renumbered densely, order is preserved (a whole
    /// workload, whose ids start at 0).
    pub fn retain(&self, mut keep: impl FnMut(NodeId, &RequestNode) -> bool) -> Workload {
        let mut builder = WorkloadBuilder::new(self.trace_block_size);
        let mut new_id: Vec<Option<NodeId>> = Vec::with_capacity(self.nodes.len());
        let mut new_session: Vec<Option<u32>> = vec![None; self.num_sessions as usize];
        let mut sessions = 0u32;
        let mut deps = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let id = NodeId(i as u32);
            deps.clear();
            let mapped = self
                .deps(id)
                .iter()
                .map(|d| new_id[d.index()])
                .collect::<Option<Vec<_>>>();
            let base = node.base.map(|b| new_id[b.index()]);
            let kept = match (mapped, base) {
                (Some(d), None | Some(Some(_))) if keep(id, node) => {
                    deps = d;
                    true
                }
                _ => false,
            };
            if !kept {
                new_id.push(None);
                continue;
            }
            let session = *new_session[node.session as usize].get_or_insert_with(|| {
                sessions += 1;
                sessions - 1
            });
            let content = match node.own {
                OwnContent::TraceBlocks { .. } => Content::TraceBlocks(self.own_hash_ids(id)),
                OwnContent::Unique => Content::Unique,
            };
            let pushed = builder.push(NodeSpec {
                session,
                turn: node.turn,
                timestamp: node.timestamp,
                delay: node.delay,
                deps: &deps,
                base: base.flatten(),
                content,
                own_tokens: node.own_tokens,
                output_tokens: node.output_tokens,
                line: node.line,
            });
            // Re-pushing a node that was valid before cannot fail: ids only shrink.
            new_id.push(pushed.ok());
        }
        builder.finish()
    }
}

/// Reverse dependency lists: for each node, the nodes waiting for it.
#[derive(Clone, Debug)]
pub struct Dependants {
    offsets: Vec<u32>,
    targets: Vec<NodeId>,
}

impl Dependants {
    /// Nodes that list `id` among their dependencies, in id order.
    pub fn of(&self, id: NodeId) -> &[NodeId] {
        let start = self.offsets[id.index()] as usize;
        let end = self.offsets[id.index() + 1] as usize;
        &self.targets[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(content: Content<'a>, own_tokens: u32) -> NodeSpec<'a> {
        NodeSpec {
            session: 0,
            turn: 0,
            timestamp: Some(SimTime::ZERO),
            delay: SimTime::ZERO,
            deps: &[],
            base: None,
            content,
            own_tokens,
            output_tokens: 2,
            line: 1,
        }
    }

    #[test]
    fn trace_blocks_are_truncated_to_input_length() {
        let mut b = WorkloadBuilder::new(4);
        let id = b.push(spec(Content::TraceBlocks(&[1, 2, 3]), 10)).unwrap();
        let w = b.finish();
        let mut runs = Vec::new();
        w.for_each_run(id, |c, l| runs.push((c, l)));
        assert_eq!(runs, vec![(1, 4), (2, 4), (3, 2)]);
        assert_eq!(w.prompt_blocks(id, 4).hashes.len(), 2);
        assert_eq!(w.prompt_blocks(id, 4).hasher.partial_len(), 2);
    }

    #[test]
    fn too_few_hash_ids_is_an_error() {
        let mut b = WorkloadBuilder::new(4);
        assert!(b.push(spec(Content::TraceBlocks(&[1]), 5)).is_err());
    }

    #[test]
    fn base_prompt_includes_base_output() {
        let mut b = WorkloadBuilder::new(4);
        let first = b.push(spec(Content::TraceBlocks(&[7]), 4)).unwrap();
        let second = b
            .push(NodeSpec {
                base: Some(first),
                deps: &[first],
                ..spec(Content::TraceBlocks(&[9]), 2)
            })
            .unwrap();
        let w = b.finish();
        assert_eq!(w.node(second).input_tokens, 8);
        let mut runs = Vec::new();
        w.for_each_run(second, |c, l| runs.push((c, l)));
        assert_eq!(runs, vec![(7, 4), (w.output_content(first), 2), (9, 2)]);
        // The first turn's generated block is a prefix of the second prompt's blocks.
        let mut first_seq = w.prompt_blocks(first, 2);
        first_seq
            .hasher
            .push_run(w.output_content(first), 2, &mut first_seq.hashes);
        assert_eq!(first_seq.hashes[..], w.prompt_blocks(second, 2).hashes[..3]);
        assert_eq!(w.dependants().of(first), &[second]);
    }

    #[test]
    fn retain_drops_orphans_and_renumbers() {
        let mut b = WorkloadBuilder::new(4);
        let a = b.push(spec(Content::Unique, 4)).unwrap();
        b.push(NodeSpec {
            deps: &[a],
            session: 0,
            turn: 1,
            ..spec(Content::Unique, 4)
        })
        .unwrap();
        b.push(NodeSpec {
            session: 1,
            ..spec(Content::Unique, 4)
        })
        .unwrap();
        let w = b.finish();
        let kept = w.retain(|id, _| id.0 != 0);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept.num_sessions(), 1);
        assert_eq!(kept.node(NodeId(0)).session, 0);
        assert_eq!(w.head(2).len(), 2);
    }

    #[test]
    fn speed_up_scales_timestamps_and_delays() {
        let mut b = WorkloadBuilder::new(4);
        let a = b
            .push(NodeSpec {
                timestamp: Some(SimTime::from_millis(100)),
                ..spec(Content::Unique, 4)
            })
            .unwrap();
        b.push(NodeSpec {
            deps: &[a],
            delay: SimTime::from_millis(40),
            ..spec(Content::Unique, 4)
        })
        .unwrap();
        let mut w = b.finish();
        w.speed_up(4.0).unwrap();
        assert_eq!(w.nodes()[0].timestamp, Some(SimTime::from_millis(25)));
        assert_eq!(w.nodes()[1].delay, SimTime::from_millis(10));
        assert!(w.speed_up(0.0).is_err());
        w.normalize_start();
        assert_eq!(w.nodes()[0].timestamp, Some(SimTime::ZERO));
        assert_eq!(w.nominal_arrivals()[1], SimTime::from_millis(10));
    }
}
