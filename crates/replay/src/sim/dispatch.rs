//! Arrivals and routing: from a ready request to a worker's queue, through the pool's router.

use servesim_engine::{EngineConfig, EngineRequest, PassTiming, RequestId};
use servesim_perf::{PassShape, PrefillChunk};
use servesim_router::kv::PrefillEstimator;
use servesim_router::{
    KvRouter, KvRouterConfig, RoundRobin, RouteRequest, Routed, Router, WorkerId,
};
use servesim_trace::{NodeId, SimTime};

use super::state::Sim;
use crate::config::{RouterMode, router_config_error};
use crate::error::ReplayError;
use crate::outcome::PoolKind;
use crate::record::RequestRecord;

/// The router of a pool of `engine` workers; `prefill_timing` prices its per-request
/// prefill estimate instead of the engine's timing when given.
pub(super) fn make_router(
    mode: RouterMode,
    config: KvRouterConfig,
    engine: &EngineConfig,
    prefill_timing: Option<&PassTiming>,
    seed: u64,
) -> Result<Box<dyn Router>, ReplayError> {
    Ok(match mode {
        RouterMode::RoundRobin => Box::new(RoundRobin::default()),
        RouterMode::KvRouter => {
            let timing = prefill_timing.unwrap_or(&engine.timing).clone();
            let estimator: PrefillEstimator = Box::new(move |new_tokens, cached| {
                let chunk = [PrefillChunk {
                    new_tokens,
                    context_tokens: cached,
                }];
                timing.pass_time(&PassShape {
                    prefill: &chunk,
                    decode: Default::default(),
                })
            });
            Box::new(
                KvRouter::new(
                    config,
                    engine.block_size,
                    engine.pass_token_budget(),
                    seed,
                    Some(estimator),
                )
                .map_err(router_config_error)?,
            )
        }
    })
}

impl Sim<'_, '_> {
    /// Routes a request that just became ready.
    pub(super) fn dispatch(
        &mut self,
        node: NodeId,
        arrival: SimTime,
        now: SimTime,
    ) -> Result<(), ReplayError> {
        let spec = self.requests.node(node);
        let id = u64::from(node.0);
        *self.collector.record_mut(id) = RequestRecord {
            id,
            arrival,
            input_tokens: spec.input_tokens,
            output_tokens: spec.output_tokens,
            ..RequestRecord::default()
        };
        self.counts.arrivals += 1;
        if let Some(planning) = &mut self.planning {
            planning.on_arrival(spec.input_tokens, spec.output_tokens);
        }
        let prompt = self.requests.prompt_blocks(node, self.block_size);
        let shared = self.requests.shared_blocks(node, self.block_size);
        let mut request =
            EngineRequest::new(RequestId(id), spec.input_tokens, spec.output_tokens, prompt)
                .with_shared_blocks(shared);
        if let Some(d) = self.disagg.as_mut() {
            // The prefill worker computes the prompt only; the decode side keeps the original.
            d.decode_requests.insert(id, request.clone());
            request.output_tokens = 1;
        }
        if let Some((local, request)) = self.route(0, request, now) {
            let target = self.pools[0].workers[local.0 as usize];
            self.enqueue(target, request)?;
        }
        Ok(())
    }

    /// Asks `pool`'s router for a worker; `None` if the router holds the request.
    pub(super) fn route(
        &mut self,
        pool: usize,
        request: EngineRequest,
        now: SimTime,
    ) -> Option<(WorkerId, EngineRequest)> {
        let route = RouteRequest {
            id: request.id,
            input_tokens: request.input_tokens,
            output_tokens: request.output_tokens,
            block_hashes: &request.prompt_hashes,
            shared_blocks: request.shared_blocks,
        };
        let p = &mut self.pools[pool];
        match p.router.route(&route, now) {
            Routed::To(worker) => {
                p.queue_times_ms.push(0.0);
                Some((worker, request))
            }
            Routed::Queued => {
                p.queued += 1;
                p.held.insert(request.id.0, (request, now));
                None
            }
        }
    }

    /// Dispatches requests the routers release.
    pub(super) fn dispatch_held(&mut self, now: SimTime) -> Result<(), ReplayError> {
        for pool in 0..self.pools.len() {
            while let Some((request, local)) = self.pools[pool].router.pop_dispatch(now) {
                let p = &mut self.pools[pool];
                let Some((held, since)) = p.held.remove(&request.0) else {
                    continue;
                };
                p.queue_times_ms
                    .push(now.saturating_sub(since).as_millis_f64());
                if p.kind == PoolKind::Decode {
                    // Released by the decode router: the transfer leaves from the prefill
                    // worker that computed the prompt.
                    let link = self.collector.record(request.0).worker as usize;
                    self.start_transfer(link, pool, local, held, now)?;
                } else {
                    let target = p.workers[local.0 as usize];
                    self.enqueue(target, held)?;
                }
            }
        }
        Ok(())
    }

    pub(super) fn enqueue(
        &mut self,
        target: usize,
        request: EngineRequest,
    ) -> Result<(), ReplayError> {
        let id = request.id.0;
        let line = self.requests.node(NodeId(id as u32)).line;
        let w = &mut self.workers[target];
        w.engine
            .enqueue(request)
            .map_err(|source| ReplayError::Unservable { line, source })?;
        w.requests += 1;
        self.collector.record_mut(id).worker = w.local.0;
        self.to_drive.push(target);
        Ok(())
    }
}
