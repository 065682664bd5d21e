//! The assessment: where a report sits on the ladder, what fired, and what to
//! do next. Pure: no I/O, no clock.

use std::cmp::Reverse;
use std::fmt;

use serde::{Deserialize, Serialize};

mod what_if;

use crate::ladder::{Ladder, Rule, Stage};
use crate::metric::{Direction, Metric, format_count, format_number};
use crate::metrics::Report;

pub use what_if::{BreakingPoint, WhatIf, what_if};

/// How bad an alarm (or a whole report) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Nothing reached a warning value.
    Ok,
    /// At or beyond a warning value.
    Warning,
    /// Strictly beyond a critical value.
    Critical,
}

impl Severity {
    /// The lowercase name used in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One rule (or built-in check) that fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    /// The rule id, or `over-engineered`, `under-scaled`, `cost-above-range`.
    pub rule: String,
    /// The report field or metric the alarm is about.
    pub metric: String,
    /// Warning or critical.
    pub severity: Severity,
    /// The observed value.
    pub observed: f64,
    /// The value that was crossed.
    pub threshold: f64,
    /// What happened, in one sentence.
    pub message: String,
    /// What to do about it.
    pub remedy: String,
}

/// The answer for one report.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment<'a> {
    /// The service name from the report.
    pub service: Option<String>,
    /// Active users.
    pub users: u64,
    /// Current monthly spend, when the report gives it.
    pub monthly_cost_usd: Option<f64>,
    /// The stage whose user range holds `users`.
    pub stage: &'a Stage,
    /// The stage whose architecture runs today, when the report says.
    pub current_stage: Option<&'a Stage>,
    /// Where the system should be.
    pub recommended_stage: &'a Stage,
    /// The rung after the recommended one: what to plan for next.
    pub next_stage: Option<&'a Stage>,
    /// Why the recommendation is what it is, in one sentence.
    pub reason: String,
    /// The scale_when rules of the architecture in use that are critical.
    pub triggers: Vec<&'a Rule>,
    /// Alarms, critical first, then in ladder order.
    pub alarms: Vec<Alarm>,
    /// Ids of the rules and built-in checks that had what they need to run.
    pub evaluated: Vec<String>,
    /// Report fields needed by some rule that the report does not give.
    pub missing_metrics: Vec<&'static str>,
    /// What to do, in order.
    pub next_steps: Vec<String>,
    /// The worst alarm severity.
    pub status: Severity,
}

impl Assessment<'_> {
    /// The stage whose architecture runs today: `current_stage`, else `stage`.
    pub fn in_use(&self) -> &Stage {
        self.current_stage.unwrap_or(self.stage)
    }
}

/// The alarms scalectl raises on its own, with what they check.
pub const BUILTIN_ALARMS: [(&str, &str); 3] = [
    (
        "over-engineered",
        "Warning when current_stage is above the recommended stage: architecture built for scale the system does not have, with what it costs a month. Don't over-engineer for scale you don't have: build for the current scale and refactor when you reach the next.",
    ),
    (
        "under-scaled",
        "Warning when current_stage is below the stage that the user count belongs to: the architecture in use was built for fewer users. Plan the move, database first, before a trigger forces it.",
    ),
    (
        "cost-above-range",
        "Warning when monthly_cost_usd is above the maximum of the recommended stage's cost range: capacity paid for but not needed. Look for oversized instances, idle replicas and servers.",
    ),
];

/// The cheap fixes to make before scaling, keyed by checklist item id.
pub const CHEAP_FIXES: [(&str, &str); 4] = [
    (
        "indexes_optimized",
        "Optimise database indexes: add the ones your slowest queries need",
    ),
    (
        "slow_queries_fixed",
        "Find and fix slow queries, with the slow query log on",
    ),
    (
        "n_plus_one_eliminated",
        "Eliminate N+1 queries: batch or join what the code fetches in loops",
    ),
    (
        "connection_pooling",
        "Pool database connections (for example with PgBouncer)",
    ),
];

