//! The scaling checklist: five sections, twenty items, each measured from the
//! report's metrics through the ladder's rules, or answered by hand.

use serde::Serialize;

pub(crate) mod catalog;

use crate::ladder::Ladder;
use crate::metric::{Metric, format_number};
use crate::metrics::Report;

pub use catalog::{Answer, DB_BUFFER_CACHE, Item, READ_REPLICAS, SECTIONS, Section, item, items};

/// The state of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Status {
    /// Done, or measured within the rule's critical value.
    #[serde(rename = "pass")]
    Pass,
    /// Not done, or measured beyond the critical value.
    #[serde(rename = "fail")]
    Fail,
    /// Not answered, or its metric is not measured.
    #[serde(rename = "unknown")]
    Unknown,
    /// Does not apply at this scale.
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl Status {
    /// The name used in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
            Status::NotApplicable => "n/a",
        }
    }
}

/// An item with its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedItem {
    /// The item.
    pub item: &'static Item,
    /// What the item checks, with the ladder's threshold for measured ones.
    pub text: String,
    /// Its state.
    pub status: Status,
    /// What showed the state, when it was measured straight from a source.
    pub measured: Option<Measured>,
    /// The report's own answer, when a measurement contradicts it.
    pub contradicts: Option<bool>,
    /// The report field whose measurement answers this item (`redis_cache`
    /// from `cache_hit_rate_pct`), when it does; an explicit answer in the
    /// report still stands, shown as a conflict when it is `false`.
    pub implied_by: Option<&'static str>,
}

/// A checklist answer measured straight from a source (PostgreSQL, Redis,
/// PgBouncer), with what showed it; it overrides the report's own answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The checklist item id.
    pub id: &'static str,
    /// The measured state: pass, fail, or unknown when nothing could show it.
    pub status: Status,
    /// The threshold it was judged against, for people.
    pub rule: String,
    /// What was found: tables, statements, pools, counts.
    pub evidence: Vec<String>,
    /// Worth knowing, though it does not decide the answer (unused indexes).
    pub warnings: Vec<String>,
    /// Where and how it was read: the server and the views or commands used.
    pub read_from: String,
}

/// A section with its answered items.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSection {
    /// The section.
    pub section: &'static Section,
    /// Its items.
    pub items: Vec<CheckedItem>,
}

