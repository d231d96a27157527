//! `aic-db`: prices the ops of a [`ForwardGraph`] from AIConfigurator's measured Parquet
//! tables, interpolated as AIConfigurator 0.12.0 does (feature `aic-db`).
//!
//! The op list is the analytical model's ([`ForwardGraph::build`]); only the prices differ.
//! Where each op's price comes from:
//!
//! | op | source |
//! |---|---|
//! | GEMMs (`qkv`, `proj`, `gate_ffn1`, `ffn2`, `logits`, router, shared expert) | `gemm_perf` |
//! | attention, prefill | `context_attention_perf` × `(s_full² − prefix²)/s_full²`, plus RoPE and KV-write memory ops × 1.1 |
//! | attention, decode | `generation_attention_perf` at `s = context + 1`, mean over `s ± 10 %` |
//! | latent attention (DeepSeek), projections included | `mla_context_module_perf` / `mla_generation_module_perf` |
//! | routed experts | `moe_perf` (distribution `power_law_1.2`; DeepSeek `power_law_1.01`) |
//! | all-reduce (TP, MoE dispatch and combine) | `custom_allreduce_perf` (CUDA-graph kernels) |
//! | embedding, norms, activations | AIConfigurator's empirical memory rule `bytes / (0.8 · BW) + 3 µs` (as AIC) |
//! | Q/K norms (Qwen3) | AIConfigurator's empirical 26.4 µs per layer in prefill (as AIC) |
//!
//! Not read yet (loading a deployment that needs them is an error naming what is missing):
//! attention data parallelism (NCCL all-gather / reduce-scatter tables), tensor parallelism
//! beyond one node, and AIConfigurator's op-by-op fallback for latent attention where its
//! module tables lack the deployment's formats.
//!
//! ```no_run
//! use servesim_perf::{Deployment, PerfModel, PrefillChunk};
//! let d = Deployment::new("meta-llama/Llama-3.1-8B", "h200_sxm", "vllm", 1, None, None, 1)?;
//! let model = d.aic_db(std::path::Path::new("/path/to/aiconfigurator_core/systems"), None)?;
//! let ms = model.prefill_ms(&[PrefillChunk { new_tokens: 4096, context_tokens: 0 }]);
//! # Ok::<(), servesim_perf::PerfError>(())
//! ```

mod attention;
mod cache;
mod columns;
mod comm;
mod gemm;
mod interp;
mod layout;
mod mla;
mod moe;
#[cfg(test)]
mod moe_tests;
#[cfg(test)]
mod tests;

use std::path::Path;

use self::attention::{Phase, Slice, SliceKey, SliceRequest, format_name, load_slices};
use self::cache::BatchMemo;
use self::comm::AllReduceTable;
use self::gemm::GemmTable;
use self::interp::or_floor;
use self::layout::Layout;
use self::mla::{MlaModule, ModuleKey};
use self::moe::MoeTable;
use crate::arch::{Attention, DType};
use crate::deployment::Deployment;
use crate::error::PerfError;
use crate::ops::{AttnShape, MlaShape, MoeShape, OpKind};
use crate::pass::PrefillChunk;
use crate::step::{OpCoster, StepModel};
use crate::system::{Backend, GpuSystem};

/// The `aic-db` timing model: a [`StepModel`] whose ops are priced from AIConfigurator's
/// tables. Build it with [`Deployment::aic_db`].
pub type AicDbModel = StepModel<AicDbCoster>;

/// Environment variable naming the `systems/` folder when no path is given explicitly.
pub const SYSTEMS_ENV: &str = "SERVESIM_AIC_SYSTEMS";

/// The tables of one attention op.
#[derive(Debug)]
struct AttentionOp {
    shape: AttnShape,
    context: Slice,
    generation: Slice,
    /// Context attention at no prefix by (batch, full length).
    prefill: BatchMemo,
    /// Generation attention by (batch, keys).
    decode: BatchMemo,
}

/// Prices ops from AIConfigurator's measured tables: GEMMs from `gemm_perf`, attention from
/// `context_attention_perf` / `generation_attention_perf`, latent attention from the MLA
/// module tables, experts from `moe_perf`, all-reduce from `custom_allreduce_perf`, memory
/// ops (embedding, norms, activations) by AIConfigurator's empirical rule
/// `bytes / (0.8 · BW) + 3 µs` — see `docs/perf-model.md` for the details.
#[derive(Debug)]
pub struct AicDbCoster {
    system: GpuSystem,
    backend: Backend,
    version: String,
    gemm: GemmTable,
    attention: Vec<AttentionOp>,
    mla: Vec<(MlaShape, MlaModule)>,
    moe: Option<MoeTable>,
    all_reduce: Option<AllReduceTable>,
}

