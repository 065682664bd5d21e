//! Running the commands: read inputs, call the engine, render, and decide
//! the outcome. The only part of the library that touches files, streams
//! and the network; one file per group of commands.

mod assess;
mod by_hand;
mod database;
mod forecast;
mod prometheus;

use std::io::{IsTerminal, Write};
use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, ColorChoice, Command, InitKind, ListFormat, OutputFormat};
use crate::config::Config;
use crate::error::{Error, FileError};
use crate::gate::Outcome;
use crate::ladder::{DEFAULT_STAGES, Ladder};
use crate::output::{Output, write_atomic, write_output};
use crate::render::{
    self, Concise, Github, Json, JsonLines, Junit, Markdown, Renderer, Run, Sarif, Table,
};
use crate::source::Source;
use crate::{schema, template};

/// The `--output` value that means standard output.
pub(crate) const STDOUT: &str = "-";

/// Where a command writes.
pub struct Streams<'a> {
    /// Standard output.
    pub out: &'a mut dyn Write,
    /// Standard error, for per-file errors of fleet runs.
    pub err: &'a mut dyn Write,
    /// Whether standard output is a terminal.
    pub out_is_terminal: bool,
    /// Whether to colour the `error:` prefix on standard error.
    pub err_color: bool,
    /// The width to lay tables out in, and whether it is the reader's.
    pub width: (u16, bool),
}

/// The reader's width: `COLUMNS` when set, else the terminal's when standard
/// output is one; otherwise the default, and tables are not fitted.
pub fn reader_width(out_is_terminal: bool) -> (u16, bool) {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok());
    let terminal = || {
        out_is_terminal
            .then(|| comfy_table::Table::new().width())
            .flatten()
    };
    match columns.or_else(terminal) {
        Some(width) => (width.clamp(40, 500), true),
        None => (crate::render::DEFAULT_WIDTH, false),
    }
}

impl Streams<'_> {
    pub(crate) fn write_out(&mut self, text: &str) -> Result<(), Error> {
        self.write_with(|out| out.write_all(text.as_bytes()))
    }

    pub(crate) fn write_with(
        &mut self,
        write: impl FnOnce(&mut dyn Output) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        // Large outputs are written in few system calls.
        let mut out = std::io::BufWriter::with_capacity(1 << 20, &mut *self.out);
        match write(&mut out).and_then(|()| out.flush()) {
            // A reader that stopped early (`| head`) is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            result => result.map_err(|source| Error::Write {
                target: "standard output".into(),
                source,
            }),
        }
    }

    /// Names a file the command wrote, on standard error (`wrote PATH`), so
    /// that no file is written without a trace; not with `quiet`.
    pub(crate) fn wrote(&mut self, path: &Path, quiet: bool) {
        if !quiet {
            let _ = writeln!(self.err, "wrote {}", crate::escape::path_name(path));
        }
    }

    pub(crate) fn report_error(&mut self, error: &FileError) {
        let _ = writeln!(
            self.err,
            "{}: {}",
            error_prefix(self.err_color),
            crate::escape::text(&error.to_string())
        );
    }
}

/// `error`, in bold red when colour is on.
pub fn error_prefix(color: bool) -> &'static str {
    if color {
        "\x1b[1;31merror\x1b[0m"
    } else {
        "error"
    }
}

/// Whether to colour a stream: `--color`, else only a terminal, never with
/// `NO_COLOR` set or on a `TERM=dumb` terminal.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    color_for(
        choice,
        is_terminal,
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("TERM").as_deref(),
    )
}

fn color_for(
    choice: ColorChoice,
    is_terminal: bool,
    no_color: Option<&std::ffi::OsStr>,
    term: Option<&std::ffi::OsStr>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && no_color.is_none_or(|v| v.is_empty()) && term.is_none_or(|t| t != "dumb")
        }
    }
}

/// Runs a parsed command line with the process's own streams.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    let stdout = std::io::stdout();
    let out_is_terminal = stdout.is_terminal();
    let err_color = use_color(cli.color, std::io::stderr().is_terminal());
    let mut out = stdout.lock();
    let mut err = std::io::stderr().lock();
    run_with(
        cli,
        &mut Streams {
            out: &mut out,
            err: &mut err,
            out_is_terminal,
            err_color,
            width: reader_width(out_is_terminal),
        },
    )
}

