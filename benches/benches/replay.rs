//! End-to-end replays of configurations a–e (docs/performance.md) through
//! `servesim_cli::run_report`, the code path of `servesim run` without printing.
//!
//! One sample replays the whole trace (the full conversation trace when `../shared` is
//! there): ten samples per configuration.

// criterion_group! generates undocumented public items; a bench may stop on broken setup.
#![allow(missing_docs, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use servesim_benches::{REPLAY_CASES, conversation_trace, run_args};

fn bench_replays(c: &mut Criterion) {
    let trace = conversation_trace();
    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    for case in &REPLAY_CASES {
        let args = run_args(case, &trace);
        group.bench_function(format!("{} ({})", case.name, case.label), |b| {
            b.iter(|| servesim_cli::run_report(&args).expect("the replay runs"));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_replays);
criterion_main!(benches);
