//! Running the commands: read inputs, call the engine, render, and decide
//! the outcome. The only module that touches files and streams.

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::cli::{AssessArgs, Cli, ColorChoice, Command, OutputFormat};
use crate::engine::assess;
use crate::error::{Error, FileError};
use crate::gate::Outcome;
use crate::ladder::Ladder;
use crate::metrics::Report;
use crate::render::{Entry, Json, Renderer, Run, Table};
use crate::source::Source;

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
        match self
            .out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
        {
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
    }
}

fn assess_command(
    args: &AssessArgs,
    color: bool,
    streams: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    let ladder = Ladder::load(args.stages.as_deref())?;
    let stdin_count = args.files.iter().filter(|f| f.as_os_str() == "-").count();
    if stdin_count > 1 {
        return Err(Error::Usage(
            "`-` (standard input) can be given only once".into(),
        ));
    }
    let run = Run {
        results: args
            .files
            .iter()
            .map(|file| assess_file(file, &ladder))
            .collect(),
    };
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
    let text = match args.format {
        OutputFormat::Table => Table {
            color,
            quiet: false,
        }
        .render(&run)?,
        OutputFormat::Json => Json.render(&run)?,
    };
    streams.write_out(&text)?;
    Ok(Outcome::of_run(&run, args.fail_on))
}

fn assess_file<'a>(file: &Path, ladder: &'a Ladder) -> Result<Entry<'a>, FileError> {
    let source = if file.as_os_str() == "-" {
        Source::stdin()?
    } else {
        Source::read(file)?
    };
    let report = Report::parse(&source, ladder)?;
    Ok(Entry {
        file: file.display().to_string(),
        assessment: assess(&report, ladder),
    })
}
