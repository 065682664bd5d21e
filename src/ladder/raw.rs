//! The ladder file as written, and its validation into a [`Ladder`].

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    Checks, Condition, Ladder, MoveUp, MoveWhen, RESERVED_RULE_IDS, Rule, SCHEMA_VERSION, Stage,
};
use crate::error::{Location, Problem};
use crate::metric::{Direction, Metric};
use crate::source::Source;
use crate::suggest;

/// A ladder file as written, before validation.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(title = "scalectl ladder (stages.toml)")]
#[serde(deny_unknown_fields)]
pub struct RawLadder {
    /// Version of this format; must be 1.
    pub schema_version: u32,
    /// The stages, lowest first.
    #[serde(default)]
    pub stage: Vec<RawStage>,
    /// The rules that check metrics, in the order their remedies are advised:
    /// measure, database first, caching, then replicas.
    #[serde(default)]
    pub rule: Vec<RawRule>,
    /// What a move up the ladder costs, planned or panicked; quoted when a
    /// move is due. Optional.
    #[serde(default)]
    pub refactor: Option<Refactor>,
    /// The thresholds of the checklist items measured straight from
    /// PostgreSQL and Redis. Optional: the embedded ladder's apply without it.
    #[serde(default)]
    pub checks: Option<Checks>,
    /// The values of the conditions that stages name in `move_when`.
    /// Required when a stage names `cheap-fixes-done` or `users-near-next`.
    #[serde(default)]
    pub move_up: Option<MoveUp>,
}

/// The cost of moving up the ladder: planned ahead, or rebuilt in a panic
/// after the system slowed down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Refactor {
    /// A refactor planned before the system slows down.
    pub planned: Effort,
    /// A rebuild after the system slowed down, with revenue paused.
    pub panicked: Effort,
    /// Quote these figures only for moves at this many users or more ...
    #[serde(default)]
    pub from_users: Option<u64>,
    /// ... or for moves to this stage or higher. Without either, every move
    /// quotes them.
    #[serde(default)]
    pub from_stage: Option<u32>,
}

impl Refactor {
    /// Whether the figures describe a move to `target` at `users`.
    pub fn applies(&self, users: u64, target: u32) -> bool {
        match (self.from_users, self.from_stage) {
            (None, None) => true,
            (from_users, from_stage) => {
                from_users.is_some_and(|from| users >= from)
                    || from_stage.is_some_and(|from| target >= from)
            }
        }
    }
}

/// What one way of moving up costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Effort {
    /// Its cost in whole US dollars.
    pub cost_usd: CostRange,
    /// How long it takes, in months.
    pub months: CostRange,
}

/// One `[[stage]]` table as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    /// Position on the ladder: 1 for the first stage, then 2, 3, ...
    pub id: u32,
    /// Short name, such as "Traction".
    pub name: String,
    /// Fewest users of this stage (inclusive); 0 for the first stage, the
    /// previous stage's `users_max` for the others.
    pub users_min: u64,
    /// Users at which the next stage starts (exclusive); omitted for the top stage only.
    #[serde(default)]
    pub users_max: Option<u64>,
    /// Monthly infrastructure cost range, in whole US dollars.
    pub cost_usd_month: CostRange,
    /// The components of this rung's architecture.
    #[serde(default)]
    pub architecture: Vec<String>,
    /// The database strategy of this rung.
    pub database: String,
    /// What relieves an alarm within this rung, by rule id: used only for
    /// that rule's alarm. One text instead of a table relieves the stage's
    /// `scale_when` rules.
    #[serde(default)]
    pub relieve: Option<RawRelieve>,
    /// The team this rung needs.
    pub team: String,
    /// Rule ids: when one of them is critical, move to the next stage ...
    #[serde(default)]
    pub scale_when: Vec<String>,
    /// ... once these conditions hold (without them, the trigger alone).
    #[serde(default)]
    pub move_when: MoveWhen,
    /// Whether this rung runs read replicas; the checklist's read-replica
    /// section applies from the first such stage on.
    #[serde(default)]
    pub read_replicas: bool,
}

