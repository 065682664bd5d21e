//! The assessment: where a report sits on the ladder, what fired, and what to
//! do next. Pure: no I/O, no clock.

use std::cmp::Reverse;
use std::fmt;

use serde::{Deserialize, Serialize};

mod advice;
mod decision;
mod findings;
mod what_if;

use crate::ladder::{Ladder, Rule, Stage};
use crate::metric::{Direction, Metric, format_count, format_number};
use crate::metrics::Report;

pub use advice::{CHEAP_FIXES, condition_text};
pub use decision::{Action, Bottleneck, ConditionCheck, Decision, ItemState, Need};
pub use findings::{BUILTIN_ALARMS, alarm_ids, unknown_rule};
pub use what_if::{BreakingPoint, WhatIf, what_if};

/// How bad an alarm (or a whole report) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Nothing reached a warning value.
    Ok,
    /// At or beyond a warning value.
    Warning,
    /// Nothing could be checked: the report measures none of the rules' metrics.
    Unknown,
    /// Strictly beyond a critical value.
    Critical,
}

impl Severity {
    /// The lowercase name used in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Unknown => "unknown",
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
    /// The rule id, or one of the built-in findings ([`BUILTIN_ALARMS`]).
    pub rule: String,
    /// The report field or metric the alarm is about.
    pub metric: &'static str,
    /// Warning or critical.
    pub severity: Severity,
    /// The observed value.
    pub observed: f64,
    /// The value that was crossed.
    pub threshold: f64,
    /// What happened, in one sentence (empty without [`Options::text`]).
    pub message: String,
    /// What to do about it (empty without [`Options::text`]).
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
    /// The recommended stage's cost range less the current spend, when given.
    pub cost_delta_usd_month: Option<DeltaRange>,
    /// The stage whose user range holds `users`.
    pub stage: &'a Stage,
    /// The stage whose architecture runs today, when the report says.
    pub current_stage: Option<&'a Stage>,
    /// Where the system should be.
    pub recommended_stage: &'a Stage,
    /// The rung after the recommended one: what to plan for next.
    pub next_stage: Option<&'a Stage>,
    /// Why the recommendation is what it is, in one sentence (empty
    /// without [`Options::text`]).
    pub reason: String,
    /// The scale_when rules of the architecture in use that are critical
    /// and not suppressed.
    pub triggers: Vec<&'a Rule>,
    /// What the advice comes to, and the conditions it weighed.
    pub decision: Decision<'a>,
    /// Alarms, critical first, then in ladder order.
    pub alarms: Vec<Alarm>,
    /// Alarms suppressed (`ignore:` in the report, `--ignore`, `--select`),
    /// each with its reason; they neither count nor fail the gate.
    pub suppressed: Vec<Suppressed>,
    /// The report's measured numbers, by field (users, metrics and spend), as
    /// baselines compare them.
    pub measured: std::collections::BTreeMap<&'static str, f64>,
    /// Ids of the rules and built-in checks that had what they need to run.
    pub evaluated: Vec<&'a str>,
    /// Report fields needed by some rule that the report does not give.
    pub missing_metrics: Vec<&'static str>,
    /// What to do, in order (empty without [`Options::text`]).
    pub next_steps: Vec<String>,
    /// The worst alarm severity.
    pub status: Severity,
}

/// An alarm that was suppressed, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suppressed {
    /// The alarm as it would have been raised.
    #[serde(flatten)]
    pub alarm: Alarm,
    /// Why it is suppressed.
    pub reason: String,
}

/// A signed range of US dollars a month: what a move adds (or saves).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DeltaRange {
    /// The change at the bottom of the range.
    pub min: f64,
    /// The change at the top of the range.
    pub max: f64,
}

impl Assessment<'_> {
    /// The stage whose architecture runs today: `current_stage`, else `stage`.
    pub fn in_use(&self) -> &Stage {
        self.current_stage.unwrap_or(self.stage)
    }
}

