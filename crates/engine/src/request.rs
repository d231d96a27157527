//! Requests as an engine sees them.

use servesim_trace::{BlockHash, BlockHasher, PromptBlocks};

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
        }
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
        }
    }
}