/// A stage's `relieve`: one text, or a text per rule id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawRelieve {
    /// Relieves the stage's `scale_when` rules.
    Text(String),
    /// Rule id -> what relieves that rule's alarm within the rung.
    PerRule(BTreeMap<String, String>),
}

/// A range of whole numbers: US dollars (a month, for a stage) or months.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostRange {
    /// The lowest value.
    pub min: u64,
    /// The highest value; at least `min`.
    pub max: u64,
}

/// One `[[rule]]` table as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Stable id, such as "db-cpu"; unique in the file.
    pub id: String,
    /// The metric checked: `api_p95_ms`, `db_cpu_pct`, `db_connections_pct`,
    /// `cache_hit_rate_pct` or `replication_lag_ms`.
    #[schemars(with = "Metric")]
    pub metric: String,
    /// "above" when larger values are worse, "below" when smaller values are worse.
    pub direction: Direction,
    /// At or beyond this value the rule raises a warning.
    pub warning: f64,
    /// Strictly beyond this value the rule is critical.
    pub critical: f64,
    /// What the rule checks, in a few words.
    pub title: String,
    /// What to do when the rule fires.
    pub remedy: String,
    /// Why the threshold matters, in a sentence or two.
    #[serde(default)]
    pub rationale: Option<String>,
}

