//! `assess`: files, directories, standard input or Prometheus, with
//! baselines and what-if.

use std::path::{Path, PathBuf};

use super::prometheus::{connect, note, parse_time};
use super::{Streams, read_input, render_run, today};
use crate::baseline::Baseline;
use crate::cli::{AssessArgs, OutputFormat};
use crate::collect::prometheus;
use crate::config::Config;
use crate::engine::{Options, assess_with, what_if};
use crate::error::{Error, FileError};
use crate::escape::path_name;
use crate::gate::Outcome;
use crate::ladder::Ladder;
use crate::load::LoadModel;
use crate::metric::Metric;
use crate::metrics::{RawReport, Report};
use crate::output::Output;
use crate::render::{Entry, Run, Stream, Streamed, Table};
use crate::source::{Format, Source};
use crate::{fleet, parallel};

pub(super) fn assess_command(
    args: &AssessArgs,
    config: &Config,
    color: bool,
    streams: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    let ladder_path = args.ladder.as_deref().or(config.ladder.as_deref());
    let ladder = Ladder::load(ladder_path)?;
    let cwd = std::env::current_dir().map_err(|e| {
        Error::Usage(format!(
            "cannot read the working directory: {}",
            crate::source::io_reason(&e)
        ))
    })?;
    let baseline = match &args.baseline {
        Some(path) => Some(Baseline::parse(&Source::read(path)?, &cwd)?),
        None => None,
    };
    let fail_on = args.fail_on.or(config.fail_on).unwrap_or_default();
    let mut run = Run::new(&ladder, fail_on);
    run.root = Some(path_name(&cwd));
    let mut expanded = Vec::new();
    run.allow_unmeasured = args.allow_unmeasured || config.allow_unmeasured == Some(true);
    let from = |flag: bool, file: bool| {
        use crate::render::From;
        match (flag, file) {
            (true, _) => From::CommandLine,
            (false, true) => From::ConfigFile,
            (false, false) => From::Default,
        }
    };
    run.policy.config = config.path.as_deref().map(path_name);
    run.policy.fail_on_from = from(args.fail_on.is_some(), config.fail_on.is_some());
    run.policy.allow_unmeasured_from =
        from(args.allow_unmeasured, config.allow_unmeasured.is_some());
    run.policy.select_from = from(!args.select.is_empty(), !config.select.is_empty());
    config.check_rules(&crate::engine::alarm_ids(&ladder))?;
    for (flag, rule) in args
        .select
        .iter()
        .map(|r| ("--select", r))
        .chain(args.ignore.iter().map(|r| ("--ignore", r)))
    {
        if let Some(unknown) = crate::engine::unknown_rule(rule, &ladder) {
            return Err(Error::Usage(format!("{flag}: {unknown}")));
        }
    }
    let options = Options {
        today: Some(today()),
        max_age_days: f64::from(
            args.max_age
                .or(config.max_age)
                .unwrap_or(crate::engine::DEFAULT_MAX_AGE_DAYS as u32),
        ),
        select: if args.select.is_empty() {
            config.select.clone()
        } else {
            args.select.clone()
        },
        select_reason: match (&config.path, args.select.is_empty()) {
            (Some(path), true) => format!("not selected (select in {})", path_name(path)),
            _ => "not selected (--select)".to_owned(),
        },
        ignore: args
            .ignore
            .iter()
            .map(|rule| (rule.clone(), "ignored with --ignore".to_owned()))
            .chain(config.ignore.iter().cloned())
            .collect(),
        text: true,
    };
    run.policy.select.clone_from(&options.select);
    if args.database.given() && args.connection.prometheus.is_some() {
        return Err(Error::Usage(
            "--prometheus cannot be combined with --postgres or --redis; assess from one source at a time".into(),
        ));
    }
    if let Some(measurement) = super::database::measure(&args.database, args.users, &ladder)? {
        let collected = measurement.collected;
        if !collected.values.contains_key("users") {
            return Err(Error::Usage(
                "no user count: give --users N (a database does not know its users)".into(),
            ));
        }
        note(streams, &collected.notes);
        run.results.push(Ok(collected_entry(
            &collected,
            &measurement.servers,
            &ladder,
            &options,
        )?));
    } else if let Some((client, queries)) = connect(&args.connection, streams)? {
        let url = client.shown();
        let at = parse_time(args.at.as_deref())?;
        let collected = prometheus::collect(&client, &queries, args.users, at)?;
        note(streams, &collected.notes);
        run.results
            .push(Ok(collected_entry(&collected, url, &ladder, &options)?));
    } else {
        let patterns: Vec<String> = args
            .exclude
            .iter()
            .chain(&config.exclude)
            .cloned()
            .collect();
        let exclude = fleet::globs(&patterns).map_err(Error::Usage)?;
        let mut skipped = fleet::Skipped::default();
        expanded = fleet::expand(&args.files, &exclude, &mut skipped);
        if !args.quiet {
            for note in &skipped.notes {
                let _ = writeln!(streams.err, "note: {note}");
            }
        }
        run.policy.excluded = skipped.excluded.iter().map(|p| path_name(p)).collect();
        if !args.exclude.is_empty() {
            run.policy
                .exclude_from
                .push(crate::render::From::CommandLine);
        }
        if !config.exclude.is_empty() {
            run.policy
                .exclude_from
                .push(crate::render::From::ConfigFile);
        }
        let inputs = &expanded;
        let stdin_count = inputs
            .iter()
            .filter(|input| input.as_ref().is_ok_and(|f| f.as_os_str() == "-"))
            .count();
        if stdin_count > 1 {
            return Err(Error::Usage(
                "`-` (standard input) can be given only once".into(),
            ));
        }
        let models = match &args.history {
            Some(path) => load_models(path, &ladder)?,
            None => [None; 5],
        };
        let what_if = args.users.map(|users| (users, models));
        let output = args
            .output
            .as_deref()
            .filter(|p| p.as_os_str() != super::STDOUT);
        let table = super::table_for(color, args.quiet, output, streams);
        if let Some(format) = streamed_format(args, config, table) {
            // What the format does not show is not worked out.
            let options = Options {
                text: format.shows_text(inputs.len()),
                ..options
            };
            let fleet = Fleet {
                inputs,
                ladder: &ladder,
                what_if: what_if.as_ref(),
                options: &options,
                lines: format.shows_lines(),
                config,
                cwd: &cwd,
                baseline: baseline.as_ref(),
            };
            return stream_fleet(format, run, &fleet, args, streams);
        }
        run.results = assess_all(inputs, &ladder, what_if, &options, config, &cwd);
        // A person reading the table gets the error alone; every machine
        // format (and any written file) reports failed inputs too, whatever
        // the mix, so a script never reads silence as success.
        let machine = args.format.is_some_and(|f| f != OutputFormat::Table)
            || args.output.is_some()
            || !args.output_format.is_empty()
            || (args.format.is_none() && !config.output_format.is_empty());
        if let [Err(error)] = run.results.as_slice()
            && !machine
        {
            return Err(error.clone().into());
        }
        for error in run.errors() {
            streams.report_error(error);
        }
        let failed = run.errors().count();
        if failed == run.results.len() && !machine {
            return Err(Error::Inputs {
                count: failed,
                total: run.results.len(),
            });
        }
    }
    if let Some(baseline) = &baseline {
        for entry in run.results.iter_mut().flatten() {
            entry.change = Some(baseline.compare(&cwd, &entry.file, &entry.assessment));
        }
        let files: Vec<&str> = run.entries().map(|e| e.file.as_str()).collect();
        run.gone = Some(
            baseline
                .missing(&cwd, &files)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        );
        run.fail_on_new = args.fail_on_new;
    }
    let mut inputs: Vec<&Path> = args.files.iter().map(PathBuf::as_path).collect();
    inputs.extend(expanded.iter().flatten().map(PathBuf::as_path));
    inputs.extend(args.ladder.as_deref());
    inputs.extend(args.baseline.as_deref());
    inputs.extend(args.connection.queries.as_deref());
    if args.statistics {
        streams.write_out(&crate::render::statistics(&run))?;
    } else if args.output_format.is_empty()
        && (args.format.is_some() || args.output.is_some() || config.output_format.is_empty())
    {
        render_run(
            &run,
            args.format.unwrap_or_default(),
            color,
            args.quiet,
            args.output.as_deref(),
            &inputs,
            streams,
        )?;
    } else {
        let specs = if args.output_format.is_empty() {
            &config.output_format
        } else {
            &args.output_format
        };
        let to_stdout = specs
            .iter()
            .filter(|spec| spec.path.as_ref().is_none_or(|p| p.as_os_str() == "-"))
            .count();
        if to_stdout > 1 {
            return Err(Error::Usage(
                "--output-format: at most one output can go to standard output; give the others a :PATH".into(),
            ));
        }
        for spec in specs {
            render_run(
                &run,
                spec.format,
                color,
                args.quiet,
                spec.path.as_deref(),
                &inputs,
                streams,
            )?;
        }
    }
    if let Some(path) = &args.write_baseline {
        super::render_run(
            &run,
            OutputFormat::Json,
            false,
            false,
            Some(path),
            &inputs,
            streams,
        )?;
        let _ = writeln!(
            streams.err,
            "baseline written: {} ({} reports); compare later runs with --baseline {0}",
            path_name(path),
            run.entries().count()
        );
        return Ok(if run.errors().next().is_some() {
            Outcome::InputError
        } else {
            Outcome::Pass
        });
    }
    Ok(Outcome::of_run(&run))
}

