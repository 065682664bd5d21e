//! SARIF 2.1.0: the rules, and one result per alarm at the metric's line.

use std::io::{self, Write};

use serde::Serialize;

use super::{Renderer, Run};
use crate::engine::{BUILTIN_ALARMS, Severity};

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

/// A relative path as a URI reference: `/`-separated, percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.replace('\\', "/").bytes() {
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
        let mut rules: Vec<Rule<'_>> = run
            .ladder
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
        let mut results = Vec::new();
        for entry in run.entries() {
            for alarm in &entry.assessment.alarms {
                let rule_index = rules.iter().position(|r| r.id == alarm.rule).unwrap_or(0);
                results.push(SarifResult {
                    rule_id: alarm.rule.clone(),
                    rule_index,
                    level: match alarm.severity {
                        Severity::Critical | Severity::Unknown => "error",
                        _ => "warning",
                    },
                    message: Text {
                        text: format!("{}: {}", entry.name(), alarm.message),
                    },
                    locations: vec![location(&entry.file, entry.line_of(&alarm.metric))],
                    suppressions: Vec::new(),
                });
            }
            for s in &entry.assessment.suppressed {
                let alarm = &s.alarm;
                results.push(SarifResult {
                    rule_id: alarm.rule.clone(),
                    rule_index: rules.iter().position(|r| r.id == alarm.rule).unwrap_or(0),
                    level: match alarm.severity {
                        Severity::Critical | Severity::Unknown => "error",
                        _ => "warning",
                    },
                    message: Text {
                        text: format!("{}: {}", entry.name(), alarm.message),
                    },
                    locations: vec![location(&entry.file, entry.line_of(&alarm.metric))],
                    suppressions: vec![Suppression {
                        kind: "external",
                        justification: s.reason.clone(),
                    }],
                });
            }
        }
        let notifications: Vec<Notification> = run
            .errors()
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
                }],
                results,
            }],
        };
        serde_json::to_writer_pretty(&mut *out, &log)?;
        out.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("reports/api.yaml"), "reports/api.yaml");
        assert_eq!(uri("a<b&\"c\".yaml"), "a%3Cb%26%22c%22.yaml");
        assert_eq!(uri("dir\\x y.json"), "dir/x%20y.json");
    }
}