/// What the engine needs besides the report and the ladder: the day to judge
/// a report's age against (the engine reads no clock), the age limit, and
/// which rules to select or suppress.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Today, in days since 1970-01-01 (UTC); `None` skips the age check.
    pub today: Option<f64>,
    /// A report observed more than this many days before `today` is stale.
    pub max_age_days: f64,
    /// When not empty, only these rules and findings alarm; the others are
    /// suppressed ("not selected").
    pub select: Vec<String>,
    /// Rules and findings suppressed for every report, with the reason shown.
    pub ignore: Vec<(String, String)>,
    /// The reason shown for an alarm that `select` leaves out, naming where
    /// the selection came from.
    pub select_reason: String,
    /// Whether to write the engine's sentences: the reason, the next steps,
    /// and each alarm's message and remedy. Without them all stay empty (a
    /// fleet's table shows none of them).
    pub text: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            today: None,
            max_age_days: DEFAULT_MAX_AGE_DAYS,
            select: Vec::new(),
            ignore: Vec::new(),
            select_reason: "not selected (--select)".to_owned(),
            text: true,
        }
    }
}

/// The age, in days, past which a report is stale unless told otherwise.
pub const DEFAULT_MAX_AGE_DAYS: f64 = 30.0;

/// Assesses a report against a ladder, without an age check.
pub fn assess<'a>(report: &Report, ladder: &'a Ladder) -> Assessment<'a> {
    assess_with(report, ladder, &Options::default())
}

