//! From a measured row to the simulation that reproduces it: the deployment as engine
//! arguments, the benchmark client's closed loop as a workload, and the replay.

use serde_json::{Value, json};
use servesim_engine::{EngineArgs, EngineError};
use servesim_perf::{DType, Deployment, ModelArch};
use servesim_trace::synth::{ArrivalProcess, LengthDist, SyntheticSpec};

use super::table::{Measurement, RowError};
use crate::admission::AdmissionMode;
use crate::config::{ReplayConfig, RouterMode};
use crate::sim::{NoObserver, replay};

/// What a simulation predicts for a row's measured figures.
#[derive(Copy, Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Predicted {
    /// Mean time to first token, ms (from dispatch, queueing included).
    pub mean_ttft_ms: f64,
    /// Mean over requests of `(E2E − TTFT) / (output − 1)`, ms.
    pub mean_tpot_ms: f64,
    /// `(prompt + generated tokens) / duration / GPUs`.
    pub throughput_tok_s_per_gpu: f64,
    /// `generated tokens / duration / GPUs`.
    pub output_tok_s_per_gpu: f64,
}

/// Why a well-formed row is not simulated.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum NotRun {
    /// The simulator lacks what the row needs (a model, a GPU, a feature).
    Unsupported(String),
    /// The simulation could not run (the model does not fit, a request can never be served).
    Failed(String),
}

/// A row ready to simulate.
#[derive(Clone, Debug)]
pub struct Case {
    /// The engine arguments, as JSON (what `--extra-engine-args` would take).
    pub engine_args: Value,
    /// Replicas behind the figures.
    pub workers: u32,
    /// The closed-loop workload: warm-up requests first, then the measured ones.
    pub spec: SyntheticSpec,
    /// Requests in flight.
    pub concurrency: u32,
    /// Warm-up requests.
    pub warmup: u32,
    /// GPUs behind the figures.
    pub num_gpus: u32,
}

/// Seed of every row's workload (the same row always draws the same lengths).
const SEED: u64 = 42;

impl Measurement {
    /// The simulation of this row, or why it is not simulated. Rows of unknown models or
    /// GPUs, and attention data parallelism, are unsupported; a malformed cell is an error.
    pub fn case(&self) -> Result<Result<Case, NotRun>, RowError> {
        let error = |column: &str, message: String| RowError {
            place: self.place.clone(),
            column: column.to_owned(),
            message,
        };
        if self.dataset != "random" {
            return Ok(Err(NotRun::Unsupported(format!(
                "dataset `{}`: only synthetic (random) lengths are replayed",
                self.dataset
            ))));
        }
        if self.spec_method != "none" {
            return Ok(Err(NotRun::Unsupported(format!(
                "speculative decoding (`{}`): the run's acceptance rates are not known",
                self.spec_method
            ))));
        }
        if self.dp_attention > 1 {
            return Ok(Err(NotRun::Unsupported(
                "attention data parallelism is not modelled end to end".to_owned(),
            )));
        }
        if !self.num_gpus.is_multiple_of(self.tp) {
            return Err(error(
                "num_gpus",
                format!("{} is not a multiple of tp {}", self.num_gpus, self.tp),
            ));
        }
        let mut args = json!({
            "engine_type": self.backend,
            "aic_backend": self.backend,
            "aic_model_path": self.model,
            "aic_system": self.system,
            "aic_tp_size": self.tp,
        });
        let set = |args: &mut Value, key: &str, value: Value| {
            if let Some(map) = args.as_object_mut() {
                map.insert(key.to_owned(), value);
            }
        };
        if let Some(ep) = self.ep.filter(|&ep| ep > 1) {
            set(&mut args, "aic_moe_ep_size", ep.into());
            set(&mut args, "aic_moe_tp_size", (self.tp / ep).max(1).into());
        }
        if let Some(precision) = &self.precision
            && !self.checkpoint_has(precision)
        {
            set(&mut args, "weight_dtype", precision.as_str().into());
        }
        if let Some(kv) = &self.kv_cache_dtype {
            set(&mut args, "kv_cache_dtype", kv.as_str().into());
        }
        if let Some(f) = self.gpu_memory_utilization {
            set(&mut args, "gpu_memory_utilization", f.into());
        }
        if let Some(on) = self.enable_chunked_prefill {
            set(&mut args, "enable_chunked_prefill", on.into());
        }
        let (mut max_seqs, mut max_tokens) = (self.max_num_seqs, self.max_num_batched_tokens);
        if self.client.as_deref() == Some("trtllm-bench")
            && (max_seqs.is_none() || max_tokens.is_none())
        {
            // trtllm-bench sizes the engine for the dataset itself.
            let probe = EngineArgs::from_json(&args.to_string())
                .map_err(|e| error("row", e.to_string()))?;
            match probe.deployment() {
                Ok(Some(d)) => {
                    let (seqs, tokens) = trtllm_bench_limits(&d, self.isl, self.osl);
                    max_seqs = max_seqs.or(Some(seqs));
                    max_tokens = max_tokens.or(Some(tokens));
                }
                Ok(None) => {}
                Err(e) => return Ok(Err(classify(&e))),
            }
        }
        if let Some(n) = max_seqs {
            set(&mut args, "max_num_seqs", n.into());
        }
        if let Some(n) = max_tokens {
            set(&mut args, "max_num_batched_tokens", n.into());
        }
        // The table checked every value it passes on, so this parses.
        let parsed =
            EngineArgs::from_json(&args.to_string()).map_err(|e| error("row", e.to_string()))?;
        let engine = match parsed.resolve() {
            Ok(engine) => engine,
            Err(e) => return Ok(Err(classify(&e))),
        };
        let block_size = engine.block_size;
        Ok(Ok(Case {
            engine_args: args,
            workers: self.num_gpus / self.tp,
            spec: SyntheticSpec {
                sessions: self.num_prompts.saturating_add(self.warmup_requests),
                turns_per_session: 1,
                input: LengthDist::random_range(self.isl, self.random_range_ratio),
                followup_input: None,
                output: LengthDist::random_range(self.osl, self.random_range_ratio),
                arrival: ArrivalProcess::Burst,
                block_size,
                seed: SEED,
                ..SyntheticSpec::default()
            },
            concurrency: self.concurrency,
            warmup: self.warmup_requests,
            num_gpus: self.num_gpus,
        }))
    }

