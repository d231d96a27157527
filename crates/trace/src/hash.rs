//! Chained KV-block hashes computed from token *runs*, never from token vectors.
//!
//! A prompt in servesim is described as a sequence of runs: `(content, len)` means `len`
//! consecutive tokens whose identity is `content` (a trace `hash_id`, a request's unique
//! output, …). This is exactly the information a trace carries — the reference expands every
//! `hash_id` into `trace_block_size` copies of one token and hashes that vector; we hash the
//! runs directly, in `O(runs + blocks)` time and `O(1)` memory.
//!
//! [`BlockHasher`] cuts the run stream into engine blocks of `block_size` tokens and emits one
//! [`BlockHash`] per *full* block, chained with its parent (`h_i = H(h_{i-1}, content_i)`), so
//! two sequences share a hash at block `i` exactly when their first `(i + 1) · block_size`
//! tokens are equal. Within a block, adjacent runs with the same content are merged before
//! hashing, which makes the hash a function of the token content alone, whatever way the
//! caller happened to split it into runs.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

/// The chained hash of one full KV block: it identifies the block's tokens *and* every token
/// before it, which is what prefix caching and prefix-aware routing key on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BlockHash(pub u64);

/// A [`Hasher`] for maps keyed by [`BlockHash`]: block hashes are uniformly mixed 64-bit
/// values already, so they hash as themselves — no second mixing on every lookup of the hot
/// KV-cache and router indexes.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockHashHasher(u64);

impl Hasher for BlockHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A hash map keyed by [`BlockHash`], hashing keys with [`BlockHashHasher`].
///
/// ```
/// use servesim_trace::{BlockHash, BlockMap};
/// let mut holders: BlockMap<u32> = BlockMap::default();
/// holders.insert(BlockHash(0x9e37_79b9_7f4a_7c15), 3);
/// assert_eq!(holders.get(&BlockHash(0x9e37_79b9_7f4a_7c15)), Some(&3));
/// ```
pub type BlockMap<V> = HashMap<BlockHash, V, BuildHasherDefault<BlockHashHasher>>;

/// The parent of the first block of every sequence.
const ROOT: u64 = 0x243f_6a88_85a3_08d3;
/// The initial content state of an empty block.
const BLOCK_SEED: u64 = 0x1319_8a2e_0370_7344;
const MUL_A: u64 = 0xa076_1d64_78bd_642f;
const MUL_B: u64 = 0xe703_7ed1_a0b4_28db;

/// Folded 64×64→128-bit multiply: a fast, well-mixing combiner.
fn fold_mul(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// Mixes `value` into `state`. Not cryptographic; 64-bit collisions are negligible at the
/// scale of a simulation (billions of blocks would be needed for a likely collision).
pub(crate) fn combine(state: u64, value: u64) -> u64 {
    fold_mul(state ^ MUL_A, value ^ MUL_B)
}

/// Derives a well-spread content identity from a namespace and an index, e.g. the unique
/// output tokens of request `n`. Distinct `(namespace, index)` pairs give distinct ids.
pub fn content_id(namespace: u64, index: u64) -> u64 {
    combine(combine(namespace, index), namespace.rotate_left(17))
}

/// Cuts a stream of token runs into blocks and emits the chained hash of every full block.
///
/// The hasher keeps only the partial block being filled, so a running sequence can carry one
/// and keep feeding it generated tokens: that is how generated KV becomes reusable by a later
/// turn whose prompt contains the same output run.
///
/// ```
/// use servesim_trace::{BlockHasher, BlockHash};
/// let mut a = BlockHasher::new(4);
/// let mut b = BlockHasher::new(4);
/// let (mut ha, mut hb) = (Vec::new(), Vec::new());
/// // Same 8 tokens, split differently into runs: same two block hashes.
/// a.push_run(7, 6, &mut ha);
/// a.push_run(9, 2, &mut ha);
/// b.push_run(7, 3, &mut hb);
/// b.push_run(7, 3, &mut hb);
/// b.push_run(9, 2, &mut hb);
/// assert_eq!(ha, hb);
/// assert_eq!(ha.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHasher {
    block_size: u32,
    parent: u64,
    state: u64,
    filled: u32,
    pending_content: u64,
    pending_len: u32,
    tokens: u64,
}

