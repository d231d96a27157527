//! Requests as an engine sees them.

use servesim_trace::{BlockHash, BlockHasher, PromptBlocks};

use crate::error::EngineError;

/// Feeds a request's generated tokens (identity `output_content`) into its `hasher` until it
/// has seen `upto` tokens, appending the hashes of the blocks this completes to `hashes`.
pub(crate) fn hash_output_upto(
    hasher: &mut BlockHasher,
    output_content: u64,
    hashes: &mut Vec<BlockHash>,
    upto: u32,
) {
    let seen = hasher.tokens();
    if u64::from(upto) > seen {
        hasher.push_run(output_content, u64::from(upto) - seen, hashes);
    }
}

/// Namespace of the generated tokens of [`EngineRequest::uniform`] requests.
const UNIFORM_OUTPUT_NS: u64 = 0x0075_6e69_666f_726d;

/// The caller's identifier of a request; the engine reports it back in signals.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// A request handed to an engine: lengths and the engine-block view of its prompt.
#[derive(Clone, Debug)]
pub struct EngineRequest {
    /// Identifier reported back in signals.
    pub id: RequestId,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Tokens to generate.
    pub output_tokens: u32,
    /// Chained hashes of the prompt's full blocks (engine block size).
    pub prompt_hashes: Vec<BlockHash>,
    /// Hasher positioned after the prompt, to hash generated blocks.
    pub hasher: BlockHasher,
    /// Content identity of the generated tokens.
    pub output_content: u64,
    /// Leading full blocks of the sequence (prompt, then output) that another request may
    /// share; the blocks after them are private (`servesim_trace::Sharing`) and the engine
    /// keeps them out of its hash index. `u32::MAX` (the constructors' default): all may be.
    pub shared_blocks: u32,
}

impl EngineRequest {
    /// A request whose prompt is `input_tokens` copies of one token `content`, hashed in
    /// blocks of `block_size`: equal `content` means a shared prompt. Handy for tests,
    /// benchmarks and drivers that do not start from a workload.
    ///
    /// ```
    /// use servesim_engine::{EngineRequest, RequestId};
    /// let r = EngineRequest::uniform(RequestId(1), 200, 10, 7, 64);
    /// assert_eq!(r.prompt_hashes.len(), 3);
    /// ```
    pub fn uniform(
        id: RequestId,
        input_tokens: u32,
        output_tokens: u32,
        content: u64,
        block_size: u32,
    ) -> Self {
        let mut hasher = BlockHasher::new(block_size);
        let mut prompt_hashes = Vec::new();
        hasher.push_run(content, u64::from(input_tokens), &mut prompt_hashes);
        EngineRequest {
            id,
            input_tokens,
            output_tokens,
            prompt_hashes,
            hasher,
            output_content: servesim_trace::content_id(UNIFORM_OUTPUT_NS, id.0),
            shared_blocks: u32::MAX,
        }
    }

    /// The same request with only its first `blocks` full blocks shareable (see
    /// [`EngineRequest::shared_blocks`]).
    pub fn with_shared_blocks(mut self, blocks: u32) -> Self {
        self.shared_blocks = blocks;
        self
    }

    /// The error saying why this request can never be served.
    pub(crate) fn unservable(&self, message: String) -> EngineError {
        EngineError::Unservable {
            request: self.id.0,
            message,
        }
    }

    /// Checks what every engine needs: a prompt and an output, and prompt hashes computed
    /// for the engine's `block_size`-token blocks.
    pub(crate) fn check_shape(&self, block_size: u32) -> Result<(), EngineError> {
        if self.output_tokens == 0 || self.input_tokens == 0 {
            return Err(self.unservable("input and output lengths must be ≥ 1".to_owned()));
        }
        let full_blocks = (self.input_tokens / block_size) as usize;
        if self.hasher.block_size() != block_size
            || self.prompt_hashes.len() != full_blocks
            || self.hasher.tokens() != u64::from(self.input_tokens)
        {
            return Err(self.unservable(format!(
                "prompt hashes were computed for {}-token blocks / {} tokens, the engine uses {block_size}-token blocks",
                self.hasher.block_size(),
                self.hasher.tokens(),
            )));
        }
        Ok(())
    }

    /// Builds a request from a workload's prompt expansion.
    pub fn new(id: RequestId, input_tokens: u32, output_tokens: u32, prompt: PromptBlocks) -> Self {
        EngineRequest {
            id,
            input_tokens,
            output_tokens,
            prompt_hashes: prompt.hashes,
            hasher: prompt.hasher,
            output_content: prompt.output_content,
            shared_blocks: u32::MAX,
        }
    }
}
