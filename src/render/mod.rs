//! Turning assessments into output: one renderer per format behind one trait.

pub mod checklist;
mod concise;
mod fitted;
pub mod forecast;
mod github;
mod json;
mod junit;
pub mod ladder;
mod markdown;
pub mod plot;
mod sarif;
mod stream;
mod table;

use std::io::{self, Write};

use crate::baseline::ReportChange;
use crate::engine::{Alarm, Assessment, Severity, WhatIf, counted, format_dollars};
use crate::error::FileError;
use crate::gate::FailOn;
use crate::ladder::{CostRange, Ladder};
use crate::metric::Metric;
use crate::metric::format_count;
use serde::Serialize;

pub use concise::{Concise, statistics};
pub use github::Github;
pub use json::{Json, JsonLines, JsonStage, SCHEMA_VERSION, to_json};
pub use junit::Junit;
pub use markdown::Markdown;
pub use sarif::Sarif;
pub use stream::{Spill, Stream, Streamed};
pub use table::{DEFAULT_WIDTH, Table};

/// One assessed report and the file it came from.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The file as the user named it (`-` for standard input).
    pub file: String,
    /// The assessment of its report.
    pub assessment: Assessment<'a>,
    /// The line of each report field present in the file; left empty for
    /// a format that shows no lines.
    pub lines: Vec<(&'static str, usize)>,
    /// How it compares with the baseline, when one was given.
    pub change: Option<ReportChange>,
    /// For a what-if run (`--users`): the observed users and what breaks first.
    pub what_if: Option<WhatIf>,
}

impl Entry<'_> {
    /// The line of the field an alarm's metric comes from.
    pub fn line_of(&self, metric: &str) -> Option<usize> {
        let field = Metric::from_name(metric).map_or(metric, |m| m.fields()[0]);
        self.lines
            .iter()
            .find(|(f, _)| *f == field)
            .map(|&(_, line)| line)
    }

    /// The name to show: the service, else the file.
    pub fn name(&self) -> &str {
        self.assessment.service.as_deref().unwrap_or(&self.file)
    }
}

/// Everything one `assess` run produced, in output order.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    /// One result per input: its assessment, or why it could not be read.
    pub results: Vec<Result<Entry<'a>, FileError>>,
    /// The ladder the reports were assessed on.
    pub ladder: &'a Ladder,
    /// The lowest severity that fails the gate.
    pub fail_on: FailOn,
    /// Whether only alarms the baseline did not have fail the gate.
    pub fail_on_new: bool,
    /// Whether a report that measures nothing (`not-measured`) passes the gate.
    pub allow_unmeasured: bool,
    /// With a baseline: its reports that this run does not have.
    pub gone: Option<Vec<String>>,
    /// The directory the report paths are relative to (written in JSON, so
    /// that a baseline matches reports however they are named later).
    pub root: Option<String>,
    /// The gate's policy and where each part came from.
    pub policy: Policy,
}

/// Where a setting of the gate came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum From {
    /// Nothing set it.
    #[default]
    Default,
    /// A flag of the command.
    CommandLine,
    /// The config file.
    ConfigFile,
}

/// The gate's policy, so that no format hides how it was set: a config
/// file's `fail-on = "never"` or `exclude` is shown wherever the run is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The config file that applied, if any.
    pub config: Option<String>,
    /// Where `fail-on` came from.
    pub fail_on_from: From,
    /// Where `allow-unmeasured` came from.
    pub allow_unmeasured_from: From,
    /// The rules selected (`select`), and where from.
    pub select: Vec<String>,
    /// Where `select` came from.
    pub select_from: From,
    /// The files `exclude` removed from the directories searched.
    pub excluded: Vec<String>,
    /// Where the `exclude` patterns came from (the command line's and the
    /// config file's are added together).
    pub exclude_from: Vec<From>,
}

impl Policy {
    fn origin(&self, from: From) -> String {
        match (from, &self.config) {
            (From::ConfigFile, Some(path)) => crate::escape::line(path).into_owned(),
            (From::ConfigFile, None) => "config file".to_owned(),
            (From::CommandLine, _) => "command line".to_owned(),
            (From::Default, _) => "default".to_owned(),
        }
    }
}

impl<'a> Run<'a> {
    /// A run without a baseline.
    pub fn new(ladder: &'a Ladder, fail_on: FailOn) -> Self {
        Self {
            results: Vec::new(),
            ladder,
            fail_on,
            fail_on_new: false,
            allow_unmeasured: false,
            gone: None,
            root: None,
            policy: Policy::default(),
        }
    }

    /// "policy: fail-on never (scalectl.toml), 2 reports excluded (...)":
    /// the parts of the gate's policy that are not its defaults, with where
    /// each came from; `None` when all are.
    pub fn policy_line(&self) -> Option<String> {
        let p = &self.policy;
        let mut parts = Vec::new();
        if p.fail_on_from != From::Default {
            parts.push(format!(
                "fail-on {} ({})",
                self.fail_on.name(),
                p.origin(p.fail_on_from)
            ));
        }
        if p.allow_unmeasured_from != From::Default && self.allow_unmeasured {
            parts.push(format!(
                "allow-unmeasured ({})",
                p.origin(p.allow_unmeasured_from)
            ));
        }
        if !p.select.is_empty() {
            parts.push(format!(
                "select {} ({})",
                p.select.join(", "),
                p.origin(p.select_from)
            ));
        }
        if !p.excluded.is_empty() {
            let from: Vec<String> = p.exclude_from.iter().map(|f| p.origin(*f)).collect();
            parts.push(format!(
                "{} excluded ({})",
                counted(p.excluded.len(), "file"),
                from.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| format!("policy: {}", parts.join(", ")))
    }

    /// The summary line and, when the policy is not the default, the
    /// policy line after it.
    pub fn summary_lines(&self, summary: &str) -> String {
        match self.policy_line() {
            Some(policy) => format!("{summary}\n{policy}"),
            None => summary.to_owned(),
        }
    }

    /// The reports that were assessed.
    pub fn entries(&self) -> impl Iterator<Item = &Entry<'a>> {
        self.results.iter().filter_map(|r| r.as_ref().ok())
    }

    /// The inputs that could not be read or were invalid.
    pub fn errors(&self) -> impl Iterator<Item = &FileError> {
        self.results.iter().filter_map(|r| r.as_ref().err())
    }

    /// The run's status for scripts: `error` when any input failed, else
    /// the worst status of the assessed reports.
    pub fn status_name(&self) -> &'static str {
        if self.errors().next().is_some() {
            "error"
        } else {
            self.status().name()
        }
    }

