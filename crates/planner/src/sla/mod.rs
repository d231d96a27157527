//! The SLA planner: the reference planner's state machine, with its known bugs fixed, and
//! servesim's load rules on top (the default; `scaling_rules: reference` turns them off).
//!
//! Two kinds of ticks, each on its own interval:
//!
//! * **throughput ticks** (`throughput_adjustment_interval`) forecast the next window's
//!   request rate, ISL, OSL and KV-hit share with the load predictor, size each pool from
//!   the regression models' capacity estimates ([`crate::capacity`]) and either scale to it
//!   or — when load scaling also runs — set it as a lower bound;
//! * **load ticks** (`load_adjustment_interval`) react to the current per-engine load: in
//!   easy mode by thresholds on queued prompt tokens and KV use, in SLA mode by estimating
//!   each engine's next TTFT and ITL from the regressions and moving one replica up when
//!   every engine misses the target, or down when every engine is comfortably within it.
//!
//! On a tick that is both, throughput runs first, then load; the load decision wins.
//! Differences from the reference, on purpose: ticks happen at their scheduled times (no
//! idle-gap hang); offered load is counted at arrival; windows are divided by their real
//! length; an aggregated pool scales down only when *both* its TTFT and ITL estimates are
//! comfortably low (the reference also scales down when the TTFT signal is missing); and a
//! pool scales down only if its engines would stay comfortably within the SLA carrying the
//! load of one replica fewer (the reference judges the load as it is, so a pool that just
//! scaled up — its new replica idle — scales straight back down: it flaps).
//!
//! **servesim rules** (SLA mode with load scaling, the default) replace the load tick's
//! one-replica steps and the throughput tick's lower bound: every load tick sizes each pool
//! for the arrival rate forecast one start-up time (plus one load interval) ahead — a line
//! fitted through the last `load_rate_window` seconds of arrivals ([`crate::lead`]) — at the
//! regression's per-replica capacity for the recent ISL/OSL; adds one replica beyond that
//! only when every engine's estimate *and* the last window's observed mean miss a target;
//! shrinks one replica at a time, only when the smaller pool holds the SLA at the current
//! load and fewer replicas have been wanted for the whole `scale_down_stabilization` window
//! (default: the start-up time). The throughput tick then only records its forecast.
//!
//! With speculative decoding (`speculative_nextn` from the decode pool's capabilities or the
//! config), every ITL estimate and decode capacity is discounted by the accept length last
//! reported with the traffic ([`crate::speculative`]); the regressions keep learning raw
//! forward-pass times, so the discount is applied exactly once.

mod rules;

use std::collections::BTreeMap;

use crate::capacity::{
    agg_engine_rps, decode_engine_rps, estimate_ttft_ms, prefill_engine_rps, replicas_for,
};
use crate::config::{OptimizationTarget, PlannerConfig, ScalingRules};
use crate::lead::{RecentTraffic, Stabilizer};
use crate::observe::{Component, EngineCaps, EngineSample, PoolState, TickInput, TrafficWindow};
use crate::policy::{Deployment, ScalingPolicy, TickOutput};
use crate::pool::{observed_pool, tick_record, within_budget};
use crate::predictor::{LoadPredictor, PredictorKind, PredictorSpec, build};
use crate::record::{LoadReason, PoolRecord, Prediction, ThroughputReason};
use crate::regression::{MovingAverage, PassModel, Retention};
use crate::speculative::AcceptLength;

/// Ticks closer than this merge into one (the reference's rule).
const MERGE_S: f64 = 0.5;

/// The load predictors of the throughput window series.
#[derive(Debug)]
struct Forecast {
    requests: Box<dyn LoadPredictor>,
    isl: Box<dyn LoadPredictor>,
    osl: Box<dyn LoadPredictor>,
    kv_hit: Box<dyn LoadPredictor>,
}

/// Traffic accumulated since the last throughput tick.
#[derive(Copy, Clone, Debug, Default)]
struct Window {
    duration_s: f64,
    requests: f64,
    isl_sum: f64,
    osl_sum: f64,
    hit_weighted: f64,
    hit_weight: f64,
}

impl Window {
    fn add(&mut self, t: &TrafficWindow) {
        self.duration_s += t.duration_s;
        self.requests += t.num_req;
        self.isl_sum += t.avg_isl * t.num_req;
        self.osl_sum += t.avg_osl * t.num_req;
        self.hit_weighted += t.avg_kv_hit_rate * t.num_req;
        self.hit_weight += t.num_req;
    }

