//! Which KV blocks of a workload can ever be shared between requests.
//!
//! A KV block can be hit by another request only if that request's first tokens up to the
//! end of the block are the same, so every piece of content in them appears in both
//! sequences. [`Sharing`] counts, over the whole workload, how many sequences (a prompt and
//! the output generated after it) hold each piece of content — a trace `hash_id`, a node's
//! unique text, a node's output, which a later turn's prompt may take up — and finds, for every request, the first token whose content no other prompt
//! holds. Blocks that end before it may be shared; blocks from it on are **private**: no
//! other request can ever match them, so an engine need not index them and a prefix-aware
//! router need not see them. The classification is conservative — a block called shareable
//! may still never be hit — and exact where it matters: a private block is never hit by
//! another request.
//!
//! ```
//! use servesim_trace::{parse_trace, NodeId, ReadOptions, Sharing};
//! let text = "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 8, \"hash_ids\": [1, 2]}\n\
//!             {\"timestamp\": 5, \"input_length\": 1024, \"output_length\": 8, \"hash_ids\": [1, 3]}";
//! let trace = parse_trace(text.as_bytes(), "inline", &ReadOptions::default())?;
//! let sharing = Sharing::of(&trace.workload);
//! // Both prompts start with block 1 (512 tokens); blocks 2 and 3 are each one prompt's own.
//! assert_eq!(sharing.shared_tokens(NodeId(0)), 512);
//! assert_eq!(sharing.shared_blocks(NodeId(1), 64), 8);
//! # Ok::<(), servesim_trace::TraceError>(())
//! ```

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use crate::error::TraceError;
use crate::workload::{NodeId, Workload};

/// A set of content keys, hashed.
type SparseContents = HashSet<u64, BuildHasherDefault<MixHasher>>;

/// Hashes a content key by one multiply-xorshift round: trace `hash_id`s are small
/// consecutive integers, which an identity hash would pile into a few buckets.
#[derive(Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = mix(n);
    }
}

