//! The metrics report: observed numbers about a running system, parsed and
//! validated into a [`Report`].

pub mod fast;
mod values;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::checklist;
use crate::error::{FileError, Problem};
use crate::ladder::Ladder;
use crate::metric::Metric;
use crate::source::Source;

pub use values::{Answers, Limit, NonNegative, ObservedAt, Percent, Users, Whole};

/// A metrics report as written. Only `users` is required.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "scalectl metrics report")]
pub struct RawReport {
    /// Name shown in reports.
    #[serde(default)]
    pub service: Option<String>,
    /// Active users: a whole number, or a string such as "42K", "1.2M", "42_000".
    pub users: Users,
    /// API p95 response time, in milliseconds (>= 0).
    #[serde(default)]
    pub api_p95_ms: Option<NonNegative>,
    /// CPU of the busiest database node (primary, or hottest shard), in percent (0-100).
    #[serde(default)]
    pub db_cpu_pct: Option<Percent>,
    /// Open database connections (a whole number >= 0).
    #[serde(default)]
    pub db_connections: Option<Whole>,
    /// The database server's connection limit (a whole number > 0).
    #[serde(default)]
    pub db_max_connections: Option<Limit>,
    /// Cache hit rate, in percent (0-100).
    #[serde(default)]
    pub cache_hit_rate_pct: Option<Percent>,
    /// Worst replica lag, in milliseconds (>= 0).
    #[serde(default)]
    pub replication_lag_ms: Option<NonNegative>,
    /// How many shards the database is split into (a whole number > 0).
    #[serde(default)]
    pub db_shards: Option<Limit>,
    /// How many of those shards are hot: over the CPU trigger (a whole
    /// number, at most `db_shards`).
    #[serde(default)]
    pub db_shards_hot: Option<Whole>,
    /// Id of the ladder stage whose architecture runs today (1 for the first).
    #[serde(default)]
    #[schemars(extend("minimum" = 1))]
    pub current_stage: Option<Whole>,
    /// Current monthly infrastructure spend, in US dollars (>= 0).
    #[serde(default)]
    pub monthly_cost_usd: Option<NonNegative>,
    /// Manual answers to the scaling checklist: item id -> done.
    #[serde(default)]
    pub checklist: Option<Answers>,
    /// When these numbers were observed: YYYY-MM-DD or an RFC 3339
    /// date-time. Required for reports that make up a history (`forecast`).
    #[serde(default)]
    pub observed_at: Option<ObservedAt>,
    /// Rules or findings suppressed for this report: rule id -> the reason
    /// (required). Suppressed alarms are shown with their reason, never dropped.
    #[serde(default)]
    pub ignore: Option<BTreeMap<String, String>>,
}

/// A validated metrics report: every number is in range and `current_stage`
/// names a stage of the ladder it was checked against.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Name shown in reports.
    pub service: Option<String>,
    /// Active users.
    pub users: u64,
    /// API p95 response time, in milliseconds.
    pub api_p95_ms: Option<f64>,
    /// CPU of the busiest database node, in percent.
    pub db_cpu_pct: Option<f64>,
    /// Open database connections.
    pub db_connections: Option<u64>,
    /// The database server's connection limit, greater than 0.
    pub db_max_connections: Option<u64>,
    /// Cache hit rate, in percent.
    pub cache_hit_rate_pct: Option<f64>,
    /// Worst replica lag, in milliseconds.
    pub replication_lag_ms: Option<f64>,
    /// How many shards the database is split into.
    pub db_shards: Option<u64>,
    /// How many shards are hot, at most `db_shards`.
    pub db_shards_hot: Option<u64>,
    /// The ladder stage whose architecture runs today.
    pub current_stage: Option<u32>,
    /// Current monthly spend, in US dollars.
    pub monthly_cost_usd: Option<f64>,
    /// Manual answers to the checklist.
    pub checklist: Answers,
    /// When the numbers were observed, in days since 1970-01-01.
    pub observed_at: Option<f64>,
    /// Suppressed rules and findings, with their reasons.
    pub ignore: BTreeMap<String, String>,
}

impl Report {
    /// Parses a report and checks it against `ladder`: plain YAML through the
    /// fast path ([`fast`]), everything else (and every error) through the
    /// full parser.
    pub fn parse(source: &Source, ladder: &Ladder) -> Result<Self, FileError> {
        if source.format == crate::source::Format::Yaml
            && let Some(report) =
                fast::parse(&source.text).and_then(|raw| raw.validate(ladder).ok())
        {
            return Ok(report);
        }
        Self::parse_full(source, ladder)
    }

