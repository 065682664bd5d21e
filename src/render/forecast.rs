//! The forecast as a planning note, or as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::json::{JsonStage, to_json};
use crate::date::format_day;
use crate::engine::{Severity, cost_range_text};
use crate::error::Error;
use crate::forecast::{Forecast, MetricModel, Model, Peak, Period, UsersTrend};
use crate::ladder::Ladder;
use crate::load::Shape;
use crate::metric::{Metric, format_count, format_number};

#[derive(Serialize)]
struct JsonForecast<'a> {
    schema_version: u32,
    observations: usize,
    from: String,
    to: String,
    horizon_days: u32,
    period: Period,
    peak: Peak,
    users: &'a UsersTrend,
    metrics: &'a [MetricModel],
    stage_changes: Vec<JsonStageChange<'a>>,
    crossings: Vec<JsonCrossing<'a>>,
    status: Severity,
    notes: &'a [String],
}

#[derive(Serialize)]
struct JsonStageChange<'a> {
    stage: JsonStage<'a>,
    date: String,
    days: i64,
    earliest: Option<String>,
    earliest_days: Option<i64>,
    latest: Option<String>,
    latest_days: Option<i64>,
}

#[derive(Serialize)]
struct JsonCrossing<'a> {
    rule: &'a str,
    metric: Metric,
    severity: Severity,
    threshold: f64,
    already: bool,
    date: Option<String>,
    days: Option<i64>,
    earliest: Option<String>,
    earliest_days: Option<i64>,
    latest: Option<String>,
    latest_days: Option<i64>,
}

/// "in 1 day", "in 12 days", "today".
pub fn in_days(days: i64) -> String {
    match days {
        0 => "today".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    }
}

/// The forecast as JSON (`schema_version` 1).
pub fn json(f: &Forecast<'_>) -> Result<String, Error> {
    to_json(&JsonForecast {
        schema_version: 1,
        observations: f.observations,
        from: format_day(f.from),
        to: format_day(f.to),
        horizon_days: f.horizon,
        period: f.period,
        peak: f.peak,
        users: &f.users,
        metrics: &f.metrics,
        stage_changes: f
            .stage_changes
            .iter()
            .map(|c| JsonStageChange {
                stage: JsonStage::new(c.stage),
                date: format_day(c.day),
                days: c.days,
                earliest: c.earliest.map(|d| format_day(f.to + d)),
                earliest_days: c.earliest,
                latest: c.latest.map(|d| format_day(f.to + d)),
                latest_days: c.latest,
            })
            .collect(),
        crossings: f
            .crossings
            .iter()
            .map(|c| JsonCrossing {
                rule: &c.rule.id,
                metric: c.rule.metric,
                severity: c.severity,
                threshold: c.threshold,
                already: c.already,
                date: c.day.map(format_day),
                days: c.days,
                earliest: c.earliest.map(|d| format_day(f.to + d)),
                earliest_days: c.earliest,
                latest: c.latest.map(|d| format_day(f.to + d)),
                latest_days: c.latest,
            })
            .collect(),
        status: f.status,
        notes: &f.notes,
    })
}

fn months(days: f64) -> String {
    if days < 60.0 {
        format!("{} days", format_number(days.round()))
    } else {
        format!("{:.1} months", days / 30.0)
    }
}

/// "between 2027-03-02 and 2027-05-20 (most likely 2027-04-01, in 96 days)".
fn between(f: &Forecast<'_>, earliest: Option<i64>, latest: Option<i64>, days: i64) -> String {
    let likely = format!("{}, on {}", in_days(days), format_day(f.to + days));
    match (earliest, latest) {
        (Some(a), Some(b)) if a != b => format!(
            "between {} and {} (most likely {likely})",
            format_day(f.to + a),
            format_day(f.to + b)
        ),
        (Some(a), None) => format!(
            "from {} on, perhaps after the horizon (most likely {likely})",
            format_day(f.to + a)
        ),
        _ => likely,
    }
}

