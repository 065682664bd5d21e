//! Markdown for a pull-request comment: the summary first, then each report
//! with its alarms, their remedies, and the next steps.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::table::change_summary;
use super::{Entry, Renderer, Run};
use crate::engine::{Severity, cost_range_text, format_dollars, format_value};
use crate::error::FileError;
use crate::metric::format_count;

/// Renders Markdown.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

/// Text safe inside a Markdown table cell and as inline HTML-free text.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous = ' ';
    for c in text.chars() {
        let before = std::mem::replace(&mut previous, c);
        match c {
            // `@name` would mention (and notify) someone in a PR comment: an
            // empty HTML comment after the `@` keeps it text.
            '@' if !before.is_alphanumeric() => out.push_str("@<!-- -->"),
            // Bidirectional controls would reorder what reviewers read.
            c if crate::escape::is_unsafe(c) && !c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '`' | '*' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// GitHub's limit for a pull-request comment, in characters, less room for
/// whatever wraps it.
const MAX_COMMENT_CHARS: usize = 65_000;

/// What to write of the rows and sections: every one when all fit in the
/// budget; else the failing ones that fit, with notes on what was left out.
pub(crate) struct Plan {
    /// For each row, whether it is written.
    rows: Vec<bool>,
    /// The notes between the rows and the sections.
    notes: String,
    /// For each section, whether it is written.
    sections: Vec<bool>,
    /// The line after the sections.
    after: String,
}

/// The plan for rows and sections of these lengths, in characters, each
/// with whether it is a passing report, within `budget` characters.
pub(crate) fn plan(rows: &[(bool, usize)], sections: &[(bool, usize)], budget: usize) -> Plan {
    let total: usize = rows.iter().chain(sections).map(|(_, length)| length).sum();
    if total <= budget {
        return Plan {
            rows: vec![true; rows.len()],
            notes: String::new(),
            sections: vec![true; sections.len()],
            after: String::new(),
        };
    }
    let passing = rows.iter().filter(|(ok, _)| *ok).count();
    let footer_room = 300;
    let mut used = 0;
    let (rows, rows_left_out) =
        failing_that_fit(rows, &mut used, budget.saturating_sub(2 * footer_room));
    let mut notes = String::new();
    if passing > 0 {
        let _ = writeln!(
            notes,
            "\n{passing} passing reports are not listed, to fit a comment."
        );
    }
    if rows_left_out > 0 {
        let _ = writeln!(
            notes,
            "\n{rows_left_out} more failing reports are not listed, to fit a comment."
        );
    }
    used += notes.chars().count();
    let (sections, left_out) =
        failing_that_fit(sections, &mut used, budget.saturating_sub(footer_room));
    let mut after = String::new();
    if left_out > 0 {
        let _ = writeln!(
            after,
            "\n_{left_out} failing reports are left out to stay under GitHub's 65,536-character limit for a comment; the JSON and SARIF outputs hold them all._"
        );
    }
    Plan {
        rows,
        notes,
        sections,
        after,
    }
}

/// Which of these items, each `(passing, length)`, are written: the
/// failing ones, in order, while `used` stays within `limit`; and how many
/// failing ones were left out.
fn failing_that_fit(items: &[(bool, usize)], used: &mut usize, limit: usize) -> (Vec<bool>, usize) {
    let mut left_out = 0;
    let kept = items
        .iter()
        .map(|&(passing, length)| {
            if passing {
                false
            } else if *used + length <= limit {
                *used += length;
                true
            } else {
                left_out += 1;
                false
            }
        })
        .collect();
    (kept, left_out)
}

impl Plan {
    /// Writes the planned rows and sections, given in order by `rows` and
    /// `sections` (all of them; those left out are skipped).
    pub(crate) fn write<'t>(
        &self,
        out: &mut dyn Write,
        rows: &mut dyn Iterator<Item = io::Result<Cow<'t, [u8]>>>,
        sections: &mut dyn Iterator<Item = io::Result<Cow<'t, [u8]>>>,
    ) -> io::Result<()> {
        for (row, keep) in rows.zip(&self.rows) {
            let row = row?;
            if *keep {
                out.write_all(&row)?;
            }
        }
        out.write_all(self.notes.as_bytes())?;
        for (section, keep) in sections.zip(&self.sections) {
            let section = section?;
            if *keep {
                out.write_all(&section)?;
            }
        }
        out.write_all(self.after.as_bytes())
    }
}

/// The comment's head: the status, counts, totals and the table's header.
pub(crate) fn head(status: &str, counts: &str, totals: &str, baseline: bool) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## scalectl: {}\n", status.to_uppercase());
    let _ = writeln!(md, "{}\n", counts.replace('\n', "\n\n"));
    let _ = writeln!(md, "{totals}\n");
    let _ = write!(
        md,
        "| report | service | users | stage | recommended | status | spend / month | cost / month |{}\n|---|---|---:|---|---|---|---:|---|{}\n",
        if baseline { " vs baseline |" } else { "" },
        if baseline { "---|" } else { "" },
    );
    md
}

/// The characters left for rows and sections after `head`.
pub(crate) fn budget(head: &str) -> usize {
    MAX_COMMENT_CHARS.saturating_sub(head.len())
}

/// One result's table row and section.
pub(crate) struct Parts {
    /// A report whose status is ok.
    pub passing: bool,
    /// An input that could not be read: its section comes before the reports'.
    pub error: bool,
    /// Its row of the table.
    pub row: String,
    /// Its section.
    pub section: String,
}

