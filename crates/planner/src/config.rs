//! `PlannerConfig`: the reference planner's keys, defaults and validation, plus servesim's
//! baseline-policy settings.
//!
//! Accepted as a JSON or YAML file, or as inline JSON. Keys that only matter to a live
//! deployment (Prometheus endpoints, namespaces, dashboards, …) are accepted and ignored so
//! that existing planner configurations load unchanged; unknown keys are an error.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::PlannerError;
use crate::predictor::PredictorKind;

/// Which pools the planner scales.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlannerMode {
    /// Prefill and decode pools (the reference's default).
    Disagg,
    /// Only the prefill pool of a disaggregated deployment.
    Prefill,
    /// Only the decode pool of a disaggregated deployment.
    Decode,
    /// The single pool of an aggregated deployment.
    Agg,
}

/// What the planner optimises.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizationTarget {
    /// Easy mode with relaxed load thresholds (the reference's default).
    Throughput,
    /// Easy mode with tight load thresholds.
    Latency,
    /// Hold the TTFT and ITL targets using regression estimates.
    Sla,
}

/// How the pre-deployment performance data is obtained (throughput scaling needs one).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepMode {
    /// No pre-deployment data.
    None,
    /// A quick sweep (servesim: of the engine's own timing model).
    Rapid,
    /// A thorough sweep (servesim: the same sweep with 4× the points).
    Thorough,
}

/// Which load rules the SLA planner follows (SLA mode with load scaling).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalingRules {
    /// Size every load tick from the arrival-rate forecast one start-up time ahead and the
    /// regression's per-replica capacity at the observed ISL/OSL; scale up at once, down
    /// only when the smaller pool holds the SLA and the wish has lasted the stabilisation
    /// window.
    #[default]
    Servesim,
    /// The reference planner: one-replica steps from per-engine estimates, floored by the
    /// throughput tick's forecast.
    Reference,
}

/// The scaling policy driving the replicas.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// The SLA planner (the reference's).
    #[default]
    Planner,
    /// Never scale; record diagnostics only (the reference's "no-operation" baseline).
    Static,
    /// Kubernetes HPA-style target utilisation with a scale-down stabilisation window.
    Hpa,
    /// Knative KPA-style target concurrency with stable and panic windows.
    Kpa,
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyKind::Planner => "planner",
            PolicyKind::Static => "static",
            PolicyKind::Hpa => "hpa",
            PolicyKind::Kpa => "kpa",
        })
    }
}

impl FromStr for PolicyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "planner" | "sla" => Ok(PolicyKind::Planner),
            "static" | "none" => Ok(PolicyKind::Static),
            "hpa" => Ok(PolicyKind::Hpa),
            "kpa" => Ok(PolicyKind::Kpa),
            _ => Err(format!(
                "unknown scaling policy `{s}` (expected static, hpa, kpa or planner)"
            )),
        }
    }
}

