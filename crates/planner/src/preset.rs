//! Named planner presets, as the reference's planner sweeps name them.
//!
//! A preset is `MODE_T_L`: `MODE` is `throughput` (predictive throughput scaling only),
//! `load` (reactive load scaling only) or `hybrid` (both, the reference's default), `T` the
//! throughput interval and `L` the load interval in seconds — `throughput_180_5`,
//! `load_180_10`, `hybrid_180_5`, `hybrid_600_5`, … Any intervals are accepted. A preset
//! keeps everything else of the configuration it is applied to (SLA targets, budget,
//! predictor) and sets `optimization_target: sla`, the only target under which throughput
//! scaling is legal.

use crate::config::{OptimizationTarget, PlannerConfig, PolicyKind};
use crate::error::PlannerError;

/// Whether `name` has the shape of a preset (`throughput_…`, `load_…`, `hybrid_…`).
pub fn is_preset(name: &str) -> bool {
    ["throughput_", "load_", "hybrid_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// `base` with the preset `name` applied.
///
/// ```
/// use servesim_planner::config::PlannerConfig;
/// use servesim_planner::preset::apply_preset;
/// let load = apply_preset(&PlannerConfig::default(), "load_180_10")?;
/// assert!(load.enable_load_scaling && !load.enable_throughput_scaling);
/// assert_eq!(load.load_adjustment_interval, 10.0);
/// assert!(apply_preset(&PlannerConfig::default(), "load_fast").is_err());
/// # Ok::<(), servesim_planner::PlannerError>(())
/// ```
pub fn apply_preset(base: &PlannerConfig, name: &str) -> Result<PlannerConfig, PlannerError> {
    let bad = |why: &str| {
        PlannerError::Config(format!(
            "preset `{name}`: {why} (expected throughput_T_L, load_T_L or hybrid_T_L with intervals T and L in seconds, e.g. hybrid_180_5)"
        ))
    };
    let mut parts = name.split('_');
    let (Some(mode), Some(t), Some(l), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not three parts"));
    };
    let (throughput, load) = match mode {
        "throughput" => (true, false),
        "load" => (false, true),
        "hybrid" => (true, true),
        _ => return Err(bad("unknown mode")),
    };
    let interval = |text: &str| {
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or_else(|| bad("an interval is not a positive number"))
    };
    let (t, l) = (interval(t)?, interval(l)?);
    if throughput && load && l >= t {
        return Err(bad(
            "the load interval must be shorter than the throughput interval",
        ));
    }
    Ok(PlannerConfig {
        scaling_policy: PolicyKind::Planner,
        optimization_target: OptimizationTarget::Sla,
        enable_throughput_scaling: throughput,
        enable_load_scaling: load,
        throughput_adjustment_interval: t,
        load_adjustment_interval: l,
        ..base.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_set_modes_and_intervals_and_keep_the_rest() {
        let base = PlannerConfig {
            ttft: 2000.0,
            max_gpu_budget: 16.0,
            ..PlannerConfig::default()
        };
        let hybrid = apply_preset(&base, "hybrid_600_5").unwrap();
        assert!(hybrid.enable_throughput_scaling && hybrid.enable_load_scaling);
        assert_eq!(hybrid.throughput_adjustment_interval, 600.0);
        assert_eq!(hybrid.load_adjustment_interval, 5.0);
        assert_eq!(hybrid.optimization_target, OptimizationTarget::Sla);
        assert_eq!((hybrid.ttft, hybrid.max_gpu_budget), (2000.0, 16.0));
        let throughput = apply_preset(&base, "throughput_180_5").unwrap();
        assert!(throughput.enable_throughput_scaling && !throughput.enable_load_scaling);
        assert!(throughput.validate().is_ok());
    }

    #[test]
    fn malformed_presets_are_rejected_with_the_expected_shape() {
        for name in [
            "hybrid_180",
            "hybrid_5_180",
            "load_0_5",
            "turbo_180_5",
            "load_180_5_1",
        ] {
            let error = apply_preset(&PlannerConfig::default(), name).unwrap_err();
            assert!(
                error.to_string().contains("hybrid_180_5"),
                "{name}: {error}"
            );
        }
        assert!(is_preset("load_180_10") && !is_preset("hpa"));
    }
}