/// A report collected from `source`, read back as every report is, and assessed.
fn collected_entry<'a>(
    collected: &crate::collect::Collected,
    source: &str,
    ladder: &'a Ladder,
    options: &Options,
) -> Result<Entry<'a>, Error> {
    let source = Source::from_bytes(
        format!("<{source}>"),
        collected.yaml(source).into_bytes(),
        Format::Yaml,
    )?;
    let report = Report::parse(&source, ladder)?;
    Ok(Entry {
        file: source.name,
        assessment: assess_with(&report, ladder, options),
        lines: Vec::new(),
        change: None,
        what_if: None,
    })
}

/// The format a fleet can be written in as it is assessed: one JSON, JSON
/// Lines, GitHub, concise, JUnit, SARIF, Markdown or table output (drawn as
/// `table`), and nothing that needs every result at once (a second format,
/// `--statistics`, `--write-baseline`).
fn streamed_format(args: &AssessArgs, config: &Config, table: Table) -> Option<Streamed> {
    let single = args.output_format.is_empty()
        && !args.statistics
        && args.write_baseline.is_none()
        && (args.format.is_some() || args.output.is_some() || config.output_format.is_empty());
    match args.format {
        _ if !single => None,
        Some(OutputFormat::Json) => Some(Streamed::Json),
        Some(OutputFormat::Jsonl) => Some(Streamed::JsonLines),
        Some(OutputFormat::Github) => Some(Streamed::Github),
        Some(OutputFormat::Concise) => Some(Streamed::Concise),
        Some(OutputFormat::Junit) => Some(Streamed::Junit),
        Some(OutputFormat::Sarif) => Some(Streamed::Sarif),
        Some(OutputFormat::Markdown) => Some(Streamed::Markdown),
        Some(OutputFormat::Table) | None => Some(Streamed::Table(table)),
    }
}