/// The planner configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlannerConfig {
    /// `none`, `rapid` (default) or `thorough`.
    pub pre_deployment_sweeping_mode: SweepMode,
    /// `disagg` (default), `prefill`, `decode` or `agg`.
    pub mode: PlannerMode,
    /// `throughput` (default), `latency` or `sla`.
    pub optimization_target: OptimizationTarget,
    /// Seconds between throughput-based decisions (default 180).
    pub throughput_adjustment_interval: f64,
    /// Seconds between load-based decisions (default 5).
    pub load_adjustment_interval: f64,
    /// Most GPUs all pools may use together (default 8; negative = unlimited).
    pub max_gpu_budget: f64,
    /// Fewest replicas of a pool (default 1).
    pub min_endpoint: u32,
    /// GPUs per prefill replica (default: the engine's tensor-parallel size).
    pub prefill_engine_num_gpu: Option<u32>,
    /// GPUs per decode (or aggregated) replica (default: the engine's tensor-parallel size).
    pub decode_engine_num_gpu: Option<u32>,
    /// Draft tokens per decode step of speculative decoding (MTP), when the engines' own
    /// capabilities do not say (`aic_nextn` in the engine arguments wins); absent: no MTP.
    pub speculative_nextn: Option<u32>,
    /// TTFT target in ms (default 500).
    pub ttft: f64,
    /// ITL target in ms (default 50).
    pub itl: f64,
    /// Load predictor (default `arima`).
    pub load_predictor: PredictorKind,
    /// Predict on log1p-transformed values (default false).
    pub load_predictor_log1p: bool,
    /// Accepted for compatibility (the reference's Prophet window); servesim's `prophet` is
    /// a seasonal Holt-Winters predictor, see `load_predictor_season_length`.
    pub prophet_window_size: u32,
    /// servesim: throughput windows per season of the `holt_winters` (`prophet`) predictor
    /// (default 24).
    pub load_predictor_season_length: u32,
    /// Kalman level process noise (default 1.0).
    pub kalman_q_level: f64,
    /// Kalman trend process noise (default 0.1).
    pub kalman_q_trend: f64,
    /// Kalman measurement noise (default 10.0).
    pub kalman_r: f64,
    /// Points before the Kalman filter predicts (default 5).
    pub kalman_min_points: u32,
    /// Scale to the predicted load periodically (default true).
    pub enable_throughput_scaling: bool,
    /// React to the current load (default false).
    pub enable_load_scaling: bool,
    /// Forward-pass samples kept per regression (default 64).
    pub max_num_fpm_samples: u32,
    /// Buckets of the sample retention (default 16; a perfect square).
    pub fpm_sample_bucket_size: u32,
    /// Scale down only below this % of the SLA (default 80).
    pub load_scaling_down_sensitivity: f64,
    /// Recent samples averaged by load-based scaling (default 10).
    pub load_metric_samples: u32,
    /// Samples a regression needs before it is used (default 5).
    pub load_min_observations: u32,
    /// Output directory of the HTML diagnostics report (default `./planner_reports`).
    pub report_output_dir: String,
    /// File name of the HTML diagnostics report (default: timestamped).
    pub report_filename: Option<String>,
    /// servesim: the scaling policy (`planner`, `static`, `hpa`, `kpa`).
    pub scaling_policy: PolicyKind,
    /// servesim: the SLA planner's load rules — `servesim` (default: capacity sized every
    /// load tick for the arrival rate forecast one start-up ahead, stabilised scale-down) or
    /// `reference` (the reference's one-replica steps under a throughput-tick lower bound).
    pub scaling_rules: ScalingRules,
    /// servesim rules: seconds of arrivals the rate forecast fits (default: 6 load
    /// intervals).
    pub load_rate_window: Option<f64>,
    /// servesim rules: a scale-down must have been wanted for this many seconds (default:
    /// the engine's start-up time — a replica released is one that cannot be back sooner).
    pub scale_down_stabilization: Option<f64>,
    /// servesim HPA: target KV utilisation per replica (default 0.7).
    pub hpa_target_utilization: f64,
    /// servesim HPA: scale-down stabilisation window in seconds (default 300).
    pub hpa_stabilization_window: f64,
    /// servesim KPA: target in-flight requests per replica (default 32).
    pub kpa_target_concurrency: f64,
    /// servesim KPA: stable window in seconds (default 60).
    pub kpa_stable_window: f64,
    /// servesim KPA: panic window as a share of the stable window (default 0.1).
    pub kpa_panic_window_fraction: f64,
    /// servesim KPA: panic when the panic-window demand is this multiple of the replicas
    /// (default 2.0).
    pub kpa_panic_threshold: f64,
    /// Live-deployment key; ignored.
    pub environment: Option<String>,
    /// Live-deployment key; ignored.
    pub namespace: Option<String>,
    /// Informational: the engine backend (`vllm`, `sglang`, `trtllm`, `mocker`).
    pub backend: Option<String>,
    /// Live-deployment key; ignored.
    pub log_dir: Option<String>,
    /// Live-deployment key; ignored (servesim sweeps the engine's own timing model).
    pub profile_results_dir: Option<String>,
    /// Accepted for compatibility; servesim sweeps the engine's own timing model.
    pub aic_interpolation: Option<serde_json::Value>,
    /// Live-deployment key; ignored.
    pub load_predictor_warmup_trace: Option<String>,
    /// Live-deployment key; ignored.
    pub metric_pulling_prometheus_endpoint: Option<String>,
    /// Live-deployment key; ignored.
    pub metric_reporting_prometheus_port: Option<u16>,
    /// Live-deployment key; ignored.
    pub throughput_metrics_source: Option<String>,
    /// Live-deployment key; ignored.
    pub model_name: Option<String>,
    /// Live-deployment key; ignored.
    pub global_planner_namespace: Option<String>,
    /// Forced on in replay; scaling is still applied to the simulation.
    pub advisory: Option<bool>,
    /// Live-deployment key; ignored.
    pub report_interval_hours: Option<f64>,
    /// Live-deployment key; ignored.
    pub live_dashboard_port: Option<u16>,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig {
            pre_deployment_sweeping_mode: SweepMode::Rapid,
            mode: PlannerMode::Disagg,
            optimization_target: OptimizationTarget::Throughput,
            throughput_adjustment_interval: 180.0,
            load_adjustment_interval: 5.0,
            max_gpu_budget: 8.0,
            min_endpoint: 1,
            prefill_engine_num_gpu: None,
            decode_engine_num_gpu: None,
            speculative_nextn: None,
            ttft: 500.0,
            itl: 50.0,
            load_predictor: PredictorKind::Arima,
            load_predictor_log1p: false,
            prophet_window_size: 50,
            load_predictor_season_length: 24,
            kalman_q_level: 1.0,
            kalman_q_trend: 0.1,
            kalman_r: 10.0,
            kalman_min_points: 5,
            enable_throughput_scaling: true,
            enable_load_scaling: false,
            max_num_fpm_samples: 64,
            fpm_sample_bucket_size: 16,
            load_scaling_down_sensitivity: 80.0,
            load_metric_samples: 10,
            load_min_observations: 5,
            report_output_dir: "./planner_reports".to_owned(),
            report_filename: None,
            scaling_policy: PolicyKind::Planner,
            scaling_rules: ScalingRules::Servesim,
            load_rate_window: None,
            scale_down_stabilization: None,
            hpa_target_utilization: 0.7,
            hpa_stabilization_window: 300.0,
            kpa_target_concurrency: 32.0,
            kpa_stable_window: 60.0,
            kpa_panic_window_fraction: 0.1,
            kpa_panic_threshold: 2.0,
            environment: None,
            namespace: None,
            backend: None,
            log_dir: None,
            profile_results_dir: None,
            aic_interpolation: None,
            load_predictor_warmup_trace: None,
            metric_pulling_prometheus_endpoint: None,
            metric_reporting_prometheus_port: None,
            throughput_metrics_source: None,
            model_name: None,
            global_planner_namespace: None,
            advisory: None,
            report_interval_hours: None,
            live_dashboard_port: None,
        }
    }
}

