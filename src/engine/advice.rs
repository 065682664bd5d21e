//! The advice: why the recommendation is what it is, and the next steps.
//! Every finding is answered, worst first and in the article's order
//! (measure, database first, cheap fixes, caching, replicas, then
//! architecture), and the ladder is climbed one rung at a time.

use std::cmp::Reverse;

use super::findings::BUILTIN_ALARMS;
use super::{
    Action, Alarm, Assessment, Bottleneck, ConditionCheck, ItemState, Severity, cost_range_text,
    format_dollars, stage_label,
};
use crate::ladder::{Condition, Effort, Ladder, Rule, Stage};
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

/// "db-cpu is critical (82% over 70%)": a trigger and what it observed.
fn trigger_text(a: &Assessment<'_>, trigger: &Rule) -> String {
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
    format!("{} is critical{observed}", trigger.id)
}

/// A condition of a move, judged, in words: "the cheap fixes are not all
/// done (indexes_optimized not answered, ...)", "users are near stage 3
/// (85,000; near from 50,000)".
pub fn condition_text(check: &ConditionCheck, to: Option<&Stage>) -> String {
    let count = |value: Option<f64>| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        value.map_or_else(|| "?".to_owned(), |v| format_count(v as u64))
    };
    let to = to.map_or_else(|| "the next stage".to_owned(), stage_label);
    match check.id {
        Condition::CheapFixesDone if check.held => "the cheap fixes are done".to_owned(),
        Condition::CheapFixesDone => {
            let missing: Vec<String> = check
                .items
                .iter()
                .filter(|(_, state)| *state != ItemState::Done)
                .map(|(id, state)| format!("{id} {}", state.words()))
                .collect();
            format!("the cheap fixes are not all done ({})", missing.join(", "))
        }
        Condition::UsersNearNext if check.held => format!(
            "{} users are past the {} that count as near {to}",
            count(check.observed),
            count(check.threshold)
        ),
        Condition::UsersNearNext => format!(
            "{} users are short of the {} that count as near {to}",
            count(check.observed),
            count(check.threshold)
        ),
        Condition::ShardsAtCapacity => match (check.observed, check.threshold) {
            (Some(_), Some(_)) => format!(
                "{} of {} shards are hot{}",
                count(check.observed),
                count(check.threshold),
                if check.held {
                    ": every shard is at capacity"
                } else {
                    ", not every shard"
                }
            ),
            _ => "whether every shard is at capacity is not reported (db_shards, db_shards_hot)"
                .to_owned(),
        },
    }
}

/// "cheap-fixes-done or users-near-next": the ids of the conditions that
/// held (or did not), joined as the stage's `move_when` joins them.
fn condition_ids(checks: &[ConditionCheck], held: bool) -> String {
    let ids: Vec<&str> = checks
        .iter()
        .filter(|check| check.held == held)
        .map(|check| check.id.id())
        .collect();
    let all = checks.iter().any(|check| check.need == super::Need::All);
    ids.join(if all { " and " } else { " or " })
}

