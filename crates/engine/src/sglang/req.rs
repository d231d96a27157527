//! One request inside an SGLang-style engine.

use servesim_trace::{BlockHash, SimTime};

use super::radix::RadixNode;
use crate::request::{EngineRequest, hash_output_upto};

/// Where a request is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// In the waiting queue (new or retracted); holds no KV.
    Waiting,
    /// Its prompt (or recompute) is being prefilled in chunks.
    Prefilling,
    /// Decoding.
    Running,
}

/// State of one request. Its KV covers `kv_len` tokens: `cached_pages` through the radix
/// path ending at `node` (locked by the request), the rest in `private_pages`.
#[derive(Clone, Debug)]
pub(crate) struct Req {
    /// The request as enqueued; its `prompt_hashes` grow with the hashes of generated pages
    /// as they are needed.
    pub(crate) request: EngineRequest,
    pub(crate) kv_len: u32,
    pub(crate) generated: u32,
    pub(crate) node: RadixNode,
    pub(crate) cached_pages: u32,
    pub(crate) private_pages: u32,
    pub(crate) state: State,
    /// Prompt tokens served from the cache at the first admission (`None` before it).
    pub(crate) reused: Option<u32>,
    pub(crate) retractions: u32,
    /// Admission counter (ties of the retraction order).
    pub(crate) order: u64,
    /// Time of the last token emitted.
    pub(crate) last_token: SimTime,
}

impl Req {
    pub(crate) fn new(request: EngineRequest) -> Self {
        Req {
            request,
            kv_len: 0,
            generated: 0,
            node: RadixNode::ROOT,
            cached_pages: 0,
            private_pages: 0,
            state: State::Waiting,
            reused: None,
            retractions: 0,
            order: 0,
            last_token: SimTime::ZERO,
        }
    }

    /// Prompt tokens.
    pub(crate) fn input_tokens(&self) -> u32 {
        self.request.input_tokens
    }

    /// Prompt plus generated tokens.
    pub(crate) fn seq_len(&self) -> u32 {
        self.request.input_tokens + self.generated
    }

    /// Tokens still to generate.
    pub(crate) fn remaining(&self) -> u32 {
        self.request.output_tokens - self.generated
    }

    /// The page hashes computed so far.
    pub(crate) fn hashed(&self) -> &[BlockHash] {
        &self.request.prompt_hashes
    }

    /// The hashes of the first `pages` pages (hashing generated tokens as needed).
    pub(crate) fn pages(&mut self, pages: u32, page_size: u32) -> &[BlockHash] {
        let r = &mut self.request;
        hash_output_upto(
            &mut r.hasher,
            r.output_content,
            &mut r.prompt_hashes,
            pages * page_size,
        );
        &r.prompt_hashes[..pages as usize]
    }
}
