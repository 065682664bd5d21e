//! Running the commands: read inputs, call the engine, render, and decide
//! the outcome. The only module that touches files and streams.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::CommandFactory;

use crate::baseline::Baseline;
use crate::checklist::{self, Status};
use crate::cli::{
    AssessArgs, ChecklistArgs, Cli, CollectArgs, ColorChoice, Command, ExplainArgs, ForecastArgs,
    ListFormat, OutputFormat, PrometheusArgs, ValidateArgs,
};
use crate::engine::{BUILTIN_ALARMS, Severity, assess, what_if};
use crate::error::{Error, FileError, Problem};
use crate::gate::{FailOn, Outcome};
use crate::ladder::{DEFAULT_STAGES, Ladder};
use crate::metric::format_count;
use crate::metrics::{RawReport, Report};
use crate::output::{write_atomic, write_atomic_with};
use crate::render::{self, Entry, Github, Json, Junit, Markdown, Renderer, Run, Sarif, Table};
use crate::source::{Format, Source, io_reason};
use crate::{date, fleet, forecast, history, parallel, prometheus};
use crate::{schema, suggest, template};

/// Where a command writes.
pub struct Streams<'a> {
    /// Standard output.
    pub out: &'a mut dyn Write,
    /// Standard error, for per-file errors of fleet runs.
    pub err: &'a mut dyn Write,
    /// Whether standard output is a terminal.
    pub out_is_terminal: bool,
}

impl Streams<'_> {
    fn write_out(&mut self, text: &str) -> Result<(), Error> {
        self.write_with(|out| out.write_all(text.as_bytes()))
    }

    fn write_with(
        &mut self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let mut out = std::io::BufWriter::new(&mut *self.out);
        match write(&mut out).and_then(|()| out.flush()) {
            // A reader that stopped early (`| head`) is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            result => result.map_err(|source| Error::Write {
                target: "standard output".into(),
                source,
            }),
        }
    }

    fn report_error(&mut self, error: &FileError) {
        let _ = writeln!(self.err, "error: {error}");
    }
}

/// Runs a parsed command line with the process's own streams.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    let stdout = std::io::stdout();
    let out_is_terminal = stdout.is_terminal();
    let mut out = stdout.lock();
    let mut err = std::io::stderr().lock();
    run_with(
        cli,
        &mut Streams {
            out: &mut out,
            err: &mut err,
            out_is_terminal,
        },
    )
}

/// Runs a parsed command line.
pub fn run_with(cli: Cli, streams: &mut Streams<'_>) -> Result<Outcome, Error> {
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            streams.out_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    match cli.command {
        Command::Assess(args) => assess_command(&args, color, streams),
        Command::Checklist(args) => checklist_command(&args, color, streams),
        Command::Forecast(args) => forecast_command(&args, streams),
        Command::Plan(args) => {
            let ladder = Ladder::load(args.stages.as_deref())?;
            let mut run = Run::new(&ladder, FailOn::Never);
            let mut assessment = assess(&Report::with_users(args.users), &ladder);
            assessment.missing_metrics.clear();
            run.results.push(Ok(Entry {
                file: format!("{} users", format_count(args.users)),
                assessment,
                lines: Vec::new(),
                change: None,
                what_if: None,
            }));
            render_run(&run, args.format, color, false, None, streams)?;
            Ok(Outcome::Pass)
        }
        Command::Stages(args) => {
            let ladder = Ladder::load(args.stages.as_deref())?;
            let text = match args.format {
                ListFormat::Table => render::ladder::table(&ladder),
                ListFormat::Json => render::ladder::json(&ladder)?,
            };
            streams.write_out(&text)?;
            Ok(Outcome::Pass)
        }
        Command::Explain(args) => explain_command(&args, streams),
        Command::Collect(args) => collect_command(&args, streams),
        Command::Init(args) => {
            let text = if args.stages {
                DEFAULT_STAGES.to_owned()
            } else if args.queries {
                prometheus::DEFAULT_QUERIES.to_owned()
            } else {
                template::metrics_template()
            };
            match &args.output {
                Some(path) => write_atomic(path, &text, args.force)?,
                None => streams.write_out(&text)?,
            }
            Ok(Outcome::Pass)
        }
        Command::Validate(args) => validate_command(&args, streams),
        Command::Schema(args) => {
            streams.write_out(&render::to_json(&schema::schema(args.kind))?)?;
            Ok(Outcome::Pass)
        }
        Command::Completions(args) => {
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "scalectl", &mut script);
            streams.write_out(&String::from_utf8_lossy(&script))?;
            Ok(Outcome::Pass)
        }
    }
}

