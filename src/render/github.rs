//! GitHub Actions workflow commands: one annotation per alarm, on the line
//! of the metric in the report file.

use std::io::{self, Write};

use super::{Entry, Renderer, Run};
use crate::engine::Severity;
use crate::error::FileError;

/// Renders GitHub Actions workflow commands.
#[derive(Debug, Clone, Copy, Default)]
pub struct Github;

/// Escapes a workflow command's message. The log is read by people too, so
/// other control characters are escaped as in every human output.
fn data(text: &str) -> String {
    let escaped = text
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    crate::escape::line(&escaped).into_owned()
}

/// Escapes a workflow command's property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

fn annotation(
    out: &mut dyn Write,
    level: &str,
    file: &str,
    line: Option<usize>,
    title: &str,
    message: &str,
) -> io::Result<()> {
    let mut props = format!("file={}", property(file));
    if let Some(line) = line {
        props.push_str(&format!(",line={line}"));
    }
    props.push_str(&format!(",title={}", property(title)));
    writeln!(out, "::{level} {props}::{}", data(message))
}

impl Renderer for Github {
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
                    let level = match alarm.severity {
                        Severity::Critical | Severity::Unknown => "error",
                        _ => "warning",
                    };
                    annotation(
                        out,
                        level,
                        &entry.file,
                        entry.line_of(alarm.metric),
                        &format!("scalectl {} ({})", alarm.rule, alarm.severity),
                        &format!("{}. {}", alarm.message, alarm.remedy),
                    )?;
                }
                for s in &entry.assessment.suppressed {
                    annotation(
                        out,
                        "notice",
                        &entry.file,
                        entry.line_of(s.alarm.metric),
                        &format!("scalectl {} (suppressed)", s.alarm.rule),
                        &format!("{}. Suppressed: {}", s.alarm.message, s.reason),
                    )?;
                }
            }
            Err(error) => {
                for problem in &error.problems {
                    annotation(
                        out,
                        "error",
                        &error.path,
                        problem.location.map(|l| l.line),
                        "scalectl: invalid input",
                        &problem.message,
                    )?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_messages_and_properties() {
        assert_eq!(data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
