//! The ladder (`scalectl stages`) and rule explanations (`scalectl explain`).

use std::fmt::Write as _;

use comfy_table::{Table as Grid, presets};
use serde::Serialize;

use super::json::{JsonStage, to_json};
use crate::engine::cost_range_text;
use crate::error::Error;
use crate::ladder::{Ladder, Rule, Stage};
use crate::metric::{Direction, format_count, format_number};

#[derive(Serialize)]
struct JsonLadder<'a> {
    schema_version: u32,
    stages: Vec<JsonStage<'a>>,
    rules: &'a [Rule],
}

/// The ladder as JSON: stages with their triggers, and rules as in stages.toml.
pub fn json(ladder: &Ladder) -> Result<String, Error> {
    to_json(&JsonLadder {
        schema_version: 1,
        stages: ladder
            .stages()
            .iter()
            .map(JsonStage::with_triggers)
            .collect(),
        rules: ladder.rules(),
    })
}

/// "0 to 10,000" or "1,000,000 and more".
pub fn users_range(stage: &Stage) -> String {
    match stage.users_max {
        Some(max) => format!("{} to {}", format_count(stage.users_min), format_count(max)),
        None => format!("{} and more", format_count(stage.users_min)),
    }
}

/// "db_cpu_pct over 70%".
pub fn critical_condition(rule: &Rule) -> String {
    format!(
        "{} {} {}{}",
        rule.metric,
        rule.direction.word(),
        format_number(rule.critical),
        rule.metric.unit()
    )
}

/// When a stage calls for the next one: its triggers, or its users running out.
pub fn move_up_when(stage: &Stage, ladder: &Ladder) -> String {
    let triggers: Vec<String> = stage
        .scale_when
        .iter()
        .filter_map(|id| ladder.rule(id))
        .map(|rule| format!("{} is critical ({})", rule.id, critical_condition(rule)))
        .collect();
    let mut move_up = triggers.join(" or ");
    if !move_up.is_empty()
        && let Some(conditions) = move_conditions(stage)
    {
        let _ = write!(move_up, " once {conditions}");
    }
    if let Some(max) = stage.users_max {
        if !move_up.is_empty() {
            move_up.push_str(", or ");
        }
        let _ = write!(move_up, "users reach {}", format_count(max));
    }
    if move_up.is_empty() {
        move_up = "top of the ladder".to_owned();
    }
    move_up
}

/// "cheap-fixes-done or users-near-next": the conditions a trigger of
/// `stage` needs before it moves a system up, if it names any.
fn move_conditions(stage: &Stage) -> Option<String> {
    let ids = |conditions: &[crate::ladder::Condition], join: &str| {
        conditions
            .iter()
            .map(|c| c.id())
            .collect::<Vec<_>>()
            .join(join)
    };
    let mut needs = Vec::new();
    if !stage.move_when.all.is_empty() {
        needs.push(ids(&stage.move_when.all, " and "));
    }
    if !stage.move_when.any.is_empty() {
        needs.push(ids(&stage.move_when.any, " or "));
    }
    (!needs.is_empty()).then(|| needs.join(", and "))
}

/// One stage's architecture, database, team and trigger, indented.
fn stage_details(out: &mut String, stage: &Stage, ladder: &Ladder) {
    let _ = writeln!(out, "  architecture  {}", stage.architecture.join("; "));
    let _ = writeln!(out, "  database      {}", stage.database);
    let _ = writeln!(out, "  team          {}", stage.team);
    let _ = writeln!(out, "  move up when  {}", move_up_when(stage, ladder));
}