/// What a fleet run assesses, and with what.
struct Fleet<'f, 'a> {
    inputs: &'f [Result<PathBuf, FileError>],
    ladder: &'a Ladder,
    what_if: Option<&'f WhatIfSpec>,
    options: &'f Options,
    /// Whether to find the line of each field (see [`Entry::lines`]).
    lines: bool,
    config: &'f Config,
    cwd: &'f Path,
    baseline: Option<&'f Baseline>,
}

/// Results in flight at most when a fleet is written as it is assessed:
/// memory is bounded by this many results, not by the fleet.
const STREAM_WINDOW: usize = 1024;

/// Assesses a fleet, writing each result as soon as those before it are
/// written. A head that depends on every report (JSON's status, JUnit's
/// counts) goes first all the same: the reports wait in a
/// [`crate::render::Spill`], or go to the file after room left for the head.
fn stream_fleet<'a>(
    format: Streamed,
    mut run: Run<'a>,
    fleet: &Fleet<'_, 'a>,
    args: &AssessArgs,
    streams: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    run.fail_on_new = args.fail_on_new;
    run.gone = fleet.baseline.map(|_| Vec::new());
    let mut inputs: Vec<&Path> = args.files.iter().map(PathBuf::as_path).collect();
    inputs.extend(fleet.inputs.iter().flatten().map(PathBuf::as_path));
    inputs.extend(args.ladder.as_deref());
    inputs.extend(args.baseline.as_deref());
    let output = args
        .output
        .as_deref()
        .filter(|p| p.as_os_str() != super::STDOUT);
    let mut outcome = Outcome::Pass;
    let mut errors = Vec::new();
    if let Streamed::Table(_) = format {
        // The table is drawn at the end, from its rows: a person reading it
        // gets a failed input's error alone, as for the whole run.
        let mut stream = Stream::new(format, run);
        assess_into(&mut stream, fleet, &mut std::io::sink()).map_err(|source| Error::Write {
            target: "the table".into(),
            source,
        })?;
        let (total, failed) = stream.counted();
        if let ([error], 1) = (stream.errors(), total) {
            return Err(error.clone().into());
        }
        for error in stream.errors() {
            streams.report_error(error);
        }
        if failed == total {
            return Err(Error::Inputs {
                count: failed,
                total,
            });
        }
        let finish = |out: &mut dyn Output| -> std::io::Result<()> {
            outcome = stream.finish(out)?;
            Ok(())
        };
        match output {
            Some(path) => {
                crate::output::write_output(path, true, &inputs, finish)?;
                streams.wrote(path, args.quiet);
            }
            None => streams.write_with(finish)?,
        }
        return Ok(outcome);
    }
    let write = |out: &mut dyn Output| -> std::io::Result<()> {
        // A reader that stops early (`| head`) must not stop the gate:
        // the rest is assessed, and discarded.
        let mut out = UntilClosed { out, closed: false };
        let out = &mut out;
        let mut stream = Stream::new(format, run);
        assess_into(&mut stream, fleet, out)?;
        errors = stream.errors().to_vec();
        outcome = stream.finish(out)?;
        if out.closed {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        Ok(())
    };
    match output {
        Some(path) => {
            crate::output::write_output(path, true, &inputs, write)?;
            streams.wrote(path, args.quiet);
        }
        None => streams.write_with(write)?,
    }
    for error in &errors {
        streams.report_error(error);
    }
    Ok(outcome)
}