/// Assesses a report against a ladder.
pub fn assess_with<'a>(report: &Report, ladder: &'a Ladder, options: &Options) -> Assessment<'a> {
    let stage = ladder.stage_for(report.users);
    let current_stage = report.current_stage.and_then(|id| ladder.stage(id));
    let in_use = current_stage.unwrap_or(stage);

    let mut alarms = Vec::new();
    let mut evaluated = Vec::new();
    let mut missing_metrics: Vec<&'static str> = Vec::new();
    for rule in ladder.rules() {
        let Some(observed) = report.metric(rule.metric) else {
            for field in missing_fields(report, rule.metric) {
                if !missing_metrics.contains(&field) {
                    missing_metrics.push(field);
                }
            }
            continue;
        };
        evaluated.push(rule.id.as_str());
        if let Some(alarm) = rule_alarm_with(rule, observed, options.text) {
            alarms.push(alarm);
        }
    }
    missing_metrics.sort_by_key(|field| field_order(field));
    if !ladder.rules().is_empty() {
        if evaluated.is_empty() {
            alarms.push(findings::not_measured(ladder, options.text));
        }
        evaluated.insert(0, findings::NOT_MEASURED);
    }
    if let (Some(today), Some(observed_at)) = (options.today, report.observed_at) {
        evaluated.insert(0, findings::STALE_REPORT);
        let age = today - observed_at;
        if age > options.max_age_days {
            alarms.push(findings::stale_report(
                observed_at,
                age,
                options.max_age_days,
                options.text,
            ));
        }
    }

    // Suppressed rules drive nothing: the decision sees only active alarms.
    let active: Vec<&Alarm> = alarms
        .iter()
        .filter(|alarm| suppression(&alarm.rule, report, options).is_none())
        .collect();
    let critical_active: Vec<&Alarm> = active
        .iter()
        .copied()
        .filter(|alarm| alarm.severity == Severity::Critical && ladder.rule(&alarm.rule).is_some())
        .collect();
    let triggers: Vec<&Rule> = in_use
        .scale_when
        .iter()
        .filter(|id| critical_active.iter().any(|alarm| alarm.rule == **id))
        .filter_map(|id| ladder.rule(id))
        .collect();
    let bottleneck = decision::bottleneck(&active, ladder, report);
    // One rung above the users' stage is justified when the conditions of
    // that move hold; further above, or without them, it is over-engineered.
    let over_engineered = in_use.id > stage.id
        && !(in_use.id == stage.id + 1 && decision::justified(stage, report, ladder, in_use));
    let mut decision = Decision {
        action: Action::Stay,
        trigger: triggers.first().copied(),
        move_to: None,
        conditions: Vec::new(),
        bottleneck,
    };
    let recommended_stage = if in_use.id < stage.id {
        // Users past the architecture in use: one rung at a time.
        decision.action = Action::Move;
        decision.move_to = ladder.next(in_use);
        decision.move_to.unwrap_or(stage)
    } else if in_use.id > stage.id {
        // Never further up from an architecture already above its users,
        // and never simpler while something critical is firing.
        if !critical_active.is_empty() {
            decision.action = Action::Relieve;
            in_use
        } else if over_engineered {
            decision.action = Action::Simplify;
            stage
        } else {
            decision.conditions =
                decision::check_conditions(&stage.move_when, report, ladder, in_use);
            in_use
        }
    } else if let (Some(_), Some(next)) = (decision.trigger, ladder.next(in_use)) {
        decision.move_to = Some(next);
        decision.conditions = decision::check_conditions(&in_use.move_when, report, ladder, next);
        if decision::met(&in_use.move_when, &decision.conditions) {
            decision.action = Action::Move;
            next
        } else {
            let required_hold = decision
                .conditions
                .iter()
                .all(|check| check.need == Need::Any || check.held);
            let fixes_missing = decision
                .conditions
                .iter()
                .any(|check| check.id == crate::ladder::Condition::CheapFixesDone && !check.held);
            decision.action = if required_hold && fixes_missing {
                Action::FixFirst
            } else {
                Action::Relieve
            };
            in_use
        }
    } else {
        if !critical_active.is_empty() {
            decision.action = Action::Relieve;
        }
        stage
    };
    let next_stage = ladder.next(recommended_stage);

    if let Some(current) = current_stage {
        evaluated.extend(["over-engineered", "under-scaled"]);
        if over_engineered {
            let hot: Vec<&str> = critical_active.iter().map(|a| a.rule.as_str()).collect();
            alarms.push(findings::over_engineered(
                current,
                stage,
                report.users,
                report.monthly_cost_usd,
                &hot,
                options.text,
            ));
        }
        if current.id < stage.id {
            alarms.push(findings::under_scaled(
                current,
                stage,
                report.users,
                options.text,
            ));
        }
    }
    evaluated.push(findings::STAGE_MISMATCH);
    if report.replication_lag_ms.is_some() && !in_use.read_replicas {
        alarms.push(findings::stage_mismatch(
            in_use,
            ladder.stages().iter().find(|s| s.read_replicas),
            report.current_stage.is_some(),
            options.text,
        ));
    }
    evaluated.push(findings::PERCENT_AS_FRACTION);
    for (field, value) in [
        ("db_cpu_pct", report.db_cpu_pct),
        ("cache_hit_rate_pct", report.cache_hit_rate_pct),
    ] {
        if let Some(value) = value.filter(|v| *v > 0.0 && *v <= 1.0) {
            alarms.push(findings::percent_as_fraction(field, value, options.text));
        }
    }
    if let Some(spend) = report.monthly_cost_usd {
        evaluated.push("cost-above-range");
        #[allow(clippy::cast_precision_loss)]
        let max = recommended_stage.cost_usd_month.max as f64;
        if spend > max {
            alarms.push(findings::cost_above_range(
                spend,
                recommended_stage,
                options.text,
            ));
        }
    }
    alarms.sort_by_key(|alarm| Reverse(alarm.severity));
    // Suppressions: never dropped silently, each kept with its reason.
    let mut suppressed = Vec::new();
    alarms.retain(|alarm| match suppression(&alarm.rule, report, options) {
        Some(reason) => {
            suppressed.push(Suppressed {
                alarm: alarm.clone(),
                reason,
            });
            false
        }
        None => true,
    });
    let status = alarms
        .iter()
        .map(|a| a.severity)
        .max()
        .unwrap_or(Severity::Ok);
    #[allow(clippy::cast_precision_loss)]
    let cost_delta_usd_month = report.monthly_cost_usd.map(|spend| DeltaRange {
        min: recommended_stage.cost_usd_month.min as f64 - spend,
        max: recommended_stage.cost_usd_month.max as f64 - spend,
    });

    let mut assessment = Assessment {
        service: report.service.clone(),
        users: report.users,
        monthly_cost_usd: report.monthly_cost_usd,
        cost_delta_usd_month,
        stage,
        current_stage,
        recommended_stage,
        next_stage,
        reason: String::new(),
        triggers,
        decision,
        alarms,
        suppressed,
        measured: measured(report),
        evaluated,
        missing_metrics,
        next_steps: Vec::new(),
        status,
    };
    if options.text {
        advice::annotate_trigger(&mut assessment);
        assessment.reason = advice::reason(&assessment);
        assessment.next_steps = advice::next_steps(&assessment, report, ladder);
    }
    assessment
}