    fn mean(sum: f64, n: f64) -> Option<f64> {
        (n > 0.0).then(|| sum / n)
    }
}

/// Running means of what engines report, per pool.
#[derive(Debug)]
struct Averages {
    decode_requests: MovingAverage,
    decode_len: MovingAverage,
    prefill_tokens: MovingAverage,
}

impl Averages {
    fn new() -> Self {
        Averages {
            decode_requests: MovingAverage::default(),
            decode_len: MovingAverage::default(),
            prefill_tokens: MovingAverage::default(),
        }
    }

    fn push(&mut self, s: &EngineSample) {
        self.decode_requests.push(s.num_decode_requests);
        if s.num_decode_requests > 0.0 {
            self.decode_len
                .push(s.sum_decode_kv_tokens / s.num_decode_requests);
        }
        self.prefill_tokens.push(s.sum_prefill_tokens);
    }
}

/// A one-replica step decided from per-engine estimates.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Step {
    Up,
    Down,
    Hold,
}

/// The reference planner's decisions (see the module docs).
#[derive(Debug)]
pub struct SlaPlanner {
    config: PlannerConfig,
    deployment: Deployment,
    aggregated: bool,
    next_load: f64,
    next_throughput: f64,
    forecast: Forecast,
    window: Window,
    last: Prediction,
    /// Mean ISL of the most recent window with arrivals.
    observed_isl: f64,
    /// Mean TTFT and ITL (ms) of the most recent window, when it saw first tokens and
    /// completions.
    observed_latency: (Option<f64>, Option<f64>),
    models: BTreeMap<Component, PassModel>,
    averages: BTreeMap<Component, Averages>,
    lower_bound: BTreeMap<Component, u32>,
    /// Speculative decoding's accept length (1 without it).
    accept: AcceptLength,
    /// servesim rules: the traffic of the rate-forecast window.
    recent: RecentTraffic,
    /// servesim rules: scale-down stabilisation per pool.
    stabilizers: BTreeMap<Component, Stabilizer>,
}

impl SlaPlanner {
    /// A planner for the pools of `deployment` (a single `Decode` pool means aggregated).
    pub fn new(config: PlannerConfig, deployment: Deployment) -> Self {
        let aggregated = !deployment.pools.contains_key(&Component::Prefill);
        let spec = |kind: PredictorKind| -> PredictorSpec {
            match PredictorSpec::from(kind) {
                PredictorSpec::Kalman(mut p) => {
                    p.q_level = config.kalman_q_level;
                    p.q_trend = config.kalman_q_trend;
                    p.r = config.kalman_r;
                    p.min_points = config.kalman_min_points as usize;
                    PredictorSpec::Kalman(p)
                }
                PredictorSpec::HoltWinters(mut p) => {
                    p.season_length = config.load_predictor_season_length as usize;
                    PredictorSpec::HoltWinters(p)
                }
                other => other,
            }
        };
        let make = || build(&spec(config.load_predictor), config.load_predictor_log1p);
        let forecast = Forecast {
            requests: make(),
            isl: make(),
            osl: make(),
            kv_hit: make(),
        };
        let mut models = BTreeMap::new();
        let mut averages = BTreeMap::new();
        let retention = |m: PassModel| {
            m.with_retention(Retention {
                max_samples: config.max_num_fpm_samples as usize,
                bucket_count: config.fpm_sample_bucket_size as usize,
                min_observations: config.load_min_observations as usize,
            })
        };
        for &component in deployment.pools.keys() {
            let model = match (aggregated, component) {
                (true, _) => PassModel::agg(),
                (false, Component::Prefill) => PassModel::prefill(),
                (false, Component::Decode) => PassModel::decode(),
            };
            models.insert(component, retention(model));
            averages.insert(component, Averages::new());
        }
        // Speculation happens where requests decode: the decode (or aggregated) pool.
        let nextn = deployment
            .pools
            .get(&Component::Decode)
            .map(|(caps, _)| caps.speculative_nextn)
            .filter(|&n| n > 0)
            .or(config.speculative_nextn);
        let load = config.load_adjustment_interval;
        let recent = RecentTraffic::new(config.load_rate_window.unwrap_or(6.0 * load));
        let stabilizers = deployment
            .pools
            .iter()
            .map(|(&c, (caps, _))| {
                let window = config
                    .scale_down_stabilization
                    .unwrap_or(caps.startup_time_s);
                (c, Stabilizer::new(window))
            })
            .collect();
        SlaPlanner {
            accept: AcceptLength::new(nextn),
            recent,
            stabilizers,
            next_load: config.load_adjustment_interval,
            next_throughput: config.throughput_adjustment_interval,
            config,
            deployment,
            aggregated,
            forecast,
            window: Window::default(),
            last: Prediction::default(),
            observed_isl: 0.0,
            observed_latency: (None, None),
            models,
            averages,
            lower_bound: BTreeMap::new(),
        }
    }