/// Assesses the fleet into `stream`, comparing each report with the
/// baseline when there is one. Each result is rendered on the thread that
/// assessed it, while this thread writes the ones before it.
fn assess_into<'a>(
    stream: &mut Stream<'a>,
    fleet: &Fleet<'_, 'a>,
    out: &mut dyn Output,
) -> std::io::Result<()> {
    let keep = fleet.inputs.len() == 1;
    let maker = stream.maker()?;
    parallel::for_each_ordered(
        fleet.inputs,
        STREAM_WINDOW,
        |input| {
            let mut result = assess_input(input, fleet);
            if let (Some(baseline), Ok(entry)) = (fleet.baseline, &mut result) {
                entry.change = Some(baseline.compare(fleet.cwd, &entry.file, &entry.assessment));
            }
            maker.piece(result, keep)
        },
        |piece| stream.add(piece?, out),
    )?;
    if let Some(baseline) = fleet.baseline {
        let files: Vec<&str> = stream.files().iter().map(String::as_str).collect();
        let gone = baseline
            .missing(fleet.cwd, &files)
            .into_iter()
            .map(str::to_owned)
            .collect();
        stream.set_gone(gone);
    }
    Ok(())
}

/// A writer that discards everything once its reader has gone away.
struct UntilClosed<'w> {
    out: &'w mut dyn Output,
    closed: bool,
}

impl Output for UntilClosed<'_> {
    fn leave_room(&mut self, len: u64) -> std::io::Result<bool> {
        self.out.leave_room(len)
    }

    fn fill_room(&mut self, part: &[u8]) -> std::io::Result<()> {
        self.out.fill_room(part)
    }
}

impl std::io::Write for UntilClosed<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(bytes.len());
        }
        match self.out.write(bytes) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(bytes.len())
            }
            result => result,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.out.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            result => result,
        }
    }
}