/// A validated configuration and the warnings validation produced.
#[derive(Clone, Debug)]
pub struct ValidatedConfig {
    /// The configuration, with the reference's forced settings applied.
    pub config: PlannerConfig,
    /// Non-fatal notes for the user (e.g. "easy mode ignores ttft/itl").
    pub warnings: Vec<String>,
}

/// Inline JSON, or a JSON or YAML file, read as `T`.
fn parse_config<T: serde::de::DeserializeOwned>(value: &str) -> Result<T, PlannerError> {
    let trimmed = value.trim_start();
    if trimmed.starts_with('{') {
        return from_json(value, "inline JSON");
    }
    let path = Path::new(value);
    let text =
        std::fs::read_to_string(path).map_err(|e| PlannerError::Config(format!("{value}: {e}")))?;
    let is_yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if is_yaml {
        from_yaml(&text, value)
    } else {
        from_json(&text, value)
    }
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, source: &str) -> Result<T, PlannerError> {
    servesim_trace::json_named(text).map_err(|e| PlannerError::Config(format!("{source}: {e}")))
}

fn from_yaml<T: serde::de::DeserializeOwned>(text: &str, source: &str) -> Result<T, PlannerError> {
    servesim_trace::deserialize_named(serde_norway::Deserializer::from_str(text))
        .map_err(|e| PlannerError::Config(format!("{source}: {e}")))
}

