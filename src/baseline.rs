//! Comparing a run with a JSON report saved from an earlier one, so that a
//! gate can fail only on what got worse.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::{Assessment, Severity};
use crate::error::{FileError, Problem};
use crate::render::SCHEMA_VERSION;
use crate::source::Source;

/// How something compares with the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Not in the baseline.
    New,
    /// In the baseline, gone now.
    Resolved,
    /// Worse than in the baseline: a higher severity, or a higher recommended stage.
    Worse,
    /// Better than in the baseline.
    Better,
    /// As in the baseline.
    Unchanged,
}

impl Change {
    /// The lowercase name used in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Resolved => "resolved",
            Change::Worse => "worse",
            Change::Better => "better",
            Change::Unchanged => "unchanged",
        }
    }

    fn of<T: Ord>(before: T, now: T) -> Self {
        match now.cmp(&before) {
            std::cmp::Ordering::Greater => Change::Worse,
            std::cmp::Ordering::Less => Change::Better,
            std::cmp::Ordering::Equal => Change::Unchanged,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawBaseline {
    schema_version: u32,
    reports: Vec<RawReport>,
}

#[derive(Debug, Deserialize)]
struct RawReport {
    file: String,
    recommended_stage: RawStage,
    alarms: Vec<RawAlarm>,
    status: Severity,
}

#[derive(Debug, Deserialize)]
struct RawStage {
    id: u32,
}

#[derive(Debug, Deserialize)]
struct RawAlarm {
    rule: String,
    severity: Severity,
}

/// What an earlier run found, per report file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    reports: BTreeMap<String, BaselineReport>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct BaselineReport {
    recommended_stage: u32,
    status: Severity,
    alarms: BTreeMap<String, Severity>,
}

/// How one report compares with the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportChange {
    /// The report as a whole, by its status.
    pub status: Change,
    /// The recommended stage.
    pub stage: Change,
    /// Each current alarm, by rule id.
    pub alarms: BTreeMap<String, Change>,
    /// Rules that alarmed in the baseline and no longer do.
    pub resolved: Vec<String>,
}

impl ReportChange {
    /// Whether an alarm is one the baseline did not have at this severity.
    pub fn is_new(&self, rule: &str) -> bool {
        matches!(self.alarms.get(rule), Some(Change::New | Change::Worse))
    }
}

impl Baseline {
    /// Parses a JSON report written by `scalectl assess --format json`.
    pub fn parse(source: &Source) -> Result<Self, FileError> {
        let fail = |problem| FileError::new(source.name.clone(), problem);
        let version: serde_json::Value = source.deserialize().map_err(fail)?;
        let at = source.key_location("schema_version");
        match version.get("schema_version") {
            None => {
                return Err(fail(Problem::new(
                    "is not a scalectl JSON report: it has no schema_version",
                )));
            }
            Some(v) if v.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
            Some(v) if v.as_u64().is_some() => {
                return Err(fail(Problem::at(
                    at,
                    format!(
                        "the baseline has schema_version {v}; this scalectl reads version {SCHEMA_VERSION}: save a new baseline with `scalectl assess --format json --output FILE`"
                    ),
                )));
            }
            Some(v) => {
                return Err(fail(Problem::at(
                    at,
                    format!(
                        "schema_version {} is not a version number; expected the whole number {SCHEMA_VERSION}",
                        crate::escape::echo(&v.to_string())
                    ),
                )));
            }
        }
        let raw: RawBaseline = source.deserialize().map_err(fail)?;
        debug_assert_eq!(raw.schema_version, SCHEMA_VERSION);
        let mut reports = BTreeMap::new();
        for r in raw.reports {
            let report = BaselineReport {
                recommended_stage: r.recommended_stage.id,
                status: r.status,
                alarms: r.alarms.into_iter().map(|a| (a.rule, a.severity)).collect(),
            };
            if reports.contains_key(&r.file) {
                return Err(fail(Problem::new(format!(
                    "the report `{}` appears more than once; a baseline holds each report once",
                    crate::escape::echo(&r.file)
                ))));
            }
            reports.insert(r.file, report);
        }
        Ok(Self { reports })
    }

    /// How a report now compares with the same file in the baseline.
    pub fn compare(&self, file: &str, now: &Assessment<'_>) -> ReportChange {
        let Some(before) = self.reports.get(file) else {
            return ReportChange {
                status: Change::New,
                stage: Change::New,
                alarms: now
                    .alarms
                    .iter()
                    .map(|a| (a.rule.clone(), Change::New))
                    .collect(),
                resolved: Vec::new(),
            };
        };
        let alarms = now
            .alarms
            .iter()
            .map(|a| {
                let change = before
                    .alarms
                    .get(&a.rule)
                    .map_or(Change::New, |&severity| Change::of(severity, a.severity));
                (a.rule.clone(), change)
            })
            .collect();
        let resolved = before
            .alarms
            .keys()
            .filter(|rule| !now.alarms.iter().any(|a| &a.rule == *rule))
            .cloned()
            .collect();
        ReportChange {
            status: Change::of(before.status, now.status),
            stage: Change::of(before.recommended_stage, now.recommended_stage.id),
            alarms,
            resolved,
        }
    }

    /// Files of the baseline that are not among `files`.
    pub fn missing<'a>(&'a self, files: &[&str]) -> Vec<&'a str> {
        self.reports
            .keys()
            .map(String::as_str)
            .filter(|f| !files.contains(f))
            .collect()
    }
}