fn read_input(file: &Path) -> Result<Source, FileError> {
    if file.as_os_str() == "-" {
        Source::stdin()
    } else {
        Source::read(file)
    }
}

fn checklist_command(
    args: &ChecklistArgs,
    color: bool,
    streams: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    let ladder = Ladder::load(args.stages.as_deref())?;
    let report = match &args.file {
        Some(file) => Some(Report::parse(&read_input(file)?, &ladder)?),
        None => None,
    };
    let sections = checklist::check(report.as_ref(), &ladder);
    let file = args.file.as_ref().map(|f| f.display().to_string());
    let text = match args.format {
        ListFormat::Table => render::checklist::table(file.as_deref(), &sections, color),
        ListFormat::Json => render::checklist::json(file.as_deref(), &sections)?,
    };
    streams.write_out(&text)?;
    let open = sections
        .iter()
        .flat_map(|s| &s.items)
        .any(|i| matches!(i.status, Status::Fail | Status::Unknown));
    Ok(if args.strict && open {
        Outcome::GateFailed
    } else {
        Outcome::Pass
    })
}

fn explain_command(args: &ExplainArgs, streams: &mut Streams<'_>) -> Result<Outcome, Error> {
    let ladder = Ladder::load(args.stages.as_deref())?;
    if args.all {
        let text: Vec<String> = ladder
            .rules()
            .iter()
            .map(|rule| render::ladder::explain(rule, &ladder))
            .collect();
        streams.write_out(&text.join("\n"))?;
        return Ok(Outcome::Pass);
    }
    let id = args.rule.as_deref().unwrap_or_default();
    if let Some(rule) = ladder.rule(id) {
        streams.write_out(&render::ladder::explain(rule, &ladder))?;
        return Ok(Outcome::Pass);
    }
    if let Some((id, text)) = BUILTIN_ALARMS.iter().find(|(builtin, _)| *builtin == id) {
        streams.write_out(&format!("{id}: built-in alarm\n  {text}\n"))?;
        return Ok(Outcome::Pass);
    }
    let known: Vec<&str> = ladder
        .rule_ids()
        .chain(BUILTIN_ALARMS.iter().map(|(id, _)| *id))
        .collect();
    let hint = match suggest::nearest(id, known.iter().copied()) {
        Some(nearest) => format!("did you mean `{nearest}`? "),
        None => String::new(),
    };
    Err(Error::Usage(format!(
        "unknown rule `{id}`; {hint}known rules: {}",
        known.join(", ")
    )))
}

fn validate_command(args: &ValidateArgs, streams: &mut Streams<'_>) -> Result<Outcome, Error> {
    let ladder = if args.stages {
        None
    } else {
        Some(Ladder::load(args.ladder.as_deref())?)
    };
    let mut invalid = 0;
    for file in &args.files {
        let name = file.display().to_string();
        let problems = match read_input(file) {
            Err(error) => error.problems,
            Ok(source) => match &ladder {
                Some(ladder) => Report::problems(&source, ladder),
                None => Ladder::parse(&source)
                    .err()
                    .map(|e| e.problems)
                    .unwrap_or_default(),
            },
        };
        if problems.is_empty() {
            streams.write_out(&format!("{name}: ok\n"))?;
        } else {
            invalid += 1;
            streams.report_error(&FileError {
                path: name,
                problems,
            });
        }
    }
    Ok(if invalid == 0 {
        Outcome::Pass
    } else {
        Outcome::InputError
    })
}

