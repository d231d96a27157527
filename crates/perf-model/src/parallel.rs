//! Parallel layouts (tensor, expert and attention-data parallelism) and their checks.

use crate::arch::{Attention, ModelArch};
use crate::error::PerfError;

/// How one model replica is split over GPUs. Build with [`Parallelism::new`], which checks
/// the layout against the model.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Parallelism {
    /// Tensor-parallel size of attention and dense layers.
    pub tp: u32,
    /// Tensor-parallel size inside each expert.
    pub moe_tp: u32,
    /// Expert-parallel size (experts are spread over this many GPUs).
    pub moe_ep: u32,
    /// Attention data-parallel size (each rank attends to its own sequences).
    pub attention_dp: u32,
}

/// The most GPUs one parallel dimension (or one worker) may span: far beyond any NVLink
/// domain, small enough that products of sizes stay exact in `u32`.
pub const MAX_GPUS: u32 = 4096;

impl Parallelism {
    /// Checks a layout against `arch`. Unset MoE sizes default as AIConfigurator requires
    /// (`tp × attention_dp = moe_tp × moe_ep`): `moe_ep` to 1 and `moe_tp` to the rest.
    ///
    /// ```
    /// use servesim_perf::{ModelArch, Parallelism};
    /// let llama = ModelArch::resolve("llama-3.1-8b")?;
    /// assert_eq!(Parallelism::new(&llama, 2, None, None, 1)?.tp, 2);
    /// let err = Parallelism::new(&llama, 3, None, None, 1).unwrap_err();
    /// assert!(err.to_string().contains("valid tp sizes: 1, 2, 4, 8, 16, 32"));
    /// # Ok::<(), servesim_perf::PerfError>(())
    /// ```
    pub fn new(
        arch: &ModelArch,
        tp: u32,
        moe_tp: Option<u32>,
        moe_ep: Option<u32>,
        attention_dp: u32,
    ) -> Result<Parallelism, PerfError> {
        let bad = |message: String| Err(PerfError::Parallelism(message));
        if tp == 0 || attention_dp == 0 {
            return bad("tp and attention_dp sizes must be ≥ 1".to_owned());
        }
        let sizes = [Some(tp), moe_tp, moe_ep, Some(attention_dp)];
        if sizes.into_iter().flatten().any(|n| n > MAX_GPUS) {
            return bad(format!(
                "parallel sizes must be at most {MAX_GPUS} GPUs, got tp {tp}, attention_dp {attention_dp}, moe_tp {moe_tp:?}, moe_ep {moe_ep:?}"
            ));
        }
        let heads = arch.attention.heads();
        if !heads.is_multiple_of(tp) {
            let valid: Vec<String> = (1..=heads)
                .filter(|t| heads.is_multiple_of(*t) && t.is_power_of_two())
                .map(|t| t.to_string())
                .collect();
            return bad(format!(
                "tp {tp} does not divide the {heads} attention heads of {}; valid tp sizes: {}",
                arch.name,
                valid.join(", ")
            ));
        }
        if let Attention::Gqa { kv_heads, .. } = arch.attention
            && kv_heads % tp != 0
            && !tp.is_multiple_of(kv_heads)
        {
            return bad(format!(
                "tp {tp} neither divides nor is a multiple of the {kv_heads} KV heads of {}",
                arch.name
            ));
        }
        let width = tp * attention_dp;
        let Some(moe) = arch.moe else {
            if moe_tp.is_some_and(|n| n > 1) || moe_ep.is_some_and(|n| n > 1) {
                return bad(format!(
                    "moe_tp/moe_ep sizes apply to mixture-of-experts models; {} is dense",
                    arch.name
                ));
            }
            if !arch.dense_inter.is_multiple_of(tp) {
                return bad(format!(
                    "tp {tp} does not divide the MLP width {} of {}",
                    arch.dense_inter, arch.name
                ));
            }
            return Ok(Parallelism {
                tp,
                moe_tp: 1,
                moe_ep: 1,
                attention_dp,
            });
        };
        let (moe_tp, moe_ep) = match (moe_tp, moe_ep) {
            (Some(t), Some(e)) => (t, e),
            (Some(t), None) => (t, width.checked_div(t).unwrap_or(0)),
            (None, Some(e)) => (width.checked_div(e).unwrap_or(0), e),
            (None, None) => (width, 1),
        };
        if moe_tp == 0 || moe_ep == 0 || u64::from(moe_tp) * u64::from(moe_ep) != u64::from(width) {
            return bad(format!(
                "moe_tp ({moe_tp}) × moe_ep ({moe_ep}) must equal tp ({tp}) × attention_dp ({attention_dp})"
            ));
        }
        if moe.experts % moe_ep != 0 {
            let valid: Vec<String> = (1..=moe.experts.min(width.max(64)))
                .filter(|e| moe.experts % e == 0)
                .map(|e| e.to_string())
                .collect();
            return bad(format!(
                "moe_ep {moe_ep} does not divide the {} experts of {}; valid moe_ep sizes: {}",
                moe.experts,
                arch.name,
                valid.join(", ")
            ));
        }
        if moe.expert_inter % moe_tp != 0 {
            return bad(format!(
                "moe_tp {moe_tp} does not divide the expert width {} of {}",
                moe.expert_inter, arch.name
            ));
        }
        Ok(Parallelism {
            tp,
            moe_tp,
            moe_ep,
            attention_dp,
        })
    }

    /// GPUs of one replica.
    pub fn gpus(&self) -> u32 {
        self.tp * self.attention_dp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moe_defaults_and_errors() {
        let qwen = ModelArch::builtin("qwen3-30b-a3b").unwrap();
        let p = Parallelism::new(&qwen, 4, None, None, 1).unwrap();
        assert_eq!((p.moe_tp, p.moe_ep), (4, 1));
        let p = Parallelism::new(&qwen, 4, None, Some(4), 1).unwrap();
        assert_eq!((p.moe_tp, p.moe_ep), (1, 4));
        let p = Parallelism::new(&qwen, 4, Some(2), None, 1).unwrap();
        assert_eq!((p.moe_tp, p.moe_ep), (2, 2));
        let err = Parallelism::new(&qwen, 2, Some(2), Some(2), 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "moe_tp (2) × moe_ep (2) must equal tp (2) × attention_dp (1)"
        );
        let mixtral = ModelArch::builtin("mixtral-8x7b").unwrap();
        let err = Parallelism::new(&mixtral, 1, Some(1), Some(3), 3).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("moe_ep 3 does not divide the 8 experts of mixtral-8x7b; valid moe_ep sizes: 1, 2, 4, 8"),
            "{err}"
        );
        let llama = ModelArch::builtin("llama-3.1-8b").unwrap();
        assert!(Parallelism::new(&llama, 2, None, Some(2), 1).is_err());
        assert!(Parallelism::new(&llama, 16, None, None, 1).is_ok());
    }
}
