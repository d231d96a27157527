//! GPU systems: the hardware facts a timing model needs, per GPU, named as AIConfigurator
//! names them (`h200_sxm`, …).

use std::fmt;
use std::str::FromStr;

use crate::arch::DType;
use crate::error::PerfError;

const GIB: u64 = 1 << 30;

/// One GPU SKU in its usual node. All figures are per GPU and dense (no sparsity).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GpuSystem {
    /// AIConfigurator's system name, e.g. `h200_sxm`.
    pub name: &'static str,
    /// Marketing name, for humans.
    pub description: &'static str,
    /// Dense BF16 tensor-core FLOP/s.
    pub bf16_flops: f64,
    /// Dense FP8 tensor-core FLOP/s (0: not supported).
    pub fp8_flops: f64,
    /// Dense FP4 tensor-core FLOP/s (0: not supported).
    pub fp4_flops: f64,
    /// Peak memory bandwidth, bytes/s.
    pub mem_bw: f64,
    /// Memory capacity as `nvidia-smi` (or `rocm-smi`) reports it, bytes; a process can
    /// allocate [`DRIVER_RESERVE_BYTES`] less ([`GpuSystem::usable_mem_bytes`]).
    pub mem_bytes: u64,
    /// Scale-up link bandwidth per GPU and direction (NVLink, Infinity Fabric, PCIe), bytes/s.
    pub link_bw: f64,
    /// GPUs joined by that link.
    pub gpus_per_node: u32,
}

impl GpuSystem {
    /// Dense tensor-core FLOP/s for GEMMs in `dtype`; formats the GPU lacks run at the next
    /// wider one (FP4 weights on Hopper are dequantised to FP8/BF16 arithmetic).
    pub fn flops(&self, dtype: DType) -> f64 {
        match dtype {
            DType::Fp4 | DType::Mxfp4 if self.fp4_flops > 0.0 => self.fp4_flops,
            DType::Fp4 | DType::Mxfp4 | DType::Fp8 | DType::Fp8Block if self.fp8_flops > 0.0 => {
                self.fp8_flops
            }
            _ => self.bf16_flops,
        }
    }

    /// Time of a pure memory operation moving `bytes`, as AIConfigurator prices element-wise
    /// ops: `bytes / (0.8 · bandwidth) + 3 µs`, in milliseconds.
    pub fn mem_op_ms(&self, bytes: f64) -> f64 {
        (bytes / (MEM_BW_SCALE * self.mem_bw) + MEM_OP_LATENCY_S) * 1e3
    }

    /// Memory a process can allocate: the reported total less the driver's reserve.
    pub fn usable_mem_bytes(&self) -> u64 {
        self.mem_bytes.saturating_sub(DRIVER_RESERVE_BYTES)
    }

    /// Memory set aside for the communication library (NCCL buffers) at `tp` GPUs.
    pub fn comm_reserve_bytes(&self, tp: u32) -> u64 {
        match tp {
            0 | 1 => 0,
            2 => 342 << 20,
            _ => 392 << 20,
        }
    }

    /// A built-in system by name (case-insensitive; `-` and `_` are interchangeable).
    ///
    /// ```
    /// use servesim_perf::GpuSystem;
    /// let h200 = GpuSystem::by_name("h200_sxm")?;
    /// assert_eq!(h200.mem_bw, 4.8e12);
    /// assert!(GpuSystem::by_name("h300").unwrap_err().to_string().contains("b200_sxm"));
    /// # Ok::<(), servesim_perf::PerfError>(())
    /// ```
    pub fn by_name(name: &str) -> Result<&'static GpuSystem, PerfError> {
        let key = name.to_ascii_lowercase().replace('-', "_");
        SYSTEMS
            .iter()
            .find(|s| s.name == key || s.name.strip_suffix("_sxm") == Some(key.as_str()))
            .ok_or_else(|| PerfError::UnknownSystem {
                name: name.to_owned(),
                choices: system_names().collect::<Vec<_>>().join(", "),
            })
    }
}

/// AIConfigurator's empirical memory-bandwidth efficiency (`mem_bw_empirical_scaling_factor`).
pub(crate) const MEM_BW_SCALE: f64 = 0.8;
/// AIConfigurator's fixed cost of a memory operation (`mem_empirical_constant_latency`).
pub(crate) const MEM_OP_LATENCY_S: f64 = 3e-6;
/// Memory the driver keeps on every GPU beyond what a process can allocate: the gap between
/// `nvidia-smi`'s total and the CUDA runtime's (`torch.cuda.mem_get_info`), about 0.5 GiB
/// on H100/H200 (81,559 MiB shown, 79.1 GiB usable).
pub const DRIVER_RESERVE_BYTES: u64 = 512 << 20;

/// Names of the built-in systems, in display order.
pub fn system_names() -> impl Iterator<Item = &'static str> {
    SYSTEMS.iter().map(|s| s.name)
}

