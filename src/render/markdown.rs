//! Markdown for a pull-request comment: the summary first, then each report
//! with its alarms, their remedies, and the next steps.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::table::change_summary;
use super::{Renderer, Run};
use crate::engine::{cost_range_text, format_dollars, format_value};
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
        for result in &run.results {
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
        }
        for error in run.errors() {
            let _ = writeln!(md, "\n### {}: error\n", cell(&error.path));
            for line in error.to_string().lines() {
                let _ = writeln!(md, "- {}", cell(line));
            }
        }
        for entry in run.entries() {
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
                md.push('\n');
            }
            md.push_str("**Next steps**\n\n");
            for (i, step) in a.next_steps.iter().enumerate() {
                let _ = writeln!(md, "{}. {}", i + 1, cell(step));
            }
        }
        out.write_all(md.as_bytes())
    }
}