/// AIConfigurator's token distribution over the experts: its MoE models draw tokens from a
/// power law of exponent 1.2, its DeepSeek models 1.01.
fn moe_distribution(deployment: &Deployment) -> &'static str {
    match deployment.arch.attention {
        Attention::Mla { .. } => "power_law_1.01",
        Attention::Gqa { .. } => "power_law_1.2",
    }
}

/// Extra memory ops AIConfigurator adds to every context-attention call (RoPE on Q and K,
/// writing K and V to the cache), with its 1.1 correction factor.
const FUSED_EXTRA_FACTOR: f64 = 1.1;

/// Token counts at which every GEMM of a graph is checked to resolve when the model loads.
const CHECKED_TOKENS: [u64; 4] = [1, 8192, 65_536, 1 << 20];

fn unsupported(deployment: &Deployment, what: &str) -> PerfError {
    PerfError::Database {
        path: deployment.describe(),
        message: format!("{what} is not read by `aic-db` yet; use `perf_model: analytical`"),
    }
}

impl AicDbCoster {
    /// Loads the tables `deployment` needs from the `systems/` folder `root` (AIConfigurator's
    /// `aiconfigurator_core/systems`), at backend `version` (default: AIConfigurator 0.12.0's
    /// current version for the system). Errors name the missing file, slice or shape.
    pub fn load(
        root: &Path,
        deployment: &Deployment,
        version: Option<&str>,
    ) -> Result<AicDbCoster, PerfError> {
        let system = &deployment.system;
        let backend = deployment.backend;
        let layout = Layout::new(root, system.name, backend, version)?;
        let graph = deployment.graph();
        let mut gemms: Vec<(u64, u64, DType)> = Vec::new();
        let mut shapes: Vec<AttnShape> = Vec::new();
        let mut mla_shapes: Vec<MlaShape> = Vec::new();
        let mut moe_shapes: Vec<MoeShape> = Vec::new();
        let mut all_reduce_gpus = None;
        for op in &graph.ops {
            match op.kind {
                OpKind::Gemm { n, k, dtype, .. } => gemms.push((n, k, dtype)),
                OpKind::Attention(shape) if !shapes.contains(&shape) => shapes.push(shape),
                OpKind::Mla(shape) if !mla_shapes.contains(&shape) => mla_shapes.push(shape),
                OpKind::Moe(shape) if !moe_shapes.contains(&shape) => moe_shapes.push(shape),
                OpKind::AllToAll { .. } => {
                    return Err(unsupported(
                        deployment,
                        "attention data parallelism (NCCL all-gather / reduce-scatter)",
                    ));
                }
                OpKind::AllReduce { gpus, .. } if gpus > system.gpus_per_node => {
                    return Err(unsupported(deployment, "an all-reduce across nodes"));
                }
                OpKind::AllReduce { gpus, .. } => all_reduce_gpus = Some(gpus),
                _ => {}
            }
        }
        let gemm = GemmTable::load(&layout.require("gemm", "gemm_perf")?, system, &gemms)?;
        for op in &graph.ops {
            if let OpKind::Gemm { n, k, dtype, .. } = op.kind
                && CHECKED_TOKENS
                    .iter()
                    .any(|&m| gemm.latency(m, n, k, dtype).is_err())
            {
                return Err(PerfError::Database {
                    path: gemm.path().to_owned(),
                    message: format!(
                        "{} GEMM n={n} k={k} ({}): no collected shape within 2 octaves to interpolate from",
                        op.name, dtype
                    ),
                });
            }
        }
        let all_reduce = match all_reduce_gpus {
            Some(gpus) => Some(AllReduceTable::load(
                &layout.require("comm", "custom_allreduce_perf")?,
                gpus,
            )?),
            None => None,
        };
        let attention = load_attention(&layout, system, backend, &shapes)?;
        let mla = mla_shapes
            .iter()
            .map(|shape| Ok((*shape, load_mla(&layout, system, backend, shape)?)))
            .collect::<Result<_, PerfError>>()?;
        let moe = if moe_shapes.is_empty() {
            None
        } else {
            Some(MoeTable::load(
                &layout.require("moe", "moe_perf")?,
                system,
                &moe_shapes,
                moe_distribution(deployment),
            )?)
        };
        Ok(AicDbCoster {
            system: system.clone(),
            backend,
            version: layout.version,
            gemm,
            attention,
            mla,
            moe,
            all_reduce,
        })
    }