/// The built-in systems. Sources: vendor datasheets, cross-checked with AIConfigurator's
/// system files (whose bandwidth and capacity figures are used where they differ).
pub static SYSTEMS: &[GpuSystem] = &[
    GpuSystem {
        name: "a100_sxm",
        description: "NVIDIA A100 80GB SXM",
        bf16_flops: 312e12,
        fp8_flops: 0.0,
        fp4_flops: 0.0,
        mem_bw: 2.039e12,
        mem_bytes: 81_920 << 20,
        link_bw: 300e9,
        gpus_per_node: 8,
    },
    GpuSystem {
        name: "h100_sxm",
        description: "NVIDIA H100 80GB SXM",
        bf16_flops: 989e12,
        fp8_flops: 1978e12,
        fp4_flops: 0.0,
        mem_bw: 3.35e12,
        mem_bytes: 81_559 << 20,
        link_bw: 450e9,
        gpus_per_node: 8,
    },
    GpuSystem {
        name: "h200_sxm",
        description: "NVIDIA H200 141GB SXM",
        bf16_flops: 989e12,
        fp8_flops: 1978e12,
        fp4_flops: 0.0,
        mem_bw: 4.8e12,
        mem_bytes: 143_771 << 20,
        link_bw: 450e9,
        gpus_per_node: 8,
    },
    GpuSystem {
        name: "b200_sxm",
        description: "NVIDIA B200 180GB (HGX, 1000 W)",
        bf16_flops: 2250e12,
        fp8_flops: 4500e12,
        fp4_flops: 9000e12,
        mem_bw: 7.7e12,
        mem_bytes: 183_359 << 20,
        link_bw: 900e9,
        gpus_per_node: 8,
    },
    GpuSystem {
        name: "gb200",
        description: "NVIDIA GB200 NVL72, per GPU (1200 W)",
        bf16_flops: 2500e12,
        fp8_flops: 5000e12,
        fp4_flops: 10000e12,
        mem_bw: 8.0e12,
        mem_bytes: 189_471 << 20,
        link_bw: 900e9,
        gpus_per_node: 72,
    },
    GpuSystem {
        name: "l40s",
        description: "NVIDIA L40S 48GB (PCIe, no NVLink)",
        bf16_flops: 362.05e12,
        fp8_flops: 733e12,
        fp4_flops: 0.0,
        mem_bw: 864e9,
        mem_bytes: 46_068 << 20,
        link_bw: 32e9,
        gpus_per_node: 8,
    },
    GpuSystem {
        name: "mi300x",
        description: "AMD Instinct MI300X 192GB (OAM, 750 W)",
        bf16_flops: 1307.4e12,
        fp8_flops: 2614.9e12,
        fp4_flops: 0.0,
        mem_bw: 5.3e12,
        mem_bytes: 192 * GIB,
        link_bw: 448e9,
        gpus_per_node: 8,
    },
    GpuSystem {
        name: "b300_sxm",
        description: "NVIDIA B300 288GB (HGX, Blackwell Ultra)",
        bf16_flops: 2250e12,
        fp8_flops: 4500e12,
        fp4_flops: 13500e12,
        mem_bw: 7.7e12,
        mem_bytes: 275_040 << 20,
        link_bw: 900e9,
        gpus_per_node: 8,
    },
    GpuSystem {
        name: "mi325x",
        description: "AMD Instinct MI325X 256GB (OAM, 1000 W)",
        bf16_flops: 1307.4e12,
        fp8_flops: 2614.9e12,
        fp4_flops: 0.0,
        mem_bw: 6.0e12,
        mem_bytes: 256 * GIB,
        link_bw: 448e9,
        gpus_per_node: 8,
    },
    GpuSystem {
        name: "mi355x",
        description: "AMD Instinct MI355X 288GB (OAM, 1400 W)",
        bf16_flops: 2516.6e12,
        fp8_flops: 5033.2e12,
        fp4_flops: 10066.3e12,
        mem_bw: 8.0e12,
        mem_bytes: 288 * GIB,
        link_bw: 448e9,
        gpus_per_node: 8,
    },
];

/// The serving engine whose kernels a timing model describes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// vLLM.
    Vllm,
    /// SGLang.
    Sglang,
    /// TensorRT-LLM.
    Trtllm,
}

impl Backend {
    /// Every backend, in display order.
    pub const ALL: [Backend; 3] = [Backend::Vllm, Backend::Sglang, Backend::Trtllm];

    /// The backend's name as AIConfigurator spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Vllm => "vllm",
            Backend::Sglang => "sglang",
            Backend::Trtllm => "trtllm",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = PerfError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "vllm" => Ok(Backend::Vllm),
            "sglang" => Ok(Backend::Sglang),
            "trtllm" | "tensorrt-llm" | "tensorrt_llm" => Ok(Backend::Trtllm),
            _ => Err(PerfError::UnknownBackend { name: s.to_owned() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        assert_eq!(GpuSystem::by_name("H100-SXM").unwrap().name, "h100_sxm");
        assert_eq!(GpuSystem::by_name("b200").unwrap().name, "b200_sxm");
        assert_eq!(
            GpuSystem::by_name("tpu").unwrap_err().to_string(),
            "unknown system `tpu`; built-in systems: a100_sxm, h100_sxm, h200_sxm, b200_sxm, gb200, l40s, mi300x, b300_sxm, mi325x, mi355x"
        );
        assert_eq!("TRTLLM".parse::<Backend>().unwrap(), Backend::Trtllm);
        assert_eq!(
            "tgi".parse::<Backend>().unwrap_err().to_string(),
            "unknown backend `tgi`; backends: vllm, sglang, trtllm"
        );
    }

    #[test]
    fn memory_ops_follow_the_empirical_rule() {
        let h200 = GpuSystem::by_name("h200_sxm").unwrap();
        // Llama-3.1-8B embedding of 4096 tokens: 4096·4096·2 bytes.
        let ms = h200.mem_op_ms(4096.0 * 4096.0 * 2.0);
        assert!((ms - 0.011_738_133).abs() < 1e-9, "{ms}");
        assert_eq!(h200.flops(DType::Fp4), 1978e12);
        assert_eq!(
            GpuSystem::by_name("a100_sxm").unwrap().flops(DType::Fp8),
            312e12
        );
    }
}
