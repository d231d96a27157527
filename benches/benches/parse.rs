//! Parsing speed of the Mooncake reader and of block-hash expansion.
//!
//! Uses `../shared/traces/mooncake_conversation_trace.jsonl` when present (the full 12,031-row
//! trace), else the bundled 1,000-row excerpt.

// criterion_group! generates undocumented public items.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use servesim_benches::conversation_trace;
use servesim_trace::{NodeId, ReadOptions, read_trace};

fn bench_parse(c: &mut Criterion) {
    let path = conversation_trace();
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let mut group = c.benchmark_group("trace");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(20);
    group.bench_function("parse_mooncake", |b| {
        b.iter(|| read_trace(&path, &ReadOptions::default()).map(|t| t.workload.len()))
    });
    let Ok(trace) = read_trace(&path, &ReadOptions::default()) else {
        return;
    };
    let workload = trace.workload;
    group.bench_function("expand_block_hashes_b64", |b| {
        b.iter(|| {
            (0..workload.len())
                .map(|i| workload.prompt_blocks(NodeId(i as u32), 64).hashes.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
