//! One chart: a Plotly figure with a title, drawn into its own `<div>`.

use plotly::common::{DashType, Line, Marker, Mode};
use plotly::layout::{Annotation, Axis, AxisType, HoverMode, Layout, Legend, Margin};
use plotly::{Configuration, Plot, Scatter};

/// How a series is drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum Style {
    /// A solid line in Plotly's default colour cycle.
    Line,
    /// A solid line with markers at the points (sweeps: few points, each a run).
    LineMarkers,
    /// A dashed line in the given colour (bounds, predictions).
    Dashed(&'static str),
    /// A dashed red line: a target such as an SLA or a capacity.
    Target,
    /// Markers only, in the given colour (decision timelines).
    Markers(&'static str),
}

/// A named series of points; `None` leaves a gap.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates (`None`: no value at that point).
    pub y: Vec<Option<f64>>,
    /// How it is drawn.
    pub style: Style,
}

impl Series {
    /// A series from `(x, y)` pairs.
    pub fn new(
        name: impl Into<String>,
        points: impl IntoIterator<Item = (f64, Option<f64>)>,
    ) -> Self {
        let (x, y) = points.into_iter().unzip();
        Series {
            name: name.into(),
            x,
            y,
            style: Style::Line,
        }
    }

    /// The same series drawn with `style`.
    pub fn styled(self, style: Style) -> Self {
        Series { style, ..self }
    }

    /// A horizontal target line at `value` across `[from, to]`.
    pub fn target(name: impl Into<String>, value: f64, (from, to): (f64, f64)) -> Self {
        Series::new(name, [(from, Some(value)), (to, Some(value))]).styled(Style::Target)
    }

    /// The series without its empty points, so a value recorded only now and then (a
    /// prediction every throughput interval) is drawn as a line through those values
    /// rather than as isolated dots.
    pub fn compact(self) -> Self {
        let (x, y) = self
            .x
            .iter()
            .zip(&self.y)
            .filter(|(_, y)| y.is_some())
            .map(|(&x, &y)| (x, y))
            .unzip();
        Series { x, y, ..self }
    }

    /// Whether any point has a value.
    pub fn has_data(&self) -> bool {
        self.y.iter().any(Option::is_some)
    }

    fn trace(&self) -> Box<Scatter<f64, Option<f64>>> {
        let trace = Scatter::new(self.x.clone(), self.y.clone()).name(&self.name);
        match self.style {
            Style::Line => trace.mode(Mode::Lines),
            Style::LineMarkers => trace.mode(Mode::LinesMarkers),
            Style::Dashed(color) => trace
                .mode(Mode::Lines)
                .line(Line::new().dash(DashType::Dash).color(color)),
            Style::Target => trace
                .mode(Mode::Lines)
                .line(Line::new().dash(DashType::Dash).color("red").width(1.5)),
            Style::Markers(color) => trace
                .mode(Mode::Markers)
                .marker(Marker::new().color(color).size(7)),
        }
    }
}

/// What the horizontal axis of a chart measures; charts with the same kind of axis zoom
/// together in a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XAxis {
    /// Simulated time in seconds: linked across the report.
    Time,
    /// A swept parameter: linked across a sweep page.
    Swept(String),
    /// Anything else (a latency in a distribution chart): not linked.
    Own(String),
}

/// A chart: title, axes and series; rendered with Plotly by the [`Page`](crate::Page).
#[derive(Clone, Debug)]
pub struct Chart {
    /// Element id, unique within a page (stable, so reports are byte-identical).
    pub id: String,
    /// Title shown above the plot.
    pub title: String,
    /// The horizontal axis.
    pub x_axis: XAxis,
    /// Title of the vertical axis.
    pub y_title: String,
    /// Plotly tick format of the vertical axis (e.g. `.0%`), if not the default.
    pub y_format: Option<&'static str>,
    /// Logarithmic horizontal axis.
    pub log_x: bool,
    /// Category labels of the vertical axis as `(value, label)` (decision timelines).
    pub y_categories: Vec<(f64, String)>,
    /// The series, drawn in order.
    pub series: Vec<Series>,
}

impl Chart {
    /// A chart over simulated time (linked with the other time charts of its page).
    pub fn over_time(id: &str, title: &str, y_title: &str) -> Chart {
        Chart::new(id, title, XAxis::Time, y_title)
    }