fn invalid(key: &str, message: impl fmt::Display) -> PlannerError {
    PlannerError::Config(format!("field `{key}`: {message}"))
}

impl PlannerConfig {
    /// Parses inline JSON, or a JSON or YAML file (`.yaml`/`.yml` as YAML, else JSON).
    pub fn parse(value: &str) -> Result<Self, PlannerError> {
        parse_config(value)
    }

    /// Parses a JSON document; `source` names it in errors.
    pub fn from_json(text: &str, source: &str) -> Result<Self, PlannerError> {
        from_json(text, source)
    }

    /// Parses a YAML document; `source` names it in errors.
    pub fn from_yaml(text: &str, source: &str) -> Result<Self, PlannerError> {
        from_yaml(text, source)
    }

    /// Reads a configuration like [`parse`](Self::parse) but keeps it as a JSON object, so
    /// tools can change keys (e.g. a sweep setting `ttft`) before parsing it.
    pub fn parse_value(value: &str) -> Result<serde_json::Value, PlannerError> {
        parse_config(value)
    }

    /// Applies the reference's rules: easy mode (`throughput`/`latency`) forces load scaling
    /// on and throughput scaling off; at least one mode must be on; throughput scaling needs
    /// a sweep; intervals positive, the load interval shorter than the throughput interval
    /// when both run; the bucket size a perfect square; the budget able to hold
    /// `min_endpoint` replicas.
    pub fn validate(mut self) -> Result<ValidatedConfig, PlannerError> {
        let mut warnings = Vec::new();
        let defaults = PlannerConfig::default();
        if self.optimization_target != OptimizationTarget::Sla
            && self.scaling_policy == PolicyKind::Planner
        {
            if self.ttft != defaults.ttft || self.itl != defaults.itl {
                warnings.push(format!(
                    "optimization_target `{}` ignores ttft/itl (set `optimization_target: sla` to hold them)",
                    serde_json::to_value(self.optimization_target).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
                ));
            }
            if self.enable_throughput_scaling || !self.enable_load_scaling {
                warnings.push(
                    "easy mode (throughput/latency target) uses load scaling only".to_owned(),
                );
            }
            self.enable_load_scaling = true;
            self.enable_throughput_scaling = false;
        }
        if !self.enable_load_scaling && !self.enable_throughput_scaling {
            return Err(invalid(
                "enable_load_scaling",
                "at least one of load or throughput scaling must be enabled",
            ));
        }
        if self.enable_throughput_scaling && self.pre_deployment_sweeping_mode == SweepMode::None {
            return Err(invalid(
                "pre_deployment_sweeping_mode",
                "throughput scaling needs a sweep (`rapid` or `thorough`)",
            ));
        }
        self.check_ranges()?;
        if self.enable_load_scaling
            && self.enable_throughput_scaling
            && self.load_adjustment_interval >= self.throughput_adjustment_interval
        {
            return Err(invalid(
                "load_adjustment_interval",
                format!(
                    "must be shorter than throughput_adjustment_interval ({} ≥ {})",
                    self.load_adjustment_interval, self.throughput_adjustment_interval
                ),
            ));
        }
        let root = f64::from(self.fpm_sample_bucket_size).sqrt().round() as u64;
        if self.fpm_sample_bucket_size == 0 || root * root != u64::from(self.fpm_sample_bucket_size)
        {
            return Err(invalid(
                "fpm_sample_bucket_size",
                format!(
                    "must be a perfect square, got {}",
                    self.fpm_sample_bucket_size
                ),
            ));
        }
        if self.min_endpoint == 0 {
            return Err(invalid("min_endpoint", "must be ≥ 1"));
        }
        if matches!(self.speculative_nextn, Some(0)) {
            return Err(invalid(
                "speculative_nextn",
                "draft tokens per step must be ≥ 1 (omit the key without speculative decoding)",
            ));
        }
        if matches!(self.prefill_engine_num_gpu, Some(0))
            || matches!(self.decode_engine_num_gpu, Some(0))
        {
            return Err(invalid(
                "decode_engine_num_gpu",
                "GPUs per replica must be ≥ 1 (omit the key to use the engine's TP size)",
            ));
        }
        Ok(ValidatedConfig {
            config: self,
            warnings,
        })
    }
}