    /// The worst status over all assessed reports.
    pub fn status(&self) -> Severity {
        self.entries()
            .map(|e| e.assessment.status)
            .max()
            .unwrap_or(Severity::Ok)
    }

    /// Whether an alarm of a report fails the gate.
    pub fn fails(&self, entry: &Entry<'_>, alarm: &Alarm) -> bool {
        self.fail_on.fails(alarm.severity)
            && !(self.allow_unmeasured && alarm.severity == Severity::Unknown)
            && (!self.fail_on_new
                || entry
                    .change
                    .as_ref()
                    .is_none_or(|change| change.is_new(&alarm.rule)))
    }

    /// Current spend and recommended cost ranges, summed over the reports.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for entry in self.entries() {
            totals.add(entry);
        }
        totals
    }

    /// "3 reports: 1 critical, 0 unknown, 1 warning, 1 ok, 0 errors".
    pub fn summary(&self) -> String {
        let mut counts = Counts::default();
        for result in &self.results {
            counts.add(result);
        }
        self.summary_lines(&counts.line())
    }
}

/// Writes items of a JSON array, each rendered after its comma; `any` when
/// items were written before, so the first one goes without its comma.
pub(crate) fn write_items(out: &mut dyn Write, items: &[u8], any: &mut bool) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    out.write_all(if *any { items } else { &items[1..] })?;
    *any = true;
    Ok(())
}

/// How many results a run has, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    results: usize,
    critical: usize,
    unknown: usize,
    warning: usize,
    ok: usize,
    errors: usize,
}

impl Counts {
    /// How many results were counted.
    pub fn results(&self) -> usize {
        self.results
    }

    /// Counts one more result.
    pub fn add(&mut self, result: &Result<Entry<'_>, FileError>) {
        self.add_status(result.as_ref().ok().map(|entry| entry.assessment.status));
    }

    /// Counts one more result by its status: `None` for an input that
    /// could not be read or was invalid.
    pub fn add_status(&mut self, status: Option<Severity>) {
        self.results += 1;
        match status {
            None => self.errors += 1,
            Some(Severity::Critical) => self.critical += 1,
            Some(Severity::Unknown) => self.unknown += 1,
            Some(Severity::Warning) => self.warning += 1,
            Some(Severity::Ok) => self.ok += 1,
        }
    }

    /// "3 reports: 1 critical, 0 unknown, 1 warning, 1 ok, 0 errors".
    pub fn line(&self) -> String {
        format!(
            "{}: {} critical, {} unknown, {} warning, {} ok, {}",
            counted(self.results, "report"),
            self.critical,
            self.unknown,
            self.warning,
            self.ok,
            counted(self.errors, "error"),
        )
    }
}

/// What a fleet spends and what its recommended stages cost, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Reports assessed.
    pub reports: usize,
    /// Reports that give `monthly_cost_usd`.
    pub reports_with_cost: usize,
    /// The sum of their `monthly_cost_usd`.
    pub monthly_cost_usd: f64,
    /// The sum of every report's recommended cost range.
    pub recommended_usd_month: CostRange,
}

impl Totals {
    /// Counts one more report.
    pub fn add(&mut self, entry: &Entry<'_>) {
        let a = &entry.assessment;
        self.add_cost(a.monthly_cost_usd, a.recommended_stage.cost_usd_month);
    }

    /// Counts one more report by its spend and its recommended cost range.
    pub fn add_cost(&mut self, spend: Option<f64>, recommended: CostRange) {
        self.reports += 1;
        if let Some(spend) = spend {
            self.reports_with_cost += 1;
            self.monthly_cost_usd += spend;
        }
        let range = &mut self.recommended_usd_month;
        range.min = range.min.saturating_add(recommended.min);
        range.max = range.max.saturating_add(recommended.max);
    }

    /// "total: now $199,390/month (6 of 6 reports give it); recommended $62,050-$246,500/month".
    pub fn line(&self) -> String {
        let spend = if self.reports_with_cost == 0 {
            "no report gives its spend".to_owned()
        } else {
            format!(
                "now ${}/month ({} of {} give it)",
                format_dollars(self.monthly_cost_usd),
                self.reports_with_cost,
                counted(self.reports, "report")
            )
        };
        format!(
            "total: {spend}; recommended ${}-${}/month",
            format_count(self.recommended_usd_month.min),
            format_count(self.recommended_usd_month.max)
        )
    }
}

/// An output format for assessments.
pub trait Renderer {
    /// Writes the complete output for a run.
    fn render(&self, run: &Run<'_>, out: &mut dyn Write) -> io::Result<()>;
}
