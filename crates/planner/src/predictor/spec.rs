//! Choosing a predictor by name (the planner config's `load_predictor`) and building it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::arima::Arima;
use super::constant::Constant;
use super::holt::{Holt, HoltParams};
use super::holt_winters::{HoltWinters, HoltWintersParams};
use super::kalman::{Kalman, KalmanParams};
use super::load_predictor::LoadPredictor;
use super::log1p::Log1p;
use super::moving_average::MovingAverage;

/// The predictor families, named as in the planner config's `load_predictor`.
///
/// Parsing accepts the reference's names (`constant`, `arima`, `kalman`, `prophet`) and
/// servesim's (`moving_average`, `holt`, `holt_winters`); `prophet` is servesim's
/// [`HoltWinters`], so it parses to [`PredictorKind::HoltWinters`] (and prints as
/// `holt_winters`).
///
/// ```
/// use servesim_planner::predictor::PredictorKind;
///
/// assert_eq!("prophet".parse::<PredictorKind>().unwrap(), PredictorKind::HoltWinters);
/// assert!("lstm".parse::<PredictorKind>().unwrap_err().to_string().contains("kalman"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PredictorKind {
    /// [`Constant`]: the last value.
    Constant,
    /// [`MovingAverage`]: the mean of a window.
    MovingAverage,
    /// [`Holt`]: level and trend.
    Holt,
    /// [`Kalman`]: a local-linear-trend Kalman filter.
    Kalman,
    /// [`Arima`]: automatic ARIMA(p, d, 0) (the reference's default).
    Arima,
    /// [`HoltWinters`]: level, trend and season (the reference's `prophet`).
    HoltWinters,
}

impl PredictorKind {
    /// Every kind, in the order they are listed to users.
    pub const ALL: [PredictorKind; 6] = [
        PredictorKind::Constant,
        PredictorKind::MovingAverage,
        PredictorKind::Holt,
        PredictorKind::Kalman,
        PredictorKind::Arima,
        PredictorKind::HoltWinters,
    ];

    /// The canonical config name (`holt_winters` for `prophet`).
    pub fn name(self) -> &'static str {
        match self {
            PredictorKind::Constant => "constant",
            PredictorKind::MovingAverage => "moving_average",
            PredictorKind::Holt => "holt",
            PredictorKind::Kalman => "kalman",
            PredictorKind::Arima => "arima",
            PredictorKind::HoltWinters => "holt_winters",
        }
    }
}

impl fmt::Display for PredictorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `load_predictor` name that is not a predictor; its message lists the valid names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPredictor(pub String);

impl fmt::Display for UnknownPredictor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown load predictor `{}`; valid: ", self.0)?;
        for kind in PredictorKind::ALL {
            write!(f, "{kind}, ")?;
        }
        f.write_str("prophet")
    }
}

impl std::error::Error for UnknownPredictor {}

impl FromStr for PredictorKind {
    type Err = UnknownPredictor;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name == "prophet" {
            return Ok(PredictorKind::HoltWinters);
        }
        PredictorKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| UnknownPredictor(name.to_owned()))
    }
}

impl Serialize for PredictorKind {
    /// As its canonical name.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for PredictorKind {
    /// From any name [`FromStr`] accepts, with its error message.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A predictor family with its parameters: what [`build`] makes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PredictorSpec {
    /// [`Constant`].
    Constant,
    /// [`MovingAverage`] over `window` values.
    MovingAverage {
        /// Values averaged (0 is taken as 1).
        window: usize,
    },
    /// [`Holt`].
    Holt(HoltParams),
    /// [`Kalman`].
    Kalman(KalmanParams),
    /// [`Arima`].
    Arima,
    /// [`HoltWinters`].
    HoltWinters(HoltWintersParams),
}

impl PredictorSpec {
    /// The family of this predictor.
    pub fn kind(&self) -> PredictorKind {
        match self {
            PredictorSpec::Constant => PredictorKind::Constant,
            PredictorSpec::MovingAverage { .. } => PredictorKind::MovingAverage,
            PredictorSpec::Holt(_) => PredictorKind::Holt,
            PredictorSpec::Kalman(_) => PredictorKind::Kalman,
            PredictorSpec::Arima => PredictorKind::Arima,
            PredictorSpec::HoltWinters(_) => PredictorKind::HoltWinters,
        }
    }
}

impl From<PredictorKind> for PredictorSpec {
    /// The family with its default parameters.
    fn from(kind: PredictorKind) -> Self {
        match kind {
            PredictorKind::Constant => PredictorSpec::Constant,
            PredictorKind::MovingAverage => PredictorSpec::MovingAverage {
                window: MovingAverage::DEFAULT_WINDOW,
            },
            PredictorKind::Holt => PredictorSpec::Holt(HoltParams::default()),
            PredictorKind::Kalman => PredictorSpec::Kalman(KalmanParams::default()),
            PredictorKind::Arima => PredictorSpec::Arima,
            PredictorKind::HoltWinters => PredictorSpec::HoltWinters(HoltWintersParams::default()),
        }
    }
}

/// A fresh predictor as `spec` describes, on log1p values if `log1p` (the planner config's
/// `load_predictor_log1p`, see [`Log1p`]).
///
/// ```
/// use servesim_planner::predictor::{PredictorKind, PredictorSpec, build};
///
/// let mut p = build(&PredictorSpec::from(PredictorKind::Kalman), false);
/// p.observe(4.0);
/// assert_eq!((p.name(), p.predict()), ("kalman", 4.0));
/// ```
pub fn build(spec: &PredictorSpec, log1p: bool) -> Box<dyn LoadPredictor> {
    let predictor: Box<dyn LoadPredictor> = match *spec {
        PredictorSpec::Constant => Box::new(Constant::new()),
        PredictorSpec::MovingAverage { window } => Box::new(MovingAverage::new(window)),
        PredictorSpec::Holt(params) => Box::new(Holt::new(params)),
        PredictorSpec::Kalman(params) => Box::new(Kalman::new(params)),
        PredictorSpec::Arima => Box::new(Arima::new()),
        PredictorSpec::HoltWinters(params) => Box::new(HoltWinters::new(params)),
    };
    if log1p {
        Box::new(Log1p::new(predictor))
    } else {
        predictor
    }
}