/// Assesses a report against a ladder.
pub fn assess<'a>(report: &Report, ladder: &'a Ladder) -> Assessment<'a> {
    let stage = ladder.stage_for(report.users);
    let current_stage = report.current_stage.and_then(|id| ladder.stage(id));
    let in_use = current_stage.unwrap_or(stage);

    let mut alarms = Vec::new();
    let mut evaluated = Vec::new();
    let mut missing_metrics: Vec<&'static str> = Vec::new();
    let mut critical_rules = Vec::new();
    for rule in ladder.rules() {
        let Some(observed) = report.metric(rule.metric) else {
            for field in missing_fields(report, rule.metric) {
                if !missing_metrics.contains(&field) {
                    missing_metrics.push(field);
                }
            }
            continue;
        };
        evaluated.push(rule.id.clone());
        if let Some(alarm) = rule_alarm(rule, observed) {
            if alarm.severity == Severity::Critical {
                critical_rules.push(rule.id.as_str());
            }
            alarms.push(alarm);
        }
    }
    missing_metrics.sort_by_key(|field| field_order(field));

    let triggers: Vec<&Rule> = in_use
        .scale_when
        .iter()
        .filter(|id| critical_rules.contains(&id.as_str()))
        .filter_map(|id| ladder.rule(id))
        .collect();
    let triggered = if triggers.is_empty() {
        None
    } else {
        Some(ladder.next(in_use).unwrap_or(in_use))
    };
    let recommended_stage = match triggered {
        Some(up) if up.id > stage.id => up,
        _ => stage,
    };
    let next_stage = ladder.next(recommended_stage);

    if let Some(current) = current_stage {
        evaluated.extend(["over-engineered".to_owned(), "under-scaled".to_owned()]);
        if current.id > recommended_stage.id {
            alarms.push(over_engineered(current, recommended_stage));
        }
        if current.id < stage.id {
            alarms.push(under_scaled(current, stage, report.users));
        }
    }
    if let Some(spend) = report.monthly_cost_usd {
        evaluated.push("cost-above-range".to_owned());
        #[allow(clippy::cast_precision_loss)]
        let max = recommended_stage.cost_usd_month.max as f64;
        if spend > max {
            alarms.push(cost_above_range(spend, recommended_stage));
        }
    }
    alarms.sort_by_key(|alarm| Reverse(alarm.severity));
    let status = alarms
        .iter()
        .map(|a| a.severity)
        .max()
        .unwrap_or(Severity::Ok);

    let mut assessment = Assessment {
        service: report.service.clone(),
        users: report.users,
        monthly_cost_usd: report.monthly_cost_usd,
        stage,
        current_stage,
        recommended_stage,
        next_stage,
        reason: String::new(),
        triggers,
        alarms,
        evaluated,
        missing_metrics,
        next_steps: Vec::new(),
        status,
    };
    assessment.reason = reason(&assessment);
    assessment.next_steps = next_steps(&assessment, report, ladder);
    assessment
}

/// The alarm a rule raises for an observed value, if any.
pub(crate) fn rule_alarm(rule: &Rule, observed: f64) -> Option<Alarm> {
    let (severity, threshold) = if rule.direction.exceeds(observed, rule.critical) {
        (Severity::Critical, rule.critical)
    } else if rule.direction.reaches(observed, rule.warning) {
        (Severity::Warning, rule.warning)
    } else {
        return None;
    };
    let unit = rule.metric.unit();
    let word = match (severity, rule.direction) {
        (Severity::Critical, direction) => direction.word(),
        (_, Direction::Above) => "at or over",
        (_, Direction::Below) => "at or under",
    };
    Some(Alarm {
        rule: rule.id.clone(),
        metric: rule.metric.name().to_owned(),
        severity,
        observed,
        threshold,
        message: format!(
            "{} is {}{unit}, {word} the {severity} threshold of {}{unit}",
            rule.title,
            format_number(observed),
            format_number(threshold),
        ),
        remedy: rule.remedy.clone(),
    })
}

