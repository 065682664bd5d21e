//! The findings scalectl raises on its own, beside the ladder's rules: the
//! architecture against its users, the spend against its range, a report
//! that measures nothing, and a report that is too old.

use super::{
    Alarm, Severity, cost_range_text, counted, days_text, format_dollars, said, stage_label,
};
use crate::date::format_day;
use crate::ladder::{Ladder, Stage};
use crate::metric::format_count;

/// The id of the finding for a report on which no rule could be evaluated.
pub const NOT_MEASURED: &str = "not-measured";
/// The id of the finding for a report observed too long ago.
pub const STALE_REPORT: &str = "stale-report";

/// The findings scalectl raises on its own, with what they check.
pub const BUILTIN_ALARMS: [(&str, &str); 5] = [
    (
        NOT_MEASURED,
        "Unknown when the report measures none of the metrics the ladder's rules check (it has users and nothing else): nothing could be checked, so the report cannot pass. It fails the gate unless --allow-unmeasured is given. Measure before optimizing.",
    ),
    (
        STALE_REPORT,
        "Warning when the report's observed_at is older than --max-age (30 days by default): the numbers may no longer describe the system.",
    ),
    (
        "over-engineered",
        "Warning when current_stage is above the stage its users belong to: architecture built for scale the system does not have, with what it costs a month (from monthly_cost_usd when given). Don't over-engineer for scale you don't have: build for the current scale and refactor when you reach the next. A trigger that fires on such a system is relieved within its rung, not by moving further up.",
    ),
    (
        "under-scaled",
        "Warning when current_stage is below the stage that the user count belongs to, with how many rungs behind: the architecture in use was built for fewer users. Plan the move one rung at a time, database first, before a trigger forces it.",
    ),
    (
        "cost-above-range",
        "Warning when monthly_cost_usd is above the maximum of the recommended stage's cost range: capacity paid for but not needed. Look for oversized instances, idle replicas and servers.",
    ),
];

/// Every id an alarm can have on `ladder`: its rules, then scalectl's own
/// findings.
pub fn alarm_ids(ladder: &Ladder) -> Vec<&str> {
    ladder
        .rule_ids()
        .chain(BUILTIN_ALARMS.iter().map(|(id, _)| *id))
        .collect()
}

/// `None` when `rule` is an alarm id of `ladder`; else what to say about it:
/// "unknown rule `db-cpuu`; did you mean `db-cpu`?".
pub fn unknown_rule(rule: &str, ladder: &Ladder) -> Option<String> {
    let known = alarm_ids(ladder);
    if known.contains(&rule) {
        return None;
    }
    let hint = match crate::suggest::nearest(rule, known.iter().copied()) {
        Some(nearest) => format!("did you mean `{nearest}`?"),
        None => format!("known rules: {}", known.join(", ")),
    };
    Some(format!(
        "unknown rule `{}`; {hint}",
        crate::escape::echo(rule)
    ))
}

pub(super) fn not_measured(ladder: &Ladder, text: bool) -> Alarm {
    let fields: Vec<&str> = ladder
        .rules()
        .iter()
        .flat_map(|rule| rule.metric.fields().iter().copied())
        .fold(Vec::new(), |mut fields, field| {
            if !fields.contains(&field) {
                fields.push(field);
            }
            fields
        });
    #[allow(clippy::cast_precision_loss)]
    Alarm {
        rule: NOT_MEASURED.into(),
        metric: "rules_evaluated",
        severity: Severity::Unknown,
        observed: 0.0,
        threshold: 1.0,
        message: said(text, || {
            format!(
                "Nothing was measured but users: none of the ladder's {} could be checked, so the report cannot pass",
                counted(ladder.rules().len(), "rule")
            )
        }),
        remedy: said(text, || {
            format!(
                "Measure before optimizing: fill in at least one of {}, or pass --allow-unmeasured to accept a report that only counts users.",
                fields.join(", ")
            )
        }),
    }
}