/// One multiply-xorshift round: spreads consecutive keys over all bits.
fn mix(n: u64) -> u64 {
    let x = (n ^ (n >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^ (x >> 29)
}

/// Content keys seen once and seen twice or more. Trace `hash_id`s are usually dense (0,
/// 1, 2, … in Mooncake traces; an offset run in generated ones): keys in
/// `dense_base..dense_limit` are bits in two bitmaps — a few hundred KB that stay in the CPU
/// caches where a hash set of the same keys would miss on nearly every insertion of a long
/// trace. The rest (unique texts, outputs, sparse ids) go to hash sets, or, for a stream
/// whose keys must be counted in bounded memory, to two hashed bitmaps (`hashed_mask`): a
/// key shares its bit with others, so a key met once may be called shared — conservative,
/// never the other way round.
struct ContentCounts {
    dense_base: u64,
    dense_limit: u64,
    dense_seen: Vec<u64>,
    dense_shared: Vec<u64>,
    seen: SparseContents,
    shared: SparseContents,
    /// Streams: keys outside the dense range land on bit `mix(key) & mask`.
    hashed_mask: Option<u64>,
}

/// Bit `i` of a bitmap: the word and the mask.
fn bit(i: u64) -> (usize, u64) {
    ((i / 64) as usize, 1u64 << (i % 64))
}

/// Marks `i` in `seen`, and in `shared` if it was already seen.
fn mark(seen: &mut [u64], shared: &mut [u64], i: u64) {
    let (word, mask) = bit(i);
    if seen[word] & mask != 0 {
        shared[word] |= mask;
    }
    seen[word] |= mask;
}

impl ContentCounts {
    /// Room for `trace_keys` trace `hash_id`s, at most `max_hash_id`, and `other_keys` keys
    /// of other content.
    fn new(trace_keys: usize, other_keys: usize, max_hash_id: Option<u64>) -> Self {
        // Dense when the bitmaps take no more than the 8 bytes a key a set would.
        let dense_limit = max_hash_id
            .map(|m| m.saturating_add(1))
            .filter(|&limit| limit / 64 <= trace_keys as u64)
            .unwrap_or(0);
        let words = usize::try_from(dense_limit.div_ceil(64)).unwrap_or(0);
        let sparse = if dense_limit > 0 {
            other_keys
        } else {
            trace_keys + other_keys
        };
        ContentCounts {
            dense_base: 0,
            dense_limit,
            dense_seen: vec![0; words],
            dense_shared: vec![0; words],
            seen: SparseContents::with_capacity_and_hasher(sparse, BuildHasherDefault::default()),
            shared: SparseContents::default(),
            hashed_mask: None,
        }
    }

    /// Bounded room for a stream's `keys` trace `hash_id`s in `min..=max`: dense bitmaps
    /// when the range is at most 64 bits a key and 2^28 ids, else hashed bitmaps of 4 bits a
    /// key (2^16 to 2^27 bits each, 16 MiB at most).
    fn bounded(keys: u64, min: u64, max: u64) -> Self {
        let range = max.saturating_sub(min).saturating_add(1);
        let dense = range / 64 <= keys && range <= 1 << 28;
        let hashed_bits = keys
            .saturating_mul(4)
            .clamp(1 << 16, 1 << 27)
            .next_power_of_two();
        let (base, limit, bits) = if dense {
            (min, min.saturating_add(range), range)
        } else {
            (0, 0, hashed_bits)
        };
        let words = usize::try_from(bits.div_ceil(64)).unwrap_or(0);
        ContentCounts {
            dense_base: base,
            dense_limit: limit,
            dense_seen: vec![0; words],
            dense_shared: vec![0; words],
            seen: SparseContents::default(),
            shared: SparseContents::default(),
            hashed_mask: (!dense).then_some(bits - 1),
        }
    }

    /// Counts one more sequence holding `content`.
    fn bump(&mut self, content: u64) {
        if (self.dense_base..self.dense_limit).contains(&content) {
            mark(
                &mut self.dense_seen,
                &mut self.dense_shared,
                content - self.dense_base,
            );
        } else if let Some(mask) = self.hashed_mask {
            mark(
                &mut self.dense_seen,
                &mut self.dense_shared,
                mix(content) & mask,
            );
        } else if !self.seen.insert(content) {
            self.shared.insert(content);
        }
    }

    /// Drops what only counting needs.
    fn counted(mut self) -> Self {
        self.dense_seen = Vec::new();
        self.seen = SparseContents::default();
        self
    }

    /// Whether two or more sequences hold `content`.
    fn is_shared(&self, content: u64) -> bool {
        let slot = if (self.dense_base..self.dense_limit).contains(&content) {
            content - self.dense_base
        } else if let Some(mask) = self.hashed_mask {
            mix(content) & mask
        } else {
            return self.shared.contains(&content);
        };
        let (word, mask) = bit(slot);
        self.dense_shared[word] & mask != 0
    }
}

/// The shareable prefix of every request of a workload (see the [module](self) docs).
#[derive(Clone, Debug, Default)]
pub struct Sharing {
    /// Id of the first node described (a chunk of a stream starts past 0).
    first: u32,
    /// Per node: tokens of its sequence (prompt, then output) before the first private one;
    /// `u32::MAX` when the whole sequence, output included, may be shared.
    shared_tokens: Vec<u32>,
}

impl Sharing {
    /// Analyses `workload`: one pass to count content, one to find each request's boundary.
    pub fn of(workload: &Workload) -> Sharing {
        // Sized up front to the most distinct keys there can be (every trace block, and a
        // unique text and an output per node): no rehash that would briefly hold two tables.
        let mut counts = ContentCounts::new(
            workload.trace_blocks(),
            2 * workload.len(),
            workload.max_hash_id(),
        );
        for i in 0..workload.len() {
            let id = NodeId(i as u32);
            workload.for_each_run(id, |content, _| counts.bump(content));
            // A request's own sequence holds its output after the prompt.
            counts.bump(workload.output_content(id));
        }
        Sharing::from_counts(workload, &counts.counted())
    }

    /// Each node's boundary, given what is shared.
    fn from_counts(workload: &Workload, shared: &ContentCounts) -> Sharing {
        let first = workload.first_id().0;
        let shared_tokens = (0..workload.len())
            .map(|i| {
                let id = NodeId(first + i as u32);
                let mut tokens = 0u64;
                let mut boundary = None;
                workload.for_each_run(id, |content, len| {
                    if boundary.is_none() {
                        if !shared.is_shared(content) {
                            boundary = Some(tokens);
                        }
                        tokens += len;
                    }
                });
                match boundary {
                    Some(t) => u32::try_from(t).unwrap_or(u32::MAX - 1),
                    // The whole prompt is shared; the output too if a later prompt holds it.
                    None if shared.is_shared(workload.output_content(id)) => u32::MAX,
                    None => workload.node(id).input_tokens,
                }
            })
            .collect();
        Sharing {
            first,
            shared_tokens,
        }
    }

    /// Every block of every request may be shared (no analysis): what a driver without a
    /// workload uses.
    pub fn everything(nodes: usize) -> Sharing {
        Sharing {
            first: 0,
            shared_tokens: vec![u32::MAX; nodes],
        }
    }

    /// Tokens of `id`'s sequence before its first private token (`u32::MAX`: none private).
    pub fn shared_tokens(&self, id: NodeId) -> u32 {
        id.0.checked_sub(self.first)
            .and_then(|i| self.shared_tokens.get(i as usize))
            .copied()
            .unwrap_or(u32::MAX)
    }

    /// Leading full blocks of `block_size` tokens of `id`'s sequence that may be shared; the
    /// blocks after them are private (`u32::MAX`: all may be shared).
    pub fn shared_blocks(&self, id: NodeId, block_size: u32) -> u32 {
        match self.shared_tokens(id) {
            u32::MAX => u32::MAX,
            tokens => tokens / block_size.max(1),
        }
    }
}

/// Which trace `hash_id`s two or more requests of a streamed trace hold, counted ahead of
/// the replay in bounded memory, so that each chunk's [`Sharing`] keeps what can never be
/// hit out of the engines' indexes as a whole workload's does.
///
/// A stream's requests are independent (no base sequence), so only trace blocks can be
/// shared. The ids are counted in two reads of the stream: their range and number, then
/// the counts, in dense bitmaps (two bits per id of the range) or, for ids too sparse for
/// that, hashed bitmaps of at most 16 MiB each, where an id met once may share its bit with
/// another and be called shared — conservative: a block called private is never hit.
///
/// ```
/// use servesim_trace::{NodeId, ReadOptions, StreamOptions, StreamSharing, TraceStream};
/// let text = "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 8, \"hash_ids\": [1, 2]}\n\
///             {\"timestamp\": 5, \"input_length\": 1024, \"output_length\": 8, \"hash_ids\": [1, 3]}";
/// let open = || TraceStream::new(text.as_bytes(), "inline", &ReadOptions::default(), StreamOptions::default());
/// let counts = StreamSharing::count(open)?;
/// let chunk = open()?.next().unwrap()?;
/// assert_eq!(counts.of_chunk(&chunk).shared_tokens(NodeId(1)), 512);
/// # Ok::<(), servesim_trace::TraceError>(())
/// ```
pub struct StreamSharing {
    counts: ContentCounts,
}

impl StreamSharing {
    /// Counts the trace ids of the stream `open` starts, reading it twice.
    pub fn count<I>(mut open: impl FnMut() -> Result<I, TraceError>) -> Result<Self, TraceError>
    where
        I: Iterator<Item = Result<Workload, TraceError>>,
    {
        let (mut keys, mut min, mut max) = (0u64, u64::MAX, 0u64);
        for chunk in open()? {
            let chunk = chunk?;
            for id in chunk.ids() {
                for &h in chunk.own_hash_ids(id) {
                    keys += 1;
                    min = min.min(h);
                    max = max.max(h);
                }
            }
        }
        let mut counts = ContentCounts::bounded(keys, min.min(max), max);
        for chunk in open()? {
            let chunk = chunk?;
            for id in chunk.ids() {
                for &h in chunk.own_hash_ids(id) {
                    counts.bump(h);
                }
            }
        }
        Ok(StreamSharing {
            counts: counts.counted(),
        })
    }

    /// The shareable prefix of every request of `chunk`, a chunk of the counted stream.
    pub fn of_chunk(&self, chunk: &Workload) -> Sharing {
        Sharing::from_counts(chunk, &self.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{ReadOptions, TraceFormat, parse_trace};

    fn workload(text: &str, format: TraceFormat) -> Workload {
        let options = ReadOptions {
            format,
            ..ReadOptions::default()
        };
        parse_trace(text.as_bytes(), "t", &options)
            .unwrap()
            .workload
    }

    #[test]
    fn private_content_starts_where_no_other_prompt_follows() {
        let w = workload(
            "{\"timestamp\": 0, \"input_length\": 1500, \"output_length\": 4, \"hash_ids\": [1, 2, 3]}\n\
             {\"timestamp\": 1, \"input_length\": 1200, \"output_length\": 4, \"hash_ids\": [1, 2, 4]}\n\
             {\"timestamp\": 2, \"input_length\": 100, \"output_length\": 4, \"hash_ids\": [9]}",
            TraceFormat::Mooncake,
        );
        let s = Sharing::of(&w);
        assert_eq!(s.shared_tokens(NodeId(0)), 1024);
        assert_eq!(s.shared_tokens(NodeId(1)), 1024);
        assert_eq!(s.shared_tokens(NodeId(2)), 0);
        // 1024 shared tokens: 16 blocks of 64, 10 blocks of 100 (the 11th straddles them).
        assert_eq!(s.shared_blocks(NodeId(0), 64), 16);
        assert_eq!(s.shared_blocks(NodeId(0), 100), 10);
    }

    #[test]
    fn sparse_hash_ids_are_counted_like_dense_ones() {
        // Ids far apart take the hash-set path; the answers are those of small ids.
        let big = 1u64 << 40;
        let text = format!(
            "{{\"timestamp\": 0, \"input_length\": 1500, \"output_length\": 4, \"hash_ids\": [{}, {}, {}]}}\n\
             {{\"timestamp\": 1, \"input_length\": 1200, \"output_length\": 4, \"hash_ids\": [{}, {}, {}]}}",
            big,
            2 * big,
            3 * big,
            big,
            2 * big,
            4 * big
        );
        let s = Sharing::of(&workload(&text, TraceFormat::Mooncake));
        assert_eq!(s.shared_tokens(NodeId(0)), 1024);
        assert_eq!(s.shared_tokens(NodeId(1)), 1024);
    }

    #[test]
    fn output_taken_up_by_a_later_turn_is_shared() {
        // mooncake-delta: the second turn's prompt is the first turn's sequence plus its own.
        let w = workload(
            "{\"session_id\": 1, \"timestamp\": 0, \"input_length\": 512, \"output_length\": 64, \"hash_ids\": [1]}\n\
             {\"session_id\": 1, \"delay\": 10, \"input_length\": 512, \"output_length\": 64, \"hash_ids\": [2]}",
            TraceFormat::MooncakeDelta,
        );
        let s = Sharing::of(&w);
        assert_eq!(s.shared_tokens(NodeId(0)), u32::MAX);
        assert_eq!(s.shared_blocks(NodeId(0), 64), u32::MAX);
        // The second turn shares the first turn's 576 tokens; its own block and output are private.
        assert_eq!(s.shared_tokens(NodeId(1)), 576);
    }

    #[test]
    fn a_prompt_shared_whole_keeps_its_output_private() {
        let w = workload(
            "{\"timestamp\": 0, \"input_length\": 512, \"output_length\": 4, \"hash_ids\": [1]}\n\
             {\"timestamp\": 1, \"input_length\": 512, \"output_length\": 4, \"hash_ids\": [1]}",
            TraceFormat::Mooncake,
        );
        let s = Sharing::of(&w);
        assert_eq!(s.shared_tokens(NodeId(0)), 512);
        assert_eq!(
            Sharing::everything(2).shared_blocks(NodeId(1), 64),
            u32::MAX
        );
    }

    fn stream_counts(text: &str, chunk_rows: usize) -> (StreamSharing, Vec<Workload>) {
        use crate::format::{StreamOptions, TraceStream};
        let open = || {
            let options = StreamOptions {
                chunk_rows,
                speedup: 1.0,
            };
            TraceStream::new(text.as_bytes(), "t", &ReadOptions::default(), options)
        };
        let counts = StreamSharing::count(open).unwrap();
        let chunks = open().unwrap().collect::<Result<Vec<_>, _>>().unwrap();
        (counts, chunks)
    }

    #[test]
    fn a_stream_counted_ahead_shares_what_the_whole_trace_does() {
        // Dense ids (bitmaps over their range) and sparse ones (hashed bitmaps).
        for scale in [1u64, 1 << 40] {
            let text: String = (0..40u64)
                .map(|i| {
                    let (a, b) = ((i % 5) * scale, (100 + i) * scale);
                    format!("{{\"timestamp\": {i}, \"input_length\": 1000, \"output_length\": 4, \"hash_ids\": [{a}, {b}]}}\n")
                })
                .collect();
            let whole = Sharing::of(&workload(&text, TraceFormat::Mooncake));
            let (counts, chunks) = stream_counts(&text, 6);
            for chunk in &chunks {
                let sharing = counts.of_chunk(chunk);
                for id in chunk.ids() {
                    let (streamed, exact) = (sharing.shared_tokens(id), whole.shared_tokens(id));
                    // Conservative: never fewer shareable tokens than the exact analysis.
                    assert!(streamed >= exact, "{id:?}: {streamed} < {exact}");
                    assert_eq!(exact, 512, "{id:?}");
                    if scale == 1 {
                        assert_eq!(streamed, exact);
                    }
                }
            }
        }
    }
}