fn missing_fields(report: &Report, metric: Metric) -> Vec<&'static str> {
    match metric {
        Metric::DbConnectionsPct => {
            let mut fields = Vec::new();
            if report.db_connections.is_none() {
                fields.push("db_connections");
            }
            if report.db_max_connections.is_none() {
                fields.push("db_max_connections");
            }
            fields
        }
        other => other.fields().to_vec(),
    }
}

fn field_order(field: &str) -> usize {
    Metric::ALL
        .iter()
        .flat_map(|m| m.fields())
        .position(|f| *f == field)
        .unwrap_or(usize::MAX)
}

fn stage_label(stage: &Stage) -> String {
    format!("stage {} ({})", stage.id, stage.name)
}

/// Dollars with thousands separators, cents only when there are any: "60,000", "99.5".
pub fn format_dollars(value: f64) -> String {
    if value.fract() == 0.0 && (0.0..1e15).contains(&value) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return format_count(value as u64);
    }
    format_number(value)
}

/// An alarm value with its unit, as people read it: "78%", "180 ms", "$60,000", "12,000".
pub fn format_value(metric: &str, value: f64) -> String {
    match metric {
        "monthly_cost_usd" => format!("${}", format_dollars(value)),
        "users" => format_dollars(value),
        "current_stage" => format!("stage {}", format_number(value)),
        other => {
            let unit = Metric::from_name(other).map_or("", Metric::unit);
            format!("{}{unit}", format_number(value))
        }
    }
}

/// "$1,000-$3,000".
pub fn cost_range_text(stage: &Stage) -> String {
    format!(
        "${}-${}",
        format_count(stage.cost_usd_month.min),
        format_count(stage.cost_usd_month.max)
    )
}

fn over_engineered(current: &Stage, recommended: &Stage) -> Alarm {
    let extra_min = current
        .cost_usd_month
        .min
        .saturating_sub(recommended.cost_usd_month.min);
    let extra_max = current
        .cost_usd_month
        .max
        .saturating_sub(recommended.cost_usd_month.max);
    Alarm {
        rule: "over-engineered".into(),
        metric: "current_stage".into(),
        severity: Severity::Warning,
        observed: f64::from(current.id),
        threshold: f64::from(recommended.id),
        message: format!(
            "the system runs the architecture of {} but the measurements call for {}: about ${}-${} a month more than needed; don't over-engineer for scale you don't have",
            stage_label(current),
            stage_label(recommended),
            format_count(extra_min),
            format_count(extra_max),
        ),
        remedy: format!(
            "Add no more architecture until measurements ask for it; where it is cheap to undo, simplify back towards {} and let the ladder's triggers decide the next move.",
            stage_label(recommended)
        ),
    }
}

fn under_scaled(current: &Stage, stage: &Stage, users: u64) -> Alarm {
    let limit = current.users_max.unwrap_or(current.users_min);
    #[allow(clippy::cast_precision_loss)]
    Alarm {
        rule: "under-scaled".into(),
        metric: "users".into(),
        severity: Severity::Warning,
        observed: users as f64,
        threshold: limit as f64,
        message: format!(
            "{} users is past the {} users that the architecture of {} is built for; this load belongs to {}",
            format_count(users),
            format_count(limit),
            stage_label(current),
            stage_label(stage)
        ),
        remedy: format!(
            "Plan the move to {} before a trigger forces it: database first ({}).",
            stage_label(stage),
            stage.database
        ),
    }
}

fn cost_above_range(spend: f64, recommended: &Stage) -> Alarm {
    #[allow(clippy::cast_precision_loss)]
    Alarm {
        rule: "cost-above-range".into(),
        metric: "monthly_cost_usd".into(),
        severity: Severity::Warning,
        observed: spend,
        threshold: recommended.cost_usd_month.max as f64,
        message: format!(
            "monthly spend of ${} is above the {} range of {}",
            format_dollars(spend),
            stage_label(recommended),
            cost_range_text(recommended)
        ),
        remedy: "Look for capacity you pay for but do not use: oversized instances, idle replicas or servers, and premium tiers that the measurements do not need.".into(),
    }
}