    /// Whether the checkpoint already stores its weights (dense or expert) in `precision`, so
    /// that the engine needs no `weight_dtype` (gpt-oss: MXFP4 experts beside bf16 attention).
    fn checkpoint_has(&self, precision: &str) -> bool {
        let Ok(arch) = ModelArch::resolve(&self.model) else {
            return false;
        };
        let formats = [Some(arch.gemm_dtype), arch.moe.map(|m| m.expert_dtype)];
        formats.into_iter().flatten().any(|d| match precision {
            "fp8" => matches!(d, DType::Fp8 | DType::Fp8Block),
            "fp16" => d == DType::Bf16,
            other => d.as_str() == other,
        })
    }
}

/// The `max_batch_size` and `max_num_tokens` `trtllm-bench throughput` picks for a dataset
/// of `isl`/`osl` requests when not told (`bench/build/tuning.py`, TensorRT-LLM 0.20–1.x):
/// the requests whose KV fits 90 % of the memory the weights leave, at most 4096, rounded up
/// (to 32 below 256, 128 below 1024, else 256); tokens for that batch's decode plus its share
/// of prefill, `bs · (1 + isl / osl)` at most 32,768, rounded up (to 256 below 4096, 512
/// below 8192, else 1024, at least 2048) and, without chunked context, at least `isl + bs`.
fn trtllm_bench_limits(d: &Deployment, isl: u32, osl: u32) -> (u32, u32) {
    let gpus = f64::from(d.parallelism.gpus());
    let available = d.system.mem_bytes as f64 * gpus - d.arch.weight_bytes();
    let per_token = d.kv_bytes_per_token_per_gpu() * gpus;
    let per_request = per_token * f64::from(isl + osl);
    let requests = if per_request > 0.0 {
        (available * 0.9 / per_request).max(1.0)
    } else {
        1.0
    };
    bench_sizes(requests, isl, osl)
}

