//! Turning assessments into output: one renderer per format behind one trait.

pub mod checklist;
pub mod forecast;
mod github;
mod json;
mod junit;
pub mod ladder;
mod markdown;
pub mod plot;
mod sarif;
mod table;

use std::io::{self, Write};

use crate::baseline::ReportChange;
use crate::engine::{Alarm, Assessment, Severity, WhatIf};
use crate::error::FileError;
use crate::gate::FailOn;
use crate::ladder::Ladder;
use crate::metric::Metric;

pub use github::Github;
pub use json::{Json, JsonStage, SCHEMA_VERSION, to_json};
pub use junit::Junit;
pub use markdown::Markdown;
pub use sarif::Sarif;
pub use table::Table;

/// One assessed report and the file it came from.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The file as the user named it (`-` for standard input).
    pub file: String,
    /// The assessment of its report.
    pub assessment: Assessment<'a>,
    /// The line of each report field present in the file.
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
    /// With a baseline: its reports that this run does not have.
    pub gone: Option<Vec<String>>,
}

impl<'a> Run<'a> {
    /// A run without a baseline.
    pub fn new(ladder: &'a Ladder, fail_on: FailOn) -> Self {
        Self {
            results: Vec::new(),
            ladder,
            fail_on,
            fail_on_new: false,
            gone: None,
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
            && (!self.fail_on_new
                || entry
                    .change
                    .as_ref()
                    .is_none_or(|change| change.is_new(&alarm.rule)))
    }

    /// "3 reports: 1 critical, 1 warning, 1 ok, 0 errors".
    pub fn summary(&self) -> String {
        let count = |severity| {
            self.entries()
                .filter(|e| e.assessment.status == severity)
                .count()
        };
        format!(
            "{} reports: {} critical, {} warning, {} ok, {} errors",
            self.results.len(),
            count(Severity::Critical),
            count(Severity::Warning),
            count(Severity::Ok),
            self.errors().count(),
        )
    }
}

/// An output format for assessments.
pub trait Renderer {
    /// Writes the complete output for a run.
    fn render(&self, run: &Run<'_>, out: &mut dyn Write) -> io::Result<()>;
}