fn reason(a: &Assessment<'_>) -> String {
    let in_use = a.in_use();
    let recommended = a.recommended_stage;
    if let Some(trigger) = a.triggers.first() {
        let alarm = a.alarms.iter().find(|alarm| alarm.rule == trigger.id);
        let observed = alarm.map_or_else(String::new, |alarm| {
            format!(
                " ({}{unit} {} {}{unit})",
                format_number(alarm.observed),
                trigger.direction.word(),
                format_number(trigger.critical),
                unit = trigger.metric.unit()
            )
        });
        if recommended.id > in_use.id {
            return format!(
                "{} is critical{observed}, the trigger to move up from {}",
                trigger.id,
                stage_label(in_use)
            );
        }
        return format!(
            "{} is critical{observed}, but {} is the top of the ladder",
            trigger.id,
            stage_label(in_use)
        );
    }
    if recommended.id > in_use.id {
        return format!(
            "{} users is past the range of {}",
            format_count(a.users),
            stage_label(in_use)
        );
    }
    if in_use.id > recommended.id {
        return format!(
            "{} users fit {}, and no trigger of the architecture in use has fired",
            format_count(a.users),
            stage_label(recommended)
        );
    }
    format!(
        "{} users fit {}, and none of its triggers has fired",
        format_count(a.users),
        stage_label(recommended)
    )
}

fn next_steps(a: &Assessment<'_>, report: &Report, ladder: &Ladder) -> Vec<String> {
    let in_use = a.in_use();
    let recommended = a.recommended_stage;
    let mut steps = Vec::new();
    if recommended.id > in_use.id {
        for (id, text) in CHEAP_FIXES {
            if report.checklist.0.get(id) != Some(&true) {
                steps.push(format!("{text} [checklist: {id}]"));
            }
        }
        steps.push(format!(
            "Move to {} at {}/month; database first: {}",
            stage_label(recommended),
            cost_range_text(recommended),
            recommended.database
        ));
        for component in &recommended.architecture {
            if !in_use.architecture.contains(component) {
                steps.push(format!("Add {component}"));
            }
        }
        return steps;
    }
    if in_use.id > recommended.id {
        steps.push(format!(
            "Add no more architecture: {} already runs ahead of the load",
            stage_label(in_use)
        ));
        steps.push(format!(
            "Where it is cheap to undo, simplify towards {} at {}/month",
            stage_label(recommended),
            cost_range_text(recommended)
        ));
        return steps;
    } else {
        steps.push(format!(
            "Stay on {}: the measurements do not call for more",
            stage_label(in_use)
        ));
    }
    for alarm in a.alarms.iter().filter(|alarm| {
        alarm.severity == Severity::Warning && in_use.scale_when.contains(&alarm.rule)
    }) {
        steps.push(format!(
            "{} is in warning: work through the 'before optimization' checklist now, before it turns critical",
            alarm.rule
        ));
    }
    match ladder.next(in_use) {
        Some(next) => {
            let mut conditions: Vec<String> = in_use
                .scale_when
                .iter()
                .filter_map(|id| ladder.rule(id))
                .map(|rule| {
                    format!(
                        "{} goes critical ({} {} {}{})",
                        rule.id,
                        rule.metric,
                        rule.direction.word(),
                        format_number(rule.critical),
                        rule.metric.unit()
                    )
                })
                .collect();
            if let Some(max) = in_use.users_max.filter(|&max| max > a.users) {
                conditions.push(format!("users reach {}", format_count(max)));
            }
            if !conditions.is_empty() {
                steps.push(format!(
                    "Plan for {} when {}",
                    stage_label(next),
                    conditions.join(" or ")
                ));
            }
        }
        None => steps.push(format!(
            "{} is the top of the ladder: scale within it, service by service, as measurements ask",
            stage_label(in_use)
        )),
    }
    steps
}

#[cfg(test)]
mod tests;