/// The longest interval or window a configuration may name: about 31 years, far inside the
/// simulated clock's range.
const MAX_SECONDS: f64 = 1e9;

/// Where a numeric planner key must lie (docs/input-ranges.md lists every key).
#[derive(Clone, Copy)]
enum Range {
    /// Finite and > 0.
    Positive,
    /// Finite and ≥ 0.
    NonNegative,
    /// In (0, 1].
    Fraction,
    /// A percentage in [0, 100].
    Percent,
    /// Seconds in (0, `MAX_SECONDS`].
    Seconds,
    /// Seconds in [0, `MAX_SECONDS`].
    SecondsOrZero,
}

impl Range {
    fn check(self, key: &str, v: f64) -> Result<(), PlannerError> {
        let (ok, expected) = match self {
            Range::Positive => (v.is_finite() && v > 0.0, "> 0".to_owned()),
            Range::NonNegative => (v.is_finite() && v >= 0.0, "≥ 0".to_owned()),
            Range::Fraction => (v > 0.0 && v <= 1.0, "in (0, 1]".to_owned()),
            Range::Percent => (
                (0.0..=100.0).contains(&v),
                "a percentage in [0, 100]".to_owned(),
            ),
            Range::Seconds => (
                v > 0.0 && v <= MAX_SECONDS,
                format!("in (0, {MAX_SECONDS:e}] seconds"),
            ),
            Range::SecondsOrZero => (
                (0.0..=MAX_SECONDS).contains(&v),
                format!("in [0, {MAX_SECONDS:e}] seconds"),
            ),
        };
        if ok {
            Ok(())
        } else {
            Err(invalid(key, format!("must be {expected}, got {v}")))
        }
    }
}

