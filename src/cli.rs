//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::gate::FailOn;

/// Capacity planning on the scaling ladder: do we need to scale, how, when,
/// and what will it cost?
#[derive(Debug, Parser)]
#[command(
    name = "scalectl",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    long_about = "Capacity planning on the scaling ladder: do we need to scale, how, when, and what will it cost?\n\n\
scalectl reads measured metrics of a running system (users, API p95, database CPU and connections, \
cache hit rate, replication lag), places it on a four-rung ladder (1K -> 10K -> 100K -> 1M users), \
and says which alarms fired, what to change next and what that costs. Scale the boring way: \
database first, and only when the measurements say so."
)]
pub struct Cli {
    /// When to colour the output.
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Assess metrics reports: stage, alarms, recommendation, next steps, cost.
    ///
    /// Exit codes: 0 when no alarm reaches --fail-on, 1 when one does, 2 when an
    /// input is missing or invalid (the other reports are still assessed).
    Assess(AssessArgs),
}

/// Arguments of `scalectl assess`.
#[derive(Debug, Args)]
pub struct AssessArgs {
    /// Metrics reports (.yaml, .yml, .json or .toml); `-` reads YAML from standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// The lowest alarm severity that makes the command exit 1.
    #[arg(long, value_enum, default_value_t = FailOn::Critical, value_name = "SEVERITY")]
    pub fail_on: FailOn,
    /// A ladder file to use instead of the built-in stages.toml.
    #[arg(long, value_name = "PATH")]
    pub stages: Option<PathBuf>,
}

/// Output formats of `assess`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Tables for people.
    Table,
    /// The JSON report (schema_version 1), for scripts.
    Json,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}
