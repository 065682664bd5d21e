//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::forecast::MAX_HORIZON;
use crate::gate::FailOn;
use crate::metrics::Users;
use crate::schema::SchemaKind;

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
    /// A config file to use instead of the scalectl.toml found by walking up
    /// from the current directory.
    #[arg(long, global = true, value_name = "PATH", help_heading = "Global")]
    pub config: Option<PathBuf>,
    /// Use no config file.
    #[arg(
        long,
        global = true,
        conflicts_with = "config",
        help_heading = "Global"
    )]
    pub no_config: bool,
    /// When to colour the output: auto, always or never.
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto, value_name = "WHEN", hide_possible_values = true, help_heading = "Global")]
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
    /// Forecast from a history: when each threshold breaks, when the next rung is due.
    ///
    /// Users are fitted as exponential growth; load metrics as straight lines in
    /// users (projected through the users forecast) or, when that fits poorly,
    /// in time. Exit 0; with --fail-within, 1 when a critical crossing falls
    /// within that many days; 2 on bad input.
    Forecast(ForecastArgs),
    /// What a system with N users needs: stage, architecture, cost, next rung.
    Plan(PlanArgs),
    /// Collect a metrics report (or, with --range, a history CSV) from Prometheus.
    ///
    /// Each report field comes from a PromQL query (the built-in ones, or
    /// --queries PATH; `scalectl init --queries` prints them for editing).
    Collect(CollectArgs),
    /// Walk the scaling checklist for a report, or print it blank.
    ///
    /// Measured items come from the report's metrics through the ladder's rules;
    /// manual items from its `checklist:` map. Exit 0; with --strict, exit 1 when
    /// an applicable item fails or is unknown; 2 on bad input.
    Checklist(ChecklistArgs),
    /// Show the ladder: each stage's users, cost, architecture, database, team and triggers.
    Stages(StagesArgs),
    /// Explain a rule: what it checks, its values, why, the remedy, and the stages it moves.
    Explain(ExplainArgs),
    /// Write a commented metrics report template, the default ladder, or the built-in queries.
    Init(InitArgs),
    /// Check metrics reports (or ladders, histories, queries files) without using them.
    ///
    /// Prints `ok` per valid file and every problem found otherwise.
    /// Exit 0 when all are valid, 2 otherwise.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the metrics report or of the ladder file.
    Schema(SchemaArgs),
    /// Print the settings `assess` starts from and where each comes from:
    /// the config file, or the default. `assess`'s own flags override them.
    Config,
    /// Print a shell completion script.
    ///
    /// For example: scalectl completions bash > ~/.local/share/bash-completion/completions/scalectl
    Completions(CompletionsArgs),
}

