//! The JSON report: a contract for scripts (`schema_version` 1).

use serde::Serialize;
use serde_json::value::RawValue;

use std::io::{self, Write};

use super::{Entry, Renderer, Run};
use crate::baseline::ReportChange;
use crate::engine::{
    Action, Alarm, Bottleneck, Decision, DeltaRange, ItemState, Need, Severity, Suppressed, WhatIf,
};
use crate::error::Error;
use crate::ladder::{CostRange, Ladder, Stage};
use crate::parallel;

/// The version of the JSON report format.
pub const SCHEMA_VERSION: u32 = 1;

/// Renders the JSON report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

#[derive(Serialize)]
struct JsonReport<'a> {
    file: &'a str,
    service: Option<&'a str>,
    users: u64,
    monthly_cost_usd: Option<f64>,
    cost_delta_usd_month: Option<DeltaRange>,
    stage: &'a RawValue,
    current_stage: Option<&'a RawValue>,
    recommended_stage: &'a RawValue,
    next_stage: Option<&'a RawValue>,
    reason: &'a str,
    decision: JsonDecision<'a>,
    alarms: &'a [Alarm],
    suppressed: &'a [Suppressed],
    missing_metrics: &'a [&'static str],
    measured: &'a std::collections::BTreeMap<&'static str, f64>,
    next_steps: &'a [String],
    status: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<&'a ReportChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    what_if: Option<&'a WhatIf>,
}

/// What the advice comes to, and the conditions of the move it weighed.
#[derive(Serialize)]
struct JsonDecision<'a> {
    /// `stay`, `move`, `fix-first`, `relieve` or `simplify`.
    action: Action,
    /// The trigger of the architecture in use that fired.
    trigger: Option<&'a str>,
    /// The stage id a move goes to (due, or once its conditions hold).
    move_to: Option<u32>,
    /// Where the measurements put the bottleneck.
    bottleneck: Option<Bottleneck>,
    /// The conditions of the move, each with whether it held.
    conditions: Vec<JsonCondition<'a>>,
}

#[derive(Serialize)]
struct JsonCondition<'a> {
    id: &'static str,
    need: Need,
    held: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    observed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    threshold: Option<f64>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    items: std::collections::BTreeMap<&'a str, ItemState>,
}

