//! The forecast as an SVG picture: one panel per metric with the observed
//! points, the projection, the warning and critical lines, and the stage
//! boundaries on the users panel, with dated axes.

use std::fmt::Write as _;

use crate::date::format_day;
use crate::forecast::Forecast;
use crate::history::PlotPoint;
use crate::ladder::Ladder;
use crate::metric::{Metric, format_count, format_number};

const WIDTH: f64 = 900.0;
const PANEL: f64 = 240.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 160.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 36.0;
/// At most this many point columns per panel; denser data keeps each
/// column's lowest and highest value, so peaks and dips survive.
const COLUMNS: usize = 400;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// About five round tick values covering `[low, high]`.
fn ticks(low: f64, high: f64) -> Vec<f64> {
    let span = (high - low).max(f64::EPSILON);
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * magnitude);
    let mut tick = (low / step).ceil() * step;
    let mut out = Vec::new();
    while tick <= high + step * 1e-9 && out.len() < 12 {
        out.push(tick + 0.0);
        tick += step;
    }
    out
}

struct Panel<'a> {
    title: String,
    /// Every observation, drawn faintly.
    points: Vec<(f64, f64)>,
    /// The reduced peaks that were fitted.
    peaks: Vec<(f64, f64)>,
    /// The plausible range of the projection: (day, low, high).
    band: Vec<(f64, f64, f64)>,
    projection: Vec<(f64, f64)>,
    lines: Vec<(f64, &'static str, String)>,
    unit: &'a str,
}

fn downsample(mut points: Vec<(f64, f64)>, from: f64, to: f64) -> Vec<(f64, f64)> {
    if points.len() <= COLUMNS * 2 {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        return points;
    }
    type Point = (f64, f64);
    // Per column: its lowest and its highest point.
    let mut columns: Vec<Option<(Point, Point)>> = vec![None; COLUMNS];
    let span = (to - from).max(f64::EPSILON);
    for (x, y) in points {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let column = (((x - from) / span) * (COLUMNS as f64 - 1.0))
            .round()
            .clamp(0.0, COLUMNS as f64 - 1.0) as usize;
        let slot = &mut columns[column];
        *slot = Some(match *slot {
            None => ((x, y), (x, y)),
            Some((low, high)) => (
                if y < low.1 { (x, y) } else { low },
                if y > high.1 { (x, y) } else { high },
            ),
        });
    }
    columns
        .into_iter()
        .flatten()
        .flat_map(|(low, high)| {
            if low == high {
                vec![low]
            } else {
                vec![low, high]
            }
        })
        .collect()
}