fn assess_command(
    args: &AssessArgs,
    color: bool,
    streams: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    let ladder = Ladder::load(args.stages.as_deref())?;
    let baseline = match &args.baseline {
        Some(path) => Some(Baseline::parse(&Source::read(path)?)?),
        None => None,
    };
    let mut run = Run::new(&ladder, args.fail_on);
    if let Some((client, queries)) = connect(&args.connection)? {
        let url = args.connection.prometheus.as_deref().unwrap_or_default();
        let at = parse_time(args.at.as_deref())?;
        let collected = prometheus::collect(&client, &queries, args.users, at)?;
        note(streams, &collected.notes);
        let source = Source::from_bytes(
            format!("<{url}>"),
            collected.yaml(url).into_bytes(),
            Format::Yaml,
        )?;
        let report = Report::parse(&source, &ladder)?;
        run.results.push(Ok(Entry {
            file: source.name.clone(),
            assessment: assess(&report, &ladder),
            lines: Vec::new(),
            change: None,
            what_if: None,
        }));
    } else {
        let inputs = fleet::expand(&args.files);
        let stdin_count = inputs
            .iter()
            .filter(|input| input.as_ref().is_ok_and(|f| f.as_os_str() == "-"))
            .count();
        if stdin_count > 1 {
            return Err(Error::Usage(
                "`-` (standard input) can be given only once".into(),
            ));
        }
        run.results = assess_all(&inputs, &ladder, args.users);
        if let [Err(error)] = run.results.as_slice() {
            return Err(error.clone().into());
        }
        for error in run.errors() {
            streams.report_error(error);
        }
        let failed = run.errors().count();
        if failed == run.results.len() {
            return Err(Error::Inputs {
                count: failed,
                total: run.results.len(),
            });
        }
    }
    if let Some(baseline) = &baseline {
        for entry in run.results.iter_mut().flatten() {
            entry.change = Some(baseline.compare(&entry.file, &entry.assessment));
        }
        let files: Vec<&str> = run.entries().map(|e| e.file.as_str()).collect();
        run.gone = Some(
            baseline
                .missing(&files)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        );
        run.fail_on_new = args.fail_on_new;
    }
    render_run(
        &run,
        args.format,
        color,
        args.quiet,
        args.output.as_deref(),
        streams,
    )?;
    Ok(Outcome::of_run(&run))
}

fn render_run(
    run: &Run<'_>,
    format: OutputFormat,
    color: bool,
    quiet: bool,
    output: Option<&Path>,
    streams: &mut Streams<'_>,
) -> Result<(), Error> {
    let table = Table {
        color: color && output.is_none(),
        quiet,
    };
    let renderer: &dyn Renderer = match format {
        OutputFormat::Table => &table,
        OutputFormat::Json => &Json,
        OutputFormat::Markdown => &Markdown,
        OutputFormat::Github => &Github,
        OutputFormat::Junit => &Junit,
        OutputFormat::Sarif => &Sarif,
    };
    match output {
        Some(path) => write_atomic_with(path, true, |out| renderer.render(run, out)),
        None => streams.write_with(|out| renderer.render(run, out)),
    }
}

fn forecast_command(args: &ForecastArgs, streams: &mut Streams<'_>) -> Result<Outcome, Error> {
    let ladder = Ladder::load(args.stages.as_deref())?;
    let keep = args.plot.is_some();
    let (name, history) = match (&args.history, connect(&args.connection)?) {
        (_, Some((client, queries))) => {
            let range = args.range.as_deref().ok_or_else(|| {
                Error::Usage("--prometheus needs --range, such as --range 90d".into())
            })?;
            let collected = collect_history(
                &client,
                &queries,
                None,
                args.at.as_deref(),
                range,
                &args.step,
            )?;
            note(streams, &collected.notes);
            let name = format!(
                "<{}>",
                args.connection.prometheus.as_deref().unwrap_or_default()
            );
            let mut history = history::History::default();
            history::read_csv_from(collected.csv.as_bytes(), &name, &mut history, keep)?;
            (name, history)
        }
        (Some(path), None) => (
            path.display().to_string(),
            history::load(path, &ladder, keep)?,
        ),
        (None, None) => {
            return Err(Error::Usage(
                "give a HISTORY file or --prometheus URL".into(),
            ));
        }
    };
    let forecast = forecast::forecast(&history.acc, &ladder, args.horizon)
        .map_err(|e| FileError::new(name, Problem::new(e.to_string())))?;
    if let Some(path) = &args.plot {
        let svg = render::plot::svg(&forecast, &ladder, &history.points);
        write_atomic(path, &svg, true)?;
    }
    let text = match args.format {
        ListFormat::Table => render::forecast::table(&forecast, &ladder),
        ListFormat::Json => render::forecast::json(&forecast)?,
    };
    streams.write_out(&text)?;
    let breaks_soon = args.fail_within.is_some_and(|within| {
        forecast.crossings.iter().any(|c| {
            c.severity == Severity::Critical && c.days.is_some_and(|d| d <= i64::from(within))
        })
    });
    Ok(if breaks_soon {
        Outcome::GateFailed
    } else {
        Outcome::Pass
    })
}