    fn caps(&self, component: Component) -> EngineCaps {
        self.deployment.pools.get(&component).map_or(
            EngineCaps {
                max_num_batched_tokens: 8192.0,
                max_num_seqs: 256.0,
                max_kv_tokens: 0.0,
                speculative_nextn: 0,
                startup_time_s: 0.0,
            },
            |p| p.0,
        )
    }

    /// The regression features of a pass for `component`'s model: prefill tokens (prefill),
    /// decode requests and KV (decode), prefill tokens and decode KV (aggregated).
    fn features(&self, component: Component, s: &EngineSample) -> ([f64; 2], usize) {
        match (self.aggregated, component) {
            (true, _) => ([s.sum_prefill_tokens, s.sum_decode_kv_tokens], 2),
            (false, Component::Prefill) => ([s.sum_prefill_tokens, 0.0], 1),
            (false, Component::Decode) => ([s.num_decode_requests, s.sum_decode_kv_tokens], 2),
        }
    }

    /// Feeds passes to `component`'s regression (and, for live samples, its running means).
    fn learn(&mut self, component: Component, samples: &[EngineSample], live: bool) {
        let features: Vec<([f64; 2], usize, f64)> = samples
            .iter()
            .filter(|s| s.wall_time_s > 0.0)
            .map(|s| {
                let (x, n) = self.features(component, s);
                (x, n, s.wall_time_s)
            })
            .collect();
        if features.is_empty() {
            return;
        }
        if let Some(model) = self.models.get_mut(&component) {
            for (x, n, wall) in &features {
                model.add(&x[..*n], *wall);
            }
            model.fit();
        }
        if live && let Some(averages) = self.averages.get_mut(&component) {
            for s in samples.iter().filter(|s| s.wall_time_s > 0.0) {
                averages.push(s);
            }
        }
    }

    fn predict_with(&self, component: Component, features: &[f64]) -> Option<f64> {
        self.models.get(&component)?.predict(features)
    }

    /// Requests per second one engine of `component` serves within the SLA for requests
    /// of this shape, from its regression; `None` before the model fits.
    fn engine_rps(&self, component: Component, isl: f64, osl: f64, hit: f64) -> Option<f64> {
        let caps = self.caps(component);
        let (ttft, itl) = (self.config.ttft, self.config.itl);
        let accept = self.accept.value();
        match (self.aggregated, component) {
            (true, _) => agg_engine_rps(
                |p, kv| self.predict_with(component, &[p, kv]),
                isl,
                osl,
                hit,
                ttft,
                itl,
                &caps,
                accept,
            )
            .map(|c| c.rps),
            (false, Component::Prefill) => prefill_engine_rps(
                |p| self.predict_with(component, &[p]),
                isl,
                hit,
                caps.max_num_batched_tokens,
            ),
            (false, Component::Decode) => decode_engine_rps(
                |bs, kv| self.predict_with(component, &[bs, kv]),
                isl,
                osl,
                itl,
                &caps,
                accept,
            )
            .map(|c| c.rps),
        }
    }

    /// Whether the servesim load rules run (SLA mode with load scaling).
    fn servesim_rules(&self) -> bool {
        self.config.scaling_rules == ScalingRules::Servesim
            && self.config.enable_load_scaling
            && self.config.optimization_target == OptimizationTarget::Sla
    }