/// The SVG document for a forecast and the observations it was fitted to.
pub fn svg(f: &Forecast<'_>, ladder: &Ladder, observations: &[PlotPoint]) -> String {
    #[allow(clippy::cast_precision_loss)]
    let (from, to, end) = (
        f.from as f64,
        f.to as f64,
        (f.to + i64::from(f.horizon)) as f64,
    );
    let step = (f64::from(f.horizon) / 120.0).max(1.0);
    let days: Vec<f64> = (0..=120)
        .map(|i| to + f64::from(i) * step)
        .filter(|&d| d <= end)
        .collect();

    let mut panels = Vec::new();
    let users_seen = observations
        .iter()
        .filter_map(|o| o.value(0))
        .chain(days.iter().map(|&d| f.users_at(d)))
        .fold(0.0, f64::max);
    let mut users_lines = Vec::new();
    for stage in ladder.stages().iter().skip(1) {
        // Boundaries far above the data would flatten it; keep those within reach.
        #[allow(clippy::cast_precision_loss)]
        let boundary = stage.users_min as f64;
        if boundary <= users_seen * 1.5 {
            users_lines.push((
                boundary,
                "#555",
                format!("stage {} {}", stage.id, stage.name),
            ));
        }
    }
    panels.push(Panel {
        title: format!(
            "users: {}% a month (R² {:.2}); dark points: the peaks fitted",
            format_number(f.users.growth_pct_per_month),
            f.users.r2
        ),
        points: downsample(
            observations
                .iter()
                .filter_map(|o| Some((o.day, o.value(0)?)))
                .collect(),
            from,
            to,
        ),
        peaks: f
            .reduced
            .iter()
            .filter_map(|p| Some((p.day, p.users?)))
            .collect(),
        band: days
            .iter()
            .filter_map(|&d| {
                let (low, high) = f.users_band(d)?;
                Some((d, low, high))
            })
            .collect(),
        projection: days.iter().map(|&d| (d, f.users_at(d))).collect(),
        lines: users_lines,
        unit: "",
    });
    for model in &f.metrics {
        let index = Metric::ALL
            .iter()
            .position(|m| *m == model.metric)
            .unwrap_or(0);
        let mut lines = Vec::new();
        for rule in ladder.rules().iter().filter(|r| r.metric == model.metric) {
            lines.push((rule.warning, "#d08000", format!("{} warning", rule.id)));
            lines.push((rule.critical, "#c00000", format!("{} critical", rule.id)));
        }
        panels.push(Panel {
            title: format!(
                "{}: {} (R² {:.2}); shaded: the plausible range",
                model.metric,
                match (model.model, model.shape) {
                    (crate::forecast::Model::Users, Some(crate::load::Shape::Queue)) => {
                        "a queue in users".to_owned()
                    }
                    (crate::forecast::Model::Users, _) => "a line in users".to_owned(),
                    (crate::forecast::Model::Time, _) => "a line in time".to_owned(),
                },
                model.r2
            ),
            points: downsample(
                observations
                    .iter()
                    .filter_map(|o| Some((o.day, o.value(index + 1)?)))
                    .collect(),
                from,
                to,
            ),
            peaks: f
                .reduced
                .iter()
                .filter_map(|p| Some((p.day, p.metrics[index]?)))
                .collect(),
            band: days
                .iter()
                .filter_map(|&d| {
                    let (low, high) = f.metric_band(model.metric, d)?;
                    Some((d, low, high))
                })
                .collect(),
            projection: days
                .iter()
                .filter_map(|&d| Some((d, f.metric_at(model.metric, d)?)))
                .collect(),
            lines,
            unit: model.metric.unit(),
        });
    }

    #[allow(clippy::cast_precision_loss)]
    let height = PANEL * panels.len() as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        out,
        "<title>scalectl forecast, {} to {}, {} days ahead</title>",
        format_day(f.from),
        format_day(f.to),
        f.horizon
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (i, panel) in panels.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        draw(&mut out, panel, PANEL * i as f64, from, end, to);
    }
    out.push_str("</svg>\n");
    out
}