/// The load models fitted to a history, one per metric that follows users.
fn load_models(path: &Path, ladder: &Ladder) -> Result<[Option<LoadModel>; 5], Error> {
    let history = crate::history::load(path, ladder, false)?;
    let forecast =
        crate::forecast::forecast(&history.acc, ladder, &crate::forecast::Options::default())
            .map_err(|e| {
                FileError::new(path_name(path), crate::error::Problem::new(e.to_string()))
            })?;
    Ok(Metric::ALL.map(|metric| forecast.load_model(metric)))
}

/// What a what-if run scales to: the users, and each metric's load model.
type WhatIfSpec = (u64, [Option<LoadModel>; 5]);

/// Fewer inputs than this are assessed on one thread: below, threads cost
/// more than they save.
const PARALLEL_FROM: usize = 64;

fn assess_all<'a>(
    inputs: &[Result<PathBuf, FileError>],
    ladder: &'a Ladder,
    what_if: Option<WhatIfSpec>,
    options: &Options,
    config: &Config,
    cwd: &Path,
) -> Vec<Result<Entry<'a>, FileError>> {
    parallel::map_ordered(inputs, PARALLEL_FROM, |input| {
        assess_one(input, ladder, what_if.as_ref(), options, true, config, cwd)
    })
}

/// One input of a fleet assessed.
fn assess_input<'a>(
    input: &Result<PathBuf, FileError>,
    fleet: &Fleet<'_, 'a>,
) -> Result<Entry<'a>, FileError> {
    assess_one(
        input,
        fleet.ladder,
        fleet.what_if,
        fleet.options,
        fleet.lines,
        fleet.config,
        fleet.cwd,
    )
}

fn assess_one<'a>(
    input: &Result<PathBuf, FileError>,
    ladder: &'a Ladder,
    what_if: Option<&WhatIfSpec>,
    options: &Options,
    lines: bool,
    config: &Config,
    cwd: &Path,
) -> Result<Entry<'a>, FileError> {
    let file = input.as_ref().map_err(Clone::clone)?;
    let extra = config.ignores_for(cwd, file);
    if extra.is_empty() {
        assess_file(file, ladder, what_if, options, lines)
    } else {
        let mut options = options.clone();
        options.ignore.extend(extra);
        assess_file(file, ladder, what_if, &options, lines)
    }
}

/// How far in the future an `observed_at` may be, in days, for clocks that
/// disagree.
const MAX_CLOCK_SKEW_DAYS: f64 = 1.0;

fn assess_file<'a>(
    file: &Path,
    ladder: &'a Ladder,
    what_if_spec: Option<&WhatIfSpec>,
    options: &Options,
    lines: bool,
) -> Result<Entry<'a>, FileError> {
    let source = read_input(file)?;
    let report = Report::parse(&source, ladder)?;
    // A date in the future would never go stale: refused past a day of
    // clock skew.
    // A value that cannot be assessed as written, at its place in the file.
    let refuse = |field: &str, message: String| {
        FileError::new(
            source.name.clone(),
            crate::error::Problem::at(source.value_location(field), message),
        )
    };
    if let (Some(today), Some(observed)) = (options.today, report.observed_at)
        && observed > today + MAX_CLOCK_SKEW_DAYS
    {
        return Err(refuse(
            "observed_at",
            format!(
                "observed_at: {} is in the future (today is {}); a report is observed before it is assessed",
                crate::date::format_day(observed.floor() as i64),
                crate::date::format_day(today.floor() as i64)
            ),
        ));
    }
    let lines = if lines {
        source.key_lines(&RawReport::FIELDS)
    } else {
        Vec::new()
    };
    let (report, what_if) = match what_if_spec {
        // Load in proportion to users cannot be scaled from none: the answer
        // would be today's numbers at the new users, passing as if measured.
        Some((users, models)) if report.users == 0 && models.iter().all(Option::is_none) => {
            return Err(refuse(
                "users",
                format!(
                    "users: the report observes 0 users, so --users {} cannot scale its load from them; give the users the numbers were measured at (or a --history to fit the load to)",
                    crate::metric::format_count(*users)
                ),
            ));
        }
        Some((users, models)) => {
            let (scaled, answer) = what_if(&report, *users, ladder, models);
            (scaled, Some(answer))
        }
        None => (report, None),
    };
    Ok(Entry {
        file: super::input_name(file),
        assessment: assess_with(&report, ladder, options),
        lines,
        change: None,
        what_if,
    })
}