    /// A chart with its own horizontal axis.
    pub fn new(id: &str, title: &str, x_axis: XAxis, y_title: &str) -> Chart {
        Chart {
            id: id.to_owned(),
            title: title.to_owned(),
            x_axis,
            y_title: y_title.to_owned(),
            y_format: None,
            log_x: false,
            y_categories: Vec::new(),
            series: Vec::new(),
        }
    }

    /// Adds a series.
    pub fn push(&mut self, series: Series) -> &mut Chart {
        self.series.push(series);
        self
    }

    /// The group of charts this one zooms with, if any (`time`, or `param:<name>`).
    pub fn link_group(&self) -> Option<String> {
        match &self.x_axis {
            XAxis::Time => Some("time".to_owned()),
            XAxis::Swept(name) => Some(format!("param:{name}")),
            XAxis::Own(_) => None,
        }
    }

    /// The Plotly figure (`{"data", "layout", "config"}`) as JSON.
    pub fn figure_json(&self) -> String {
        let mut plot = Plot::new();
        for series in &self.series {
            plot.add_trace(series.trace());
        }
        let x_title = match &self.x_axis {
            XAxis::Time => "simulated time (s)",
            XAxis::Swept(name) | XAxis::Own(name) => name.as_str(),
        };
        let mut x_axis = Axis::new().title(x_title).zero_line(false);
        if self.log_x {
            x_axis = x_axis.type_(AxisType::Log);
        }
        let mut y_axis = Axis::new().title(self.y_title.as_str()).zero_line(false);
        if let Some(format) = self.y_format {
            y_axis = y_axis.tick_format(format);
        }
        if !self.y_categories.is_empty() {
            let (values, labels): (Vec<f64>, Vec<String>) =
                self.y_categories.iter().cloned().unzip();
            let (low, high) = values
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
            y_axis = y_axis
                .tick_values(values)
                .tick_text(labels)
                .range(vec![low - 0.5, high + 0.5]);
        }
        let mut layout = Layout::new()
            .height(340)
            .margin(Margin::new().top(30).bottom(50).left(70).right(20))
            .x_axis(x_axis)
            .y_axis(y_axis)
            .legend(Legend::new())
            .hover_mode(HoverMode::Closest);
        if !self.series.iter().any(Series::has_data) {
            layout = layout.annotations(vec![
                Annotation::new()
                    .text("no data in this run")
                    .show_arrow(false)
                    .x_ref("paper")
                    .y_ref("paper")
                    .x(0.5)
                    .y(0.5),
            ]);
        }
        plot.set_layout(layout);
        plot.set_configuration(Configuration::new().responsive(true).display_logo(false));
        plot.to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_carry_series_axes_and_gaps() {
        let mut chart = Chart::over_time("replicas", "Replica counts", "replicas");
        chart.push(Series::new("decode", [(0.0, Some(1.0)), (10.0, None)]));
        chart.push(Series::target("SLA", 50.0, (0.0, 10.0)));
        let figure: serde_json::Value = serde_json::from_str(&chart.figure_json()).unwrap();
        assert_eq!(figure["data"][0]["y"], serde_json::json!([1.0, null]));
        assert_eq!(figure["data"][1]["line"]["dash"], "dash");
        assert_eq!(
            figure["layout"]["xaxis"]["title"]["text"],
            "simulated time (s)"
        );
        assert!(figure["layout"]["annotations"].is_null());
        assert_eq!(chart.link_group().as_deref(), Some("time"));
    }

    #[test]
    fn compact_series_drop_empty_points() {
        let s = Series::new("p", [(0.0, Some(1.0)), (5.0, None), (10.0, Some(2.0))]).compact();
        assert_eq!((s.x, s.y), (vec![0.0, 10.0], vec![Some(1.0), Some(2.0)]));
    }

    #[test]
    fn empty_charts_say_so() {
        let chart = Chart::new("cdf", "TTFT", XAxis::Own("ms".into()), "share");
        let figure: serde_json::Value = serde_json::from_str(&chart.figure_json()).unwrap();
        assert_eq!(
            figure["layout"]["annotations"][0]["text"],
            "no data in this run"
        );
        assert_eq!(chart.link_group(), None);
    }
}
