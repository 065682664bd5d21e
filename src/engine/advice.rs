//! The advice: why the recommendation is what it is, and the next steps.
//! Every finding is answered, worst first and in the article's order
//! (measure, database first, cheap fixes, caching, replicas, then
//! architecture), and the ladder is climbed one rung at a time.

use std::cmp::Reverse;

use super::findings::BUILTIN_ALARMS;
use super::{Alarm, Assessment, Severity, cost_range_text, format_dollars, stage_label};
use crate::ladder::{Effort, Ladder, Stage};
use crate::metric::{Metric, format_count, format_number};
use crate::metrics::Report;

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

/// Metrics whose alarms the cheap database fixes answer.
const DATABASE_METRICS: [Metric; 3] =
    [Metric::ApiP95Ms, Metric::DbCpuPct, Metric::DbConnectionsPct];

fn is_builtin(rule: &str) -> bool {
    BUILTIN_ALARMS.iter().any(|(id, _)| *id == rule)
}

/// Where a finding comes in the article's order: measuring first, then the
/// ladder's rules in file order, then the architecture and its cost.
fn article_order(alarm: &Alarm, ladder: &Ladder) -> usize {
    let rules = ladder.rules().len();
    match ladder.rules().iter().position(|rule| rule.id == alarm.rule) {
        Some(index) => 2 + index,
        None => match BUILTIN_ALARMS.iter().position(|(id, _)| *id == alarm.rule) {
            Some(index @ 0..=1) => index,
            Some(index) => 2 + rules + index,
            None => usize::MAX,
        },
    }
}

fn rungs(count: u32) -> String {
    if count == 1 {
        "1 rung".to_owned()
    } else {
        format!("{count} rungs")
    }
}

pub(super) fn reason(a: &Assessment<'_>) -> String {
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
        if in_use.id > a.stage.id {
            return format!(
                "{} is critical{observed}, but {} is already above the {} that {} users need: relieve it within the rung instead of moving further up",
                trigger.id,
                stage_label(in_use),
                stage_label(a.stage),
                format_count(a.users)
            );
        }
        return format!(
            "{} is critical{observed}, but {} is the top of the ladder",
            trigger.id,
            stage_label(in_use)
        );
    }
    if recommended.id > in_use.id {
        let behind = a.stage.id - in_use.id;
        if behind > 1 {
            return format!(
                "{} users belong to {}, {} above {}: move one rung at a time, {} first",
                format_count(a.users),
                stage_label(a.stage),
                rungs(behind),
                stage_label(in_use),
                stage_label(recommended)
            );
        }
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
    let critical = a
        .alarms
        .iter()
        .find(|alarm| alarm.severity == Severity::Critical && !is_builtin(&alarm.rule));
    match critical {
        Some(alarm) => format!(
            "{} users fit {}; {} is critical but is not the trigger to move up from it, so relieve it within the rung",
            format_count(a.users),
            stage_label(recommended),
            alarm.rule
        ),
        None => format!(
            "{} users fit {}, and none of its triggers has fired",
            format_count(a.users),
            stage_label(recommended)
        ),
    }
}

fn effort_text(effort: &Effort) -> String {
    #[allow(clippy::cast_precision_loss)]
    let dollars = |v: u64| format_dollars(v as f64);
    format!(
        "${}-${} over {}-{} months",
        dollars(effort.cost_usd.min),
        dollars(effort.cost_usd.max),
        effort.months.min,
        effort.months.max
    )
}

/// "Move to stage 3 (Growing) at $5,000-$20,000/month, database first. Sharding: ..."
fn move_text(verb: &str, stage: &Stage) -> String {
    format!(
        "{verb} {} at {}/month, database first. {}",
        stage_label(stage),
        cost_range_text(stage),
        stage.database
    )
}

pub(super) fn next_steps(a: &Assessment<'_>, report: &Report, ladder: &Ladder) -> Vec<String> {
    let in_use = a.in_use();
    let recommended = a.recommended_stage;
    let moving = recommended.id > in_use.id;
    let mut steps = Vec::new();

    let mut findings: Vec<&Alarm> = a.alarms.iter().collect();
    findings.sort_by_key(|alarm| (Reverse(alarm.severity), article_order(alarm, ladder)));
    for alarm in &findings {
        steps.push(format!(
            "{} ({}): {}",
            alarm.rule, alarm.severity, alarm.remedy
        ));
    }

    let database_alarm = a.alarms.iter().any(|alarm| {
        ladder
            .rule(&alarm.rule)
            .is_some_and(|rule| DATABASE_METRICS.contains(&rule.metric))
    });
    if moving || database_alarm {
        for (id, text) in CHEAP_FIXES {
            if report.checklist.0.get(id) != Some(&true) {
                steps.push(format!("{text} [checklist: {id}]"));
            }
        }
    }

    let critical_rule = a
        .alarms
        .iter()
        .any(|alarm| alarm.severity == Severity::Critical && ladder.rule(&alarm.rule).is_some());
    if critical_rule && !moving {
        steps.push(format!(
            "Within {}: {}",
            stage_label(in_use),
            in_use.relieve
        ));
    }

    if moving {
        let target = a.stage.id.max(recommended.id);
        let mut previous = in_use;
        for rung in (in_use.id + 1..=target).filter_map(|id| ladder.stage(id)) {
            let added: Vec<&str> = rung
                .architecture
                .iter()
                .filter(|component| !previous.architecture.contains(component))
                .map(String::as_str)
                .collect();
            if rung.id == recommended.id {
                steps.push(move_text("Move to", rung));
                steps.extend(added.iter().map(|component| format!("Add {component}")));
            } else {
                let mut step = format!(
                    "Then, once {} runs well, {}",
                    stage_label(previous),
                    move_text("move to", rung)
                );
                if !added.is_empty() {
                    step.push_str(&format!("; it adds {}", added.join(", ")));
                }
                steps.push(step);
            }
            previous = rung;
        }
        if let Some(refactor) = ladder.refactor() {
            steps.push(format!(
                "Plan the move rather than wait for it: a planned refactor costs {}, and customers don't notice; a panicked rebuild after the system slows down costs {}, with revenue paused",
                effort_text(&refactor.planned),
                effort_text(&refactor.panicked)
            ));
        }
        return steps;
    }
    if in_use.id > a.stage.id {
        return steps;
    }
    if a.alarms.is_empty() {
        steps.push(format!(
            "Stay on {}: nothing fired, so nothing calls for more",
            stage_label(in_use)
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