/// The row and section of one result.
pub(crate) fn parts(result: &Result<Entry<'_>, FileError>, baseline: bool) -> Parts {
    let mut row = String::new();
    let mut md = String::new();
    match result {
        Ok(entry) => {
            let a = &entry.assessment;
            let _ = write!(
                row,
                "| {} | {} | {} | {} {} | {} {} | {} | {} | {} |",
                cell(&entry.file),
                cell(a.service.as_deref().unwrap_or("-")),
                format_count(a.users),
                a.stage.id,
                cell(&a.stage.name),
                a.recommended_stage.id,
                cell(&a.recommended_stage.name),
                a.status,
                a.monthly_cost_usd.map_or_else(
                    || "-".to_owned(),
                    |spend| format!("${}", format_dollars(spend))
                ),
                cost_range_text(a.recommended_stage),
            );
            if let Some(change) = &entry.change {
                let _ = write!(row, " {} |", cell(&change_summary(change)));
            }
            let _ = writeln!(
                md,
                "\n### {} ({}): {}\n",
                cell(entry.name()),
                cell(&entry.file),
                a.status
            );
            let _ = writeln!(
                md,
                "Stage {} {} at {} users; recommended: stage {} {}, {}/month. {}.\n",
                a.stage.id,
                cell(&a.stage.name),
                format_count(a.users),
                a.recommended_stage.id,
                cell(&a.recommended_stage.name),
                cost_range_text(a.recommended_stage),
                cell(&a.reason)
            );
            if !a.alarms.is_empty() {
                md.push_str("| severity | rule | observed | threshold | message |\n|---|---|---:|---:|---|\n");
                for alarm in &a.alarms {
                    let _ = writeln!(
                        md,
                        "| {} | {} | {} | {} | {} |",
                        alarm.severity,
                        cell(&alarm.rule),
                        cell(&format_value(alarm.metric, alarm.observed)),
                        cell(&format_value(alarm.metric, alarm.threshold)),
                        cell(&alarm.message)
                    );
                }
                md.push_str("\n**Remedies**\n\n");
                for alarm in &a.alarms {
                    let _ = writeln!(md, "- **{}**: {}", cell(&alarm.rule), cell(&alarm.remedy));
                }
            }
            if !a.suppressed.is_empty() {
                md.push_str("\n**Suppressed**\n\n");
                for s in &a.suppressed {
                    let _ = writeln!(
                        md,
                        "- {} ({}): {}",
                        cell(&s.alarm.rule),
                        s.alarm.severity,
                        cell(&s.reason)
                    );
                }
                md.push('\n');
            }
            let d = &a.decision;
            if !d.conditions.is_empty() {
                if !md.ends_with("\n\n") {
                    md.push('\n');
                }
                let _ = writeln!(
                    md,
                    "**Move to stage {}**: {} (trigger {})\n",
                    d.move_to.map_or(0, |s| s.id),
                    d.action.name(),
                    cell(d.trigger.map_or("-", |t| t.id.as_str()))
                );
                for check in &d.conditions {
                    let _ = writeln!(
                        md,
                        "- [{}] {}",
                        if check.held { "x" } else { " " },
                        cell(&crate::engine::condition_text(check, d.move_to))
                    );
                }
                md.push('\n');
            }
            if !md.ends_with("\n\n") {
                md.push('\n');
            }
            md.push_str("**Next steps**\n\n");
            for (i, step) in a.next_steps.iter().enumerate() {
                let _ = writeln!(md, "{}. {}", i + 1, cell(step));
            }
        }
        Err(error) => {
            let _ = write!(
                row,
                "| {} | - | - | - | - | error | - | - |",
                cell(&error.path)
            );
            if baseline {
                row.push_str(" - |");
            }
            let _ = writeln!(md, "\n### {}: error\n", cell(&error.path));
            for line in error.to_string().lines() {
                let _ = writeln!(md, "- {}", cell(line));
            }
        }
    }
    row.push('\n');
    Parts {
        passing: result
            .as_ref()
            .is_ok_and(|e| e.assessment.status == Severity::Ok),
        error: result.is_err(),
        row,
        section: md,
    }
}

impl Renderer for Markdown {
    fn render(&self, run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
        let baseline = run.gone.is_some();
        let head = head(
            run.status_name(),
            &run.summary(),
            &run.totals().line(),
            baseline,
        );
        let parts: Vec<Parts> = run.results.iter().map(|r| parts(r, baseline)).collect();
        // The inputs that could not be read come first among the sections.
        let sections: Vec<&Parts> = parts
            .iter()
            .filter(|p| p.error)
            .chain(parts.iter().filter(|p| !p.error))
            .collect();
        let plan = plan(
            &parts
                .iter()
                .map(|p| (p.passing, p.row.chars().count()))
                .collect::<Vec<_>>(),
            &sections
                .iter()
                .map(|p| (p.passing, p.section.chars().count()))
                .collect::<Vec<_>>(),
            budget(&head),
        );
        out.write_all(head.as_bytes())?;
        plan.write(
            out,
            &mut parts.iter().map(|p| Ok(Cow::Borrowed(p.row.as_bytes()))),
            &mut sections
                .iter()
                .map(|p| Ok(Cow::Borrowed(p.section.as_bytes()))),
        )
    }
}
