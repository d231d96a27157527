//! Disaggregated hand-off: a finished prefill is routed to a decode worker and its KV
//! transferred over the prefill worker's link.

use servesim_engine::EngineRequest;
use servesim_router::WorkerId;
use servesim_trace::SimTime;

use super::state::{Sim, Timer};
use crate::error::ReplayError;
use crate::transfer::Wakeup;

impl Sim<'_, '_> {
    /// A prefill finished on worker `w`: route the request in the decode pool and start its
    /// KV transfer.
    pub(super) fn hand_off(&mut self, w: usize, id: u64, now: SimTime) -> Result<(), ReplayError> {
        let Some(request) = self
            .disagg
            .as_mut()
            .and_then(|d| d.decode_requests.remove(&id))
        else {
            return Ok(());
        };
        let decode_pool = self.pools.len() - 1;
        let link = self.workers[w].local.0 as usize;
        if let Some((local, request)) = self.route(decode_pool, request, now) {
            self.start_transfer(link, decode_pool, local, request, now)?;
        }
        Ok(())
    }

    pub(super) fn start_transfer(
        &mut self,
        link: usize,
        pool: usize,
        local: WorkerId,
        request: EngineRequest,
        now: SimTime,
    ) -> Result<(), ReplayError> {
        let target = self.pools[pool].workers[local.0 as usize];
        let Some(d) = self.disagg.as_mut() else {
            return Ok(());
        };
        let hits = self.workers[target]
            .engine
            .cached_prefix_blocks(&request.prompt_hashes) as u64;
        let cached = (hits * u64::from(self.block_size)).min(u64::from(request.input_tokens));
        let worker = &mut self.workers[target];
        worker.reused_tokens += cached;
        worker.input_tokens += u64::from(request.input_tokens);
        let bytes = (u64::from(request.input_tokens) - cached) * d.config.kv_bytes_per_token;
        d.bytes += bytes;
        let id = request.id.0;
        d.in_transfer.insert(id, (target, request));
        let wakeup = d
            .links
            .start(link, id, bytes, now, &mut self.finished_transfers);
        self.schedule_transfer(wakeup);
        self.complete_transfers(now)
    }

    pub(super) fn schedule_transfer(&mut self, wakeup: Option<Wakeup>) {
        if let Some(Wakeup { link, at, version }) = wakeup {
            self.schedule(at, Timer::Transfer { link, version });
        }
    }

    /// Hands every finished transfer's request to its decode worker.
    pub(super) fn complete_transfers(&mut self, now: SimTime) -> Result<(), ReplayError> {
        let finished = std::mem::take(&mut self.finished_transfers);
        for f in &finished {
            let Some(d) = self.disagg.as_mut() else { break };
            let Some((target, request)) = d.in_transfer.remove(&f.request) else {
                continue;
            };
            d.times_ms
                .push(now.saturating_sub(f.started).as_millis_f64());
            self.enqueue(target, request)?;
        }
        self.finished_transfers = finished;
        self.finished_transfers.clear();
        Ok(())
    }
}