impl BlockHasher {
    /// A hasher for blocks of `block_size` tokens. A `block_size` of 0 is treated as 1.
    pub fn new(block_size: u32) -> Self {
        BlockHasher {
            block_size: block_size.max(1),
            parent: ROOT,
            state: BLOCK_SEED,
            filled: 0,
            pending_content: 0,
            pending_len: 0,
            tokens: 0,
        }
    }

    /// Tokens per block.
    pub fn block_size(&self) -> u32 {
        self.block_size
    }

    /// Total tokens fed so far.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// Tokens in the current, not yet full, block.
    pub fn partial_len(&self) -> u32 {
        self.filled
    }

    /// Appends `len` tokens of identity `content`; pushes the hash of every block this
    /// completes onto `out`.
    pub fn push_run(&mut self, content: u64, len: u64, out: &mut Vec<BlockHash>) {
        let mut remaining = len;
        self.tokens += len;
        while remaining > 0 {
            let space = u64::from(self.block_size - self.filled);
            // `take` ≤ block_size, so it fits in u32.
            let take = remaining.min(space) as u32;
            if self.pending_len > 0 && self.pending_content != content {
                self.flush_pending();
            }
            self.pending_content = content;
            self.pending_len += take;
            self.filled += take;
            remaining -= u64::from(take);
            if self.filled == self.block_size {
                self.flush_pending();
                let hash = combine(self.parent, self.state);
                out.push(BlockHash(hash));
                self.parent = hash;
                self.state = BLOCK_SEED;
                self.filled = 0;
            }
        }
    }

    fn flush_pending(&mut self) {
        self.state = combine(
            combine(self.state, self.pending_content),
            u64::from(self.pending_len),
        );
        self.pending_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(block: u32, runs: &[(u64, u64)]) -> Vec<BlockHash> {
        let mut hasher = BlockHasher::new(block);
        let mut out = Vec::new();
        for &(content, len) in runs {
            hasher.push_run(content, len, &mut out);
        }
        out
    }

    #[test]
    fn only_full_blocks_are_hashed() {
        assert_eq!(hashes(64, &[(1, 63)]).len(), 0);
        assert_eq!(hashes(64, &[(1, 64)]).len(), 1);
        assert_eq!(hashes(64, &[(1, 512), (2, 100)]).len(), 9);
    }

    #[test]
    fn chain_depends_on_parent() {
        // Block 1 has identical content in both, but block 0 differs.
        let a = hashes(4, &[(1, 4), (5, 4)]);
        let b = hashes(4, &[(2, 4), (5, 4)]);
        assert_ne!(a[0], b[0]);
        assert_ne!(a[1], b[1]);
    }

    #[test]
    fn run_order_inside_block_matters() {
        assert_ne!(hashes(4, &[(1, 2), (2, 2)]), hashes(4, &[(2, 2), (1, 2)]));
        assert_ne!(hashes(4, &[(1, 1), (2, 3)]), hashes(4, &[(1, 3), (2, 1)]));
    }

    #[test]
    fn incremental_equals_batch() {
        let batch = hashes(8, &[(3, 20), (4, 13)]);
        let mut hasher = BlockHasher::new(8);
        let mut out = Vec::new();
        hasher.push_run(3, 20, &mut out);
        for _ in 0..13 {
            hasher.push_run(4, 1, &mut out);
        }
        assert_eq!(out, batch);
        assert_eq!(hasher.tokens(), 33);
        assert_eq!(hasher.partial_len(), 1);
    }

    #[test]
    fn content_ids_are_distinct() {
        assert_ne!(content_id(1, 0), content_id(1, 1));
        assert_ne!(content_id(1, 0), content_id(2, 0));
    }
}
