//! The decision: what the system should do about its rung, weighing a
//! stage's trigger against the conditions the ladder puts on the move
//! (`move_when`), and naming the bottleneck the measurements point at.

use serde::Serialize;

use super::{Alarm, Severity};
use crate::ladder::{Condition, Ladder, MoveWhen, Rule, Stage};
use crate::metric::Metric;
use crate::metrics::Report;

/// What the advice comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Nothing calls for a change of rung.
    Stay,
    /// Move up a rung: a trigger fired and its conditions hold, or the users
    /// are past the architecture in use.
    Move,
    /// A trigger fired, but the cheap fixes come first: stay, fix, and move
    /// only if the trigger still fires once they are done.
    FixFirst,
    /// Relieve a critical alarm within the rung in use: it is not a trigger,
    /// the conditions of the move cannot be met by fixes, the architecture
    /// is already above its users, or it is the top of the ladder.
    Relieve,
    /// Simplify towards the users' stage: the architecture is above what its
    /// users need and nothing critical is firing.
    Simplify,
}

impl Action {
    /// The name used in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Action::Stay => "stay",
            Action::Move => "move",
            Action::FixFirst => "fix-first",
            Action::Relieve => "relieve",
            Action::Simplify => "simplify",
        }
    }
}

/// Where the measurements put the bottleneck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bottleneck {
    /// The database: its CPU or connections alarm.
    Database,
    /// The application: the API is slow while the database is measured cool.
    Application,
    /// The API is slow and the database is not measured: cannot tell which.
    Unknown,
    /// The replicas: replication lag.
    Replication,
    /// The cache: its hit rate.
    Cache,
}

impl Bottleneck {
    /// The name used in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Bottleneck::Database => "database",
            Bottleneck::Application => "application",
            Bottleneck::Unknown => "unknown",
            Bottleneck::Replication => "replication",
            Bottleneck::Cache => "cache",
        }
    }
}

/// Whether a condition must hold, or is one of several of which one must.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Need {
    /// Must hold.
    All,
    /// One of the `any` conditions must hold.
    Any,
}

/// The state of one checklist item a condition asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemState {
    /// Answered `true`, or measured as passing.
    Done,
    /// Answered `false`, or measured as failing.
    NotDone,
    /// Not answered.
    NotAnswered,
}

impl ItemState {
    /// The words used for people.
    pub fn words(self) -> &'static str {
        match self {
            ItemState::Done => "done",
            ItemState::NotDone => "not done",
            ItemState::NotAnswered => "not answered",
        }
    }
}

/// One condition of a move, judged on the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionCheck {
    /// The condition.
    pub id: Condition,
    /// Whether it must hold or is one of several.
    pub need: Need,
    /// Whether it holds.
    pub held: bool,
    /// The number judged (users, hot shards), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<f64>,
    /// What the number is judged against (users that count as near, shards).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The checklist items judged, with their state, in the ladder's order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<(String, ItemState)>,
}

/// The decision for one report.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision<'a> {
    /// What to do.
    pub action: Action,
    /// The trigger of the architecture in use that fired, when one did.
    pub trigger: Option<&'a Rule>,
    /// The rung a move goes to: the one due, or the one the trigger calls
    /// for once its conditions hold.
    pub move_to: Option<&'a Stage>,
    /// The conditions of that move, when a trigger weighed them.
    pub conditions: Vec<ConditionCheck>,
    /// Where the measurements put the bottleneck, when an alarm points at one.
    pub bottleneck: Option<Bottleneck>,
}

/// Judges each condition of `move_when` for a move from `from` to `to`.
pub(crate) fn check_conditions(
    move_when: &MoveWhen,
    report: &Report,
    ladder: &Ladder,
    to: &Stage,
) -> Vec<ConditionCheck> {
    move_when
        .conditions()
        .into_iter()
        .map(|condition| {
            let need = if move_when.all.contains(&condition) {
                Need::All
            } else {
                Need::Any
            };
            check(condition, need, report, ladder, to)
        })
        .collect()
}

