//! Where a worker is in its life, and the span it costs GPUs for.

use servesim_trace::SimTime;

/// Where a worker is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Added by a scaler, not serving yet.
    Starting,
    /// Serving and receiving requests.
    Active,
    /// Finishing its requests; receives no new ones.
    Draining,
    /// Gone.
    Retired,
}

/// A worker's phase and the span it costs GPUs for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct Lifecycle {
    pub(super) phase: Phase,
    born: SimTime,
    retired: Option<SimTime>,
}

impl Lifecycle {
    /// A worker born at `now`: active at once if `instant`, else starting.
    pub(super) fn new(instant: bool, now: SimTime) -> Self {
        Lifecycle {
            phase: if instant {
                Phase::Active
            } else {
                Phase::Starting
            },
            born: now,
            retired: None,
        }
    }

    /// The worker is gone as of `now`.
    pub(super) fn retire(&mut self, now: SimTime) {
        self.phase = Phase::Retired;
        self.retired = Some(now);
    }

    /// Whether the worker runs passes (active or draining).
    pub(super) fn serves(&self) -> bool {
        matches!(self.phase, Phase::Active | Phase::Draining)
    }

    /// Seconds the worker has existed by `now`.
    pub(super) fn seconds(&self, now: SimTime) -> f64 {
        self.retired
            .unwrap_or(now)
            .min(now)
            .saturating_sub(self.born)
            .as_secs_f64()
    }
}
