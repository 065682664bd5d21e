//! When a trigger may move a system up a rung: the conditions a stage names
//! in `move_when`, and the `[move_up]` table that gives them their values.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A condition of a move up the ladder, as a stage's `move_when` names it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// The article's "Before Optimization" items are done: every checklist
    /// item of `[move_up].cheap_fixes` answered `true` in the report (or
    /// measured as passing straight from the database).
    CheapFixesDone,
    /// Users are close to the next stage: at least `[move_up].near_next_pct`
    /// percent of its `users_min`.
    UsersNearNext,
    /// The database as a whole is at its limit: every shard is hot
    /// (`db_shards_hot` equals `db_shards` in the report).
    ShardsAtCapacity,
}

impl Condition {
    /// Every condition, in the order they are shown.
    pub const ALL: [Condition; 3] = [
        Condition::CheapFixesDone,
        Condition::UsersNearNext,
        Condition::ShardsAtCapacity,
    ];

    /// The id used in `stages.toml` and in every output format.
    pub fn id(self) -> &'static str {
        match self {
            Condition::CheapFixesDone => "cheap-fixes-done",
            Condition::UsersNearNext => "users-near-next",
            Condition::ShardsAtCapacity => "shards-at-capacity",
        }
    }

    /// Whether the move itself relieves this condition, as it relieves the
    /// trigger: once the system is on the rung above, it no longer holds, and
    /// is not asked of the system to justify that rung.
    pub fn relieved_by_move(self) -> bool {
        matches!(self, Condition::ShardsAtCapacity)
    }
}

/// The conditions under which a stage's trigger moves a system up: every one
/// of `all`, and at least one of `any` when `any` is not empty. With neither,
/// a trigger that fires is enough.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveWhen {
    /// Conditions that must all hold.
    #[serde(default)]
    pub all: Vec<Condition>,
    /// Conditions of which at least one must hold.
    #[serde(default)]
    pub any: Vec<Condition>,
}

impl MoveWhen {
    /// Whether the conditions are met, given whether each one holds.
    pub fn met(&self, holds: impl Fn(Condition) -> bool) -> bool {
        self.all.iter().all(|&c| holds(c))
            && (self.any.is_empty() || self.any.iter().any(|&c| holds(c)))
    }

    /// Every condition named, `all` first, each once.
    pub fn conditions(&self) -> Vec<Condition> {
        let mut seen = Vec::new();
        for &condition in self.all.iter().chain(&self.any) {
            if !seen.contains(&condition) {
                seen.push(condition);
            }
        }
        seen
    }

    /// Whether no condition is named: the trigger alone moves the system.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty() && self.any.is_empty()
    }
}

/// The values the conditions of `move_when` are judged with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveUp {
    /// The checklist items that are the cheap fixes to make before scaling
    /// (`cheap-fixes-done`), in the order they are advised.
    pub cheap_fixes: Vec<String>,
    /// Users are close to the next stage at this share (percent, 1-100) of
    /// its `users_min` (`users-near-next`).
    pub near_next_pct: f64,
}

impl MoveUp {
    /// The fewest users that count as close to a stage starting at `users_min`.
    pub fn near(&self, users_min: u64) -> u64 {
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let near = (users_min as f64 * self.near_next_pct / 100.0).ceil() as u64;
        near
    }
}