fn conditions_text(checks: &[ConditionCheck], to: Option<&Stage>, held: bool) -> String {
    checks
        .iter()
        .filter(|check| check.held == held)
        .map(|check| condition_text(check, to))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Adds to the trigger's alarm message what the decision made of it, so that
/// every format that shows alarms shows which conditions of the move held.
pub(super) fn annotate_trigger(a: &mut Assessment<'_>) {
    let d = &a.decision;
    let (Some(trigger), Some(to)) = (d.trigger, d.move_to) else {
        return;
    };
    if d.conditions.is_empty() {
        return;
    }
    let note = match d.action {
        Action::Move => format!(
            "; the move to {} is due: {}",
            stage_label(to),
            conditions_text(&d.conditions, Some(to), true)
        ),
        _ => {
            let held = conditions_text(&d.conditions, Some(to), true);
            format!(
                "; the move to {} waits: {}{}",
                stage_label(to),
                conditions_text(&d.conditions, Some(to), false),
                if held.is_empty() {
                    String::new()
                } else {
                    format!(" (held: {held})")
                }
            )
        }
    };
    if let Some(alarm) = a.alarms.iter_mut().find(|alarm| alarm.rule == trigger.id) {
        alarm.message.push_str(&note);
    }
}

pub(super) fn reason(a: &Assessment<'_>) -> String {
    let in_use = a.in_use();
    let recommended = a.recommended_stage;
    let d = &a.decision;
    if let Some(trigger) = d.trigger {
        let fired = trigger_text(a, trigger);
        if in_use.id > a.stage.id {
            return format!(
                "{fired}, but {} is already above the {} that {} users need: relieve it within the rung instead of moving further up",
                stage_label(in_use),
                stage_label(a.stage),
                format_count(a.users)
            );
        }
        match d.action {
            Action::Move if d.conditions.is_empty() && in_use.id < a.stage.id => {}
            Action::Move if d.conditions.is_empty() => {
                return format!(
                    "{fired}, the trigger to move up from {}",
                    stage_label(in_use)
                );
            }
            Action::Move => {
                return format!(
                    "{fired}, the trigger to move up from {}, and the move is due: {} held",
                    stage_label(in_use),
                    condition_ids(&d.conditions, true)
                );
            }
            Action::FixFirst => {
                return format!(
                    "{fired}, the trigger to move up from {}, but fix first: the move waits on {}",
                    stage_label(in_use),
                    condition_ids(&d.conditions, false)
                );
            }
            Action::Relieve if d.move_to.is_some() => {
                return format!(
                    "{fired}, but the move to {} waits on {}: relieve it within {}",
                    d.move_to.map(stage_label).unwrap_or_default(),
                    condition_ids(&d.conditions, false),
                    stage_label(in_use)
                );
            }
            _ => {
                return format!(
                    "{fired}, but {} is the top of the ladder",
                    stage_label(in_use)
                );
            }
        }
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
            "{} users is beyond {}, built for fewer than {} users",
            format_count(a.users),
            stage_label(in_use),
            format_count(in_use.users_max.unwrap_or(in_use.users_min))
        );
    }
    let critical = a
        .alarms
        .iter()
        .find(|alarm| alarm.severity == Severity::Critical && !is_builtin(&alarm.rule));
    if in_use.id > a.stage.id {
        return match (d.action, critical) {
            (Action::Relieve, Some(alarm)) => format!(
                "{} is critical on {}, which is above the {} that {} users need: relieve it within the rung, and simplify only once it is cool",
                alarm.rule,
                stage_label(in_use),
                stage_label(a.stage),
                format_count(a.users)
            ),
            (Action::Simplify, _) => format!(
                "{} users fit {}, and no trigger of the architecture in use has fired",
                format_count(a.users),
                stage_label(recommended)
            ),
            _ => format!(
                "{} runs one rung above the {} of its {} users, as the conditions of that move allow: {}",
                stage_label(in_use),
                stage_label(a.stage),
                format_count(a.users),
                conditions_text(&d.conditions, Some(in_use), true)
            ),
        };
    }
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
    let d = &a.decision;
    let moving = d.action == Action::Move;
    let mut steps = Vec::new();

    let mut findings: Vec<&Alarm> = a.alarms.iter().collect();
    findings.sort_by_key(|alarm| (Reverse(alarm.severity), article_order(alarm, ladder)));
    for alarm in &findings {
        steps.push(format!(
            "{} ({}): {}",
            alarm.rule, alarm.severity, alarm.remedy
        ));
    }
    if d.action == Action::Simplify {
        return steps;
    }

    // Rule 1: measure before optimising. A slow API with the database not
    // measured cannot tell which of the two is the bottleneck.
    if d.bottleneck == Some(Bottleneck::Unknown)
        && report.checklist.0.get("bottleneck_identified") != Some(&true)
    {
        steps.push(
            "Measure the database (db_cpu_pct) before acting on the slow API: is the bottleneck really the database? [checklist: bottleneck_identified]"
                .to_owned(),
        );
    }

    // Rule 2: the database first, and cheaply, when it is the bottleneck.
    let database_alarm = a.alarms.iter().any(|alarm| {
        ladder
            .rule(&alarm.rule)
            .is_some_and(|rule| DATABASE_METRICS.contains(&rule.metric))
    });
    if (moving || database_alarm) && d.bottleneck != Some(Bottleneck::Application) {
        for (id, text) in CHEAP_FIXES {
            if report.checklist.0.get(id) != Some(&true) {
                steps.push(format!("{text} [checklist: {id}]"));
            }
        }
    }

    // Relief within the rung, for each critical alarm that the rung in use
    // has a relief for, when the move does not answer it.
    if !moving {
        for alarm in a
            .alarms
            .iter()
            .filter(|alarm| alarm.severity == Severity::Critical)
        {
            let Some(rule) = ladder.rule(&alarm.rule) else {
                continue;
            };
            if rule.metric == Metric::ApiP95Ms && d.bottleneck != Some(Bottleneck::Application) {
                continue;
            }
            if let Some(relief) = in_use.relieve.get(&rule.id) {
                steps.push(format!("Within {}: {relief}", stage_label(in_use)));
            }
        }
    }

    // The move a trigger calls for, when its conditions do not hold yet.
    if let (Some(trigger), Some(to), false) = (d.trigger, d.move_to, moving) {
        let step = match d.action {
            Action::FixFirst => {
                let others: Vec<String> = d
                    .conditions
                    .iter()
                    .filter(|check| !check.held && check.id != Condition::CheapFixesDone)
                    .map(|check| condition_goal(check, Some(to)))
                    .collect();
                let fixes = d
                    .conditions
                    .iter()
                    .find(|check| check.id == Condition::CheapFixesDone)
                    .map(|check| {
                        check
                            .items
                            .iter()
                            .filter(|(_, state)| *state != ItemState::Done)
                            .map(|(id, state)| format!("{id} ({})", state.words()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                let mut step = format!(
                    "Move to {} only if {} stays {} {}{} once these are done: {fixes}",
                    stage_label(to),
                    trigger.title,
                    trigger.direction.word(),
                    format_number(trigger.critical),
                    trigger.metric.unit(),
                );
                if !others.is_empty() {
                    step.push_str(&format!("; or once {}", others.join(" or ")));
                }
                step
            }
            _ => format!(
                "Move to {} only once {}",
                stage_label(to),
                d.conditions
                    .iter()
                    .map(|check| condition_goal(check, Some(to)))
                    .collect::<Vec<_>>()
                    .join(if in_use.move_when.all.is_empty() {
                        " or "
                    } else {
                        " and "
                    })
            ),
        };
        steps.push(step);
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
        if let Some(refactor) = ladder
            .refactor()
            .filter(|refactor| refactor.applies(a.users, recommended.id))
        {
            steps.push(format!(
                "Plan the move rather than wait for it: a planned refactor costs {}, and customers don't notice; a panicked rebuild after the system slows down costs {}, with revenue paused",
                effort_text(&refactor.planned),
                effort_text(&refactor.panicked)
            ));
        }
        return steps;
    }
    if in_use.id > a.stage.id || d.trigger.is_some() {
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

/// What a condition asks for, without its state: "the cheap fixes are done",
/// "users reach 50,000", "every shard is at capacity".
fn condition_goal(check: &ConditionCheck, to: Option<&Stage>) -> String {
    match check.id {
        Condition::CheapFixesDone => "the cheap fixes are done".to_owned(),
        Condition::UsersNearNext => match (check.threshold, to) {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            (Some(near), _) => format!(
                "users reach {}{}",
                format_count(near as u64),
                check
                    .observed
                    .map(|now| format!(" (now {})", format_count(now as u64)))
                    .unwrap_or_default()
            ),
            (None, Some(to)) => format!("users near {}", stage_label(to)),
            (None, None) => "users near the next stage".to_owned(),
        },
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Condition::ShardsAtCapacity => match (check.observed, check.threshold) {
            (Some(hot), Some(shards)) => format!(
                "every shard is at capacity (now {} of {} hot)",
                format_count(hot as u64),
                format_count(shards as u64)
            ),
            _ => "every shard is at capacity (not reported: set db_shards and db_shards_hot)"
                .to_owned(),
        },
    }
}