/// The ladder for people: one block per stage, then the rules, laid out
/// in `width` columns.
pub fn table(ladder: &Ladder, width: u16) -> String {
    let mut out = String::new();
    for stage in ladder.stages() {
        let _ = writeln!(
            out,
            "Stage {} {}: users {}, {}/month",
            stage.id,
            stage.name,
            users_range(stage),
            cost_range_text(stage)
        );
        stage_details(&mut out, stage, ladder);
        out.push('\n');
    }
    let mut rules = Grid::new();
    rules
        .load_style(presets::UTF8_FULL_CONDENSED)
        .force_no_tty()
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(width)
        .set_header(vec!["rule", "metric", "warning", "critical", "checks"]);
    for rule in ladder.rules() {
        let word = match rule.direction {
            Direction::Above => "at or over",
            Direction::Below => "at or under",
        };
        rules.add_row(vec![
            rule.id.clone(),
            rule.metric.to_string(),
            format!(
                "{word} {}{}",
                format_number(rule.warning),
                rule.metric.unit()
            ),
            format!(
                "{} {}{}",
                rule.direction.word(),
                format_number(rule.critical),
                rule.metric.unit()
            ),
            rule.title.clone(),
        ]);
    }
    let _ = writeln!(
        out,
        "Rules (`scalectl explain RULE` for the reasoning)\n{rules}"
    );
    out
}

/// A rule explained: what it checks, its values, why, the remedy, and the
/// stages it moves.
pub fn explain(rule: &Rule, ladder: &Ladder) -> String {
    let mut out = String::new();
    let unit = rule.metric.unit();
    let _ = writeln!(out, "{}: {}", rule.id, rule.title);
    let _ = writeln!(
        out,
        "  checks    {} ({} is worse)",
        rule.metric,
        match rule.direction {
            Direction::Above => "higher",
            Direction::Below => "lower",
        }
    );
    let _ = writeln!(
        out,
        "  warning   at or {} {}{unit}",
        match rule.direction {
            Direction::Above => "over",
            Direction::Below => "under",
        },
        format_number(rule.warning)
    );
    let _ = writeln!(out, "  critical  {}", critical_condition(rule));
    if let Some(rationale) = &rule.rationale {
        let _ = writeln!(out, "  why       {rationale}");
    }
    let _ = writeln!(out, "  remedy    {}", rule.remedy);
    let triggers: Vec<String> = ladder
        .stages()
        .iter()
        .filter(|stage| stage.scale_when.contains(&rule.id))
        .map(|stage| match ladder.next(stage) {
            Some(next) => format!(
                "stage {} ({}) -> stage {} ({}){}",
                stage.id,
                stage.name,
                next.id,
                next.name,
                move_conditions(stage).map_or_else(String::new, |c| format!(" once {c}"))
            ),
            None => format!("stage {} ({}), the top", stage.id, stage.name),
        })
        .collect();
    if triggers.is_empty() {
        let _ = writeln!(
            out,
            "  trigger   of no stage: it raises alarms but does not move a system up the ladder"
        );
    } else {
        let _ = writeln!(
            out,
            "  trigger   when critical, moves {}",
            triggers.join("; ")
        );
    }
    out
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    schema_version: u32,
    users: u64,
    stage: JsonStage<'a>,
    move_up_when: String,
    next_stage: Option<JsonStage<'a>>,
}

/// What a system with `users` users needs (`scalectl plan`), for people.
pub fn plan_table(users: u64, ladder: &Ladder) -> String {
    let stage = ladder.stage_for(users);
    let mut out = format!(
        "A system with {} users belongs to stage {} {} (users {}), at {}/month\n",
        format_count(users),
        stage.id,
        stage.name,
        users_range(stage),
        cost_range_text(stage)
    );
    stage_details(&mut out, stage, ladder);
    if let Some(next) = ladder.next(stage) {
        let _ = writeln!(
            out,
            "  next rung     {} {} at {}/month: {}",
            next.id,
            next.name,
            cost_range_text(next),
            next.architecture.join("; ")
        );
    }
    out
}

/// What a system with `users` users needs (`scalectl plan`), as JSON.
pub fn plan_json(users: u64, ladder: &Ladder) -> Result<String, Error> {
    let stage = ladder.stage_for(users);
    to_json(&JsonPlan {
        schema_version: 1,
        users,
        stage: JsonStage::with_triggers(stage),
        move_up_when: move_up_when(stage, ladder),
        next_stage: ladder.next(stage).map(JsonStage::with_triggers),
    })
}
