//! One request inside a vLLM-style engine.

use servesim_trace::{BlockHash, BlockHasher, SimTime};

use crate::kv::SeqBlocks;
use crate::request::{EngineRequest, RequestId, hash_output_upto};
use crate::slots::Slots;

/// Where a sequence is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// In the waiting queue (new, or preempted).
    Waiting,
    /// Running, prompt (or recompute) not yet fully in KV.
    Prefilling,
    /// Running, generating one token per pass; counters are lazy (see `DecodeSet`).
    Decoding,
}

/// State of one request. For a decoding sequence `kv_len`, `generated` and `anonymous` are
/// as of `step_base`; [`Seq::at_step`] gives the live values.
#[derive(Clone, Debug)]
pub(crate) struct Seq {
    pub(crate) id: RequestId,
    pub(crate) input_tokens: u32,
    pub(crate) output_tokens: u32,
    /// Hashes of full blocks: the prompt's, then generated blocks as they are materialised.
    pub(crate) hashes: Vec<BlockHash>,
    /// Hasher positioned after the last token hashed.
    pub(crate) hasher: BlockHasher,
    pub(crate) output_content: u64,
    /// Tokens whose KV is computed.
    pub(crate) kv_len: u32,
    /// Output tokens produced.
    pub(crate) generated: u32,
    pub(crate) step_base: u64,
    /// Leading full blocks held (registered in the cache).
    pub(crate) registered: u32,
    /// Which of them may be shared, and where the private ones are.
    pub(crate) blocks: SeqBlocks,
    /// Blocks held without a hash (partial tail, or lazily unhashed decode blocks).
    pub(crate) anonymous: u32,
    pub(crate) phase: Phase,
    /// Running order (admission counter); decides preemption victims.
    pub(crate) order: u64,
    /// Unique across sequences; renewed whenever the sequence leaves the decode set, which
    /// invalidates its completion entries.
    pub(crate) epoch: u32,
    /// Prompt tokens served from cache at first admission (`None` before it).
    pub(crate) reused: Option<u32>,
    pub(crate) preemptions: u32,
    /// Time of the last token produced (for the gap after a preemption).
    pub(crate) last_token: SimTime,
    /// Blocks reserved to completion under TensorRT-LLM's `GUARANTEED_NO_EVICT` (0 otherwise).
    pub(crate) reserved: u64,
}

/// Live counters of a decoding sequence at some step.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Live {
    pub(crate) kv_len: u32,
    pub(crate) generated: u32,
}

impl Seq {
    pub(crate) fn new(request: EngineRequest) -> Self {
        Seq {
            id: request.id,
            input_tokens: request.input_tokens,
            output_tokens: request.output_tokens,
            hashes: request.prompt_hashes,
            hasher: request.hasher,
            output_content: request.output_content,
            kv_len: 0,
            generated: 0,
            step_base: 0,
            registered: 0,
            blocks: SeqBlocks::new(request.shared_blocks),
            anonymous: 0,
            phase: Phase::Waiting,
            order: 0,
            epoch: 0,
            reused: None,
            preemptions: 0,
            last_token: SimTime::ZERO,
            reserved: 0,
        }
    }

    /// All tokens of the sequence so far: prompt plus generated output.
    pub(crate) fn total_tokens(&self) -> u32 {
        self.input_tokens + self.generated
    }

    /// Live counters at `step` (only meaningful while decoding).
    pub(crate) fn at_step(&self, step: u64) -> Live {
        let advanced = u32::try_from(step.saturating_sub(self.step_base)).unwrap_or(u32::MAX);
        Live {
            kv_len: self.kv_len + advanced,
            generated: self.generated + advanced,
        }
    }
}

/// The accepted drafts of one decoding sequence in the current step.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Draft {
    pub(crate) slot: u32,
    /// Tokens emitted beyond the step's regular one.
    pub(crate) extra: u32,
    /// Blocks those tokens' KV needs beyond the regular token's.
    pub(crate) blocks: u64,
}

/// Whether `slot` holds a decoding sequence of epoch `epoch` (heap entries are lazy).
pub(crate) fn is_decoding(seqs: &Slots<Seq>, slot: u32, epoch: u32) -> bool {
    seqs.try_get(slot)
        .is_some_and(|s| s.epoch == epoch && s.phase == Phase::Decoding)
}

/// Feeds generated tokens into the sequence's hasher until it has seen `upto` tokens.
pub(crate) fn ensure_hashed(seq: &mut Seq, upto: u32) {
    hash_output_upto(&mut seq.hasher, seq.output_content, &mut seq.hashes, upto);
}