    /// The backend version whose tables are in use.
    pub fn version(&self) -> &str {
        &self.version
    }

    fn attention_op(&self, shape: &AttnShape) -> Option<&AttentionOp> {
        self.attention.iter().find(|a| a.shape == *shape)
    }

    fn mla_module(&self, shape: &MlaShape) -> Option<&MlaModule> {
        self.mla.iter().find(|(s, _)| s == shape).map(|(_, m)| m)
    }
}

/// The attention format AIConfigurator pairs with a KV cache: FP8 attention with an FP8
/// cache on TensorRT-LLM and SGLang, BF16 otherwise.
fn attention_format(kv: DType, backend: Backend) -> &'static str {
    match (kv, backend) {
        (DType::Fp8, Backend::Trtllm | Backend::Sglang) => "fp8",
        _ => "bfloat16",
    }
}

fn load_attention(
    layout: &Layout,
    system: &GpuSystem,
    backend: Backend,
    shapes: &[AttnShape],
) -> Result<Vec<AttentionOp>, PerfError> {
    if shapes.is_empty() {
        return Ok(Vec::new());
    }
    let key = |shape: &AttnShape, attn: &'static str| SliceKey {
        attn,
        kv: format_name(shape.kv_dtype),
        kv_heads: if shape.kv_heads == shape.heads {
            0
        } else {
            shape.kv_heads
        },
        head: shape.qk_dim,
        window: shape.window.unwrap_or(0),
    };
    let context_keys: Vec<SliceKey> = shapes
        .iter()
        .map(|s| key(s, attention_format(s.kv_dtype, backend)))
        .collect();
    let generation_keys: Vec<SliceKey> = shapes.iter().map(|s| key(s, "")).collect();
    let context = load_slices(
        &SliceRequest {
            sources: &layout.require("attention", "context_attention_perf")?,
            phase: Phase::Context,
            keys: &context_keys,
        },
        system,
        backend,
        &layout.version,
    )?;
    let generation = load_slices(
        &SliceRequest {
            sources: &layout.require("attention", "generation_attention_perf")?,
            phase: Phase::Generation,
            keys: &generation_keys,
        },
        system,
        backend,
        &layout.version,
    )?;
    Ok(shapes
        .iter()
        .zip(context.into_iter().zip(generation))
        .map(|(&shape, (context, generation))| AttentionOp {
            shape,
            context,
            generation,
            prefill: BatchMemo::new(),
            decode: BatchMemo::new(),
        })
        .collect())
}

/// The latent-attention module of `shape`: prefill in the attention format AIConfigurator
/// pairs with the KV cache, projections in the table's name for the weight format (FP8:
/// block-scaled where the table has it).
fn load_mla(
    layout: &Layout,
    system: &GpuSystem,
    backend: Backend,
    shape: &MlaShape,
) -> Result<MlaModule, PerfError> {
    let context = layout.require("mla", "mla_context_module_perf")?;
    let generation = layout.require("mla", "mla_generation_module_perf")?;
    let kv = format_name(shape.attention.kv_dtype);
    let (preferred, fallback) = match shape.dtype {
        DType::Bf16 => ("bfloat16", None),
        DType::Fp8 | DType::Fp8Block => ("fp8_block", Some("fp8")),
        DType::Fp4 | DType::Mxfp4 => ("nvfp4", None),
    };
    let load = |gemm: &'static str| {
        let context_key = ModuleKey {
            attn: attention_format(shape.attention.kv_dtype, backend),
            kv,
            gemm,
        };
        let generation_key = ModuleKey {
            attn: "",
            ..context_key.clone()
        };
        MlaModule::load(
            &context,
            &generation,
            &context_key,
            &generation_key,
            shape.attention.heads,
            system,
        )
    };
    match (load(preferred), fallback) {
        (Err(e), Some(other)) => load(other).map_err(|_| e),
        (outcome, _) => outcome,
    }
}

