//! Hot paths of the engine core.
//!
//! * `decode_step/256`: steady decode with 256 running sequences — time per advanced step
//!   (target ≤ 200 ns, independent of the batch size; compare `decode_step/16`);
//!   `decode_step_with_completions/*` also amortises the completion of every sequence
//!   (hashing, caching and releasing its generated blocks) over its steps.
//! * `admit_prefill_2048`: a pass admitting and prefilling requests with distinct prompts.
//! * `prefix_lookup_200`: looking up a 200-block prompt in a warm 16k-block cache.
//! * `acquire_evict_release_200`: a fresh 200-block prompt into a full cache (evicting 200
//!   least-recently-used blocks) and its release.
//! * `sglang_decode_step/*`: the SGLang-style engine's decode pass (O(batch): every request
//!   is advanced and its pages counted), 64-token pages; `sglang_decode_step_mtp/256` with
//!   speculative decoding (`nextn` 2), which also draws every request's drafts.
//! * `radix_match_200`: matching a 200-page prompt in a radix cache of 80 cached prompts.

// criterion_group! generates undocumented public items; a bench may stop on broken setup.
#![allow(missing_docs, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use servesim_engine::{
    EngineArgs, EngineRequest, EngineType, KvCache, Limit, PassOutput, RadixCache, RequestId,
    Scheduler, SeqBlocks, SglangArgs, SglangScheduler, VllmScheduler,
};
use servesim_trace::{BlockHash, BlockHasher, SimTime};

fn request(id: u64, isl: u32, osl: u32) -> EngineRequest {
    EngineRequest::uniform(RequestId(id), isl, osl, id, 64)
}

/// An engine with `batch` sequences decoding (prompts prefilled), and the time it is at.
fn decoding_engine(batch: u32) -> (VllmScheduler, SimTime) {
    let args = EngineArgs {
        num_gpu_blocks: Some(200_000),
        max_num_batched_tokens: Limit::At(1 << 20),
        max_num_seqs: Limit::At(batch),
        ..EngineArgs::default()
    };
    warm_up(
        VllmScheduler::new(args.resolve().expect("valid bench config")),
        batch,
    )
}

/// An SGLang-style engine (64-token pages) with `batch` requests decoding.
fn sglang_decoding_engine(batch: u32, nextn: Option<u32>) -> (SglangScheduler, SimTime) {
    let args = EngineArgs {
        engine_type: EngineType::Sglang,
        block_size: Some(64),
        num_gpu_blocks: Some(200_000),
        aic_nextn: nextn,
        sglang: Some(SglangArgs {
            max_prefill_tokens: 1 << 20,
            chunked_prefill_size: Some(1 << 20),
            ..SglangArgs::default()
        }),
        ..EngineArgs::default()
    };
    warm_up(
        SglangScheduler::new(args.resolve().expect("valid bench config")),
        batch,
    )
}

/// Enqueues `batch` requests, prefills them and takes one decode step.
fn warm_up<E: Scheduler>(mut engine: E, batch: u32) -> (E, SimTime) {
    for i in 0..batch {
        engine
            .enqueue(request(u64::from(i), 1000, 4_000))
            .expect("fits");
    }
    let mut out = PassOutput::default();
    let mut now = SimTime::ZERO;
    // Prefill everything and take one decode step so the batch is in steady state.
    for _ in 0..3 {
        out.clear();
        now = engine.step(now, &mut out).expect("work");
    }
    (engine, now)
}

/// Times `run_until` over `iters` decode steps, starting from clones of `prepared`; a clone
/// is replaced (outside the timer) whenever a run ends. With `horizon_steps`, runs stop at a
/// horizon before any request completes (steady decode); without, they run to completion,
/// so the per-step figure includes hashing and releasing every generated block.
fn time_decode<E: Scheduler + Clone>(
    prepared: &(E, SimTime),
    iters: u64,
    horizon_steps: Option<u64>,
) -> Duration {
    let mut out = PassOutput::default();
    let mut done = 0u64;
    let mut elapsed = Duration::ZERO;
    while done < iters {
        let (mut engine, mut now) = (prepared.0.clone(), prepared.1);
        loop {
            // A polynomial decode step takes at least 5.74 ms, so a horizon of `n · 5 ms`
            // stops within `n` steps — well before the 4000-token outputs complete.
            let horizon = horizon_steps.map_or(SimTime::MAX, |n| now + SimTime::from_millis(5 * n));
            out.clear();
            let timer = Instant::now();
            let end = engine.run_until(now, horizon, &mut out);
            elapsed += timer.elapsed();
            done += out.passes;
            match end {
                Some(end) if done < iters && horizon_steps.is_none() && out.signals.is_empty() => {
                    now = end
                }
                _ => break,
            }
        }
    }
    Duration::from_secs_f64(elapsed.as_secs_f64() * iters as f64 / done.max(1) as f64)
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    for batch in [16u32, 256] {
        let prepared = decoding_engine(batch);
        // One criterion iteration = one decode step advanced by `run_until`.
        group.bench_function(BenchmarkId::new("decode_step", batch), |b| {
            b.iter_custom(|iters| time_decode(&prepared, iters, Some(1000)))
        });
        group.bench_function(
            BenchmarkId::new("decode_step_with_completions", batch),
            |b| b.iter_custom(|iters| time_decode(&prepared, iters, None)),
        );
    }
    for batch in [16u32, 256] {
        let prepared = sglang_decoding_engine(batch, None);
        group.bench_function(BenchmarkId::new("sglang_decode_step", batch), |b| {
            b.iter_custom(|iters| time_decode(&prepared, iters, Some(1000)))
        });
    }
    let prepared = sglang_decoding_engine(256, Some(2));
    group.bench_function(BenchmarkId::new("sglang_decode_step_mtp", 256), |b| {
        b.iter_custom(|iters| time_decode(&prepared, iters, Some(1000)))
    });
    group.finish();
}

