//! JUnit XML: one test suite per report, one test case per rule evaluated,
//! a failure for each alarm that fails the gate.

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesStart, BytesText, Event};

use super::{Entry, Renderer, Run};
use crate::error::FileError;

/// Renders JUnit XML.
#[derive(Debug, Clone, Copy, Default)]
pub struct Junit;

/// Text with the characters that XML 1.0 cannot hold, even escaped, replaced.
fn xml_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// What one result adds to the head: tests, failures, errors.
pub(crate) fn counts(run: &Run<'_>, result: &Result<Entry<'_>, FileError>) -> [usize; 3] {
    match result {
        Ok(entry) => [entry.assessment.evaluated.len(), failures(run, entry), 0],
        Err(_) => [1, 0, 1],
    }
}

fn failures(run: &Run<'_>, entry: &Entry<'_>) -> usize {
    entry
        .assessment
        .alarms
        .iter()
        .filter(|alarm| run.fails(entry, alarm))
        .count()
}

impl Renderer for Junit {
    fn render(&self, run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
        let mut total = [0; 3];
        for result in &run.results {
            for (sum, count) in total.iter_mut().zip(counts(run, result)) {
                *sum += count;
            }
        }
        write_head(out, total)?;
        for result in &run.results {
            out.write_all(&suite_piece(run, result)?)?;
        }
        write_tail(out)
    }
}

/// The declaration and the `<testsuites>` start tag with the run's tests,
/// failures and errors.
pub(crate) fn write_head(
    out: &mut dyn Write,
    [tests, failures, errors]: [usize; 3],
) -> io::Result<()> {
    let mut writer = Writer::new_with_indent(out, b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer.write_event(Event::Start(BytesStart::new("testsuites").with_attributes(
        [
            ("name", "scalectl"),
            ("tests", tests.to_string().as_str()),
            ("failures", failures.to_string().as_str()),
            ("errors", errors.to_string().as_str()),
        ],
    )))?;
    Ok(())
}

/// The end of the document, after the last suite.
pub(crate) fn write_tail(out: &mut dyn Write) -> io::Result<()> {
    out.write_all(b"\n</testsuites>\n")
}

/// One result's `<testsuite>`, indented as inside `<testsuites>`, with the
/// line break before it.
pub(crate) fn suite_piece(
    run: &Run<'_>,
    result: &Result<Entry<'_>, FileError>,
) -> io::Result<Vec<u8>> {
    // The writer indents by the elements it has opened: it opens
    // `<testsuites>` while its output is dropped, so the suite is written
    // one level in.
    let mut w = Writer::new_with_indent(
        Gated {
            out: Vec::new(),
            open: false,
        },
        b' ',
        2,
    );
    w.write_event(Event::Start(BytesStart::new("testsuites")))?;
    w.get_mut().open = true;
    match result {
        Ok(entry) => suite(&mut w, run, entry)?,
        Err(error) => error_suite(&mut w, error)?,
    }
    Ok(w.into_inner().out)
}

/// A writer that drops what it is given until it is opened.
struct Gated {
    out: Vec<u8>,
    open: bool,
}

impl Write for Gated {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.open {
            self.out.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn error_suite<W: Write>(w: &mut Writer<W>, error: &FileError) -> io::Result<()> {
    let path = xml_text(&error.path);
    let message = xml_text(&error.to_string());
    w.create_element("testsuite")
        .with_attributes([
            ("name", path.as_str()),
            ("tests", "1"),
            ("failures", "0"),
            ("errors", "1"),
            ("skipped", "0"),
        ])
        .write_inner_content(|w| {
            w.create_element("testcase")
                .with_attributes([("name", "read report"), ("classname", path.as_str())])
                .write_inner_content(|w| {
                    w.create_element("error")
                        .with_attributes([("message", message.as_str()), ("type", "invalid-input")])
                        .write_text_content(BytesText::new(&message))?;
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

/// Evaluated checks whose alarm is suppressed: reported as skipped.
fn skipped(entry: &Entry<'_>) -> usize {
    let a = &entry.assessment;
    a.evaluated
        .iter()
        .filter(|rule| {
            !a.alarms.iter().any(|alarm| &alarm.rule == *rule)
                && a.suppressed.iter().any(|s| &s.alarm.rule == *rule)
        })
        .count()
}

fn suite<W: Write>(w: &mut Writer<W>, run: &Run<'_>, entry: &Entry<'_>) -> io::Result<()> {
    let a = &entry.assessment;
    let name = xml_text(entry.name());
    let file = xml_text(&entry.file);
    w.create_element("testsuite")
        .with_attributes([
            ("name", name.as_str()),
            ("tests", a.evaluated.len().to_string().as_str()),
            ("failures", failures(run, entry).to_string().as_str()),
            ("errors", "0"),
            ("skipped", skipped(entry).to_string().as_str()),
        ])
        .write_inner_content(|w| {
            w.create_element("properties").write_inner_content(|w| {
                for (key, value) in [
                    ("file", file.clone()),
                    ("users", a.users.to_string()),
                    (
                        "stage",
                        format!("{} {}", a.stage.id, xml_text(&a.stage.name)),
                    ),
                    (
                        "recommended_stage",
                        format!(
                            "{} {}",
                            a.recommended_stage.id,
                            xml_text(&a.recommended_stage.name)
                        ),
                    ),
                    ("status", a.status.name().to_owned()),
                ] {
                    w.create_element("property")
                        .with_attributes([("name", key), ("value", value.as_str())])
                        .write_empty()?;
                }
                // A policy that is not the default (a config file's
                // `fail-on = "never"`) is shown with every suite it judged.
                if let Some(policy) = run.policy_line() {
                    w.create_element("property")
                        .with_attributes([
                            ("name", "policy"),
                            ("value", xml_text(&policy).as_str()),
                        ])
                        .write_empty()?;
                }
                Ok(())
            })?;
            for rule in &a.evaluated {
                let alarm = a.alarms.iter().find(|alarm| &alarm.rule == rule);
                let case = w.create_element("testcase").with_attributes([
                    ("name", xml_text(rule).as_str()),
                    ("classname", name.as_str()),
                ]);
                match alarm {
                    Some(alarm) if run.fails(entry, alarm) => {
                        let message = xml_text(&alarm.message);
                        let body = xml_text(&alarm.remedy);
                        case.write_inner_content(|w| {
                            w.create_element("failure")
                                .with_attributes([
                                    ("message", message.as_str()),
                                    ("type", alarm.severity.name()),
                                ])
                                .write_text_content(BytesText::new(&body))?;
                            Ok(())
                        })?;
                    }
                    Some(alarm) => {
                        let text = xml_text(&format!("{}: {}", alarm.severity, alarm.message));
                        case.write_inner_content(|w| {
                            w.create_element("system-out")
                                .write_text_content(BytesText::new(&text))?;
                            Ok(())
                        })?;
                    }
                    None => match a.suppressed.iter().find(|s| &s.alarm.rule == rule) {
                        Some(suppressed) => {
                            let reason = xml_text(&format!("suppressed: {}", suppressed.reason));
                            case.write_inner_content(|w| {
                                w.create_element("skipped")
                                    .with_attributes([("message", reason.as_str())])
                                    .write_empty()?;
                                Ok(())
                            })?;
                        }
                        None => {
                            case.write_empty()?;
                        }
                    },
                }
            }
            Ok(())
        })?;
    Ok(())
}