    /// Throughput tick: forecast the window's traffic and size each pool for it.
    fn throughput_tick(
        &mut self,
        records: &mut BTreeMap<Component, PoolRecord>,
    ) -> BTreeMap<Component, u32> {
        let window = std::mem::take(&mut self.window);
        let mut targets = BTreeMap::new();
        let reason_all = |records: &mut BTreeMap<Component, PoolRecord>, reason| {
            for r in records.values_mut() {
                r.throughput_reason = Some(reason);
            }
        };
        if window.duration_s <= 0.0 {
            reason_all(records, ThroughputReason::NoTrafficData);
            return targets;
        }
        let f = &mut self.forecast;
        f.requests.observe(window.requests);
        if let Some(isl) = Window::mean(window.isl_sum, window.requests) {
            f.isl.observe(isl);
            f.osl
                .observe(Window::mean(window.osl_sum, window.requests).unwrap_or(0.0));
            f.kv_hit
                .observe(Window::mean(window.hit_weighted, window.hit_weight).unwrap_or(0.0));
        }
        let requests = f.requests.predict();
        let prediction = Prediction {
            rps: requests / window.duration_s,
            isl: f.isl.predict(),
            osl: f.osl.predict(),
            kv_hit_rate: f.kv_hit.predict().clamp(0.0, 1.0),
        };
        self.last = prediction;
        if prediction.isl <= 0.0 || prediction.osl <= 0.0 {
            reason_all(records, ThroughputReason::NoTrafficData);
            return targets;
        }
        let min = self.config.min_endpoint;
        let mut sizes = BTreeMap::new();
        for &component in self.deployment.pools.keys() {
            if !self
                .models
                .get(&component)
                .is_some_and(PassModel::is_fitted)
            {
                sizes.insert(component, Err(ThroughputReason::ModelNotReady));
                continue;
            }
            let rps = self.engine_rps(
                component,
                prediction.isl,
                prediction.osl,
                prediction.kv_hit_rate,
            );
            sizes.insert(
                component,
                rps.map(|r| (r, replicas_for(prediction.rps, r, min)))
                    .ok_or(ThroughputReason::ModelNotReady),
            );
        }
        let partner_failed = sizes.values().any(Result::is_err);
        for (component, size) in sizes {
            let Some(record) = records.get_mut(&component) else {
                continue;
            };
            match size {
                Ok((rps, _)) if self.servesim_rules() => {
                    record.engine_rps = Some(rps);
                    record.throughput_reason = Some(ThroughputReason::Forecast);
                }
                Ok((rps, replicas)) if !partner_failed => {
                    record.engine_rps = Some(rps);
                    if self.config.enable_load_scaling {
                        self.lower_bound.insert(component, replicas);
                        record.throughput_reason = Some(ThroughputReason::SetLowerBound);
                    } else {
                        targets.insert(component, replicas);
                        record.throughput_reason = Some(ThroughputReason::Scale);
                    }
                }
                Ok((rps, _)) => {
                    record.engine_rps = Some(rps);
                    record.throughput_reason = Some(ThroughputReason::PartnerNotReady);
                }
                Err(reason) => record.throughput_reason = Some(reason),
            }
        }
        targets
    }

    /// Per-engine TTFT and ITL estimates of a pool (SLA mode) with every engine's load
    /// multiplied by `load_scale` (1 for the load as it is; `n/(n−1)` for the load the
    /// engines would carry with one replica fewer). `None` before the model fits.
    fn estimates(
        &self,
        component: Component,
        pool: &PoolState,
        load_scale: f64,
    ) -> Option<(Vec<f64>, Vec<f64>)> {
        if !self
            .models
            .get(&component)
            .is_some_and(PassModel::is_fitted)
        {
            return None;
        }
        let caps = self.caps(component);
        let averages = self.averages.get(&component)?;
        // The newest prompt length known: the last window's, else the forecast, else the
        // mean prefill tokens per pass.
        let isl = [self.observed_isl, self.last.isl]
            .into_iter()
            .find(|&v| v > 0.0)
            .unwrap_or_else(|| averages.prefill_tokens.mean().unwrap_or(0.0));
        let hit = self.last.kv_hit_rate;
        let budget = caps.max_num_batched_tokens;
        // A forward pass emits `accept` tokens per sequence: ITL is its time over that.
        let accept = self.accept.value();
        let (mut ttft, mut itl) = (Vec::new(), Vec::new());
        for e in &pool.engines {
            let queued = e.sum_queued_prefill_tokens * load_scale;
            let kv = e.decode_kv() * load_scale;
            match (self.aggregated, component) {
                (true, _) => {
                    let pass = |p: f64, kv: f64| self.predict_with(component, &[p, kv]);
                    ttft.push(estimate_ttft_ms(pass, queued, isl, hit, budget, kv)?);
                    let prefill = averages.prefill_tokens.mean().unwrap_or(0.0) * load_scale;
                    itl.push(
                        self.predict_with(component, &[prefill.min(budget), kv])? * 1000.0 / accept,
                    );
                }
                (false, Component::Prefill) => {
                    let pass = |p: f64, _kv: f64| self.predict_with(component, &[p]);
                    ttft.push(estimate_ttft_ms(pass, queued, isl, hit, budget, 0.0)?);
                }
                (false, Component::Decode) => {
                    let requests =
                        averages.decode_requests.mean().unwrap_or(0.0) * load_scale + 1.0;
                    let kv = kv + averages.decode_len.mean().unwrap_or(0.0);
                    itl.push(self.predict_with(component, &[requests, kv])? * 1000.0 / accept);
                }
            }
        }
        Some((ttft, itl))
    }