impl PlannerConfig {
    /// Checks every numeric key against its documented range.
    fn check_ranges(&self) -> Result<(), PlannerError> {
        let numbers = [
            (
                "throughput_adjustment_interval",
                self.throughput_adjustment_interval,
                Range::Seconds,
            ),
            (
                "load_adjustment_interval",
                self.load_adjustment_interval,
                Range::Seconds,
            ),
            ("ttft", self.ttft, Range::Positive),
            ("itl", self.itl, Range::Positive),
            ("kalman_q_level", self.kalman_q_level, Range::NonNegative),
            ("kalman_q_trend", self.kalman_q_trend, Range::NonNegative),
            ("kalman_r", self.kalman_r, Range::Positive),
            (
                "load_scaling_down_sensitivity",
                self.load_scaling_down_sensitivity,
                Range::Percent,
            ),
            (
                "hpa_target_utilization",
                self.hpa_target_utilization,
                Range::Fraction,
            ),
            (
                "hpa_stabilization_window",
                self.hpa_stabilization_window,
                Range::SecondsOrZero,
            ),
            (
                "kpa_target_concurrency",
                self.kpa_target_concurrency,
                Range::Positive,
            ),
            ("kpa_stable_window", self.kpa_stable_window, Range::Seconds),
            (
                "kpa_panic_window_fraction",
                self.kpa_panic_window_fraction,
                Range::Fraction,
            ),
            (
                "kpa_panic_threshold",
                self.kpa_panic_threshold,
                Range::Positive,
            ),
        ];
        for (key, value, range) in numbers {
            range.check(key, value)?;
        }
        if let Some(hours) = self.report_interval_hours {
            Range::Positive.check("report_interval_hours", hours)?;
        }
        if let Some(window) = self.load_rate_window {
            Range::Seconds.check("load_rate_window", window)?;
        }
        if let Some(window) = self.scale_down_stabilization {
            Range::SecondsOrZero.check("scale_down_stabilization", window)?;
        }
        let budget = self.max_gpu_budget;
        if !budget.is_finite() || (0.0..1.0).contains(&budget) {
            return Err(invalid(
                "max_gpu_budget",
                format!("must be ≥ 1 GPU, or negative for no limit, got {budget}"),
            ));
        }
        let counts = [
            ("prophet_window_size", self.prophet_window_size),
            (
                "load_predictor_season_length",
                self.load_predictor_season_length,
            ),
            ("kalman_min_points", self.kalman_min_points),
            ("max_num_fpm_samples", self.max_num_fpm_samples),
            ("load_min_observations", self.load_min_observations),
            ("load_metric_samples", self.load_metric_samples),
        ];
        for (key, count) in counts {
            if count == 0 {
                return Err(invalid(key, "must be ≥ 1"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_reference() {
        let c = PlannerConfig::default();
        assert_eq!(c.mode, PlannerMode::Disagg);
        assert_eq!(c.optimization_target, OptimizationTarget::Throughput);
        assert_eq!(
            (c.throughput_adjustment_interval, c.load_adjustment_interval),
            (180.0, 5.0)
        );
        assert_eq!(
            (c.ttft, c.itl, c.max_gpu_budget, c.min_endpoint),
            (500.0, 50.0, 8.0, 1)
        );
        assert_eq!(c.load_predictor, PredictorKind::Arima);
        assert!(c.enable_throughput_scaling && !c.enable_load_scaling);
    }

    #[test]
    fn easy_mode_forces_load_scaling() {
        let v = PlannerConfig::parse(r#"{"mode": "agg", "ttft": 900}"#)
            .unwrap()
            .validate()
            .unwrap();
        assert!(v.config.enable_load_scaling && !v.config.enable_throughput_scaling);
        assert_eq!(v.warnings.len(), 2);
        let sla = PlannerConfig::parse(
            r#"{"mode": "agg", "optimization_target": "sla", "enable_load_scaling": true}"#,
        )
        .unwrap()
        .validate()
        .unwrap();
        assert!(sla.config.enable_load_scaling && sla.config.enable_throughput_scaling);
        assert!(sla.warnings.is_empty());
    }

    #[test]
    fn invalid_configs_name_the_key() {
        let cases = [
            (
                r#"{"optimization_target": "sla", "enable_throughput_scaling": false}"#,
                "field `enable_load_scaling`: at least one",
            ),
            (
                r#"{"optimization_target": "sla", "pre_deployment_sweeping_mode": "none"}"#,
                "field `pre_deployment_sweeping_mode`",
            ),
            (
                r#"{"optimization_target": "sla", "enable_load_scaling": true, "load_adjustment_interval": 200}"#,
                "field `load_adjustment_interval`: must be shorter",
            ),
            (
                r#"{"fpm_sample_bucket_size": 12}"#,
                "field `fpm_sample_bucket_size`: must be a perfect square, got 12",
            ),
            (r#"{"ttft": -5}"#, "field `ttft`: must be > 0, got -5"),
            (
                r#"{"min_endpoint": 0}"#,
                "field `min_endpoint`: must be ≥ 1",
            ),
            (
                r#"{"speculative_nextn": 0}"#,
                "field `speculative_nextn`: draft tokens per step must be ≥ 1",
            ),
        ];
        for (json, expected) in cases {
            let err = PlannerConfig::parse(json)
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{json}: {err}");
        }
        let err = PlannerConfig::parse(r#"{"ttft_ms": 5}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `ttft_ms`"), "{err}");
        let err = PlannerConfig::parse(r#"{"mode": "hybrid"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `hybrid`"), "{err}");
    }

    #[test]
    fn yaml_and_json_files() {
        let dir =
            std::env::temp_dir().join(format!("servesim-planner-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let yaml = dir.join("p.yaml");
        std::fs::write(
            &yaml,
            "mode: agg\noptimization_target: sla\nttft: 1500\nitl: 50\nload_predictor: kalman\n",
        )
        .unwrap();
        let c = PlannerConfig::parse(yaml.to_str().unwrap()).unwrap();
        assert_eq!(
            (c.mode, c.ttft, c.load_predictor),
            (PlannerMode::Agg, 1500.0, PredictorKind::Kalman)
        );
        let json = dir.join("p.json");
        std::fs::write(&json, r#"{"mode": "decode"}"#).unwrap();
        assert_eq!(
            PlannerConfig::parse(json.to_str().unwrap()).unwrap().mode,
            PlannerMode::Decode
        );
        assert!(PlannerConfig::parse("no/such/planner.yaml").is_err());
    }
}