impl OpCoster for AicDbCoster {
    fn gemm_ms(&self, m: u64, n: u64, k: u64, dtype: DType) -> f64 {
        or_floor(self.gemm.latency(m, n, k, dtype), || {
            let (m, n, k) = (m as f64, n as f64, k as f64);
            (2.0 * m * n * k / self.system.flops(dtype))
                .max(dtype.bytes() * (m * n + m * k + n * k) / self.system.mem_bw)
                * 1e3
        })
    }

    fn context_attention_ms(&self, shape: &AttnShape, chunks: &[PrefillChunk]) -> f64 {
        let Some(op) = self.attention_op(shape) else {
            return 0.0;
        };
        let mut groups: Vec<(u32, u32)> = chunks
            .iter()
            .filter(|c| c.new_tokens > 0)
            .map(|c| (c.new_tokens, c.context_tokens))
            .collect();
        if groups.is_empty() {
            return 0.0;
        }
        groups.sort_unstable();
        let mut table = 0.0;
        for run in groups.chunk_by(|a, b| a == b) {
            let (new, prefix) = run[0];
            let batch = u32::try_from(run.len()).unwrap_or(u32::MAX);
            let full = f64::from(new) + f64::from(prefix);
            let at_full = op.prefill.get(batch, full, &|b, s| {
                let (heads, s, b) = (f64::from(shape.heads), f64::from(s), f64::from(b));
                or_floor(op.context.context_ms(heads, s, b), || {
                    op.context.sol_ms(&[heads, s, b])
                })
            });
            let p = f64::from(prefix);
            table += at_full * (full * full - p * p) / (full * full);
        }
        let q = f64::from(shape.heads * shape.qk_dim);
        let kv = f64::from(shape.kv_heads * shape.qk_dim);
        let mem = |bytes: f64| self.system.mem_op_ms(bytes);
        let cache_bytes = if attention_format(shape.kv_dtype, self.backend) == "fp8" {
            1.0
        } else {
            2.0
        };
        let rope = 2.0 * mem(q * 2.0 + kv * 2.0);
        let kv_write = 2.0 * mem(kv * cache_bytes);
        table + FUSED_EXTRA_FACTOR * (rope + kv_write)
    }

    fn generation_attention_ms(&self, shape: &AttnShape, batch: u32, keys: f64) -> f64 {
        let Some(op) = self.attention_op(shape) else {
            return 0.0;
        };
        op.decode.get(batch, keys, &|b, s| {
            or_floor(op.generation.generation_ms(shape.heads, b, s), || {
                op.generation
                    .sol_ms(&[f64::from(shape.heads), f64::from(b), f64::from(s)])
            })
        })
    }

    fn all_reduce_ms(&self, elements: u64, gpus: u32) -> f64 {
        self.all_reduce.as_ref().map_or(0.0, |t| {
            or_floor(t.latency(elements, gpus), || {
                elements as f64 * 4.0 / self.system.link_bw * 1e3
            })
        })
    }

    fn moe_ms(&self, shape: &MoeShape, tokens: u64) -> f64 {
        self.moe.as_ref().map_or(0.0, |t| {
            or_floor(t.latency(shape, tokens), || {
                let flops = 6.0
                    * tokens as f64
                    * f64::from(shape.top_k)
                    * f64::from(shape.hidden)
                    * f64::from(shape.inter);
                flops / self.system.flops(shape.dtype) * 1e3
            })
        })
    }

    fn mla_prefill_ms(&self, shape: &MlaShape, chunks: &[PrefillChunk]) -> f64 {
        self.mla_module(shape).map_or(0.0, |m| m.prefill_ms(chunks))
    }

    fn mla_decode_ms(&self, shape: &MlaShape, batch: u32, keys: f64, _tokens: u64) -> f64 {
        self.mla_module(shape)
            .map_or(0.0, |m| m.decode_ms(batch, keys))
    }

    fn all_to_all_ms(&self, _bytes_per_token: f64, _tokens: u64, _gpus: u32) -> f64 {
        0.0
    }

    fn mem_ms(&self, bytes: f64) -> f64 {
        self.system.mem_op_ms(bytes)
    }
}

impl Deployment {
    /// The `aic-db` model of this deployment, its tables read from the `systems/` folder
    /// `root` at backend `version` (see [`AicDbCoster::load`]).
    pub fn aic_db(&self, root: &Path, version: Option<&str>) -> Result<AicDbModel, PerfError> {
        let coster = AicDbCoster::load(root, self, version)?;
        Ok(StepModel::new("aic-db", self.graph(), coster))
    }
}
