//! The checklist as a table or as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::json::to_json;
use crate::checklist::{Answer, CheckedItem, CheckedSection, Status};
use crate::error::Error;

/// The number of items in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Items that pass.
    pub pass: usize,
    /// Items that fail.
    pub fail: usize,
    /// Items not answered or not measured.
    pub unknown: usize,
    /// Items that do not apply at this scale.
    #[serde(rename = "n/a")]
    pub not_applicable: usize,
}

impl Summary {
    /// Counts the items of a checked checklist.
    pub fn of(sections: &[CheckedSection]) -> Self {
        let mut summary = Self::default();
        for item in sections.iter().flat_map(|s| &s.items) {
            match item.status {
                Status::Pass => summary.pass += 1,
                Status::Fail => summary.fail += 1,
                Status::Unknown => summary.unknown += 1,
                Status::NotApplicable => summary.not_applicable += 1,
            }
        }
        summary
    }
}

#[derive(Serialize)]
struct JsonChecklist<'a> {
    schema_version: u32,
    file: Option<&'a str>,
    sections: Vec<JsonSection<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct JsonSection<'a> {
    id: &'a str,
    title: &'a str,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    text: &'a str,
    status: Status,
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    read_from: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a [String]>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    report_answer: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    implied_by: Option<&'a str>,
}

fn source_name(item: &CheckedItem) -> &'static str {
    match (item.item.answer, &item.measured) {
        (Answer::Measured(_), _) => "measured",
        (_, Some(measured)) if measured.status != Status::Unknown => "measured",
        _ => "manual",
    }
}

/// The checklist as JSON (`schema_version` 1).
pub fn json(file: Option<&str>, sections: &[CheckedSection]) -> Result<String, Error> {
    to_json(&JsonChecklist {
        schema_version: 1,
        file,
        sections: sections
            .iter()
            .map(|s| JsonSection {
                id: s.section.id,
                title: s.section.title,
                items: s
                    .items
                    .iter()
                    .map(|i| JsonItem {
                        id: i.item.id,
                        text: &i.text,
                        status: i.status,
                        source: source_name(i),
                        read_from: i.measured.as_ref().map(|m| m.read_from.as_str()),
                        evidence: i.measured.as_ref().map(|m| m.evidence.as_slice()),
                        warnings: i.measured.as_ref().map_or(&[], |m| m.warnings.as_slice()),
                        report_answer: i.contradicts,
                        implied_by: i.implied_by,
                    })
                    .collect(),
            })
            .collect(),
        summary: Summary::of(sections),
    })
}

/// The checklist for people: one block per section, one line per item.
pub fn table(file: Option<&str>, sections: &[CheckedSection], color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Scaling checklist{}",
        file.map_or_else(
            || " (blank: answer it in a report's `checklist:` map)".to_owned(),
            |f| format!(" for {}", crate::escape::line(f))
        )
    );
    let width = sections
        .iter()
        .flat_map(|s| &s.items)
        .map(|i| i.item.id.len())
        .max()
        .unwrap_or(0);
    for section in sections {
        let _ = writeln!(out, "\n{} [{}]", section.section.title, section.section.id);
        for item in &section.items {
            let status = format!("{:<7}", item.status.name());
            let status = if color {
                let code = match item.status {
                    Status::Pass => "32",
                    Status::Fail => "1;31",
                    Status::Unknown => "33",
                    Status::NotApplicable => "2",
                };
                format!("\x1b[{code}m{status}\x1b[0m")
            } else {
                status
            };
            let _ = writeln!(
                out,
                "  {status}  {:<width$}  {}{}",
                item.item.id,
                crate::escape::line(&item.text),
                if source_name(item) == "measured" {
                    " [measured]"
                } else {
                    ""
                }
            );
            let indent = " ".repeat(width + 13);
            if let Some(measured) = &item.measured {
                for line in &measured.evidence {
                    let _ = writeln!(out, "{indent}{}", crate::escape::line(line));
                }
                for line in &measured.warnings {
                    let _ = writeln!(out, "{indent}warning: {}", crate::escape::line(line));
                }
                let _ = writeln!(
                    out,
                    "{indent}read from {}",
                    crate::escape::line(&measured.read_from)
                );
            }
            if let Some(field) = item.implied_by {
                let _ = writeln!(
                    out,
                    "{indent}{}",
                    if item.status == Status::Fail {
                        format!(
                            "conflict: {field} is measured, which implies it; the report answers false, and its answer stands"
                        )
                    } else {
                        format!("implied: {field} is measured")
                    }
                );
            }
            if let Some(done) = item.contradicts {
                let _ = writeln!(
                    out,
                    "{indent}conflict: the report answers {done}; the measurement ({}) wins",
                    item.status.name()
                );
            }
        }
    }
    let summary = Summary::of(sections);
    let _ = writeln!(
        out,
        "\n{} pass, {} fail, {} unknown, {} n/a",
        summary.pass, summary.fail, summary.unknown, summary.not_applicable
    );
    out
}