/// Why an alarm of `rule` is suppressed, if it is: the report's `ignore:`,
/// then `--ignore`, then `--select`.
fn suppression(rule: &str, report: &Report, options: &Options) -> Option<String> {
    report
        .ignore
        .get(rule)
        .cloned()
        .or_else(|| {
            options
                .ignore
                .iter()
                .find(|(id, _)| id == rule)
                .map(|(_, reason)| reason.clone())
        })
        .or_else(|| {
            (!options.select.is_empty() && !options.select.iter().any(|id| id == rule))
                .then(|| options.select_reason.clone())
        })
}

#[allow(clippy::cast_precision_loss)]
fn measured(report: &Report) -> std::collections::BTreeMap<&'static str, f64> {
    [
        ("users", Some(report.users as f64)),
        ("api_p95_ms", report.api_p95_ms),
        ("db_cpu_pct", report.db_cpu_pct),
        ("db_connections", report.db_connections.map(|v| v as f64)),
        (
            "db_max_connections",
            report.db_max_connections.map(|v| v as f64),
        ),
        ("cache_hit_rate_pct", report.cache_hit_rate_pct),
        ("replication_lag_ms", report.replication_lag_ms),
        ("db_shards", report.db_shards.map(|v| v as f64)),
        ("db_shards_hot", report.db_shards_hot.map(|v| v as f64)),
        ("monthly_cost_usd", report.monthly_cost_usd),
    ]
    .into_iter()
    .filter_map(|(field, value)| Some((field, value?)))
    .collect()
}

/// The alarm a rule raises for an observed value, if any, its message and remedy only when `text` is true.
fn rule_alarm_with(rule: &Rule, observed: f64, text: bool) -> Option<Alarm> {
    let (severity, threshold) = if rule.direction.exceeds(observed, rule.critical) {
        (Severity::Critical, rule.critical)
    } else if rule.direction.reaches(observed, rule.warning) {
        (Severity::Warning, rule.warning)
    } else {
        return None;
    };
    Some(Alarm {
        rule: rule.id.clone(),
        metric: rule.metric.name(),
        severity,
        observed,
        threshold,
        message: said(text, || {
            let unit = rule.metric.unit();
            let word = match (severity, rule.direction) {
                (Severity::Critical, direction) => direction.word(),
                (_, Direction::Above) => "at or over",
                (_, Direction::Below) => "at or under",
            };
            format!(
                "{} is {}{unit}, {word} the {severity} threshold of {}{unit}",
                rule.title,
                format_number(observed),
                format_number(threshold),
            )
        }),
        remedy: said(text, || rule.remedy.clone()),
    })
}

/// The sentence `write` makes when `text` is true, else nothing.
fn said(text: bool, write: impl FnOnce() -> String) -> String {
    if text { write() } else { String::new() }
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

pub(crate) fn stage_label(stage: &Stage) -> String {
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

/// "+$2,100", "-$1,400": a change in dollars, with its sign.
pub fn signed_dollars(value: f64) -> String {
    let sign = if value < 0.0 { '-' } else { '+' };
    format!("{sign}${}", format_dollars(value.abs()))
}

/// An alarm value with its unit, as people read it: "78%", "180 ms", "$60,000", "12,000".
pub fn format_value(metric: &str, value: f64) -> String {
    match metric {
        "monthly_cost_usd" => format!("${}", format_dollars(value)),
        "users" => format_dollars(value),
        "current_stage" => format!("stage {}", format_number(value)),
        "observed_at" => days_text(value),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        "rules_evaluated" if value <= 0.0 => "none checked".to_owned(),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        "rules_evaluated" => counted(value as usize, "rule"),
        other => {
            let unit = Metric::from_name(other).map_or("", Metric::unit);
            format!("{}{unit}", format_number(value))
        }
    }
}

/// "1 day", "31 days".
pub fn days_text(days: f64) -> String {
    if (days - 1.0).abs() < f64::EPSILON {
        "1 day".to_owned()
    } else {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = days.floor().max(0.0) as u64;
        format!("{} days", format_count(whole))
    }
}

/// "1 report", "3 reports": a count and its noun, singular or plural.
pub fn counted(count: usize, noun: &str) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!("{} {noun}{plural}", format_count(count as u64))
}

/// "$1,000-$3,000".
pub fn cost_range_text(stage: &Stage) -> String {
    format!(
        "${}-${}",
        format_count(stage.cost_usd_month.min),
        format_count(stage.cost_usd_month.max)
    )
}

#[cfg(test)]
mod tests;
