//! KV transfers from prefill to decode workers over shared links.
//!
//! Each prefill worker has one outbound link of fixed bandwidth. Concurrent transfers on a
//! link share it equally (processor sharing): whenever a transfer starts or ends, the others'
//! remaining bytes are brought up to date and the next completion is rescheduled. A stale
//! completion event is recognised by the link's version number.

use servesim_trace::SimTime;

/// A transfer that finished.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finished {
    pub(crate) request: u64,
    pub(crate) started: SimTime,
}

#[derive(Clone, Debug)]
struct Transfer {
    request: u64,
    remaining_bytes: f64,
    started: SimTime,
}

#[derive(Clone, Debug, Default)]
struct Link {
    active: Vec<Transfer>,
    updated: SimTime,
    version: u64,
}

/// All links.
#[derive(Clone, Debug)]
pub(crate) struct Links {
    bytes_per_us: f64,
    links: Vec<Link>,
}

/// When to look at a link again.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Wakeup {
    pub(crate) link: usize,
    pub(crate) at: SimTime,
    pub(crate) version: u64,
}

impl Links {
    /// `count` links of `bandwidth_gbps` GB/s each.
    pub(crate) fn new(count: usize, bandwidth_gbps: f64) -> Self {
        Links {
            bytes_per_us: bandwidth_gbps * 1e3,
            links: vec![Link::default(); count],
        }
    }

    /// Adds a link (for a prefill worker added by a scaler).
    pub(crate) fn add_link(&mut self) {
        self.links.push(Link::default());
    }

    /// Drains the bytes sent since the last update; returns transfers that completed.
    fn advance(&mut self, link: usize, now: SimTime, finished: &mut Vec<Finished>) {
        let bytes_per_us = self.bytes_per_us;
        let l = &mut self.links[link];
        if !l.active.is_empty() {
            let share = bytes_per_us * now.saturating_sub(l.updated).as_micros() as f64
                / l.active.len() as f64;
            for t in &mut l.active {
                t.remaining_bytes -= share;
            }
        }
        l.updated = now;
        // Wake-ups are rounded up to whole microseconds, so a finished transfer has sent all
        // its bytes; half a byte absorbs floating-point error.
        let done = |t: &Transfer| t.remaining_bytes <= 0.5;
        finished.extend(l.active.iter().filter(|t| done(t)).map(|t| Finished {
            request: t.request,
            started: t.started,
        }));
        l.active.retain(|t| !done(t));
    }

    fn reschedule(&mut self, link: usize, now: SimTime) -> Option<Wakeup> {
        let bytes_per_us = self.bytes_per_us;
        let l = &mut self.links[link];
        l.version += 1;
        let least = l
            .active
            .iter()
            .map(|t| t.remaining_bytes)
            .fold(f64::INFINITY, f64::min);
        if !least.is_finite() {
            return None;
        }
        let us = (least * l.active.len() as f64 / bytes_per_us)
            .ceil()
            .max(1.0) as u64;
        Some(Wakeup {
            link,
            at: now + SimTime::from_micros(us),
            version: l.version,
        })
    }

    /// Starts sending `bytes` for `request` on `link`. Transfers of 0 bytes finish at once
    /// (returned in `finished`).
    pub(crate) fn start(
        &mut self,
        link: usize,
        request: u64,
        bytes: u64,
        now: SimTime,
        finished: &mut Vec<Finished>,
    ) -> Option<Wakeup> {
        self.advance(link, now, finished);
        if bytes == 0 {
            finished.push(Finished {
                request,
                started: now,
            });
        } else {
            self.links[link].active.push(Transfer {
                request,
                remaining_bytes: bytes as f64,
                started: now,
            });
        }
        self.reschedule(link, now)
    }

    /// Handles a wake-up; stale ones (superseded by a later start) do nothing.
    pub(crate) fn wake(
        &mut self,
        wakeup: Wakeup,
        now: SimTime,
        finished: &mut Vec<Finished>,
    ) -> Option<Wakeup> {
        if self.links[wakeup.link].version != wakeup.version {
            return None;
        }
        self.advance(wakeup.link, now, finished);
        self.reschedule(wakeup.link, now)
    }

    /// Transfers in progress on all links.
    #[cfg(test)]
    fn in_progress(&self) -> usize {
        self.links.iter().map(|l| l.active.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimTime {
        SimTime::from_millis(n)
    }

    #[test]
    fn a_lone_transfer_takes_bytes_over_bandwidth() {
        // 64 GB/s: 64 MB take 1 ms.
        let mut links = Links::new(1, 64.0);
        let mut done = Vec::new();
        let wake = links.start(0, 7, 64_000_000, ms(10), &mut done).unwrap();
        assert_eq!(wake.at, ms(11));
        assert!(links.wake(wake, wake.at, &mut done).is_none());
        assert_eq!(
            done,
            vec![Finished {
                request: 7,
                started: ms(10)
            }]
        );
    }

    #[test]
    fn concurrent_transfers_share_the_link() {
        let mut links = Links::new(1, 64.0);
        let mut done = Vec::new();
        // A: 64 MB from t=0; B: 32 MB from t=0.5 ms. Alone A would end at 1 ms.
        links.start(0, 1, 64_000_000, SimTime::ZERO, &mut done);
        let wake = links
            .start(0, 2, 32_000_000, SimTime::from_micros(500), &mut done)
            .unwrap();
        // Both have 32 MB left at 0.5 ms and share 64 GB/s: both end at 1.5 ms.
        assert_eq!(wake.at, SimTime::from_micros(1500));
        assert!(links.wake(wake, wake.at, &mut done).is_none());
        assert_eq!(
            done.iter().map(|f| f.request).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(links.in_progress(), 0);
    }

    #[test]
    fn stale_wakeups_are_ignored_and_zero_bytes_finish_at_once() {
        let mut links = Links::new(2, 1.0);
        let mut done = Vec::new();
        let first = links.start(1, 1, 1_000, SimTime::ZERO, &mut done).unwrap();
        let second = links.start(1, 2, 1_000, SimTime::ZERO, &mut done).unwrap();
        assert!(links.wake(first, first.at, &mut done).is_none());
        assert!(done.is_empty());
        links.wake(second, second.at, &mut done);
        assert_eq!(done.len(), 2);
        assert_eq!(second.at, SimTime::from_micros(2));
        links.start(0, 3, 0, ms(5), &mut done);
        assert_eq!(
            done[2],
            Finished {
                request: 3,
                started: ms(5)
            }
        );
    }
}
