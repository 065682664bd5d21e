//! The JSON report: a contract for scripts (`schema_version` 1).

use serde::Serialize;

use std::io::{self, Write};

use super::{Renderer, Run};
use crate::baseline::ReportChange;
use crate::engine::{Alarm, Severity};
use crate::error::Error;
use crate::ladder::{CostRange, Stage};

/// The version of the JSON report format.
pub const SCHEMA_VERSION: u32 = 1;

/// Renders the JSON report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

#[derive(Serialize)]
struct JsonRun<'a> {
    schema_version: u32,
    status: Severity,
    reports: Vec<JsonReport<'a>>,
    errors: Vec<JsonError<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline_missing: Option<&'a [String]>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    file: &'a str,
    service: Option<&'a str>,
    users: u64,
    monthly_cost_usd: Option<f64>,
    stage: JsonStage<'a>,
    current_stage: Option<JsonStage<'a>>,
    recommended_stage: JsonStage<'a>,
    next_stage: Option<JsonStage<'a>>,
    reason: &'a str,
    alarms: &'a [Alarm],
    missing_metrics: &'a [&'static str],
    next_steps: &'a [String],
    status: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<&'a ReportChange>,
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
    database: &'a str,
    team: &'a str,
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
            database: &stage.database,
            team: &stage.team,
            scale_when: None,
        }
    }

    /// The stage with its `scale_when` triggers, as in `stages` output.
    pub fn with_triggers(stage: &'a Stage) -> Self {
        Self {
            scale_when: Some(&stage.scale_when),
            ..Self::new(stage)
        }
    }
}

impl Renderer for Json {
    fn render(&self, run: &Run<'_>, out: &mut dyn Write) -> io::Result<()> {
        let document = JsonRun {
            schema_version: SCHEMA_VERSION,
            status: run.status(),
            reports: run
                .entries()
                .map(|entry| {
                    let a = &entry.assessment;
                    JsonReport {
                        file: &entry.file,
                        service: a.service.as_deref(),
                        users: a.users,
                        monthly_cost_usd: a.monthly_cost_usd,
                        stage: JsonStage::new(a.stage),
                        current_stage: a.current_stage.map(JsonStage::new),
                        recommended_stage: JsonStage::new(a.recommended_stage),
                        next_stage: a.next_stage.map(JsonStage::new),
                        reason: &a.reason,
                        alarms: &a.alarms,
                        missing_metrics: &a.missing_metrics,
                        next_steps: &a.next_steps,
                        status: a.status,
                        baseline: entry.change.as_ref(),
                    }
                })
                .collect(),
            errors: run
                .errors()
                .map(|error| JsonError {
                    file: &error.path,
                    message: error.to_string(),
                })
                .collect(),
            baseline_missing: run.gone.as_deref(),
        };
        serde_json::to_writer_pretty(&mut *out, &document)?;
        out.write_all(b"\n")
    }
}

/// Pretty JSON with a final newline.
pub fn to_json(value: &impl Serialize) -> Result<String, Error> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::Render(e.to_string()))?;
    text.push('\n');
    Ok(text)
}
