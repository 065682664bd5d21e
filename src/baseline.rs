//! Comparing a run with a JSON report saved from an earlier one, so that a
//! gate can fail only on what got worse.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

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
    /// The directory the report paths are relative to (absent in baselines
    /// saved before it was written: then the comparing run's own).
    #[serde(default)]
    root: Option<String>,
    reports: Vec<RawReport>,
}

#[derive(Debug, Deserialize)]
struct RawReport {
    file: String,
    recommended_stage: RawStage,
    alarms: Vec<RawAlarm>,
    status: Severity,
    /// Absent in baselines saved before it was written.
    #[serde(default)]
    measured: BTreeMap<String, f64>,
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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Baseline {
    /// By the report's path made absolute from the baseline's root.
    reports: BTreeMap<String, BaselineReport>,
}

#[derive(Debug, Clone, PartialEq)]
struct BaselineReport {
    /// The path as the baseline wrote it.
    file: String,
    measured: BTreeMap<String, f64>,
    recommended_stage: u32,
    status: Severity,
    alarms: BTreeMap<String, Severity>,
}

/// How one report compares with the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportChange {
    /// The report as a whole, by its status.
    pub status: Change,
    /// The recommended stage.
    pub stage: Change,
    /// Each current alarm, by rule id.
    pub alarms: BTreeMap<String, Change>,
    /// Rules that alarmed in the baseline and no longer do.
    pub resolved: Vec<String>,
    /// What changed, with its value before and now: the measured numbers
    /// and the recommended stage.
    pub values: Vec<ValueChange>,
}

/// One number, before and now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueChange {
    /// The report field, or `recommended_stage`.
    pub field: String,
    /// Its value in the baseline.
    pub before: f64,
    /// Its value now.
    pub now: f64,
}

impl ReportChange {
    /// Whether an alarm is one the baseline did not have at this severity.
    pub fn is_new(&self, rule: &str) -> bool {
        matches!(self.alarms.get(rule), Some(Change::New | Change::Worse))
    }
}

impl Baseline {
    /// Parses a JSON report written by `scalectl assess --format json`;
    /// relative paths in it are taken from its `root`, else from `cwd`.
    pub fn parse(source: &Source, cwd: &Path) -> Result<Self, FileError> {
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
        let root = raw.root.as_deref().map_or(cwd, Path::new);
        let mut reports = BTreeMap::new();
        for r in raw.reports {
            let key = report_key(root, &r.file);
            let report = BaselineReport {
                file: r.file.clone(),
                measured: r.measured,
                recommended_stage: r.recommended_stage.id,
                status: r.status,
                alarms: r.alarms.into_iter().map(|a| (a.rule, a.severity)).collect(),
            };
            if reports.contains_key(&key) {
                return Err(fail(Problem::new(format!(
                    "the report `{}` appears more than once; a baseline holds each report once",
                    crate::escape::echo(&r.file)
                ))));
            }
            reports.insert(key, report);
        }
        Ok(Self { reports })
    }

    /// How a report now compares with the same file in the baseline; `file`
    /// is relative to `cwd`.
    pub fn compare(&self, cwd: &Path, file: &str, now: &Assessment<'_>) -> ReportChange {
        let Some(before) = self.reports.get(&report_key(cwd, file)) else {
            return ReportChange {
                status: Change::New,
                stage: Change::New,
                alarms: now
                    .alarms
                    .iter()
                    .map(|a| (a.rule.clone(), Change::New))
                    .collect(),
                resolved: Vec::new(),
                values: Vec::new(),
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
        let mut values: Vec<ValueChange> = now
            .measured
            .iter()
            .filter_map(|(field, &value)| {
                let &old = before.measured.get(*field)?;
                ((old - value).abs() > f64::EPSILON * old.abs().max(1.0)).then(|| ValueChange {
                    field: (*field).to_owned(),
                    before: old,
                    now: value,
                })
            })
            .collect();
        if before.recommended_stage != now.recommended_stage.id {
            values.push(ValueChange {
                field: "recommended_stage".to_owned(),
                before: f64::from(before.recommended_stage),
                now: f64::from(now.recommended_stage.id),
            });
        }
        ReportChange {
            status: Change::of(before.status, now.status),
            stage: Change::of(before.recommended_stage, now.recommended_stage.id),
            alarms,
            resolved,
            values,
        }
    }

    /// Files of the baseline that are not among `files` (relative to `cwd`),
    /// as the baseline wrote them.
    pub fn missing<'a>(&'a self, cwd: &Path, files: &[&str]) -> Vec<&'a str> {
        let now: Vec<String> = files.iter().map(|f| report_key(cwd, f)).collect();
        self.reports
            .iter()
            .filter(|(key, _)| !now.contains(key))
            .map(|(_, report)| report.file.as_str())
            .collect()
    }
}

/// A report's path made absolute from `base` and normalised without touching
/// the file system (`.` and `..` resolved by name), so that `reports/a.yaml`,
/// `./reports/a.yaml` and, from inside `reports`, `a.yaml` are one report.
pub fn report_key(base: &Path, file: &str) -> String {
    let mut path = PathBuf::new();
    for component in base.join(file).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                path.pop();
            }
            other => path.push(other),
        }
    }
    crate::escape::path_name(&path)
}