    /// Which targets `component`'s pool is held to: (TTFT, ITL) — both when aggregated,
    /// TTFT for prefill, ITL for decode.
    fn held_to(&self, component: Component) -> (bool, bool) {
        match (self.aggregated, component) {
            (true, _) => (true, true),
            (false, Component::Prefill) => (true, false),
            (false, Component::Decode) => (false, true),
        }
    }

    /// The SLA-mode step of a pool: up when every engine misses a target it is held to;
    /// down when, carrying the load of one replica fewer, every engine would still be below
    /// `load_scaling_down_sensitivity` % of its targets.
    fn sla_step(
        &self,
        component: Component,
        pool: &PoolState,
        record: &mut PoolRecord,
    ) -> Option<Step> {
        let (ttft, itl) = self.estimates(component, pool, 1.0)?;
        record.estimated_ttft_ms = ttft.iter().copied().reduce(f64::max);
        record.estimated_itl_ms = itl.iter().copied().reduce(f64::max);
        let (held_to_ttft, held_to_itl) = self.held_to(component);
        let over = |v: &[f64], target: f64| !v.is_empty() && v.iter().all(|&e| e > target);
        if (held_to_ttft && over(&ttft, self.config.ttft))
            || (held_to_itl && over(&itl, self.config.itl))
        {
            return Some(Step::Up);
        }
        let n = f64::from(pool.ready);
        if pool.ready < 2 {
            return Some(Step::Hold);
        }
        let (ttft, itl) = self.estimates(component, pool, n / (n - 1.0))?;
        let sensitivity = self.config.load_scaling_down_sensitivity / 100.0;
        let under = |v: &[f64], target: f64| v.iter().all(|&e| e < target * sensitivity);
        let down = (!held_to_ttft || under(&ttft, self.config.ttft))
            && (!held_to_itl || under(&itl, self.config.itl));
        Some(if down { Step::Down } else { Step::Hold })
    }

    /// Easy-mode step of a pool from per-engine load ratios.
    fn easy_step(&self, component: Component, pool: &PoolState) -> Step {
        let caps = self.caps(component);
        let kv = caps.max_kv_tokens.max(1.0);
        let latency = self.config.optimization_target == OptimizationTarget::Latency;
        let (ratios, up, down): (Vec<f64>, f64, f64) = match (self.aggregated, component) {
            (false, Component::Prefill) => {
                let r = pool
                    .engines
                    .iter()
                    .map(|e| e.sum_queued_prefill_tokens / kv)
                    .collect();
                (
                    r,
                    if latency { 0.1 } else { 1.0 },
                    if latency { f64::MIN_POSITIVE } else { 0.1 },
                )
            }
            (aggregated, _) => {
                let r = pool
                    .engines
                    .iter()
                    .map(|e| {
                        (e.decode_kv()
                            + if aggregated {
                                e.sum_queued_prefill_tokens
                            } else {
                                0.0
                            })
                            / kv
                    })
                    .collect();
                (
                    r,
                    if latency { 0.4 } else { 1.0 },
                    if latency { 0.1 } else { 0.6 },
                )
            }
        };
        // Prefill, throughput target: up at r ≥ 1 (the others use r > threshold).
        let over = |r: f64| {
            if !latency && component == Component::Prefill && !self.aggregated {
                r >= up
            } else {
                r > up
            }
        };
        if ratios.iter().any(|&r| over(r)) {
            Step::Up
        } else if ratios.iter().all(|&r| r < down) {
            Step::Down
        } else {
            Step::Hold
        }
    }

