//! JSON Schemas of the input formats, generated from the types that parse
//! them so that they cannot drift.

use schemars::generate::SchemaSettings;
use serde_json::Value;

use crate::ladder::RawLadder;
use crate::metrics::RawReport;

/// The input formats that have a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaKind {
    /// The metrics report.
    Metrics,
    /// The ladder file (stages.toml).
    Stages,
    /// A history for `forecast` as YAML or JSON: a list of metrics reports,
    /// each with `observed_at`.
    History,
    /// The config file (scalectl.toml).
    Config,
}

/// The JSON Schema (draft 2020-12) of an input format.
pub fn schema(kind: SchemaKind) -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = match kind {
        SchemaKind::Metrics => generator.into_root_schema_for::<RawReport>(),
        SchemaKind::Stages => generator.into_root_schema_for::<RawLadder>(),
        SchemaKind::History => generator.into_root_schema_for::<Vec<RawReport>>(),
        SchemaKind::Config => generator.into_root_schema_for::<crate::config::RawConfig>(),
    };
    schema.to_value()
}
