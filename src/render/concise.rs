//! One line per alarm, `path:line:col: severity rule-id message`, as
//! compilers and linters write them: for logs, `grep`, and editors' problem
//! matchers. Failed inputs are lines of their own; a summary closes.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{Entry, Renderer, Run};
use crate::engine::Severity;
use crate::error::FileError;
use crate::escape::line;

/// Renders the concise format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Concise;

impl Renderer for Concise {
    fn render(&self, run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
        lines(&run.results, out)?;
        writeln!(out, "{}", run.summary())
    }
}

/// The lines of these results, in order; the summary line follows them.
pub(super) fn lines(
    results: &[Result<Entry<'_>, FileError>],
    out: &mut dyn Write,
) -> io::Result<()> {
    for result in results {
        match result {
            Ok(entry) => {
                for alarm in &entry.assessment.alarms {
                    writeln!(
                        out,
                        "{}:{}:1: {} {} {}",
                        line(&entry.file),
                        entry.line_of(alarm.metric).unwrap_or(1),
                        alarm.severity,
                        alarm.rule,
                        line(&alarm.message)
                    )?;
                }
                for s in &entry.assessment.suppressed {
                    writeln!(
                        out,
                        "{}:{}:1: note {} suppressed ({}): {}",
                        line(&entry.file),
                        entry.line_of(s.alarm.metric).unwrap_or(1),
                        s.alarm.rule,
                        s.alarm.severity,
                        line(&s.reason)
                    )?;
                }
            }
            Err(error) => {
                for problem in &error.problems {
                    let (row, column) = problem.location.map_or((1, 1), |l| (l.line, l.column));
                    writeln!(
                        out,
                        "{}:{row}:{column}: error invalid-input {}",
                        line(&error.path),
                        crate::escape::echo(&problem.message)
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// Counts per rule and severity across a run, most frequent first, as
/// `--statistics` prints them.
pub fn statistics(run: &Run<'_>) -> String {
    let mut counts: BTreeMap<(Severity, &str), usize> = BTreeMap::new();
    for entry in run.entries() {
        for alarm in &entry.assessment.alarms {
            *counts
                .entry((alarm.severity, alarm.rule.as_str()))
                .or_default() += 1;
        }
    }
    let errors = run.errors().count();
    let mut rows: Vec<(usize, Severity, &str)> = counts
        .into_iter()
        .map(|((severity, rule), count)| (count, severity, rule))
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
    let mut out = String::from("count  severity  rule\n");
    for (count, severity, rule) in rows {
        out.push_str(&format!("{count:>5}  {:<8}  {rule}\n", severity.name()));
    }
    if errors > 0 {
        out.push_str(&format!("{errors:>5}  {:<8}  invalid-input\n", "error"));
    }
    out.push_str(&run.summary());
    out.push('\n');
    out
}
