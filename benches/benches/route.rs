//! One KV-router decision with a warm prefix index.
//!
//! Every worker caches a 32-block shared prefix plus 400 prompts of 100 blocks (40,000 blocks
//! per worker), and runs 8 requests. The routed prompt shares the prefix and 50 more blocks
//! with one worker's cache. Each iteration routes it, then completes it, so the state is the
//! same at every iteration.

// criterion_group! generates undocumented public items.
#![allow(missing_docs)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use servesim_engine::{KvEvent, RequestId};
use servesim_router::{KvRouter, KvRouterConfig, RouteRequest, Router, WorkerId};
use servesim_trace::{BlockHash, BlockHasher, SimTime};

fn chain(prefix: u64, own: u64, blocks: u64) -> Vec<BlockHash> {
    let mut hasher = BlockHasher::new(64);
    let mut out = Vec::new();
    hasher.push_run(prefix, 32 * 64, &mut out);
    hasher.push_run(own, blocks * 64, &mut out);
    out
}

fn warm_router(workers: u32) -> KvRouter {
    let Ok(mut router) = KvRouter::new(KvRouterConfig::default(), 64, 8192, 1, None) else {
        unreachable!("the default configuration is valid for 64-token blocks")
    };
    let mut id = 0u64;
    for w in 0..workers {
        router.add_worker(WorkerId(w), SimTime::ZERO);
        let mut events = Vec::new();
        for p in 0..400u64 {
            let hashes = chain(7, u64::from(w) * 1000 + p, 100);
            events.extend(
                hashes
                    .into_iter()
                    .map(|hash| (SimTime::ZERO, KvEvent::Stored { hash, parent: None })),
            );
        }
        router.on_kv_events(WorkerId(w), &events);
        for r in 0..8 {
            id += 1;
            let hashes = chain(7, 1_000_000 + id, 60);
            let request = RouteRequest {
                id: RequestId(id),
                input_tokens: 92 * 64,
                output_tokens: 100,
                block_hashes: &hashes,
                shared_blocks: u32::MAX,
            };
            router.route(&request, SimTime::ZERO);
            if r % 2 == 0 {
                router.on_first_token(RequestId(id), SimTime::ZERO);
            }
        }
    }
    router
}

fn bench_route(c: &mut Criterion) {
    let mut group = c.benchmark_group("router");
    for workers in [16u32, 128] {
        let mut router = warm_router(workers);
        // Shares the prefix and 50 blocks with worker 3's prompt 17, then diverges.
        let mut prompt = chain(7, 3 * 1000 + 17, 50);
        prompt.extend(chain(9, 9, 118).into_iter().skip(32));
        let request = RouteRequest {
            id: RequestId(u64::MAX),
            input_tokens: 200 * 64,
            output_tokens: 100,
            block_hashes: &prompt,
            shared_blocks: u32::MAX,
        };
        group.bench_function(BenchmarkId::new("kv_route_decision", workers), |b| {
            b.iter(|| {
                let routed = router.route(std::hint::black_box(&request), SimTime::ZERO);
                router.on_finished(request.id, SimTime::ZERO);
                routed
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_route);
criterion_main!(benches);