    /// Parses a report with the full parser only.
    pub fn parse_full(source: &Source, ladder: &Ladder) -> Result<Self, FileError> {
        let fail = |problem| FileError::new(source.name.clone(), name_field(problem, source));
        let first = source
            .text
            .lines()
            .map(str::trim_start)
            .find(|line| !line.is_empty() && !line.starts_with('#'))
            .unwrap_or_default();
        if first.starts_with('[') || first == "-" || first.starts_with("- ") {
            return Err(fail(Problem::at(
                Some(crate::error::Location { line: 1, column: 1 }),
                "expected a metrics report (a mapping of fields), found a list; a list of reports is a history, for `scalectl forecast`",
            )));
        }
        let raw: RawReport = source.deserialize().map_err(fail)?;
        raw.validate(ladder).map_err(|problems| {
            let mut problems: Vec<Problem> = problems
                .into_iter()
                .map(|problem| problem.located(source))
                .collect();
            problems.sort_by_key(|p| p.location);
            FileError {
                path: source.name.clone(),
                problems,
            }
        })
    }

    /// Every problem in a report, not only the first: after a type error the
    /// fields are checked one by one, each problem located at its key's line.
    pub fn problems(source: &Source, ladder: &Ladder) -> Vec<Problem> {
        let first = match Self::parse(source, ladder) {
            Ok(_) => return Vec::new(),
            Err(error) => error.problems,
        };
        let Ok(fields) = source.deserialize::<BTreeMap<String, serde_json::Value>>() else {
            return first;
        };
        let mut problems = first;
        let mut seen: Vec<Option<usize>> = problems
            .iter()
            .map(|p| p.location.map(|l| l.line))
            .collect();
        if !fields.contains_key("users") && !problems.iter().any(|p| p.message.contains("`users`"))
        {
            problems.push(Problem::new("missing field `users`"));
        }
        let mut valid = serde_json::Map::new();
        valid.insert("users".into(), 0.into());
        for (key, value) in fields {
            let mut single = serde_json::Map::new();
            if key != "users" {
                single.insert("users".into(), 0.into());
            }
            single.insert(key.clone(), value.clone());
            let Err(error) = serde_json::from_value::<RawReport>(single.into()) else {
                valid.insert(key, value);
                continue;
            };
            let unknown = error.to_string().starts_with("unknown field");
            let location = if unknown {
                source.key_location(&key)
            } else {
                source.value_location(&key)
            };
            let line = location.map(|l| l.line);
            if line.is_some() && seen.contains(&line) {
                continue;
            }
            let text = error.to_string();
            if problems
                .iter()
                .any(|p| p.message.ends_with(&text) || text.ends_with(&p.message))
            {
                continue;
            }
            seen.push(line);
            let message = error.to_string();
            let message = if message.starts_with("unknown field") {
                match crate::suggest::nearest(&key, RawReport::FIELDS.iter().copied()) {
                    Some(nearest) => format!("unknown field `{key}`; did you mean `{nearest}`?"),
                    None => message,
                }
            } else {
                format!("{key}: {message}")
            };
            problems.push(Problem::at(location, message));
        }
        let remaining = serde_json::from_value::<RawReport>(valid.into())
            .ok()
            .and_then(|raw| raw.validate(ladder).err())
            .unwrap_or_default();
        for problem in remaining {
            let problem = problem.located(source);
            if !problems.iter().any(|p| p.message == problem.message) {
                problems.push(problem);
            }
        }
        problems.sort_by_key(|p| p.location);
        problems
    }

    /// The value of a metric, if the report has it. The connection percentage
    /// is derived from `db_connections` and `db_max_connections` when both are given.
    pub fn metric(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::ApiP95Ms => self.api_p95_ms,
            Metric::DbCpuPct => self.db_cpu_pct,
            #[allow(clippy::cast_precision_loss)]
            Metric::DbConnectionsPct => match (self.db_connections, self.db_max_connections) {
                (Some(open), Some(max)) => Some(100.0 * open as f64 / max as f64),
                _ => None,
            },
            Metric::CacheHitRatePct => self.cache_hit_rate_pct,
            Metric::ReplicationLagMs => self.replication_lag_ms,
        }
    }

    /// A report with only a user count, as used for what-if questions.
    pub fn with_users(users: u64) -> Self {
        RawReport {
            users: Users(users),
            ..RawReport::default()
        }
        .into_report()
    }
}

/// A problem located on a field's line, with the field named first
/// ("db_cpu_pct: 130 is over 100"), unless the message names it already.
fn name_field(problem: Problem, source: &Source) -> Problem {
    let Some(location) = problem.location else {
        return problem;
    };
    let named = RawReport::FIELDS.iter().any(|field| {
        problem.message.starts_with(field) || problem.message.contains(&format!("`{field}`"))
    });
    if named {
        return problem;
    }
    let field = source
        .key_lines(&RawReport::FIELDS)
        .into_iter()
        .find(|&(_, line)| line == location.line)
        .map(|(field, _)| field);
    match field {
        Some(field) => Problem::at(Some(location), format!("{field}: {}", problem.message)),
        None => problem,
    }
}