impl<'a> JsonDecision<'a> {
    fn new(decision: &'a Decision<'a>) -> Self {
        Self {
            action: decision.action,
            trigger: decision.trigger.map(|rule| rule.id.as_str()),
            move_to: decision.move_to.map(|stage| stage.id),
            bottleneck: decision.bottleneck,
            conditions: decision
                .conditions
                .iter()
                .map(|check| JsonCondition {
                    id: check.id.id(),
                    need: check.need,
                    held: check.held,
                    observed: check.observed,
                    threshold: check.threshold,
                    items: check
                        .items
                        .iter()
                        .map(|(id, state)| (id.as_str(), *state))
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The gate's policy as JSON: each setting with where it came from, and the
/// files `exclude` removed.
#[derive(Serialize)]
pub(crate) struct JsonPolicy<'a> {
    config: Option<&'a str>,
    fail_on: &'static str,
    fail_on_from: super::From,
    allow_unmeasured: bool,
    allow_unmeasured_from: super::From,
    select: &'a [String],
    select_from: super::From,
    excluded: &'a [String],
}

impl<'a> JsonPolicy<'a> {
    pub(crate) fn new(run: &'a Run<'_>) -> Self {
        let p = &run.policy;
        Self {
            config: p.config.as_deref(),
            fail_on: run.fail_on.name(),
            fail_on_from: p.fail_on_from,
            allow_unmeasured: run.allow_unmeasured,
            allow_unmeasured_from: p.allow_unmeasured_from,
            select: &p.select,
            select_from: p.select_from,
            excluded: &p.excluded,
        }
    }
}

/// The policy as a JSON value, for formats that carry it as a property.
pub(crate) fn policy_value(run: &Run<'_>) -> io::Result<serde_json::Value> {
    Ok(serde_json::to_value(JsonPolicy::new(run))?)
}

#[derive(Serialize)]
struct JsonError<'a> {
    file: &'a str,
    message: String,
}

/// A stage as it appears in JSON output.
#[derive(Debug, Serialize)]
pub struct JsonStage<'a> {
    id: u32,
    name: &'a str,
    users_min: u64,
    users_max: Option<u64>,
    cost_usd_month: CostRange,
    architecture: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale_when: Option<&'a [String]>,
}

impl<'a> JsonStage<'a> {
    /// The stage as in `assess` output.
    pub fn new(stage: &'a Stage) -> Self {
        Self {
            id: stage.id,
            name: &stage.name,
            users_min: stage.users_min,
            users_max: stage.users_max,
            cost_usd_month: stage.cost_usd_month,
            architecture: &stage.architecture,
            database: None,
            team: None,
            scale_when: None,
        }
    }

    /// The stage with its database strategy, team and `scale_when` triggers,
    /// as in `stages` output.
    pub fn with_triggers(stage: &'a Stage) -> Self {
        Self {
            database: Some(&stage.database),
            team: Some(&stage.team),
            scale_when: Some(&stage.scale_when),
            ..Self::new(stage)
        }
    }
}

/// Each stage of a ladder as a report shows it, serialized once for every
/// report: pretty at its depth in the `reports` array, and compact.
pub(crate) struct Stages {
    pretty: Vec<(u32, Box<RawValue>)>,
    compact: Vec<(u32, Box<RawValue>)>,
}

/// The depth of a report's stages in the JSON report.
const STAGE_DEPTH: usize = 3;

impl Stages {
    /// The stages of `ladder`.
    pub(crate) fn new(ladder: &Ladder) -> io::Result<Self> {
        let raw = |bytes: Vec<u8>| {
            String::from_utf8(bytes)
                .map_err(io::Error::other)
                .and_then(|text| RawValue::from_string(text).map_err(io::Error::from))
        };
        let mut stages = Self {
            pretty: Vec::new(),
            compact: Vec::new(),
        };
        for stage in ladder.stages() {
            let json = JsonStage::new(stage);
            stages
                .pretty
                .push((stage.id, raw(pretty(&json, STAGE_DEPTH)?)?));
            stages
                .compact
                .push((stage.id, raw(serde_json::to_vec(&json)?)?));
        }
        Ok(stages)
    }

    fn of<'s>(all: &'s [(u32, Box<RawValue>)], stage: &Stage) -> &'s RawValue {
        all.iter()
            .find(|(id, _)| *id == stage.id)
            .map(|(_, json)| &**json)
            .unwrap_or_else(|| unreachable!("an assessment's stages are its ladder's"))
    }
}

impl<'a> JsonReport<'a> {
    fn new(entry: &'a Entry<'a>, stages: &'a [(u32, Box<RawValue>)]) -> Self {
        let a = &entry.assessment;
        let stage = |stage| Stages::of(stages, stage);
        JsonReport {
            file: &entry.file,
            service: a.service.as_deref(),
            users: a.users,
            monthly_cost_usd: a.monthly_cost_usd,
            cost_delta_usd_month: a.cost_delta_usd_month,
            stage: stage(a.stage),
            current_stage: a.current_stage.map(stage),
            recommended_stage: stage(a.recommended_stage),
            next_stage: a.next_stage.map(stage),
            reason: &a.reason,
            decision: JsonDecision::new(&a.decision),
            alarms: &a.alarms,
            suppressed: &a.suppressed,
            missing_metrics: &a.missing_metrics,
            measured: &a.measured,
            next_steps: &a.next_steps,
            status: a.status,
            baseline: entry.change.as_ref(),
            what_if: entry.what_if.as_ref(),
        }
    }
}

/// Reports serialized per thread above this many; below, threads cost more than they save.
const PARALLEL_FROM: usize = 256;

/// Reports serialized, written and dropped at a time, which bounds memory for large fleets.
const BATCH: usize = 1024;

/// Pretty JSON of `value`, every line after the first indented by `levels`
/// steps: serde_json's pretty layout, written at the depth where the value
/// sits in the document instead of re-indented afterwards.
pub(crate) fn pretty(value: &impl Serialize, levels: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    pretty_into(&mut out, value, levels)?;
    Ok(out)
}