    /// Load tick for one pool; returns its target.
    fn load_tick(
        &self,
        component: Component,
        pool: &PoolState,
        record: &mut PoolRecord,
    ) -> Option<u32> {
        let n = pool.ready;
        if pool.starting > 0 {
            record.load_reason = Some(LoadReason::ScalingInProgress);
            return None;
        }
        if pool.engines.is_empty() {
            record.load_reason = Some(LoadReason::NoFpmData);
            return None;
        }
        if pool.engines.len() as u32 != n {
            record.load_reason = Some(LoadReason::WorkerCountMismatch);
            return None;
        }
        let decision = if self.config.optimization_target == OptimizationTarget::Sla {
            let Some(step) = self.sla_step(component, pool, record) else {
                record.load_reason = Some(LoadReason::InsufficientData);
                return None;
            };
            step
        } else {
            self.easy_step(component, pool)
        };
        let min = self.config.min_endpoint;
        let (wanted, reason) = match decision {
            Step::Up => (n + 1, LoadReason::ScaleUp),
            Step::Down if n > 1 => ((n - 1).max(min), LoadReason::ScaleDown),
            _ => (n, LoadReason::NoChange),
        };
        let floor = if self.config.enable_throughput_scaling {
            self.lower_bound.get(&component).copied().unwrap_or(0)
        } else {
            0
        };
        let target = wanted.max(min).max(floor);
        record.load_reason = Some(if reason == LoadReason::ScaleDown && target > wanted {
            LoadReason::ScaleDownCappedByThroughput
        } else {
            reason
        });
        Some(target)
    }
}

impl ScalingPolicy for SlaPlanner {
    fn next_tick_s(&self) -> f64 {
        match (
            self.config.enable_load_scaling,
            self.config.enable_throughput_scaling,
        ) {
            (true, true) => self.next_load.min(self.next_throughput),
            (true, false) => self.next_load,
            _ => self.next_throughput,
        }
    }

    fn on_tick(&mut self, input: &TickInput) -> TickOutput {
        let now = input.now_s;
        let throughput_due =
            self.config.enable_throughput_scaling && self.next_throughput <= now + MERGE_S;
        let load_due = self.config.enable_load_scaling && self.next_load <= now + MERGE_S;
        let components: Vec<Component> = self.deployment.pools.keys().copied().collect();
        for &component in &components {
            self.learn(component, &input.pool(component).new_samples, true);
        }
        if let Some(traffic) = &input.traffic {
            self.accept.observe(traffic.accept_length);
            self.window.add(traffic);
            self.recent.push(now, *traffic);
            let seen = |v: f64| (v > 0.0).then_some(v);
            self.observed_latency = (seen(traffic.avg_ttft_ms), seen(traffic.avg_itl_ms));
            if traffic.num_req > 0.0 {
                self.observed_isl = traffic.avg_isl;
            }
        }
        let mut records: BTreeMap<Component, PoolRecord> = components
            .iter()
            .map(|&c| (c, observed_pool(input.pool(c))))
            .collect();
        let mut targets = BTreeMap::new();
        let mut predicted = None;
        if throughput_due {
            targets = self.throughput_tick(&mut records);
            predicted = Some(self.last);
            self.next_throughput = now + self.config.throughput_adjustment_interval;
        }
        if load_due {
            for &component in &components {
                let Some(record) = records.get_mut(&component) else {
                    continue;
                };
                let pool = input.pool(component);
                let target = if self.servesim_rules() {
                    self.servesim_load_tick(component, pool, now, record)
                } else {
                    self.load_tick(component, pool, record)
                };
                if let Some(target) = target {
                    targets.insert(component, target);
                }
            }
            self.next_load = now + self.config.load_adjustment_interval;
        }
        for record in records.values_mut() {
            if throughput_due && !self.config.enable_load_scaling {
                record.load_reason = Some(LoadReason::Disabled);
            }
            if load_due && !self.config.enable_throughput_scaling {
                record.throughput_reason = Some(ThroughputReason::Disabled);
            }
        }
        if !targets.is_empty() {
            // Pools without a decision keep their count under a shared budget.
            for &component in &components {
                let pool = input.pool(component);
                targets
                    .entry(component)
                    .or_insert(pool.ready + pool.starting);
            }
            within_budget(&self.config, &self.deployment, &mut targets);
        }
        for (component, record) in records.iter_mut() {
            record.lower_bound = self.lower_bound.get(component).copied().unwrap_or(0);
            if let Some(&target) = targets.get(component) {
                record.target = target;
            }
        }
        let mut record = tick_record(input, records);
        record.predicted = predicted;
        TickOutput { targets, record }
    }

    fn bootstrap(&mut self, component: Component, samples: &[EngineSample]) {
        self.learn(component, samples, false);
    }

    fn name(&self) -> &'static str {
        "planner"
    }
}
