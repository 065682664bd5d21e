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
/// The id of the finding for a report whose measurements do not fit the
/// architecture it says it runs.
pub const STAGE_MISMATCH: &str = "stage-mismatch";
/// The id of the finding for a percentage that looks like a fraction.
pub const PERCENT_AS_FRACTION: &str = "percent-as-fraction";

/// The findings scalectl raises on its own, with what they check.
pub const BUILTIN_ALARMS: [(&str, &str); 7] = [
    (
        NOT_MEASURED,
        "Unknown when the report measures none of the metrics the ladder's rules check (it has users and nothing else): nothing could be checked, so the report cannot pass. It fails the gate unless --allow-unmeasured is given. Measure before optimizing.",
    ),
    (
        STALE_REPORT,
        "Warning when the report's observed_at is older than --max-age (30 days by default): the numbers may no longer describe the system.",
    ),
    (
        PERCENT_AS_FRACTION,
        "Warning when db_cpu_pct or cache_hit_rate_pct is above 0 and at most 1: a percentage written as a fraction (0.75 for 75%) passes every check it should fail. Write the percentage (75), or the true value if it really is under 1%.",
    ),
    (
        "over-engineered",
        "Warning when current_stage is above the stage its users belong to, with what it costs a month (from monthly_cost_usd when given): architecture built for scale the system does not have. One rung above is not over-engineered when the conditions of that move hold (the stage's move_when, such as the cheap fixes done or users near the next stage): that is the move a trigger calls for. Don't over-engineer for scale you don't have: build for the current scale and refactor when you reach the next. While a critical alarm fires, relieve it within the rung and simplify only once it is cool.",
    ),
    (
        "under-scaled",
        "Warning when current_stage is below the stage that the user count belongs to, with how many rungs behind: the architecture in use was built for fewer users. Plan the move one rung at a time, database first, before a trigger forces it.",
    ),
    (
        STAGE_MISMATCH,
        "Warning when the report measures replication lag but the architecture in use (current_stage, else the users' stage) runs no read replicas: the declared stage is probably wrong. Set current_stage to the stage the system runs.",
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
                "Nothing was measured but users: none of the ladder's {} could be checked, so nothing shows the system is healthy",
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
    hot: &[&str],
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
            if hot.is_empty() {
                format!(
                    "Build no more architecture until measurements ask for it; where it is cheap to undo, simplify back towards {} at {}/month.",
                    stage_label(recommended),
                    cost_range_text(recommended)
                )
            } else {
                format!(
                    "Keep the architecture in use while {} {} critical and relieve it within the rung; once it is cool, simplify back towards {} at {}/month where that is cheap to undo.",
                    hot.join(" and "),
                    if hot.len() == 1 { "is" } else { "are" },
                    stage_label(recommended),
                    cost_range_text(recommended)
                )
            }
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
                "{} users is beyond the architecture of {}, built for fewer than {} users; this load belongs to {}, {rungs} up",
                format_count(users),
                stage_label(current),
                format_count(limit),
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

pub(super) fn stage_mismatch(
    in_use: &Stage,
    with_replicas: Option<&Stage>,
    declared: bool,
    text: bool,
) -> Alarm {
    Alarm {
        rule: STAGE_MISMATCH.into(),
        metric: "current_stage",
        severity: Severity::Warning,
        observed: f64::from(in_use.id),
        threshold: f64::from(with_replicas.map_or(in_use.id, |stage| stage.id)),
        message: said(text, || {
            format!(
                "The report measures replication lag, so the system runs read replicas, but {} runs none{}",
                stage_label(in_use),
                if declared {
                    ": the declared current_stage is probably wrong"
                } else {
                    " (the stage of its users, as the report gives no current_stage)"
                }
            )
        }),
        remedy: said(text, || {
            match with_replicas {
            Some(stage) => format!(
                "Set current_stage to the stage the system runs ({} is the first with read replicas), so the advice fits the architecture in use.",
                stage_label(stage)
            ),
            None => "Set current_stage to the stage the system runs, or leave replication_lag_ms out if there are no replicas.".into(),
        }
        }),
    }
}

pub(super) fn percent_as_fraction(field: &'static str, value: f64, text: bool) -> Alarm {
    Alarm {
        rule: PERCENT_AS_FRACTION.into(),
        metric: field,
        severity: Severity::Warning,
        observed: value,
        threshold: 1.0,
        message: said(text, || {
            format!(
                "{field} is {}%, which looks like a fraction: did you mean {}%?",
                crate::metric::format_number(value),
                crate::metric::format_number(value * 100.0)
            )
        }),
        remedy: said(text, || {
            format!(
                "Write {field} as a percentage from 0 to 100 ({} for {}); if it really is under 1%, ignore this finding with that reason.",
                crate::metric::format_number(value * 100.0),
                crate::metric::format_number(value)
            )
        }),
    }
}