/// [`pretty`], appended to `out`.
pub(crate) fn pretty_into(
    out: &mut Vec<u8>,
    value: &impl Serialize,
    levels: usize,
) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(
        out,
        Indented {
            depth: levels,
            has_value: false,
        },
    );
    Ok(value.serialize(&mut serializer)?)
}

/// serde_json's [`serde_json::ser::PrettyFormatter`] with two-space steps,
/// starting `depth` steps in.
struct Indented {
    depth: usize,
    has_value: bool,
}

impl Indented {
    fn newline<W: ?Sized + Write>(&self, writer: &mut W, comma: bool) -> io::Result<()> {
        const SPACES: &[u8; 64] = &[b' '; 64];
        writer.write_all(if comma { b",\n" } else { b"\n" })?;
        let mut width = self.depth * 2;
        while width > 0 {
            let step = width.min(SPACES.len());
            writer.write_all(&SPACES[..step])?;
            width -= step;
        }
        Ok(())
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(writer, false)?;
        }
        writer.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for Indented {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.newline(writer, !first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.newline(writer, !first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// One report of the `reports` array at its depth in the document, after
/// its comma (see [`super::write_items`]).
pub(crate) fn report(entry: &Entry<'_>, stages: &Stages) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(REPORT_CAPACITY);
    out.extend_from_slice(b",\n    ");
    pretty_into(&mut out, &JsonReport::new(entry, &stages.pretty), 2)?;
    Ok(out)
}

/// Room for one report's pretty JSON: most take 4 to 6 KiB.
const REPORT_CAPACITY: usize = 8 << 10;

/// The reports' JSON, in order, serialized on several threads for large batches.
fn pretty_all(entries: &[&Entry<'_>], stages: &Stages) -> io::Result<Vec<Vec<u8>>> {
    parallel::map_ordered(entries, PARALLEL_FROM, |entry| report(entry, stages))
        .into_iter()
        .collect()
}

impl Renderer for Json {
    fn render(&self, run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
        write_head(out, run.status_name(), run.root.as_deref())?;
        let entries: Vec<&Entry<'_>> = run.entries().collect();
        write_reports(out, &entries, &Stages::new(run.ladder)?)?;
        let errors: Vec<&crate::error::FileError> = run.errors().collect();
        write_tail(
            out,
            !entries.is_empty(),
            &errors,
            &run.totals(),
            run.gone.as_deref(),
            &JsonPolicy::new(run),
        )
    }
}

/// The JSON report up to its `reports` array: the same layout as
/// serde_json's pretty printer.
pub(crate) fn write_head(out: &mut dyn Write, status: &str, root: Option<&str>) -> io::Result<()> {
    out.write_all(b"{\n  \"schema_version\": ")?;
    out.write_all(&pretty(&SCHEMA_VERSION, 1)?)?;
    out.write_all(b",\n  \"status\": ")?;
    out.write_all(&pretty(&status, 1)?)?;
    if let Some(root) = root {
        out.write_all(b",\n  \"root\": ")?;
        out.write_all(&pretty(&root, 1)?)?;
    }
    out.write_all(b",\n  \"reports\": [")
}

/// Reports of the `reports` array, serialized in batches, each on several
/// threads.
fn write_reports(out: &mut dyn Write, entries: &[&Entry<'_>], stages: &Stages) -> io::Result<()> {
    let mut any = false;
    for batch in entries.chunks(BATCH) {
        for report in pretty_all(batch, stages)? {
            super::write_items(out, &report, &mut any)?;
        }
    }
    Ok(())
}

/// The JSON report after its reports: the errors, the totals, the baseline's
/// missing reports.
pub(crate) fn write_tail(
    out: &mut dyn Write,
    any_report: bool,
    errors: &[&crate::error::FileError],
    totals: &super::Totals,
    gone: Option<&[String]>,
    policy: &JsonPolicy<'_>,
) -> io::Result<()> {
    out.write_all(if any_report { b"\n  ]" } else { b"]" })?;
    let errors: Vec<JsonError<'_>> = errors
        .iter()
        .map(|error| JsonError {
            file: &error.path,
            message: error.to_string(),
        })
        .collect();
    out.write_all(b",\n  \"errors\": ")?;
    out.write_all(&pretty(&errors, 1)?)?;
    out.write_all(b",\n  \"totals\": ")?;
    out.write_all(&pretty(totals, 1)?)?;
    out.write_all(b",\n  \"policy\": ")?;
    out.write_all(&pretty(policy, 1)?)?;
    if let Some(gone) = gone {
        out.write_all(b",\n  \"baseline_missing\": ")?;
        out.write_all(&pretty(&gone, 1)?)?;
    }
    out.write_all(b"\n}\n")
}

/// JSON Lines: one compact object per report (`"type": "report"`) or failed
/// input (`"type": "error"`), in input order, then one summary line
/// (`"type": "summary"`). For very large fleets and for `jq`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

#[derive(Serialize)]
struct Summary<'a> {
    schema_version: u32,
    status: &'a str,
    reports: usize,
    errors: usize,
    totals: super::Totals,
    policy: &'a JsonPolicy<'a>,
}

impl Renderer for JsonLines {
    fn render(&self, run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
        let results: Vec<&Result<Entry<'_>, crate::error::FileError>> =
            run.results.iter().collect();
        write_lines(out, &results, &Stages::new(run.ladder)?)?;
        write_summary(
            out,
            run.status_name(),
            run.entries().count(),
            run.errors().count(),
            &run.totals(),
            &JsonPolicy::new(run),
        )
    }
}

/// One line per report or error, serialized in batches on several threads.
fn write_lines(
    out: &mut dyn Write,
    results: &[&Result<Entry<'_>, crate::error::FileError>],
    stages: &Stages,
) -> io::Result<()> {
    for batch in results.chunks(BATCH) {
        let lines = parallel::map_ordered(batch, PARALLEL_FROM, |result| line(result, stages));
        for line in lines {
            out.write_all(&line?)?;
        }
    }
    Ok(())
}

/// The line of one report or failed input, with its newline.
pub(crate) fn line(
    result: &Result<Entry<'_>, crate::error::FileError>,
    stages: &Stages,
) -> io::Result<Vec<u8>> {
    let mut line = match result {
        Ok(entry) => serde_json::to_vec(&Line {
            kind: "report",
            body: &JsonReport::new(entry, &stages.compact),
        }),
        Err(error) => serde_json::to_vec(&Line {
            kind: "error",
            body: &JsonError {
                file: &error.path,
                message: error.to_string(),
            },
        }),
    }?;
    line.push(b'\n');
    Ok(line)
}

/// The last line: the run's status, counts and totals.
pub(crate) fn write_summary(
    out: &mut dyn Write,
    status: &str,
    reports: usize,
    errors: usize,
    totals: &super::Totals,
    policy: &JsonPolicy<'_>,
) -> io::Result<()> {
    let summary = Summary {
        schema_version: SCHEMA_VERSION,
        status,
        reports,
        errors,
        totals: *totals,
        policy,
    };
    let mut line = serde_json::to_vec(&Line {
        kind: "summary",
        body: &summary,
    })?;
    line.push(b'\n');
    out.write_all(&line)
}

/// Pretty JSON with a final newline.
pub fn to_json(value: &impl Serialize) -> Result<String, Error> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::Render(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde_json's pretty output with every line after the first indented
    /// by `levels` steps: what [`pretty`] must write.
    fn reindented(value: &serde_json::Value, levels: usize) -> String {
        let text = serde_json::to_string_pretty(value).unwrap();
        text.replace('\n', &format!("\n{}", "  ".repeat(levels)))
    }

    #[test]
    fn pretty_writes_serde_json_s_layout_at_any_depth() {
        let values = [
            serde_json::json!(1),
            serde_json::json!("a\nb \"quoted\""),
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!([[], {}, [[]], [{}], {"a": []}, {"b": {}}]),
            serde_json::json!({"a": [1, 2, {"b": [], "c": {"d": null}}], "e": {}, "f": [[1], []]}),
            (0..40).fold(
                serde_json::json!([1, {}]),
                |v, _| serde_json::json!([v, {"k": []}]),
            ),
        ];
        for value in &values {
            for levels in [0, 1, 2, 5, 40] {
                let written = String::from_utf8(pretty(value, levels).unwrap()).unwrap();
                assert_eq!(written, reindented(value, levels), "{value} at {levels}");
            }
        }
    }
}