/// Arguments of `scalectl assess`.
#[derive(Debug, Args)]
pub struct AssessArgs {
    /// Metrics reports (.yaml, .yml, .json or .toml) or directories to search
    /// for them; `-` reads YAML from standard input.
    #[arg(
        required_unless_present_any = ["prometheus", "postgres", "redis"],
        conflicts_with_all = ["prometheus", "postgres", "redis"],
        value_name = "FILE|DIR",
        help_heading = "Input"
    )]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub connection: PrometheusArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// With --prometheus: collect at this time (RFC 3339, a date, or Unix seconds).
    #[arg(
        long,
        value_name = "TIME",
        requires = "prometheus",
        help_heading = "Prometheus"
    )]
    pub at: Option<String>,
    /// Output format [default: table, or the config file's output-format].
    #[arg(long, value_enum, help_heading = "Output")]
    pub format: Option<OutputFormat>,
    /// The lowest alarm severity that makes the command exit 1 [default:
    /// critical, or the config file's fail-on].
    #[arg(long, value_enum, value_name = "SEVERITY", help_heading = "Gate")]
    pub fail_on: Option<FailOn>,
    /// A ladder file to use instead of the built-in stages.toml.
    #[arg(
        long = "ladder",
        alias = "stages",
        value_name = "PATH",
        help_heading = "Input"
    )]
    pub ladder: Option<PathBuf>,
    /// Write the output to this file (atomically) instead of standard output.
    #[arg(long, short, value_name = "PATH", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Also (or instead) write FORMAT, to PATH or standard output
    /// (repeatable), as in `--output-format sarif:scalectl.sarif
    /// --output-format github`: one run, several outputs.
    #[arg(long, value_name = "FORMAT[:PATH]", value_parser = parse_output_spec, conflicts_with = "output", help_heading = "Output")]
    pub output_format: Vec<OutputSpec>,
    /// Write the JSON report of this run to PATH as a baseline (for
    /// --baseline later), and exit 0 whatever the alarms (2 on bad input).
    #[arg(long, value_name = "PATH", help_heading = "Gate")]
    pub write_baseline: Option<PathBuf>,
    /// Print how many times each rule alarmed, by severity, across the
    /// fleet, instead of the reports.
    #[arg(long, help_heading = "Output")]
    pub statistics: bool,
    /// Print only the closing summary line (and errors) in the table format.
    #[arg(long, short, help_heading = "Output")]
    pub quiet: bool,
    /// Compare with a JSON report saved from an earlier run
    /// (`--format json --output PATH`): each report and alarm is marked new,
    /// worse, better, unchanged or resolved.
    #[arg(long, value_name = "PATH", help_heading = "Gate")]
    pub baseline: Option<PathBuf>,
    /// Fail the gate only on alarms the baseline did not have (new ones, or
    /// ones that got worse), so a fleet that is already red can adopt the gate.
    #[arg(long, requires = "baseline", help_heading = "Gate")]
    pub fail_on_new: bool,
    /// Only these rules and findings alarm (repeatable); the others are
    /// shown as suppressed.
    #[arg(long, value_name = "RULE", help_heading = "Gate")]
    pub select: Vec<String>,
    /// Suppress this rule or finding in every report (repeatable); shown as
    /// suppressed with the reason "--ignore", never dropped.
    #[arg(long, value_name = "RULE", help_heading = "Gate")]
    pub ignore: Vec<String>,
    /// Let a report that measures nothing but users pass the gate (its status
    /// is still `unknown`, with the finding `not-measured`).
    #[arg(long, help_heading = "Gate")]
    pub allow_unmeasured: bool,
    /// A report whose observed_at is more than DAYS old gets the warning
    /// `stale-report` [default: 30, or the config file's max-age].
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(0..=36_500), help_heading = "Gate")]
    pub max_age: Option<u32>,
    /// What if the system had N users: scale today's load metrics with users
    /// and assess that (250000, "250K", "1.2M"). With --prometheus: the
    /// number of active users, when no query gives it.
    #[arg(long, value_name = "N", value_parser = parse_users, help_heading = "Input")]
    pub users: Option<u64>,
    /// Skip files in directories that match this glob (repeatable), such as
    /// `legacy/**`; matched against the path as printed and relative to the
    /// directory given.
    #[arg(long, value_name = "GLOB", help_heading = "Input")]
    pub exclude: Vec<String>,
    /// With --users: scale each load metric by the load model fitted to this
    /// history (as `forecast` fits it), instead of in proportion to users, so
    /// the what-if and the forecast agree on what breaks first.
    #[arg(
        long,
        value_name = "HISTORY",
        requires = "users",
        help_heading = "Input"
    )]
    pub history: Option<PathBuf>,
}

