//! The scaling ladder: stages, their costs and triggers, and the rules that
//! check metrics. Parsed from `stages.toml` and validated into a [`Ladder`]
//! that cannot be inconsistent.

mod checks;
mod moves;
mod raw;

use std::path::Path;

use serde::Serialize;

use crate::error::FileError;
use crate::metric::{Direction, Metric};
use crate::source::{Format, Source};

pub use checks::{
    BufferCacheChecks, Checks, IndexChecks, NPlusOneChecks, PoolingChecks, SlowQueryChecks,
};
pub use moves::{Condition, MoveUp, MoveWhen};
pub use raw::{CostRange, Effort, RawLadder, RawRelieve, RawRule, RawStage, Refactor};

/// The default ladder, compiled into the binary.
pub const DEFAULT_STAGES: &str = include_str!("../../stages.toml");

/// The name under which the embedded ladder appears in messages.
pub const EMBEDDED_NAME: &str = "<embedded stages.toml>";

/// Ids that scalectl uses for its own alarms; a ladder rule cannot take them.
pub const RESERVED_RULE_IDS: [&str; 7] = [
    "over-engineered",
    "under-scaled",
    "cost-above-range",
    "not-measured",
    "stale-report",
    "stage-mismatch",
    "percent-as-fraction",
];

/// The one `schema_version` of the ladder format this version reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A validated ladder: stage ids run 1..N, user ranges are contiguous from 0
/// with only the last one open, costs are ordered, and every rule reference resolves.
#[derive(Debug, Clone, PartialEq)]
pub struct Ladder {
    stages: Vec<Stage>,
    rules: Vec<Rule>,
    refactor: Option<Refactor>,
    checks: Option<Checks>,
    move_up: Option<MoveUp>,
}

/// One rung of the ladder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    /// Position on the ladder, from 1.
    pub id: u32,
    /// Short name, such as "Traction".
    pub name: String,
    /// Fewest users of this stage (inclusive).
    pub users_min: u64,
    /// Users at which the next stage starts (exclusive); `None` for the top stage.
    pub users_max: Option<u64>,
    /// Monthly infrastructure cost range, in US dollars.
    pub cost_usd_month: CostRange,
    /// The components of this rung's architecture.
    pub architecture: Vec<String>,
    /// The database strategy of this rung.
    pub database: String,
    /// What relieves an alarm within this rung, by rule id.
    pub relieve: std::collections::BTreeMap<String, String>,
    /// The team this rung needs.
    pub team: String,
    /// Rule ids that, when critical, call for the next stage ...
    pub scale_when: Vec<String>,
    /// ... once these conditions hold.
    pub move_when: MoveWhen,
    /// Whether this rung runs read replicas.
    pub read_replicas: bool,
}

impl Stage {
    /// Whether `users` falls in this stage's range.
    pub fn holds(&self, users: u64) -> bool {
        users >= self.users_min && self.users_max.is_none_or(|max| users < max)
    }
}

/// A threshold check on one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Stable id, such as "db-cpu".
    pub id: String,
    /// The metric checked.
    pub metric: Metric,
    /// Which way the metric gets worse.
    pub direction: Direction,
    /// At or beyond this value: warning.
    pub warning: f64,
    /// Strictly beyond this value: critical.
    pub critical: f64,
    /// What the rule checks, in a few words.
    pub title: String,
    /// What to do when it fires.
    pub remedy: String,
    /// Why the threshold matters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
}

impl Ladder {
    /// The ladder compiled into the binary.
    pub fn embedded() -> Result<Self, FileError> {
        let source = Source::from_bytes(EMBEDDED_NAME.into(), DEFAULT_STAGES.into(), Format::Toml)?;
        Self::parse(&source)
    }

    /// The ladder at `path`, or the embedded one when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Self, FileError> {
        match path {
            Some(path) => Self::parse(&Source::read(path)?),
            None => Self::embedded(),
        }
    }

    /// Parses and validates a ladder file, reporting every problem found.
    pub fn parse(source: &Source) -> Result<Self, FileError> {
        let raw: RawLadder = source
            .deserialize()
            .map_err(|problem| FileError::new(source.name.clone(), problem))?;
        raw.validate(source).map_err(|mut problems| {
            problems.sort_by_key(|p| p.location);
            FileError {
                path: source.name.clone(),
                problems,
            }
        })
    }

    /// The stages, lowest first.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// What a move up costs, planned or panicked, when the ladder says.
    pub fn refactor(&self) -> Option<&Refactor> {
        self.refactor.as_ref()
    }

    /// The values of the stages' `move_when` conditions, if this ladder
    /// sets them (the embedded one does).
    pub fn move_up(&self) -> Option<&MoveUp> {
        self.move_up.as_ref()
    }

    /// The thresholds of the checklist items measured from the database, if
    /// this ladder sets them (the embedded one does).
    pub fn checks(&self) -> Option<&Checks> {
        self.checks.as_ref()
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The stage with this id.
    pub fn stage(&self, id: u32) -> Option<&Stage> {
        let index = usize::try_from(id).ok()?.checked_sub(1)?;
        self.stages.get(index)
    }

    /// The stage whose user range holds `users`.
    pub fn stage_for(&self, users: u64) -> &Stage {
        // Validation guarantees contiguous ranges from 0 with an open top, so
        // the last stage whose minimum is reached holds `users`.
        let index = self.stages.partition_point(|s| s.users_min <= users);
        &self.stages[index.saturating_sub(1)]
    }

    /// The stage after `stage`, if it is not the top.
    pub fn next(&self, stage: &Stage) -> Option<&Stage> {
        self.stage(stage.id + 1)
    }

    /// The top stage.
    pub fn top(&self) -> &Stage {
        &self.stages[self.stages.len() - 1]
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The ids of the rules, in file order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }
}

#[cfg(test)]
mod tests;