/// trtllm-bench's rounding of `requests` that fit into `(max_batch_size, max_num_tokens)`.
fn bench_sizes(requests: f64, isl: u32, osl: u32) -> (u32, u32) {
    let raw_bs = requests.min(4096.0);
    let round_up = |x: f64, unit: f64| (x / unit).ceil() * unit;
    let bs = if raw_bs < 256.0 {
        round_up(raw_bs, 32.0).max(64.0)
    } else if raw_bs < 1024.0 {
        round_up(raw_bs, 128.0)
    } else {
        round_up(raw_bs, 256.0)
    };
    let raw_tokens = (raw_bs * (1.0 + f64::from(isl) / f64::from(osl.max(1)))).min(32_768.0);
    let tokens = if raw_tokens < 4096.0 {
        round_up(raw_tokens, 256.0).max(2048.0)
    } else if raw_tokens < 8192.0 {
        round_up(raw_tokens, 512.0)
    } else {
        round_up(raw_tokens, 1024.0)
    };
    let tokens = tokens.max(f64::from(isl) + bs);
    (bs as u32, tokens as u32)
}

/// Unknown models and systems are unsupported; anything else is a failed simulation.
fn classify(e: &EngineError) -> NotRun {
    let text = e.to_string();
    if text.contains("unknown model") || text.contains("unknown system") {
        NotRun::Unsupported(text)
    } else {
        NotRun::Failed(text)
    }
}

