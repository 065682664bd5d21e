//! Turning assessments into output: one renderer per format behind one trait.

pub mod checklist;
mod json;
pub mod ladder;
mod table;

use crate::engine::{Assessment, Severity};
use crate::error::{Error, FileError};

pub use json::{Json, JsonStage, to_json};
pub use table::Table;

/// One assessed report and the file it came from.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The file as the user named it (`-` for standard input).
    pub file: String,
    /// The assessment of its report.
    pub assessment: Assessment<'a>,
}

/// Everything one `assess` run produced, in output order.
#[derive(Debug, Clone, Default)]
pub struct Run<'a> {
    /// One result per input: its assessment, or why it could not be read.
    pub results: Vec<Result<Entry<'a>, FileError>>,
}

impl<'a> Run<'a> {
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
}

/// An output format for assessments.
pub trait Renderer {
    /// The complete output for a run.
    fn render(&self, run: &Run<'_>) -> Result<String, Error>;
}