fn bench_admission(c: &mut Criterion) {
    let args = EngineArgs {
        num_gpu_blocks: Some(1 << 20),
        ..EngineArgs::default()
    };
    let config = args.resolve().expect("valid bench config");
    c.bench_function("engine/admit_prefill_2048", |b| {
        b.iter_custom(|iters| {
            let mut engine = VllmScheduler::new(config.clone());
            for i in 0..iters * 4 {
                engine.enqueue(request(i, 2048, 1)).expect("fits");
            }
            let mut out = PassOutput::default();
            let mut now = SimTime::ZERO;
            let timer = Instant::now();
            for _ in 0..iters {
                out.clear();
                now = engine.step(now, &mut out).expect("work");
            }
            timer.elapsed()
        })
    });
}

fn bench_prefix_lookup(c: &mut Criterion) {
    let mut kv = KvCache::new(16_384);
    let mut hasher = BlockHasher::new(64);
    let mut hashes: Vec<BlockHash> = Vec::new();
    hasher.push_run(1, 200 * 64, &mut hashes);
    kv.acquire(&hashes, 0, &mut SeqBlocks::all_shared())
        .expect("fits");
    // Fill the rest of the cache with unrelated cached blocks.
    for i in 0..80u64 {
        let mut h = BlockHasher::new(64);
        let mut other = Vec::new();
        h.push_run(1000 + i, 200 * 64, &mut other);
        let mut blocks = SeqBlocks::all_shared();
        if kv.acquire(&other, 0, &mut blocks).is_ok() {
            kv.release(&other, &mut blocks);
        }
    }
    c.bench_function("engine/prefix_lookup_200", |b| {
        b.iter(|| kv.prefix_len(std::hint::black_box(&hashes)))
    });
}

/// A full cache of released prompts: every acquire of a fresh 200-block prompt evicts 200
/// least-recently-used blocks, and its release puts them back in the LRU pool.
fn bench_evict(c: &mut Criterion) {
    let prompt = |content: u64| {
        let mut hasher = BlockHasher::new(64);
        let mut hashes = Vec::new();
        hasher.push_run(content, 200 * 64, &mut hashes);
        hashes
    };
    let mut kv = KvCache::new(16_000);
    for i in 0..80u64 {
        let hashes = prompt(i);
        let mut blocks = SeqBlocks::all_shared();
        kv.acquire(&hashes, 0, &mut blocks).expect("fits");
        kv.release(&hashes, &mut blocks);
    }
    let mut next = 1_000u64;
    c.bench_function("engine/acquire_evict_release_200", |b| {
        b.iter_batched(
            || {
                next += 1;
                prompt(next)
            },
            |hashes| {
                let mut blocks = SeqBlocks::all_shared();
                kv.acquire(&hashes, 0, &mut blocks).expect("evicts to fit");
                kv.release(&hashes, &mut blocks);
            },
            criterion::BatchSize::SmallInput,
        )
    });
}

fn bench_radix_match(c: &mut Criterion) {
    let mut cache = RadixCache::new();
    let prompt = |content: u64| {
        let mut hasher = BlockHasher::new(64);
        let mut hashes = Vec::new();
        hasher.push_run(content, 200 * 64, &mut hashes);
        hashes
    };
    for i in 0..80u64 {
        cache.insert(&prompt(1000 + i));
    }
    let hashes = prompt(1);
    cache.insert(&hashes);
    c.bench_function("engine/radix_match_200", |b| {
        b.iter(|| cache.match_len(std::hint::black_box(&hashes)))
    });
}

criterion_group!(
    benches,
    bench_decode,
    bench_admission,
    bench_prefix_lookup,
    bench_evict,
    bench_radix_match
);
criterion_main!(benches);
