//! SARIF 2.1.0: the rules, and one result per alarm at the metric's line.

use std::io::{self, Write};

use serde::Serialize;

use super::{Entry, Renderer, Run, json};
use crate::engine::{Alarm, BUILTIN_ALARMS, Severity};
use crate::error::FileError;
use crate::ladder::Ladder;

/// Renders SARIF 2.1.0.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sarif;

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [SarifRun<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRun<'a> {
    tool: Tool<'a>,
    invocations: [Invocation; 1],
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    information_uri: &'static str,
    rules: Vec<Rule<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    id: &'a str,
    short_description: Text,
    full_description: Text,
    help: Text,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    tool_execution_notifications: Vec<Notification>,
    /// The gate's policy (`policy`: its settings and where each came from).
    properties: InvocationProperties,
}

#[derive(Serialize)]
struct InvocationProperties {
    policy: serde_json::Value,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    justification: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
}

/// A relative path as a URI reference: `/`-separated, percent-encoded. A
/// backslash separates directories on Windows only; elsewhere it is a
/// character of a file name, encoded like any other (so that
/// `x\..\..\deploy.yml` cannot name a file two directories up).
fn uri(path: &str) -> String {
    #[cfg(windows)]
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn location(file: &str, line: Option<usize>) -> Location {
    Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation { uri: uri(file) },
            region: line.map(|start_line| Region { start_line }),
        },
    }
}

impl Renderer for Sarif {
    fn render(&self, run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
        let errors: Vec<&FileError> = run.errors().collect();
        let (head, tail) = frame(run.ladder, &errors, super::json::policy_value(run)?)?;
        out.write_all(&head)?;
        let mut any = false;
        for entry in run.entries() {
            let piece = results_piece(run.ladder, entry)?;
            super::write_items(out, &piece, &mut any)?;
        }
        write_end(out, any, &tail)
    }
}

/// The text around the `results` array, which ends the log: up to its `[`,
/// and from its `]`. The head names every rule and holds the inputs that
/// could not be read.
pub(crate) fn frame(
    ladder: &Ladder,
    errors: &[&FileError],
    policy: serde_json::Value,
) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut rules: Vec<Rule<'_>> = ladder
        .rules()
        .iter()
        .map(|rule| Rule {
            id: &rule.id,
            short_description: Text {
                text: rule.title.clone(),
            },
            full_description: Text {
                text: rule.rationale.clone().unwrap_or_else(|| rule.title.clone()),
            },
            help: Text {
                text: rule.remedy.clone(),
            },
        })
        .collect();
    rules.extend(BUILTIN_ALARMS.iter().map(|&(id, text)| Rule {
        id,
        short_description: Text {
            text: id.replace('-', " "),
        },
        full_description: Text {
            text: text.to_owned(),
        },
        help: Text {
            text: text.to_owned(),
        },
    }));
    let notifications: Vec<Notification> = errors
        .iter()
        .flat_map(|error| {
            error.problems.iter().map(|problem| Notification {
                level: "error",
                message: Text {
                    text: problem.message.clone(),
                },
                locations: vec![location(&error.path, problem.location.map(|l| l.line))],
            })
        })
        .collect();
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [SarifRun {
            tool: Tool {
                driver: Driver {
                    name: "scalectl",
                    version: env!("CARGO_PKG_VERSION"),
                    information_uri: "https://crates.io/crates/scalectl",
                    rules,
                },
            },
            invocations: [Invocation {
                execution_successful: notifications.is_empty(),
                tool_execution_notifications: notifications,
                properties: InvocationProperties { policy },
            }],
            results: Vec::new(),
        }],
    };
    let mut text = serde_json::to_vec_pretty(&log)?;
    text.push(b'\n');
    // `results` is the last field of the only run: its `[]` is the last in
    // the text.
    let at = text
        .windows(2)
        .rposition(|pair| pair == b"[]")
        .ok_or_else(|| io::Error::other("the SARIF log has no results array"))?;
    let tail = text.split_off(at + 1);
    Ok((text, tail))
}

/// Where a result of the `results` array starts.
const RESULT_SEPARATOR: &[u8] = b",\n        ";

/// One report's results, each after [`RESULT_SEPARATOR`], indented as in the log.
pub(crate) fn results_piece(ladder: &Ladder, entry: &Entry<'_>) -> io::Result<Vec<u8>> {
    let rule_index = |id: &str| {
        ladder
            .rules()
            .iter()
            .map(|rule| rule.id.as_str())
            .chain(BUILTIN_ALARMS.iter().map(|&(id, _)| id))
            .position(|rule| rule == id)
            .unwrap_or(0)
    };
    let result = |alarm: &Alarm, suppressions: Vec<Suppression>| SarifResult {
        rule_id: alarm.rule.clone(),
        rule_index: rule_index(&alarm.rule),
        level: match alarm.severity {
            Severity::Critical | Severity::Unknown => "error",
            _ => "warning",
        },
        message: Text {
            text: format!("{}: {}", entry.name(), alarm.message),
        },
        locations: vec![location(&entry.file, entry.line_of(alarm.metric))],
        suppressions,
    };
    let a = &entry.assessment;
    let results = a
        .alarms
        .iter()
        .map(|alarm| result(alarm, Vec::new()))
        .chain(a.suppressed.iter().map(|s| {
            result(
                &s.alarm,
                vec![Suppression {
                    kind: "external",
                    justification: s.reason.clone(),
                }],
            )
        }));
    let mut out = Vec::new();
    for result in results {
        out.extend_from_slice(RESULT_SEPARATOR);
        json::pretty_into(&mut out, &result, 4)?;
    }
    Ok(out)
}

/// Closes the `results` array (`any`: it holds results) and the log.
pub(crate) fn write_end(out: &mut dyn Write, any: bool, tail: &[u8]) -> io::Result<()> {
    if any {
        out.write_all(b"\n      ")?;
    }
    out.write_all(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("reports/api.yaml"), "reports/api.yaml");
        assert_eq!(uri("a<b&\"c\".yaml"), "a%3Cb%26%22c%22.yaml");
        #[cfg(not(windows))]
        {
            assert_eq!(uri("dir\\x y.json"), "dir%5Cx%20y.json");
            assert_eq!(
                uri("e/x\\..\\..\\.github\\workflows\\deploy.yml"),
                "e/x%5C..%5C..%5C.github%5Cworkflows%5Cdeploy.yml"
            );
        }
        #[cfg(windows)]
        assert_eq!(uri("dir\\x y.json"), "dir/x%20y.json");
    }
}