pub(super) fn stale_report(observed_at: f64, age: f64, max_age: f64, text: bool) -> Alarm {
    #[allow(clippy::cast_possible_truncation)]
    let day = format_day(observed_at.floor() as i64);
    Alarm {
        rule: STALE_REPORT.into(),
        metric: "observed_at",
        severity: Severity::Warning,
        observed: age.floor(),
        threshold: max_age,
        message: said(text, || {
            format!(
                "The report was observed on {day}, {} ago, more than the {} a report may be old",
                days_text(age.floor()),
                days_text(max_age)
            )
        }),
        remedy: said(text, || {
            "Measure again and update the report (or its observed_at); set --max-age to accept older reports.".into()
        }),
    }
}

/// "$60,000/month is $57,000-$59,000 above stage 2's $1,000-$3,000", or the
/// stages' ranges against each other without a spend.
fn spend_against(spend: Option<f64>, current: &Stage, target: &Stage) -> String {
    let range = cost_range_text(target);
    let label = format!("stage {}'s", target.id);
    #[allow(clippy::cast_precision_loss)]
    let (min, max) = (
        target.cost_usd_month.min as f64,
        target.cost_usd_month.max as f64,
    );
    match spend {
        Some(spend) if spend > max => format!(
            "${}/month is ${}-${} above {label} {range}",
            format_dollars(spend),
            format_dollars(spend - max),
            format_dollars(spend - min),
        ),
        Some(spend) => format!("${}/month is within {label} {range}", format_dollars(spend)),
        None => format!(
            "{} costs {}/month against {label} {range}",
            stage_label(current),
            cost_range_text(current)
        ),
    }
}

pub(super) fn over_engineered(
    current: &Stage,
    recommended: &Stage,
    users: u64,
    spend: Option<f64>,
    text: bool,
) -> Alarm {
    Alarm {
        rule: "over-engineered".into(),
        metric: "current_stage",
        severity: Severity::Warning,
        observed: f64::from(current.id),
        threshold: f64::from(recommended.id),
        message: said(text, || {
            format!(
                "The system runs the architecture of {} for {} users, which {} serves: {}; don't over-engineer for scale you don't have",
                stage_label(current),
                format_count(users),
                stage_label(recommended),
                spend_against(spend, current, recommended),
            )
        }),
        remedy: said(text, || {
            format!(
                "Add no more architecture until measurements ask for it; where it is cheap to undo, simplify back towards {} at {}/month.",
                stage_label(recommended),
                cost_range_text(recommended)
            )
        }),
    }
}

pub(super) fn under_scaled(current: &Stage, stage: &Stage, users: u64, text: bool) -> Alarm {
    let limit = current.users_max.unwrap_or(current.users_min);
    let behind = stage.id - current.id;
    let rungs = if behind == 1 {
        "1 rung".to_owned()
    } else {
        format!("{behind} rungs")
    };
    #[allow(clippy::cast_precision_loss)]
    Alarm {
        rule: "under-scaled".into(),
        metric: "users",
        severity: Severity::Warning,
        observed: users as f64,
        threshold: limit as f64,
        message: said(text, || {
            format!(
                "{} users is past the {} users that the architecture of {} is built for; this load belongs to {}, {rungs} up",
                format_count(users),
                format_count(limit),
                stage_label(current),
                stage_label(stage)
            )
        }),
        remedy: said(text, || {
            format!(
                "Plan the move before a trigger forces it, one rung at a time and database first: {rungs} behind, starting with the rung above {}.",
                stage_label(current)
            )
        }),
    }
}

pub(super) fn cost_above_range(spend: f64, recommended: &Stage, text: bool) -> Alarm {
    #[allow(clippy::cast_precision_loss)]
    Alarm {
        rule: "cost-above-range".into(),
        metric: "monthly_cost_usd",
        severity: Severity::Warning,
        observed: spend,
        threshold: recommended.cost_usd_month.max as f64,
        message: said(text, || {
            format!(
                "Monthly spend is above the recommended range: {}",
                spend_against(Some(spend), recommended, recommended)
            )
        }),
        remedy: said(text, || {
            "Look for capacity you pay for but do not use: oversized instances, idle replicas or servers, and premium tiers that the measurements do not need.".into()
        }),
    }
}