/// Runs a parsed command line.
pub fn run_with(cli: Cli, streams: &mut Streams<'_>) -> Result<Outcome, Error> {
    let color = use_color(cli.color, streams.out_is_terminal);
    let cwd = std::env::current_dir().map_err(|e| {
        Error::Usage(format!(
            "cannot read the working directory: {}",
            crate::source::io_reason(&e)
        ))
    })?;
    // Only the commands that use it read the config file, so that a broken
    // one never stops `init`, `schema` or `completions`.
    let uses_config = !matches!(
        cli.command,
        Command::Init(_) | Command::Schema(_) | Command::Completions(_) | Command::Collect(_)
    );
    let config = match Config::find(&cwd, cli.config.as_deref(), cli.no_config || !uses_config) {
        Some(path) => Config::load(&path)?,
        None => Config::default(),
    };
    let mut command = cli.command;
    // The config file's ladder is every command's default.
    let ladder = match &mut command {
        Command::Assess(a) => Some(&mut a.ladder),
        Command::Checklist(a) => Some(&mut a.ladder),
        Command::Forecast(a) => Some(&mut a.ladder),
        Command::Plan(a) => Some(&mut a.ladder),
        Command::Stages(a) => Some(&mut a.ladder),
        Command::Explain(a) => Some(&mut a.ladder),
        Command::Validate(a) => Some(&mut a.ladder),
        _ => None,
    };
    if let Some(ladder) = ladder
        && ladder.is_none()
    {
        ladder.clone_from(&config.ladder);
    }
    match command {
        Command::Assess(args) => assess::assess_command(&args, &config, color, streams),
        Command::Config => {
            streams.write_out(&config.describe())?;
            Ok(Outcome::Pass)
        }
        Command::Checklist(args) => by_hand::checklist_command(&args, color, streams),
        Command::Forecast(args) => forecast::forecast_command(&args, streams),
        Command::Plan(args) => {
            let ladder = Ladder::load(args.ladder.as_deref())?;
            let text = match args.format {
                ListFormat::Table => render::ladder::plan_table(args.users, &ladder),
                ListFormat::Json => render::ladder::plan_json(args.users, &ladder)?,
            };
            streams.write_out(&text)?;
            Ok(Outcome::Pass)
        }
        Command::Stages(args) => {
            let ladder = Ladder::load(args.ladder.as_deref())?;
            let text = match args.format {
                ListFormat::Table => render::ladder::table(&ladder, streams.width.0),
                ListFormat::Json => render::ladder::json(&ladder)?,
            };
            streams.write_out(&text)?;
            Ok(Outcome::Pass)
        }
        Command::Explain(args) => by_hand::explain_command(&args, streams),
        Command::Collect(args) => prometheus::collect_command(&args, streams),
        Command::Init(args) => {
            let text = match args.what() {
                InitKind::Ladder => DEFAULT_STAGES.to_owned(),
                InitKind::Queries => crate::collect::prometheus::DEFAULT_QUERIES.to_owned(),
                InitKind::Report => template::metrics_template(),
            };
            match args.output.as_deref().filter(|p| p.as_os_str() != STDOUT) {
                Some(path) => {
                    write_atomic(path, &text, args.force)?;
                    streams.wrote(path, false);
                }
                None => streams.write_out(&text)?,
            }
            Ok(Outcome::Pass)
        }
        Command::Validate(args) => by_hand::validate_command(&args, streams),
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

/// The clock, in Unix seconds: the one place a command reads it.
pub(crate) fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64().floor())
}

/// Today, in days since 1970-01-01 (UTC), fractional.
pub(crate) fn today() -> f64 {
    now_seconds() / 86_400.0
}

/// The name of an input in messages and reports: `<stdin>` for `-`.
pub(crate) fn input_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        crate::source::STDIN_NAME.to_owned()
    } else {
        crate::escape::path_name(path)
    }
}

pub(crate) fn read_input(file: &Path) -> Result<Source, FileError> {
    if file.as_os_str() == "-" {
        Source::stdin()
    } else {
        Source::read(file)
    }
}

/// The table as it is drawn to `output` (a file, or standard output when
/// `None`): a file gets neither colour nor the reader's width.
pub(crate) fn table_for(
    color: bool,
    quiet: bool,
    output: Option<&Path>,
    streams: &Streams<'_>,
) -> Table {
    let (width, fit) = match output {
        Some(_) => (crate::render::DEFAULT_WIDTH, false),
        None => streams.width,
    };
    Table {
        color: color && output.is_none(),
        quiet,
        width,
        fit,
    }
}

pub(crate) fn render_run(
    run: &Run<'_>,
    format: OutputFormat,
    color: bool,
    quiet: bool,
    output: Option<&Path>,
    inputs: &[&Path],
    streams: &mut Streams<'_>,
) -> Result<(), Error> {
    let output = output.filter(|path| path.as_os_str() != STDOUT);
    let table = table_for(color, quiet, output, streams);
    let renderer: &dyn Renderer = match format {
        OutputFormat::Table => &table,
        OutputFormat::Json => &Json,
        OutputFormat::Markdown => &Markdown,
        OutputFormat::Github => &Github,
        OutputFormat::Junit => &Junit,
        OutputFormat::Sarif => &Sarif,
        OutputFormat::Concise => &Concise,
        OutputFormat::Jsonl => &JsonLines,
    };
    match output {
        Some(path) => {
            write_output(path, true, inputs, |out| renderer.render(run, out))?;
            streams.wrote(path, quiet);
            Ok(())
        }
        None => streams.write_with(|out| renderer.render(run, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_follows_the_choice_the_terminal_no_color_and_term() {
        let auto = ColorChoice::Auto;
        assert!(color_for(
            auto,
            true,
            None,
            Some(OsStr::new("xterm-256color"))
        ));
        assert!(!color_for(auto, false, None, None));
        assert!(!color_for(auto, true, Some(OsStr::new("1")), None));
        assert!(color_for(auto, true, Some(OsStr::new("")), None));
        assert!(!color_for(auto, true, None, Some(OsStr::new("dumb"))));
        assert!(color_for(
            ColorChoice::Always,
            false,
            Some(OsStr::new("1")),
            None
        ));
        assert!(!color_for(ColorChoice::Never, true, None, None));
    }
}