/// Arguments of `scalectl forecast`.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// A CSV file (a `date` column and metric columns), a YAML or JSON list of
    /// reports with `observed_at`, or a directory of such reports.
    #[arg(
        value_name = "HISTORY",
        conflicts_with = "prometheus",
        required_unless_present = "prometheus",
        help_heading = "Input"
    )]
    pub history: Option<PathBuf>,
    #[command(flatten)]
    pub connection: PrometheusArgs,
    /// With --prometheus: the number of active users, held constant, when no
    /// `users` query gives them (42000, "42K").
    #[arg(long, value_name = "N", value_parser = parse_users, requires = "prometheus", help_heading = "Prometheus")]
    pub users: Option<u64>,
    /// With --prometheus: the span of history to query, such as 90d.
    #[arg(
        long,
        value_name = "DURATION",
        requires = "prometheus",
        help_heading = "Prometheus"
    )]
    pub range: Option<String>,
    /// With --prometheus: the step between observations.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1d",
        requires = "range",
        help_heading = "Prometheus"
    )]
    pub step: String,
    /// With --prometheus: the end of the span (RFC 3339, a date, or Unix seconds) instead of now.
    #[arg(
        long,
        value_name = "TIME",
        requires = "prometheus",
        help_heading = "Prometheus"
    )]
    pub at: Option<String>,
    /// How many days past the last observation to project.
    #[arg(long, default_value_t = 365, value_name = "DAYS",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_HORIZON)), help_heading = "Model")]
    pub horizon: u32,
    /// A ladder file to use instead of the built-in stages.toml.
    #[arg(
        long = "ladder",
        alias = "stages",
        value_name = "PATH",
        help_heading = "Input"
    )]
    pub ladder: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table, help_heading = "Output")]
    pub format: ListFormat,
    /// Also draw the history and the projections to this SVG file.
    #[arg(long, value_name = "PATH.svg", help_heading = "Output")]
    pub plot: Option<PathBuf>,
    /// Exit 1 when a critical crossing (or one already critical) may fall
    /// within DAYS: on its earliest plausible date. The horizon extends to cover it.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_HORIZON)), help_heading = "Gate")]
    pub fail_within: Option<u32>,
    /// The period each fitted value stands for (default: a day when samples
    /// are finer than a day, a week when daily data shows a weekly cycle).
    #[arg(long, value_enum, value_name = "PERIOD", help_heading = "Model")]
    pub period: Option<crate::forecast::Period>,
    /// Which value of a period stands for it: its worst (max), or a high quantile.
    #[arg(long, value_enum, default_value_t = crate::forecast::Peak::Max, value_name = "PEAK", help_heading = "Model")]
    pub peak: crate::forecast::Peak,
    /// Fit only the history from this date on (YYYY-MM-DD), as after a migration.
    #[arg(long, value_name = "DATE", help_heading = "Model")]
    pub since: Option<String>,
}

/// Where and how to reach a Prometheus server.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Prometheus")]
pub struct PrometheusArgs {
    /// The Prometheus server's URL, such as http://prometheus:9090.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// A TOML file of PromQL queries, one per report field, instead of the built-in ones.
    #[arg(long, value_name = "PATH", requires = "prometheus")]
    pub queries: Option<PathBuf>,
    /// Seconds the whole command may wait for Prometheus (one deadline for
    /// every request; at most a day).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 10.0,
        requires = "prometheus"
    )]
    pub timeout: f64,
    /// A file holding a bearer token (the environment variable
    /// SCALECTL_PROMETHEUS_TOKEN works too). Never printed.
    #[arg(long, value_name = "PATH", requires = "prometheus")]
    pub bearer_token_file: Option<PathBuf>,
    /// Label matchers that pick the database hosts out of every host
    /// node_exporter runs on, such as '{job="postgres-node"}' (fills `${db}`
    /// in the queries).
    #[arg(long, value_name = "SELECTOR", requires = "prometheus")]
    pub db_selector: Option<String>,
    /// A file holding `user:password` for basic authentication. Never printed.
    #[arg(
        long,
        value_name = "PATH",
        requires = "prometheus",
        conflicts_with = "bearer_token_file"
    )]
    pub basic_auth_file: Option<PathBuf>,
}

