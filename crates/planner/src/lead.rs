//! What the servesim load rules look at: the arrival rate forecast one start-up ahead, the
//! recent request shape, and a stabilisation window against flapping.
//!
//! * [`RecentTraffic`] keeps the traffic windows of the last `window_s` seconds. Its rate
//!   forecast is a least-squares line through the windows' arrival rates (each weighted by
//!   its length), read at the end of the look-ahead — so a rising load is met before it
//!   arrives and noise in any one window is averaged out. The line is read at most half
//!   its fitted span ahead: further out, the error of its slope grows faster than the
//!   forecast improves (a 30-s fit read 150 s ahead overshoots any peak of a periodic load).
//! * [`Stabilizer`] lets a pool shrink only to the largest count wanted over the last
//!   `window_s` seconds (both ends included): growth is immediate, and a scale-down can
//!   never be followed by the scale-up it undoes within the window.

use std::collections::VecDeque;

use crate::observe::TrafficWindow;

/// Traffic windows of the last `window_s` seconds.
#[derive(Clone, Debug)]
pub struct RecentTraffic {
    window_s: f64,
    /// (end time, window), oldest first.
    windows: VecDeque<(f64, TrafficWindow)>,
}

/// Mean request shape of the recent traffic.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Shape {
    /// Mean prompt length.
    pub isl: f64,
    /// Mean requested output length.
    pub osl: f64,
    /// Share of prompt tokens served from prefix caches.
    pub kv_hit_rate: f64,
}

impl RecentTraffic {
    /// Keeps the windows of the last `window_s` seconds.
    pub fn new(window_s: f64) -> Self {
        RecentTraffic {
            window_s,
            windows: VecDeque::new(),
        }
    }

    /// Records the window that ends at `now_s`.
    pub fn push(&mut self, now_s: f64, window: TrafficWindow) {
        if window.duration_s > 0.0 {
            self.windows.push_back((now_s, window));
        }
        while self
            .windows
            .front()
            .is_some_and(|(end, _)| *end <= now_s - self.window_s)
        {
            self.windows.pop_front();
        }
    }

    /// The highest arrival rate (requests/s) the fitted line reaches over
    /// `[now_s, now_s + ahead_s]`, never below 0; `None` before any window.
    ///
    /// ```
    /// use servesim_planner::lead::RecentTraffic;
    /// use servesim_planner::observe::TrafficWindow;
    /// let mut recent = RecentTraffic::new(30.0);
    /// for (t, n) in [(5.0, 50.0), (10.0, 60.0), (15.0, 70.0)] {
    ///     recent.push(t, TrafficWindow { duration_s: 5.0, num_req: n, ..Default::default() });
    /// }
    /// // 10, 12, 14 req/s at 2.5, 7.5, 12.5 s: 2 req/s more every 5 s.
    /// assert!((recent.rate_ahead(15.0, 5.0).unwrap() - 17.0).abs() < 1e-9);
    /// // At most half the 15-s span ahead: 7.5 s.
    /// assert!((recent.rate_ahead(15.0, 60.0).unwrap() - 18.0).abs() < 1e-9);
    /// ```
    pub fn rate_ahead(&self, now_s: f64, ahead_s: f64) -> Option<f64> {
        let (mut w, mut wx, mut wy) = (0.0, 0.0, 0.0);
        for (end, t) in &self.windows {
            let x = end - t.duration_s / 2.0;
            w += t.duration_s;
            wx += t.duration_s * x;
            wy += t.duration_s * t.rps();
        }
        if w <= 0.0 {
            return None;
        }
        let (mx, my) = (wx / w, wy / w);
        let (mut sxx, mut sxy) = (0.0, 0.0);
        for (end, t) in &self.windows {
            let x = end - t.duration_s / 2.0 - mx;
            sxx += t.duration_s * x * x;
            sxy += t.duration_s * x * (t.rps() - my);
        }
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let span = self
            .windows
            .front()
            .map_or(0.0, |(end, t)| now_s - (end - t.duration_s));
        let at = |x: f64| my + slope * (x - mx);
        let ahead = ahead_s.clamp(0.0, span / 2.0);
        Some(at(now_s).max(at(now_s + ahead)).max(0.0))
    }

    /// Mean ISL, OSL and prefix-hit share of the recent arrivals; `None` without any.
    pub fn shape(&self) -> Option<Shape> {
        let (mut n, mut isl, mut osl, mut hit) = (0.0, 0.0, 0.0, 0.0);
        for (_, t) in &self.windows {
            n += t.num_req;
            isl += t.avg_isl * t.num_req;
            osl += t.avg_osl * t.num_req;
            hit += t.avg_kv_hit_rate * t.num_req;
        }
        (n > 0.0).then(|| Shape {
            isl: isl / n,
            osl: osl / n,
            kv_hit_rate: (hit / n).clamp(0.0, 1.0),
        })
    }
}