fn draw(out: &mut String, panel: &Panel<'_>, top: f64, from: f64, end: f64, today: f64) {
    let (x0, x1) = (LEFT, WIDTH - RIGHT);
    let (y0, y1) = (top + PANEL - BOTTOM, top + TOP);
    let values = panel
        .points
        .iter()
        .chain(&panel.peaks)
        .chain(&panel.projection)
        .map(|p| p.1)
        .chain(panel.lines.iter().map(|l| l.0));
    let (mut low, mut high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        if v.is_finite() {
            (lo.min(v), hi.max(v))
        } else {
            (lo, hi)
        }
    });
    if !low.is_finite() {
        (low, high) = (0.0, 1.0);
    }
    low = low.min(0.0);
    if high <= low {
        high = low + 1.0;
    }
    high += (high - low) * 0.05;
    let x = |day: f64| x0 + (day - from) / (end - from).max(1.0) * (x1 - x0);
    let y = |value: f64| y0 - (value.clamp(low, high) - low) / (high - low) * (y0 - y1);

    let _ = writeln!(out, r#"<g class="panel">"#);
    let _ = writeln!(
        out,
        r#"<text x="{x0}" y="{}" font-size="13" font-weight="bold">{}</text>"#,
        top + 20.0,
        escape(&panel.title)
    );
    let _ = writeln!(
        out,
        r##"<rect x="{x0}" y="{y1}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
        x1 - x0,
        y0 - y1
    );
    for tick in ticks(low, high) {
        let label = if panel.unit.is_empty() && tick >= 1000.0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            format_count(tick as u64)
        } else {
            format!("{}{}", format_number(tick), panel.unit)
        };
        let _ = writeln!(
            out,
            r##"<line x1="{x0}" x2="{x1}" y1="{0:.1}" y2="{0:.1}" stroke="#eee"/><text x="{1}" y="{2:.1}" text-anchor="end">{3}</text>"##,
            y(tick),
            x0 - 6.0,
            y(tick) + 4.0,
            escape(&label)
        );
    }
    #[allow(clippy::cast_possible_truncation)]
    let (first, last) = (from.floor() as i64, end.ceil() as i64);
    let step = ((last - first) / 6).max(1);
    let mut day = first;
    while day <= last {
        #[allow(clippy::cast_precision_loss)]
        let px = x(day as f64);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{y0}" y2="{}" stroke="#999"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
            y0 + 4.0,
            y0 + 16.0,
            format_day(day)
        );
        day += step;
    }
    let _ = writeln!(
        out,
        r##"<line x1="{0:.1}" x2="{0:.1}" y1="{y1}" y2="{y0}" stroke="#888" stroke-dasharray="2 3"/><text x="{0:.1}" y="{1}" text-anchor="middle" fill="#666">last observation</text>"##,
        x(today),
        y1 - 3.0
    );
    if !panel.band.is_empty() {
        let upper = panel
            .band
            .iter()
            .map(|&(d, _, h)| format!("{:.1},{:.1}", x(d), y(h)));
        let lower = panel
            .band
            .iter()
            .rev()
            .map(|&(d, l, _)| format!("{:.1},{:.1}", x(d), y(l)));
        let _ = writeln!(
            out,
            r##"<polygon class="band" points="{}" fill="#1f5fbf" fill-opacity="0.12" stroke="none"/>"##,
            upper.chain(lower).collect::<Vec<_>>().join(" ")
        );
    }
    // Labels are kept at least a line apart, top to bottom.
    let mut shown: Vec<(f64, &str, &str)> = panel
        .lines
        .iter()
        .filter(|(value, _, _)| (low..=high).contains(value))
        .map(|(value, color, label)| (*value, *color, label.as_str()))
        .collect();
    shown.sort_by(|a, b| y(a.0).total_cmp(&y(b.0)));
    let mut label_y = f64::NEG_INFINITY;
    for (value, color, label) in shown {
        label_y = (y(value) + 4.0).max(label_y + 12.0);
        let _ = writeln!(
            out,
            r#"<line class="threshold" x1="{x0}" x2="{x1}" y1="{0:.1}" y2="{0:.1}" stroke="{color}" stroke-dasharray="6 4"/><text class="threshold-label" x="{1}" y="{2:.1}" fill="{color}">{3}</text>"#,
            y(value),
            x1 + 4.0,
            label_y,
            escape(label)
        );
    }
    for &(day, value) in &panel.points {
        let _ = writeln!(
            out,
            r##"<circle class="observed" cx="{:.1}" cy="{:.1}" r="1.5" fill="#1f5fbf" fill-opacity="0.25"/>"##,
            x(day),
            y(value)
        );
    }
    for &(day, value) in &panel.peaks {
        let _ = writeln!(
            out,
            r##"<circle class="peak" cx="{:.1}" cy="{:.1}" r="2.5" fill="#0b3d91"/>"##,
            x(day),
            y(value)
        );
    }
    if !panel.projection.is_empty() {
        let path: Vec<String> = panel
            .projection
            .iter()
            .map(|&(d, v)| format!("{:.1},{:.1}", x(d), y(v)))
            .collect();
        let _ = writeln!(
            out,
            r##"<polyline class="projection" points="{}" fill="none" stroke="#1f5fbf" stroke-width="1.5" stroke-dasharray="5 3"/>"##,
            path.join(" ")
        );
    }
    let _ = writeln!(out, "</g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 100.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(ticks(0.0, 7.0), [0.0, 2.0, 4.0, 6.0]);
        assert!(ticks(3.0, 3.0).len() <= 12);
    }

    #[test]
    fn downsampling_keeps_the_extremes_of_each_column() {
        let points: Vec<(f64, f64)> = (0..100_000)
            .map(|i| {
                (
                    f64::from(i) / 1000.0,
                    if i == 54_321 { 1e6 } else { f64::from(i % 7) },
                )
            })
            .collect();
        let kept = downsample(points, 0.0, 100.0);
        assert!(kept.len() <= COLUMNS * 2);
        assert!(
            kept.iter().any(|p| p.1 == 1e6),
            "a one-point spike survives"
        );
        assert!(kept.iter().any(|p| p.1 == 0.0));
    }
}