/// Walks the checklist for a report, or returns the blank checklist without
/// one; `measured` answers override the report's own.
pub fn check(
    report: Option<&Report>,
    ladder: &Ladder,
    measured: &[Measured],
) -> Vec<CheckedSection> {
    let replicas_from = ladder
        .stages()
        .iter()
        .find(|stage| stage.read_replicas)
        .map(|stage| stage.users_min);
    SECTIONS
        .iter()
        .map(|section| {
            let not_applicable = section.id == READ_REPLICAS
                && report.is_some_and(|report| {
                    let runs_replicas = report
                        .current_stage
                        .and_then(|id| ladder.stage(id))
                        .is_some_and(|stage| stage.read_replicas);
                    report.replication_lag_ms.is_none()
                        && !runs_replicas
                        && replicas_from.is_none_or(|from| report.users < from)
                });
            CheckedSection {
                section,
                items: section
                    .items
                    .iter()
                    .chain((section.id == "caching").then_some(&DB_BUFFER_CACHE))
                    .filter_map(|item| {
                        let found = measured.iter().find(|m| m.id == item.id).cloned();
                        if item.answer == Answer::Collected && found.is_none() {
                            return None;
                        }
                        let manual = report.and_then(|r| r.checklist.0.get(item.id).copied());
                        Some(match found {
                            Some(found) => CheckedItem {
                                item,
                                text: format!("{} ({})", item.text, found.rule),
                                status: match (found.status, manual) {
                                    // Nothing measured: the report's own answer stands.
                                    (Status::Unknown, Some(true)) => Status::Pass,
                                    (Status::Unknown, Some(false)) => Status::Fail,
                                    (status, _) if not_applicable && status != Status::Pass => {
                                        Status::NotApplicable
                                    }
                                    (status, _) => status,
                                },
                                contradicts: manual.filter(|&done| match found.status {
                                    Status::Pass => !done,
                                    Status::Fail => done,
                                    _ => false,
                                }),
                                measured: Some(found),
                                implied_by: None,
                            },
                            None => CheckedItem {
                                item,
                                text: item_text(item, ladder),
                                measured: None,
                                contradicts: None,
                                implied_by: implied(item, report),
                                status: match report {
                                    None => Status::Unknown,
                                    // An explicit answer is always shown and counted.
                                    Some(report) if not_applicable => {
                                        match report.checklist.0.get(item.id) {
                                            Some(true) => Status::Pass,
                                            Some(false) => Status::Fail,
                                            None => Status::NotApplicable,
                                        }
                                    }
                                    Some(report) => status(item, report, ladder),
                                },
                            },
                        })
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The report field whose measurement answers `item` in `report`, if any.
fn implied(item: &Item, report: Option<&Report>) -> Option<&'static str> {
    let metric = item.implied_by?;
    report?.metric(metric)?;
    metric.fields().first().copied()
}

fn status(item: &Item, report: &Report, ladder: &Ladder) -> Status {
    let metric = match item.answer {
        Answer::Manual | Answer::Collected => {
            return match report.checklist.0.get(item.id) {
                Some(true) => Status::Pass,
                Some(false) => Status::Fail,
                None if implied(item, Some(report)).is_some() => Status::Pass,
                None => Status::Unknown,
            };
        }
        Answer::Measured(metric) => metric,
    };
    let Some(value) = report.metric(metric) else {
        return Status::Unknown;
    };
    let at_limit =
        metric == Metric::DbConnectionsPct && report.db_connections >= report.db_max_connections;
    // The article's checklist is strict: a value at the threshold does not pass.
    let at_or_beyond = ladder
        .rules()
        .iter()
        .filter(|rule| rule.metric == metric)
        .any(|rule| rule.direction.reaches(value, rule.critical));
    if at_or_beyond || at_limit {
        Status::Fail
    } else {
        Status::Pass
    }
}

fn item_text(item: &Item, ladder: &Ladder) -> String {
    let Answer::Measured(metric) = item.answer else {
        return item.text.to_owned();
    };
    let limits: Vec<String> = ladder
        .rules()
        .iter()
        .filter(|rule| rule.metric == metric)
        .map(|rule| {
            let unit = match metric {
                Metric::DbConnectionsPct => "% of the limit",
                other => other.unit(),
            };
            format!(
                "{} {}{unit} ({})",
                match rule.direction {
                    crate::metric::Direction::Above => "under",
                    crate::metric::Direction::Below => "over",
                },
                format_number(rule.critical),
                rule.id
            )
        })
        .collect();
    if limits.is_empty() {
        item.text.to_owned()
    } else {
        format!("{} {}", item.text, limits.join(", "))
    }
}

/// Problems with a report's `checklist:` answers: unknown ids and measured items.
pub fn answer_problems<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<(String, String)> {
    keys.into_iter()
        .filter_map(|key| {
            let message = match item(key) {
                Some(Item {
                    answer: Answer::Measured(metric),
                    ..
                }) => format!(
                    "checklist item `{key}` is measured, not answered by hand: set {} instead",
                    metric
                        .fields()
                        .iter()
                        .map(|f| format!("`{f}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
                Some(_) => return None,
                None => match crate::suggest::nearest(key, items().map(|i| i.id)) {
                    Some(nearest) => {
                        format!("unknown checklist item `{key}`; did you mean `{nearest}`?")
                    }
                    None => format!(
                        "unknown checklist item `{key}`; `scalectl checklist` lists the item ids"
                    ),
                },
            };
            Some((key.to_owned(), message))
        })
        .collect()
}

#[cfg(test)]
mod tests;
