//! Watching a replay while it runs: progress and per-request results.

use servesim_trace::SimTime;

use crate::record::RequestRecord;

/// Receives progress and per-request results while a replay runs.
pub trait Observer {
    /// Called periodically with the simulated time and the requests completed so far.
    fn progress(&mut self, now: SimTime, completed: usize, total: usize) {
        let _ = (now, completed, total);
    }
    /// Called once per request when it completes.
    fn request_done(&mut self, record: &RequestRecord) {
        let _ = record;
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}