impl Case {
    /// Replays the case and measures what the benchmark client measured.
    pub fn run(&self) -> Result<Predicted, NotRun> {
        let engine = EngineArgs::from_json(&self.engine_args.to_string())
            .and_then(|a| a.resolve())
            .map_err(|e| NotRun::Failed(e.to_string()))?;
        let workload = self
            .spec
            .generate()
            .map_err(|e| NotRun::Failed(e.to_string()))?;
        let mut config = ReplayConfig::aggregated(
            self.workers,
            engine,
            RouterMode::RoundRobin,
            AdmissionMode::Concurrency(self.concurrency),
            SEED,
        );
        config.warmup_requests = self.warmup;
        let outcome = replay(&workload, &config, &mut NoObserver)
            .map_err(|e| NotRun::Failed(e.to_string()))?;
        let m = &outcome.metrics;
        let seconds = m.duration_ms / 1000.0;
        let gpus = f64::from(self.num_gpus);
        let per_gpu = |tokens: u64| {
            if seconds > 0.0 {
                tokens as f64 / seconds / gpus
            } else {
                0.0
            }
        };
        Ok(Predicted {
            mean_ttft_ms: m.ttft.mean,
            mean_tpot_ms: m.tpot.mean,
            throughput_tok_s_per_gpu: per_gpu(m.total_input_tokens + m.total_output_tokens),
            output_tok_s_per_gpu: per_gpu(m.total_output_tokens),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Table;

    const HEADER: &str = "model,system,backend,precision,tp,ep,kv_cache_dtype,max_num_seqs,\
                          isl,osl,random_range_ratio,concurrency,num_prompts,warmup_requests,\
                          num_gpus,dataset,dp_attention,client";

    fn row(cells: &str) -> Measurement {
        let table = Table::parse(&format!("{HEADER}\n{cells}\n"), "t.csv").unwrap();
        assert!(table.errors.is_empty(), "{:?}", table.errors);
        table.rows[0].clone()
    }

    #[test]
    fn a_row_becomes_engine_args_and_a_closed_loop() {
        let m = row(
            "nvidia/Llama-3.3-70B-Instruct-FP8,h100_sxm,trtllm,fp8,2,,fp8,64,\
             5000,500,0.8,25,250,10,4,random,,",
        );
        let case = m.case().unwrap().unwrap();
        assert_eq!(
            case.engine_args,
            json!({
                "engine_type": "trtllm",
                "aic_backend": "trtllm",
                "aic_model_path": "nvidia/Llama-3.3-70B-Instruct-FP8",
                "aic_system": "h100_sxm",
                "aic_tp_size": 2,
                "kv_cache_dtype": "fp8",
                "max_num_seqs": 64,
            })
        );
        // Four GPUs at TP 2: two replicas behind the figures.
        assert_eq!((case.workers, case.num_gpus), (2, 4));
        assert_eq!((case.concurrency, case.warmup), (25, 10));
        assert_eq!(case.spec.sessions, 260);
        assert_eq!(case.spec.input, LengthDist::random_range(5000, 0.8));
        assert_eq!(case.spec.output, LengthDist::random_range(500, 0.8));
    }

    #[test]
    fn precision_is_passed_only_when_the_name_does_not_say_it() {
        let named = row("meta-llama/Llama-3.1-8B-FP8,h100_sxm,vllm,fp8,1,,,,128,128,1,1,2,,,,,");
        assert!(
            named
                .case()
                .unwrap()
                .unwrap()
                .engine_args
                .get("weight_dtype")
                .is_none()
        );
        let told = row("meta-llama/Llama-3.1-8B,h100_sxm,vllm,fp8,1,,,,128,128,1,1,2,,,,,");
        assert_eq!(
            told.case().unwrap().unwrap().engine_args["weight_dtype"],
            "fp8"
        );
    }

    #[test]
    fn what_is_not_modelled_is_unsupported() {
        let not_run = |cells: &str| row(cells).case().unwrap().unwrap_err();
        assert_eq!(
            not_run("meta-llama/Llama-3.1-8B,h100_sxm,vllm,,8,,,,128,128,1,8,16,,,random,true,"),
            NotRun::Unsupported("attention data parallelism is not modelled end to end".into())
        );
        assert_eq!(
            not_run("meta-llama/Llama-3.1-8B,h100_sxm,vllm,,1,,,,,,,8,16,,,sharegpt,,"),
            NotRun::Unsupported(
                "dataset `sharegpt`: only synthetic (random) lengths are replayed".into()
            )
        );
        let table = Table::parse(
            "model,system,backend,isl,osl,concurrency,spec_method\n\
             meta-llama/Llama-3.1-8B,h100_sxm,vllm,128,128,4,MTP\n",
            "t.csv",
        )
        .unwrap();
        assert_eq!(
            table.rows[0].case().unwrap().unwrap_err(),
            NotRun::Unsupported(
                "speculative decoding (`mtp`): the run's acceptance rates are not known".into()
            )
        );
        assert!(matches!(
            not_run("acme/Unknown-7B,h100_sxm,vllm,,1,,,,128,128,1,1,2,,,,,"),
            NotRun::Unsupported(reason) if reason.contains("unknown model")
        ));
        let err = row("meta-llama/Llama-3.1-8B,h100_sxm,vllm,,2,,,,128,128,1,1,2,,3,,,")
            .case()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv:2: num_gpus: 3 is not a multiple of tp 2"
        );
    }

    #[test]
    fn trtllm_bench_rounds_its_batch_and_token_limits() {
        // 100 requests fit: batch rounded up to 32s (at least 64), tokens to 256s (≥ 2048).
        assert_eq!(bench_sizes(100.0, 128, 128), (128, 2048));
        assert_eq!(bench_sizes(40.0, 128, 128), (64, 2048));
        // 300 → 384 (128s); 300 · (1 + 1000/100) = 3300 → 3328 (256s); 300 · 51 → 15,360 (1024s).
        assert_eq!(bench_sizes(300.0, 1000, 100), (384, 3328));
        assert_eq!(bench_sizes(300.0, 5000, 100), (384, 15_360));
        // Capped at 4096 sequences and 32,768 tokens.
        assert_eq!(bench_sizes(10_000.0, 128, 128), (4096, 8192));
        assert_eq!(bench_sizes(10_000.0, 2048, 128), (4096, 32_768));
    }

    #[test]
    fn a_case_predicts_what_the_client_measures() {
        let m = row("meta-llama/Llama-3.1-8B,h100_sxm,vllm,,1,,,,1024,128,1,4,16,4,2,,,");
        let p = m.case().unwrap().unwrap().run().unwrap();
        // Fixed lengths: total over output tokens is (isl + osl) / osl exactly.
        let ratio = p.throughput_tok_s_per_gpu / p.output_tok_s_per_gpu;
        assert!((ratio - 1152.0 / 128.0).abs() < 1e-9, "{ratio}");
        assert!(p.mean_ttft_ms > 0.0 && p.mean_tpot_ms > 0.0);
        // Deterministic: the same row predicts the same figures.
        assert_eq!(m.case().unwrap().unwrap().run().unwrap(), p);
    }
}