/// Where `--postgres`, `--pgbouncer` and `--redis` measure, read-only.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Database")]
pub struct DatabaseArgs {
    /// A PostgreSQL server to measure straight from its statistics views:
    /// the primary, then any replicas; such as
    /// postgres://monitor@db:5432/app?sslmode=require (no password in it).
    #[arg(long, value_name = "URL")]
    pub postgres: Vec<String>,
    /// A file holding the PostgreSQL password (else SCALECTL_POSTGRES_PASSWORD,
    /// PGPASSWORD, or ~/.pgpass). Never printed.
    #[arg(long, value_name = "PATH", requires = "postgres")]
    pub postgres_password_file: Option<PathBuf>,
    /// PgBouncer's admin console, such as postgres://stats@db:6432/pgbouncer;
    /// its SHOW POOLS answers connection_pooling.
    #[arg(long, value_name = "URL", requires = "postgres")]
    pub pgbouncer: Option<String>,
    /// A Redis server to measure the cache hit rate from, such as redis://cache:6379.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// A file holding the Redis password (else SCALECTL_REDIS_PASSWORD). Never printed.
    #[arg(long, value_name = "PATH", requires = "redis")]
    pub redis_password_file: Option<PathBuf>,
    /// scalectl runs on the database host: measure db_cpu_pct from /proc/stat.
    #[arg(long, requires = "postgres")]
    pub local: bool,
    /// Count between two samples this far apart (such as 10s) instead of
    /// since the server started: Redis's hit rate, and the CPU with --local (1s without it).
    #[arg(long, value_name = "DURATION")]
    pub sample: Option<String>,
    /// Seconds the whole command may wait for the databases and Redis (one
    /// deadline for every connection, read and statement, plus the --sample
    /// window; at most a day).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub connect_timeout: f64,
}

impl DatabaseArgs {
    /// Whether any database or cache is to be measured.
    pub fn given(&self) -> bool {
        !self.postgres.is_empty() || self.redis.is_some()
    }
}

/// Arguments of `scalectl collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    #[command(flatten)]
    pub connection: PrometheusArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The number of active users, when no query gives it: 42000, "42K".
    #[arg(long, value_name = "N", value_parser = parse_users, help_heading = "Input")]
    pub users: Option<u64>,
    /// The service name to write in the report.
    #[arg(long, value_name = "NAME", help_heading = "Input")]
    pub service: Option<String>,
    /// Collect at this time (RFC 3339, a date, or Unix seconds) instead of now.
    #[arg(long, value_name = "TIME", help_heading = "Prometheus")]
    pub at: Option<String>,
    /// Write a history CSV of this span (such as 90d) from range queries, for `forecast`.
    #[arg(long, value_name = "DURATION", help_heading = "Prometheus")]
    pub range: Option<String>,
    /// The step between the rows of a history.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "1d",
        requires = "range",
        help_heading = "Prometheus"
    )]
    pub step: String,
    /// Write to this file (atomically) instead of standard output; a report's
    /// format follows the name (.yaml, .yml, .json or .toml); a history is CSV.
    #[arg(long, short, value_name = "PATH", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long, requires = "output", help_heading = "Output")]
    pub force: bool,
    /// A ladder file whose [checks] thresholds judge what --postgres and --redis measure.
    #[arg(
        long = "ladder",
        alias = "stages",
        value_name = "PATH",
        help_heading = "Input"
    )]
    pub ladder: Option<PathBuf>,
}

/// Arguments of `scalectl plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The number of users to plan for: 250000, "250K", "1.2M".
    #[arg(long, value_name = "N", value_parser = parse_users)]
    pub users: u64,
    /// A ladder file to use instead of the built-in stages.toml.
    #[arg(
        long = "ladder",
        alias = "stages",
        value_name = "PATH",
        help_heading = "Input"
    )]
    pub ladder: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// One output of a run: a format, and the file it goes to (standard output
/// when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    /// The format.
    pub format: OutputFormat,
    /// The file, when not standard output.
    pub path: Option<PathBuf>,
}

/// Parses `FORMAT` or `FORMAT:PATH`.
pub fn parse_output_spec(text: &str) -> Result<OutputSpec, String> {
    let (name, path) = match text.split_once(':') {
        Some((name, path)) if !path.is_empty() => (name, Some(PathBuf::from(path))),
        Some((name, _)) => (name, None),
        None => (text, None),
    };
    let format = OutputFormat::from_str(name, true).map_err(|_| {
        let names: Vec<String> = OutputFormat::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect();
        format!(
            "unknown format `{name}`; expected one of {}",
            names.join(", ")
        )
    })?;
    Ok(OutputSpec { format, path })
}

fn parse_users(text: &str) -> Result<u64, String> {
    Users::parse(text).map(|u| u.0)
}