/// A problem with a field of a report that parsed, found by validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The key the problem is about.
    pub key: String,
    /// Another field the problem involves, whose line the message names.
    pub also: Option<&'static str>,
    /// The entry of the mapping at `key` the problem is about (an `ignore:`
    /// rule), located at its own line.
    pub entry: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl FieldProblem {
    /// The problem at its key's line and column in `source`, naming the line
    /// of the other field it involves.
    pub fn located(self, source: &Source) -> Problem {
        let mut message = self.message;
        if let Some(line) = self
            .also
            .and_then(|also| source.key_location(also).map(|at| (also, at.line)))
        {
            message.push_str(&format!(" (`{}` is on line {})", line.0, line.1));
        }
        let location = match &self.entry {
            Some(entry) => source.entry_location(&self.key, entry),
            None => source.key_location(&self.key),
        };
        Problem::at(location, message)
    }
}

impl RawReport {
    /// The field names, in report order.
    pub const FIELDS: [&'static str; 15] = [
        "service",
        "users",
        "api_p95_ms",
        "db_cpu_pct",
        "db_connections",
        "db_max_connections",
        "cache_hit_rate_pct",
        "replication_lag_ms",
        "db_shards",
        "db_shards_hot",
        "current_stage",
        "monthly_cost_usd",
        "checklist",
        "observed_at",
        "ignore",
    ];

    /// Checks the fields that depend on the ladder, on each other and on the
    /// checklist, returning every problem found.
    pub fn validate(self, ladder: &Ladder) -> Result<Report, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        if let (Some(Whole(open)), Some(Limit(limit))) =
            (self.db_connections, self.db_max_connections)
            && open > limit
        {
            problems.push(FieldProblem {
                key: "db_connections".to_owned(),
                also: Some("db_max_connections"),
                entry: None,
                message: format!(
                    "db_connections: {open} open connections is more than db_max_connections, the server's limit of {limit}; one of the two is wrong"
                ),
            });
        }
        match (self.db_shards_hot, self.db_shards) {
            (Some(Whole(hot)), Some(Limit(shards))) if hot > shards => {
                problems.push(FieldProblem {
                    key: "db_shards_hot".to_owned(),
                    also: Some("db_shards"),
                    entry: None,
                    message: format!(
                        "db_shards_hot: {hot} hot shards is more than db_shards, the {shards} shards there are; one of the two is wrong"
                    ),
                });
            }
            (Some(_), None) => problems.push(FieldProblem {
                key: "db_shards_hot".to_owned(),
                also: None,
                entry: None,
                message: "db_shards_hot: give db_shards too, the number of shards it is a share of"
                    .to_owned(),
            }),
            _ => {}
        }
        if let Some(Whole(id)) = self.current_stage
            && u32::try_from(id)
                .ok()
                .and_then(|id| ladder.stage(id))
                .is_none()
        {
            problems.push(FieldProblem {
                key: "current_stage".to_owned(),
                also: None,
                entry: None,
                message: format!(
                    "current_stage {id} is not a stage of the ladder; expected 1 to {}",
                    ladder.top().id
                ),
            });
        }
        for (rule, reason) in self.ignore.iter().flatten() {
            if let Some(unknown) = crate::engine::unknown_rule(rule, ladder) {
                problems.push(FieldProblem {
                    key: "ignore".to_owned(),
                    also: None,
                    entry: Some(rule.clone()),
                    message: format!("ignore: {unknown}"),
                });
            } else if reason.trim().is_empty() {
                problems.push(FieldProblem {
                    key: "ignore".to_owned(),
                    also: None,
                    entry: Some(rule.clone()),
                    message: format!(
                        "ignore: `{rule}` needs a reason (`{rule}: \"why it does not apply\"`)"
                    ),
                });
            }
        }
        if let Some(answers) = &self.checklist {
            problems.extend(
                checklist::answer_problems(answers.0.keys().map(String::as_str))
                    .into_iter()
                    .map(|(key, message)| FieldProblem {
                        key,
                        also: None,
                        entry: None,
                        message,
                    }),
            );
        }
        if problems.is_empty() {
            Ok(self.into_report())
        } else {
            Err(problems)
        }
    }

    fn into_report(self) -> Report {
        Report {
            service: self.service,
            users: self.users.0,
            api_p95_ms: self.api_p95_ms.map(|v| v.0),
            db_cpu_pct: self.db_cpu_pct.map(|v| v.0),
            db_connections: self.db_connections.map(|v| v.0),
            db_max_connections: self.db_max_connections.map(|v| v.0),
            cache_hit_rate_pct: self.cache_hit_rate_pct.map(|v| v.0),
            replication_lag_ms: self.replication_lag_ms.map(|v| v.0),
            db_shards: self.db_shards.map(|v| v.0),
            db_shards_hot: self.db_shards_hot.map(|v| v.0),
            current_stage: self.current_stage.and_then(|v| u32::try_from(v.0).ok()),
            monthly_cost_usd: self.monthly_cost_usd.map(|v| v.0),
            checklist: self.checklist.unwrap_or_default(),
            observed_at: self.observed_at.map(|o| o.0),
            ignore: self.ignore.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests;