/// The client and queries for `--prometheus`, if given. The token comes from
/// a file or the environment, never from the command line.
fn connect(
    args: &PrometheusArgs,
) -> Result<Option<(prometheus::Client, prometheus::Queries)>, Error> {
    let Some(url) = &args.prometheus else {
        return Ok(None);
    };
    let secret = |path: &Path| -> Result<String, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            FileError::new(
                path.display().to_string(),
                Problem::new(format!("cannot read: {}", io_reason(&e))),
            )
        })?;
        let secret = text.trim().to_owned();
        if secret.is_empty() {
            return Err(
                FileError::new(path.display().to_string(), Problem::new("is empty")).into(),
            );
        }
        Ok(secret)
    };
    let auth = match (&args.bearer_token_file, &args.basic_auth_file) {
        (Some(path), _) => prometheus::Auth::Bearer(secret(path)?),
        (None, Some(path)) => {
            let user_password = secret(path)?;
            if !user_password.contains(':') {
                return Err(FileError::new(
                    path.display().to_string(),
                    Problem::new("must hold `user:password`"),
                )
                .into());
            }
            prometheus::Auth::Basic(user_password)
        }
        (None, None) => match std::env::var("SCALECTL_PROMETHEUS_TOKEN") {
            Ok(token) if !token.trim().is_empty() => {
                prometheus::Auth::Bearer(token.trim().to_owned())
            }
            _ => prometheus::Auth::None,
        },
    };
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(Error::Usage(
            "--timeout must be a number of seconds above 0".into(),
        ));
    }
    let client = prometheus::Client::new(url, Duration::from_secs_f64(args.timeout), auth)?;
    Ok(Some((
        client,
        prometheus::Queries::load(args.queries.as_deref())?,
    )))
}

fn parse_time(text: Option<&str>) -> Result<Option<f64>, Error> {
    text.map(|t| date::parse_time(t).map_err(|e| Error::Usage(format!("--at: {e}"))))
        .transpose()
}

fn collect_history(
    client: &prometheus::Client,
    queries: &prometheus::Queries,
    users: Option<u64>,
    at: Option<&str>,
    range: &str,
    step: &str,
) -> Result<prometheus::CollectedHistory, Error> {
    let range = date::parse_duration(range).map_err(|e| Error::Usage(format!("--range: {e}")))?;
    let step = date::parse_duration(step).map_err(|e| Error::Usage(format!("--step: {e}")))?;
    let end = match parse_time(at)? {
        Some(end) => end,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64().floor()),
    };
    Ok(prometheus::collect_range(
        client, queries, users, end, range, step,
    )?)
}

fn note(streams: &mut Streams<'_>, notes: &[String]) {
    for note in notes {
        let _ = writeln!(streams.err, "note: {note}");
    }
}

fn collect_command(args: &CollectArgs, streams: &mut Streams<'_>) -> Result<Outcome, Error> {
    let Some((client, queries)) = connect(&args.connection)? else {
        return Err(Error::Usage("collect needs --prometheus URL".into()));
    };
    let url = args.connection.prometheus.as_deref().unwrap_or_default();
    let text = match &args.range {
        Some(range) => {
            let collected = collect_history(
                &client,
                &queries,
                args.users,
                args.at.as_deref(),
                range,
                &args.step,
            )?;
            note(streams, &collected.notes);
            collected.csv
        }
        None => {
            let collected = prometheus::collect(
                &client,
                &queries,
                args.users,
                parse_time(args.at.as_deref())?,
            )?;
            note(streams, &collected.notes);
            let json = args
                .output
                .as_ref()
                .is_some_and(|p| Format::from_path(p) == Some(Format::Json));
            if json {
                collected.json()
            } else {
                collected.yaml(url)
            }
        }
    };
    match &args.output {
        Some(path) => write_atomic(path, &text, args.force)?,
        None => streams.write_out(&text)?,
    }
    Ok(Outcome::Pass)
}

/// Assesses every input, in parallel for fleets, keeping the input order.
fn assess_all<'a>(
    inputs: &[Result<PathBuf, FileError>],
    ladder: &'a Ladder,
    users: Option<u64>,
) -> Vec<Result<Entry<'a>, FileError>> {
    parallel::map_ordered(inputs, 64, |input| match input {
        Ok(file) => assess_file(file, ladder, users),
        Err(error) => Err(error.clone()),
    })
}

fn assess_file<'a>(
    file: &Path,
    ladder: &'a Ladder,
    users: Option<u64>,
) -> Result<Entry<'a>, FileError> {
    let source = read_input(file)?;
    let report = Report::parse(&source, ladder)?;
    let lines = source.key_lines(&RawReport::FIELDS);
    let (report, what_if) = match users {
        Some(users) => {
            let (scaled, answer) = what_if(&report, users, ladder);
            (scaled, Some(answer))
        }
        None => (report, None),
    };
    Ok(Entry {
        file: file.display().to_string(),
        assessment: assess(&report, ladder),
        lines,
        change: None,
        what_if,
    })
}
