//! The outcome of a replay: per-pool, per-worker, transfer and speculative-decoding summaries.

use servesim_engine::TokenTally;
use servesim_trace::SimTime;

use super::state::Sim;
use crate::outcome::{
    PoolSummary, ReplayOutcome, SpeculativeSummary, TransferSummary, WorkerSummary,
};

impl Sim<'_, '_> {
    pub(super) fn outcome(self, end: SimTime) -> ReplayOutcome {
        let pools = self
            .pools
            .iter()
            .map(|pool| {
                let workers = pool
                    .workers
                    .iter()
                    .map(|&g| {
                        let w = &self.workers[g];
                        WorkerSummary {
                            id: w.local.0,
                            requests: w.requests,
                            input_tokens: w.input_tokens,
                            reused_tokens: w.reused_tokens,
                            prefix_hit_rate: if w.input_tokens == 0 {
                                0.0
                            } else {
                                w.reused_tokens as f64 / w.input_tokens as f64
                            },
                            mean_accept_length: pool
                                .engine
                                .speculative
                                .as_ref()
                                .and(w.emitted.mean_accept_length()),
                        }
                    })
                    .collect();
                PoolSummary {
                    kind: pool.kind,
                    router: pool.router.name(),
                    workers,
                    queued_requests: pool.queued,
                    queue_time_ms: pool.queue_times_ms.distribution(),
                }
            })
            .collect();
        let planning = self.planning_summary(end);
        let speculative = self.speculative_summary();
        let transfers = self.disagg.map(|d| TransferSummary {
            transfers: d.times_ms.len(),
            bytes: d.bytes,
            kv_bytes_per_token: d.config.kv_bytes_per_token,
            bandwidth_gbps: d.config.bandwidth_gbps,
            time_ms: d.times_ms.distribution(),
        });
        ReplayOutcome {
            metrics: self.collector.metrics(),
            counts: self.counts,
            pools,
            transfers,
            planning,
            speculative,
            end_time: end,
            collector: self.collector,
        }
    }

    /// Speculative decoding over the workers of the pools that use it, if any does.
    pub(super) fn speculative_summary(&self) -> Option<SpeculativeSummary> {
        let mut spec = None;
        let mut emitted = TokenTally::default();
        for pool in &self.pools {
            let Some(config) = &pool.engine.speculative else {
                continue;
            };
            spec.get_or_insert(config);
            for &w in &pool.workers {
                emitted.merge(self.workers[w].emitted);
            }
        }
        spec.map(|config| SpeculativeSummary {
            nextn: config.nextn,
            accept_rates: config.accept_rates.clone(),
            expected_accept_length: config.expected_tokens_per_step(),
            mean_accept_length: emitted.mean_accept_length().unwrap_or(1.0),
            output_tokens: emitted.tokens,
            bursts: emitted.bursts,
        })
    }
}