/// Scale-down only to the largest count wanted over the last `window_s` seconds.
#[derive(Clone, Debug)]
pub struct Stabilizer {
    window_s: f64,
    /// (time, wanted), oldest first.
    wanted: VecDeque<(f64, u32)>,
    /// When the first wish was recorded: before a whole window of wishes, nothing shrinks.
    since: Option<f64>,
}

impl Stabilizer {
    /// A stabiliser over `window_s` seconds (0: none).
    pub fn new(window_s: f64) -> Self {
        Stabilizer {
            window_s,
            wanted: VecDeque::new(),
            since: None,
        }
    }

    /// Records that `wanted` replicas are wanted at `now_s` and returns the count to run:
    /// `wanted` when it is at least `current`, else the most wanted within the window
    /// (never more than `current`) — and `current` until a whole window of wishes has been
    /// seen, since what the fleet was sized for before the first one is unknown.
    ///
    /// ```
    /// use servesim_planner::lead::Stabilizer;
    /// let mut s = Stabilizer::new(15.0);
    /// assert_eq!(s.settle(0.0, 3, 2), 3); // up at once
    /// assert_eq!(s.settle(0.0, 1, 3), 3); // not a whole window of wishes yet
    /// assert_eq!(s.settle(5.0, 1, 3), 3); // 3 was wanted 5 s ago
    /// assert_eq!(s.settle(15.0, 1, 3), 3); // 3 was wanted 15 s ago
    /// assert_eq!(s.settle(20.0, 1, 3), 1); // fewer wanted for the whole 15 s
    /// ```
    pub fn settle(&mut self, now_s: f64, wanted: u32, current: u32) -> u32 {
        self.wanted.push_back((now_s, wanted));
        while self
            .wanted
            .front()
            .is_some_and(|(t, _)| *t < now_s - self.window_s)
        {
            self.wanted.pop_front();
        }
        let since = *self.since.get_or_insert(now_s);
        if wanted >= current {
            return wanted;
        }
        if now_s - since < self.window_s {
            return current;
        }
        let most = self.wanted.iter().map(|&(_, n)| n).max().unwrap_or(wanted);
        most.min(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(duration_s: f64, num_req: f64) -> TrafficWindow {
        TrafficWindow {
            duration_s,
            num_req,
            avg_isl: 1000.0,
            avg_osl: 100.0,
            ..TrafficWindow::default()
        }
    }

    #[test]
    fn a_flat_rate_forecasts_itself_and_old_windows_expire() {
        let mut recent = RecentTraffic::new(20.0);
        for t in 1..=10 {
            recent.push(5.0 * f64::from(t), window(5.0, 40.0));
        }
        assert_eq!(recent.rate_ahead(50.0, 100.0), Some(8.0));
        // Only the windows ending after 30 s are kept.
        assert_eq!(recent.windows.len(), 4);
        let shape = recent.shape().unwrap();
        assert_eq!((shape.isl, shape.osl), (1000.0, 100.0));
    }

    #[test]
    fn a_falling_rate_forecasts_its_current_level_and_never_below_zero() {
        let mut recent = RecentTraffic::new(30.0);
        for (t, n) in [(5.0, 60.0), (10.0, 40.0), (15.0, 20.0)] {
            recent.push(t, window(5.0, n));
        }
        // 12, 8, 4 req/s at 2.5, 7.5, 12.5 s: at 15 s the line reads 2.
        assert!((recent.rate_ahead(15.0, 10.0).unwrap() - 2.0).abs() < 1e-9);
        recent.push(20.0, window(5.0, 0.0));
        assert_eq!(recent.rate_ahead(40.0, 0.0), Some(0.0));
    }

    #[test]
    fn extrapolation_stops_at_the_fitted_span() {
        let mut recent = RecentTraffic::new(30.0);
        for (t, n) in [(5.0, 10.0), (10.0, 20.0)] {
            recent.push(t, window(5.0, n));
        }
        // 2 and 4 req/s at 2.5 and 7.5 s: +0.4 req/s per second, read at most half the
        // 10-s span ahead.
        let far = recent.rate_ahead(10.0, 300.0).unwrap();
        assert!((far - 7.0).abs() < 1e-9, "{far}");
    }

    #[test]
    fn no_up_down_up_within_the_window() {
        let mut s = Stabilizer::new(20.0);
        assert_eq!(s.settle(-20.0, 2, 2), 2);
        let mut current = 2;
        let mut history = Vec::new();
        // A noisy wish around the boundary between 2 and 3 replicas.
        for (i, wanted) in [2, 3, 2, 2, 3, 2, 2, 2, 2, 2, 3, 2].into_iter().enumerate() {
            current = s.settle(5.0 * i as f64, wanted, current);
            history.push(current);
        }
        // Down at 45 s, once 3 was last wanted (20 s) a full window ago, not before.
        assert_eq!(history, vec![2, 3, 3, 3, 3, 3, 3, 3, 3, 2, 3, 3]);
    }
}