/// The forecast for people: a planning note, then every crossing.
pub fn table(f: &Forecast<'_>, ladder: &Ladder) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Forecast from {} observations, {} to {}, {} days ahead; {} of each {} is fitted.\n",
        f.observations,
        format_day(f.from),
        format_day(f.to),
        f.horizon,
        match f.peak {
            Peak::Max => "the peak",
            Peak::P95 => "the 95th percentile",
            Peak::P99 => "the 99th percentile",
        },
        f.period.name()
    );
    let growth = match f.users.doubling_days {
        Some(days) => format!(
            "users grow {}% a month (doubling in {})",
            format_number(f.users.growth_pct_per_month),
            months(days)
        ),
        None => format!(
            "users are not growing ({}% a month)",
            format_number(f.users.growth_pct_per_month)
        ),
    };
    let _ = writeln!(
        out,
        "- {growth}; now {} on stage {} ({}).",
        format_count(f.users.last),
        f.stage.id,
        f.stage.name
    );
    let first_change = f.stage_changes.first();
    for change in &f.stage_changes {
        let _ = writeln!(
            out,
            "- stage {} ({}, {}/month) {}.",
            change.stage.id,
            change.stage.name,
            cost_range_text(change.stage),
            between(f, change.earliest, change.latest, change.days)
        );
    }
    if f.stage_changes.is_empty() && f.users.doubling_days.is_some() {
        let _ = writeln!(out, "- no stage change within {} days.", f.horizon);
    }
    let next = ladder.next(f.stage);
    let mut critical: Vec<_> = f
        .crossings
        .iter()
        .filter(|c| c.severity == Severity::Critical && c.days.is_some())
        .collect();
    critical.sort_by_key(|c| c.days);
    for crossing in critical {
        let when = if crossing.already {
            "already".to_owned()
        } else {
            between(
                f,
                crossing.earliest,
                crossing.latest,
                crossing.days.unwrap_or_default(),
            )
        };
        let trigger = f.stage.scale_when.contains(&crossing.rule.id);
        let before = first_change.is_none_or(|c| crossing.days < Some(c.days));
        let advice = match (trigger, before, next) {
            (true, true, Some(next)) => {
                let strategy = next.database.split(':').next().unwrap_or(&next.database);
                format!(
                    ", before you get there: plan {} now, or buy time with the 'before optimization' checklist",
                    strategy.to_lowercase()
                )
            }
            _ => format!(": {}", crossing.rule.remedy),
        };
        let _ = writeln!(
            out,
            "- {} {} {when}{advice}",
            crossing.rule.id,
            crossing.describe()
        );
    }

    let _ = writeln!(out, "\nThresholds");
    let _ = writeln!(
        out,
        "  {:<16} {:<9} {:>10}  {:<34} model (R²)",
        "rule", "severity", "threshold", "when (plausible days)"
    );
    for c in &f.crossings {
        let when = match (c.already, c.day) {
            (true, _) => "already".to_owned(),
            (false, Some(day)) => format!(
                "{} ({}..{})",
                format_day(day),
                c.earliest.map_or_else(|| "?".to_owned(), |d| d.to_string()),
                c.latest
                    .map_or_else(|| "later".to_owned(), |d| d.to_string())
            ),
            (false, None) => match c.earliest {
                Some(d) => format!("not within {} (from {d})", f.horizon),
                None => format!("not within {} days", f.horizon),
            },
        };
        let model = f
            .metrics
            .iter()
            .find(|m| m.metric == c.rule.metric)
            .map_or_else(String::new, |m| {
                format!(
                    "{} {} ({:.2})",
                    c.rule.metric,
                    match (m.model, m.shape) {
                        (Model::Users, Some(Shape::Queue)) => "queue in users",
                        (Model::Users, _) => "vs users",
                        (Model::Time, _) => "vs time",
                    },
                    m.r2
                )
            });
        let _ = writeln!(
            out,
            "  {:<16} {:<9} {:>10}  {:<34} {model}",
            c.rule.id,
            c.severity.name(),
            format!("{}{}", format_number(c.threshold), c.rule.metric.unit()),
            when
        );
    }
    if !f.notes.is_empty() {
        let _ = writeln!(out, "\nNotes");
        for note in &f.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    let _ = writeln!(
        out,
        "\nusers fit: R² {:.2} over {} {}s",
        f.users.r2,
        f.users.points,
        f.period.name()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_as_people_say_them() {
        assert_eq!(in_days(0), "today");
        assert_eq!(in_days(1), "in 1 day");
        assert_eq!(in_days(12), "in 12 days");
    }
}