impl RawLadder {
    /// Checks every constraint, returning all problems found.
    pub fn validate(self, source: &Source) -> Result<Ladder, Vec<Problem>> {
        let mut problems = Vec::new();
        let stage_lines = table_headers(source, "stage");
        let rule_lines = table_headers(source, "rule");
        let stage_at = |index: usize| stage_lines.get(index).copied();
        let rule_at = |index: usize| rule_lines.get(index).copied();

        if self.schema_version != SCHEMA_VERSION {
            problems.push(Problem::at(
                source.key_location("schema_version"),
                format!(
                    "schema_version {} is not supported; this scalectl reads version {SCHEMA_VERSION}",
                    self.schema_version
                ),
            ));
        }

        let mut rule_ids = BTreeSet::new();
        let mut rules = Vec::with_capacity(self.rule.len());
        for (index, raw) in self.rule.into_iter().enumerate() {
            let at = rule_at(index);
            let label = format!("rule `{}`", raw.id);
            if raw.id.trim().is_empty() {
                problems.push(Problem::at(
                    at,
                    format!("rule #{} has an empty id", index + 1),
                ));
            } else if !rule_ids.insert(raw.id.clone()) {
                problems.push(Problem::at(
                    at,
                    format!("{label} is defined more than once"),
                ));
            } else if RESERVED_RULE_IDS.contains(&raw.id.as_str()) {
                problems.push(Problem::at(
                    at,
                    format!("{label}: the id is reserved for scalectl's own alarms"),
                ));
            }
            let metric = Metric::from_name(&raw.metric);
            if metric.is_none() {
                let names = Metric::ALL.map(Metric::name);
                let hint = match suggest::nearest(&raw.metric, names) {
                    Some(name) => format!("did you mean `{name}`?"),
                    None => format!("expected one of {}", quoted_list(names)),
                };
                problems.push(Problem::at(
                    at,
                    format!("{label}: unknown metric `{}`; {hint}", raw.metric),
                ));
            }
            if !raw.warning.is_finite() || !raw.critical.is_finite() {
                problems.push(Problem::at(
                    at,
                    format!("{label}: warning and critical must be finite numbers"),
                ));
            } else if !raw.direction.reaches(raw.critical, raw.warning) {
                let order = match raw.direction {
                    Direction::Above => "at most",
                    Direction::Below => "at least",
                };
                problems.push(Problem::at(
                    at,
                    format!(
                        "{label}: warning {} must be {order} critical {} when direction is \"{}\"",
                        raw.warning,
                        raw.critical,
                        direction_name(raw.direction)
                    ),
                ));
            }
            if let Some(metric) = metric {
                rules.push(Rule {
                    id: raw.id,
                    metric,
                    direction: raw.direction,
                    warning: raw.warning,
                    critical: raw.critical,
                    title: raw.title,
                    remedy: raw.remedy,
                    rationale: raw.rationale,
                });
            }
        }

        if self.stage.is_empty() {
            problems.push(Problem::new(
                "the ladder has no [[stage]]; it needs at least one",
            ));
        }
        let count = self.stage.len();
        let mut previous_max = Some(0);
        let mut stages = Vec::with_capacity(count);
        for (index, raw) in self.stage.into_iter().enumerate() {
            let at = stage_at(index);
            let expected_id = index + 1;
            let label = format!("stage {}", raw.id);
            if usize::try_from(raw.id).ok() != Some(expected_id) {
                problems.push(Problem::at(
                    at,
                    format!(
                        "stage #{expected_id} has id {}; stage ids must run 1, 2, 3, ... in order",
                        raw.id
                    ),
                ));
            }
            if raw.name.trim().is_empty() {
                problems.push(Problem::at(at, format!("{label} has an empty name")));
            }
            match previous_max {
                Some(max) if raw.users_min != max => problems.push(Problem::at(
                    at,
                    if index == 0 {
                        format!("{label}: users_min is {}; the first stage must start at 0", raw.users_min)
                    } else {
                        format!(
                            "{label}: users_min is {} but the stage below ends at {max}; ranges must be contiguous",
                            raw.users_min
                        )
                    },
                )),
                _ => {}
            }
            let is_top = index + 1 == count;
            match raw.users_max {
                None if !is_top => problems.push(Problem::at(
                    at,
                    format!("{label} has no users_max; only the top stage may be open-ended"),
                )),
                Some(_) if is_top => problems.push(Problem::at(
                    at,
                    format!("{label} is the top stage and must not have a users_max"),
                )),
                Some(max) if max <= raw.users_min => problems.push(Problem::at(
                    at,
                    format!(
                        "{label}: users_max {max} must be greater than users_min {}",
                        raw.users_min
                    ),
                )),
                _ => {}
            }
            previous_max = raw.users_max;
            if raw.cost_usd_month.min > raw.cost_usd_month.max {
                problems.push(Problem::at(
                    at,
                    format!(
                        "{label}: cost_usd_month min {} is greater than max {}",
                        raw.cost_usd_month.min, raw.cost_usd_month.max
                    ),
                ));
            }
            for id in &raw.scale_when {
                if !rule_ids.contains(id) {
                    let hint = match suggest::nearest(id, rule_ids.iter().map(String::as_str)) {
                        Some(name) => format!("; did you mean `{name}`?"),
                        None => String::new(),
                    };
                    problems.push(Problem::at(
                        at,
                        format!("{label}: scale_when names `{id}`, which is not a rule{hint}"),
                    ));
                }
            }
            let relieve = match raw.relieve {
                None => BTreeMap::new(),
                Some(RawRelieve::Text(text)) => raw
                    .scale_when
                    .iter()
                    .map(|id| (id.clone(), text.clone()))
                    .collect(),
                Some(RawRelieve::PerRule(per_rule)) => {
                    for id in per_rule.keys() {
                        if !rule_ids.contains(id) {
                            let hint =
                                match suggest::nearest(id, rule_ids.iter().map(String::as_str)) {
                                    Some(name) => format!("; did you mean `{name}`?"),
                                    None => String::new(),
                                };
                            problems.push(Problem::at(
                                at,
                                format!("{label}: relieve names `{id}`, which is not a rule{hint}"),
                            ));
                        }
                    }
                    per_rule
                }
            };
            if self.move_up.is_none()
                && let Some(condition) = raw
                    .move_when
                    .conditions()
                    .into_iter()
                    .find(|c| matches!(c, Condition::CheapFixesDone | Condition::UsersNearNext))
            {
                problems.push(Problem::at(
                    at,
                    format!(
                        "{label}: move_when names `{}`, which needs a [move_up] table",
                        condition.id()
                    ),
                ));
            }
            if is_top && !raw.move_when.is_empty() {
                problems.push(Problem::at(
                    at,
                    format!("{label} is the top stage: it has no rung to move to, so no move_when"),
                ));
            }
            stages.push(Stage {
                id: raw.id,
                name: raw.name,
                users_min: raw.users_min,
                users_max: raw.users_max,
                cost_usd_month: raw.cost_usd_month,
                architecture: raw.architecture,
                relieve,
                move_when: raw.move_when,
                database: raw.database,
                team: raw.team,
                scale_when: raw.scale_when,
                read_replicas: raw.read_replicas,
            });
        }

        if let Some(refactor) = &self.refactor {
            for (name, effort) in [
                ("planned", refactor.planned),
                ("panicked", refactor.panicked),
            ] {
                for (what, range) in [("cost_usd", effort.cost_usd), ("months", effort.months)] {
                    if range.min > range.max {
                        problems.push(Problem::at(
                            source.key_location("refactor"),
                            format!(
                                "refactor.{name}.{what}: min {} is greater than max {}",
                                range.min, range.max
                            ),
                        ));
                    }
                }
            }
        }

        if let Some(checks) = &self.checks {
            problems.extend(
                checks
                    .problems()
                    .into_iter()
                    .map(|(field, message)| Problem::at(checks_location(source, field), message)),
            );
        }

        if let Some(move_up) = &self.move_up {
            let at = source.key_location("move_up");
            if !(move_up.near_next_pct > 0.0 && move_up.near_next_pct <= 100.0) {
                problems.push(Problem::at(
                    at,
                    format!(
                        "move_up.near_next_pct is {}; it must be a share of the next stage's users_min, above 0 and at most 100",
                        move_up.near_next_pct
                    ),
                ));
            }
            for id in &move_up.cheap_fixes {
                if crate::checklist::catalog::item(id)
                    .is_none_or(|item| item.answer != crate::checklist::catalog::Answer::Manual)
                {
                    problems.push(Problem::at(
                        at,
                        format!(
                            "move_up.cheap_fixes names `{id}`, which is not a checklist item answered by hand; `scalectl checklist` lists them"
                        ),
                    ));
                }
            }
        }

        if problems.is_empty() {
            Ok(Ladder {
                stages,
                rules,
                refactor: self.refactor,
                checks: self.checks,
                move_up: self.move_up,
            })
        } else {
            Err(problems)
        }
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Above => "above",
        Direction::Below => "below",
    }
}

fn quoted_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where `table.key` of the `[checks]` table is written: the key's line
/// after the `[checks.table]` header, else the header, else any `checks`.
fn checks_location(source: &Source, field: &str) -> Option<Location> {
    let (table, key) = field.split_once('.')?;
    let header = format!("[checks.{table}]");
    let lines: Vec<&str> = source.text.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim() == header) else {
        return source.key_location("checks");
    };
    let found = lines[start + 1..]
        .iter()
        .take_while(|l| !l.trim_start().starts_with('['))
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        });
    let line = found.map_or(start, |offset| start + 1 + offset);
    Some(Location {
        line: line + 1,
        column: lines[line].len() - lines[line].trim_start().len() + 1,
    })
}

/// Where each `[[name]]` table header is, in a TOML ladder file, in order:
/// one pass over the text, so that validation stays linear in its size.
fn table_headers(source: &Source, name: &str) -> Vec<Location> {
    let header = format!("[[{name}]]");
    source
        .text
        .lines()
        .enumerate()
        .filter(|(_, line)| line.trim() == header)
        .map(|(number, line)| Location {
            line: number + 1,
            column: line.len() - line.trim_start().len() + 1,
        })
        .collect()
}