#[allow(clippy::cast_precision_loss)]
fn check(
    condition: Condition,
    need: Need,
    report: &Report,
    ladder: &Ladder,
    to: &Stage,
) -> ConditionCheck {
    let mut checked = ConditionCheck {
        id: condition,
        need,
        held: false,
        observed: None,
        threshold: None,
        items: Vec::new(),
    };
    match condition {
        Condition::CheapFixesDone => {
            let fixes = ladder.move_up().map_or(&[][..], |m| &m.cheap_fixes[..]);
            checked.items = fixes
                .iter()
                .map(|id| {
                    let state = match report.checklist.0.get(id) {
                        Some(true) => ItemState::Done,
                        Some(false) => ItemState::NotDone,
                        None => ItemState::NotAnswered,
                    };
                    (id.clone(), state)
                })
                .collect();
            checked.held = checked
                .items
                .iter()
                .all(|(_, state)| *state == ItemState::Done);
        }
        Condition::UsersNearNext => {
            let near = ladder
                .move_up()
                .map_or(to.users_min, |m| m.near(to.users_min));
            checked.observed = Some(report.users as f64);
            checked.threshold = Some(near as f64);
            checked.held = report.users >= near;
        }
        Condition::ShardsAtCapacity => {
            checked.observed = report.db_shards_hot.map(|hot| hot as f64);
            checked.threshold = report.db_shards.map(|shards| shards as f64);
            checked.held = matches!(
                (report.db_shards_hot, report.db_shards),
                (Some(hot), Some(shards)) if hot >= shards
            );
        }
    }
    checked
}

/// Whether the conditions judged meet `move_when`.
pub(crate) fn met(move_when: &MoveWhen, conditions: &[ConditionCheck]) -> bool {
    move_when.met(|condition| {
        conditions
            .iter()
            .any(|check| check.id == condition && check.held)
    })
}

/// Whether an architecture one rung above `stage` is what the conditions of
/// the move from `stage` justify: they hold, apart from those the move itself
/// relieves (as it relieves the trigger). A ladder stage without conditions
/// justifies nothing above its users.
pub(crate) fn justified(stage: &Stage, report: &Report, ladder: &Ladder, above: &Stage) -> bool {
    if stage.move_when.is_empty() {
        return false;
    }
    let conditions = check_conditions(&stage.move_when, report, ladder, above);
    stage.move_when.met(|condition| {
        condition.relieved_by_move()
            || conditions
                .iter()
                .any(|check| check.id == condition && check.held)
    })
}

/// Where the active alarms put the bottleneck: the database first (rule 2),
/// then a slow API judged by whether the database was measured cool (rule 1),
/// then the replicas and the cache; critical alarms before warnings.
pub(crate) fn bottleneck(
    alarms: &[&Alarm],
    ladder: &Ladder,
    report: &Report,
) -> Option<Bottleneck> {
    let metric_of = |alarm: &Alarm| ladder.rule(&alarm.rule).map(|rule| rule.metric);
    let database = |m: &Metric| matches!(m, Metric::DbCpuPct | Metric::DbConnectionsPct);
    let database_warm = alarms
        .iter()
        .filter_map(|alarm| metric_of(alarm))
        .any(|m| database(&m));
    for severity in [Severity::Critical, Severity::Warning] {
        let fired: Vec<Metric> = alarms
            .iter()
            .filter(|alarm| alarm.severity == severity)
            .filter_map(|alarm| metric_of(alarm))
            .collect();
        if fired.iter().any(database) {
            return Some(Bottleneck::Database);
        }
        if fired.contains(&Metric::ApiP95Ms) {
            return Some(if database_warm {
                Bottleneck::Database
            } else if report.db_cpu_pct.is_some() {
                Bottleneck::Application
            } else {
                Bottleneck::Unknown
            });
        }
        if fired.contains(&Metric::ReplicationLagMs) {
            return Some(Bottleneck::Replication);
        }
        if fired.contains(&Metric::CacheHitRatePct) {
            return Some(Bottleneck::Cache);
        }
    }
    None
}