/// Arguments of `scalectl checklist`.
#[derive(Debug, Args)]
pub struct ChecklistArgs {
    /// A metrics report; without it, the blank checklist is printed.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Exit 1 when any applicable item fails or is unknown.
    #[arg(long)]
    pub strict: bool,
    /// The number of active users, for which sections apply, when no FILE gives it.
    #[arg(long, value_name = "N", value_parser = parse_users, conflicts_with = "file")]
    pub users: Option<u64>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// A ladder file to use instead of the built-in stages.toml.
    #[arg(
        long = "ladder",
        alias = "stages",
        value_name = "PATH",
        help_heading = "Input"
    )]
    pub ladder: Option<PathBuf>,
}

/// Arguments of `scalectl stages`.
#[derive(Debug, Args)]
pub struct StagesArgs {
    /// A ladder file to show instead of the built-in stages.toml.
    #[arg(long = "ladder", alias = "stages", value_name = "PATH")]
    pub ladder: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// Arguments of `scalectl explain`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true))]
pub struct ExplainArgs {
    /// The rule id, such as `db-cpu`, or one of the built-in alarms
    /// (`over-engineered`, `under-scaled`, `cost-above-range`).
    #[arg(value_name = "RULE-ID", group = "what")]
    pub rule: Option<String>,
    /// Explain every rule.
    #[arg(long, group = "what")]
    pub all: bool,
    /// A ladder file to use instead of the built-in stages.toml.
    #[arg(
        long = "ladder",
        alias = "stages",
        value_name = "PATH",
        help_heading = "Input"
    )]
    pub ladder: Option<PathBuf>,
}

/// What `scalectl init` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum InitKind {
    /// A commented metrics report template.
    #[default]
    Report,
    /// The default ladder (stages.toml), to edit and pass with --ladder.
    Ladder,
    /// The built-in Prometheus queries, to edit and pass with --queries.
    Queries,
}

/// Arguments of `scalectl init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// What to write.
    #[arg(value_enum, default_value_t = InitKind::Report)]
    pub kind: InitKind,
    /// Same as `init ladder` (kept for existing scripts).
    #[arg(long, hide = true, conflicts_with = "queries")]
    pub stages: bool,
    /// Same as `init queries` (kept for existing scripts).
    #[arg(long, hide = true)]
    pub queries: bool,
    /// Write to this file (atomically) instead of standard output.
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long, requires = "output")]
    pub force: bool,
}

impl InitArgs {
    /// What to write, the hidden switches included.
    pub fn what(&self) -> InitKind {
        if self.stages {
            InitKind::Ladder
        } else if self.queries {
            InitKind::Queries
        } else {
            self.kind
        }
    }
}

/// What `scalectl validate` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ValidateKind {
    /// Metrics reports.
    #[default]
    Report,
    /// Ladder files (stages.toml).
    Ladder,
    /// Histories for `forecast` (CSV, a list of reports, or a directory).
    History,
    /// Prometheus queries files (for --queries).
    Queries,
}

/// Arguments of `scalectl validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// What the files are.
    #[arg(long, value_enum, default_value_t = ValidateKind::Report)]
    pub kind: ValidateKind,
    /// Check reports and histories against this ladder file instead of the
    /// built-in one (it decides which `current_stage` values exist).
    #[arg(long = "ladder", alias = "stages", value_name = "PATH")]
    pub ladder: Option<PathBuf>,
}

/// Arguments of `scalectl schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which format.
    #[arg(value_enum)]
    pub kind: SchemaKind,
}

/// Arguments of `scalectl completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Output formats of `checklist` and `stages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// For people.
    Table,
    /// JSON (schema_version 1), for scripts.
    Json,
}

/// Output formats of `assess`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Tables for people.
    #[default]
    Table,
    /// The JSON report (schema_version 1), for scripts.
    Json,
    /// A pull-request comment.
    Markdown,
    /// GitHub Actions annotations on the metric's line.
    Github,
    /// JUnit XML: a test suite per report, a test case per rule.
    Junit,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// One line per alarm, `path:line:col: severity rule-id message`.
    Concise,
    /// JSON Lines: one compact object per report, then a summary line.
    Jsonl,
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// clap's own checks: every `requires` and `conflicts_with` names an
    /// argument of its command, no two arguments share a name.
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
