//! Markdown for a pull-request comment: the summary first, then each report
//! with its alarms, their remedies, and the next steps.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::table::change_summary;
use super::{Renderer, Run};
use crate::engine::{Severity, cost_range_text, format_dollars, format_value};
use crate::metric::format_count;

/// Renders Markdown.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

/// Text safe inside a Markdown table cell and as inline HTML-free text.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
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

/// The table rows and report sections, within `budget` characters: all of
/// them when they fit; else the failing reports only, as many sections as
/// fit, and a line saying what was left out.
fn fit_comment(rows: &[(bool, String)], sections: &[(bool, String)], budget: usize) -> String {
    let all: String = rows
        .iter()
        .chain(sections)
        .map(|(_, text)| text.as_str())
        .collect();
    if all.chars().count() <= budget {
        return all;
    }
    let passing = rows.iter().filter(|(ok, _)| *ok).count();
    let footer_room = 300;
    // Counted as it grows: counting `out` again for every row or section
    // would take time quadratic in the fleet.
    let mut out = String::new();
    let mut used = 0;
    let mut rows_left_out = 0;
    for (_, row) in rows.iter().filter(|(ok, _)| !ok) {
        let length = row.chars().count();
        if used + length + 2 * footer_room <= budget {
            out.push_str(row);
            used += length;
        } else {
            rows_left_out += 1;
        }
    }
    let before = out.len();
    if passing > 0 {
        let _ = writeln!(
            out,
            "\n{passing} passing reports are not listed, to fit a comment."
        );
    }
    if rows_left_out > 0 {
        let _ = writeln!(
            out,
            "\n{rows_left_out} more failing reports are not listed, to fit a comment."
        );
    }
    used += out[before..].chars().count();
    let mut left_out = 0;
    for (_, section) in sections.iter().filter(|(ok, _)| !ok) {
        let length = section.chars().count();
        if used + length + footer_room <= budget {
            out.push_str(section);
            used += length;
        } else {
            left_out += 1;
        }
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n_{left_out} failing reports are left out to stay under GitHub's 65,536-character limit for a comment; the JSON and SARIF outputs hold them all._"
        );
    }
    out
}

impl Renderer for Markdown {
    fn render(&self, run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
        let mut md = String::new();
        let _ = writeln!(md, "## scalectl: {}\n", run.status_name().to_uppercase());
        let _ = writeln!(md, "{}\n", run.summary());
        let _ = writeln!(md, "{}\n", run.totals().line());
        let baseline = run.gone.is_some();
        let _ = write!(
            md,
            "| report | service | users | stage | recommended | status | spend / month | cost / month |{}\n|---|---|---:|---|---|---|---:|---|{}\n",
            if baseline { " vs baseline |" } else { "" },
            if baseline { "---|" } else { "" },
        );
        // Each row and each section, and whether it is a passing report.
        let mut rows: Vec<(bool, String)> = Vec::new();
        for result in &run.results {
            let mut md = String::new();
            let passing = result
                .as_ref()
                .is_ok_and(|e| e.assessment.status == Severity::Ok);
            match result {
                Ok(entry) => {
                    let a = &entry.assessment;
                    let _ = write!(
                        md,
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
                        let _ = write!(md, " {} |", cell(&change_summary(change)));
                    }
                }
                Err(error) => {
                    let _ = write!(
                        md,
                        "| {} | - | - | - | - | error | - | - |",
                        cell(&error.path)
                    );
                    if baseline {
                        md.push_str(" - |");
                    }
                }
            }
            md.push('\n');
            rows.push((passing, md));
        }
        let mut sections: Vec<(bool, String)> = Vec::new();
        for error in run.errors() {
            let mut md = String::new();
            let _ = writeln!(md, "\n### {}: error\n", cell(&error.path));
            for line in error.to_string().lines() {
                let _ = writeln!(md, "- {}", cell(line));
            }
            sections.push((false, md));
        }
        for entry in run.entries() {
            let mut md = String::new();
            let a = &entry.assessment;
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
                        cell(&format_value(&alarm.metric, alarm.observed)),
                        cell(&format_value(&alarm.metric, alarm.threshold)),
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
            md.push_str("**Next steps**\n\n");
            for (i, step) in a.next_steps.iter().enumerate() {
                let _ = writeln!(md, "{}. {}", i + 1, cell(step));
            }
            sections.push((a.status == Severity::Ok, md));
        }
        md.push_str(&fit_comment(&rows, &sections, MAX_COMMENT_CHARS - md.len()));
        out.write_all(md.as_bytes())
    }
}
