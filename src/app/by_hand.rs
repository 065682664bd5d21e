//! The by-hand commands: `checklist`, `explain` and `validate`.

use super::{Streams, read_input};
use crate::checklist::{self, Status};
use crate::cli::{ChecklistArgs, ExplainArgs, ListFormat, ValidateArgs, ValidateKind};
use crate::engine::BUILTIN_ALARMS;
use crate::error::{Error, FileError};
use crate::gate::Outcome;
use crate::ladder::Ladder;
use crate::metrics::Report;
use crate::render;
use crate::source::{Format, Source};

pub(super) fn checklist_command(
    args: &ChecklistArgs,
    color: bool,
    streams: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    let ladder = Ladder::load(args.ladder.as_deref())?;
    let mut report = match &args.file {
        Some(file) => Some(Report::parse(&read_input(file)?, &ladder)?),
        None => None,
    };
    let mut file = args.file.as_deref().map(super::input_name);
    let mut measured = Vec::new();
    if let Some(measurement) = super::database::measure(&args.database, None, &ladder)? {
        let mut collected = measurement.collected;
        super::prometheus::note(streams, &collected.notes);
        let users = report.as_ref().map_or(args.users.unwrap_or(0), |r| r.users);
        #[allow(clippy::cast_precision_loss)]
        collected.values.insert("users", users as f64);
        let source = Source::from_bytes(
            format!("<{}>", measurement.servers),
            collected.yaml(&measurement.servers).into_bytes(),
            Format::Yaml,
        )?;
        let from_servers = Report::parse(&source, &ladder)?;
        report = Some(match report {
            // Measured values replace the file's; its other answers stay.
            Some(mut report) => {
                report.db_connections = from_servers.db_connections.or(report.db_connections);
                report.db_max_connections = from_servers
                    .db_max_connections
                    .or(report.db_max_connections);
                report.db_cpu_pct = from_servers.db_cpu_pct.or(report.db_cpu_pct);
                report.replication_lag_ms = from_servers
                    .replication_lag_ms
                    .or(report.replication_lag_ms);
                report.cache_hit_rate_pct = from_servers
                    .cache_hit_rate_pct
                    .or(report.cache_hit_rate_pct);
                report
            }
            None => from_servers,
        });
        file = Some(match file {
            Some(file) => format!("{file} and {}", measurement.servers),
            None => measurement.servers,
        });
        measured = measurement.measured;
    } else if let Some(users) = args.users {
        report = Some(Report::with_users(users));
    }
    let sections = checklist::check(report.as_ref(), &ladder, &measured);
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

pub(super) fn explain_command(
    args: &ExplainArgs,
    streams: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    let ladder = Ladder::load(args.ladder.as_deref())?;
    if args.all {
        let text: Vec<String> = ladder
            .rules()
            .iter()
            .map(|rule| render::ladder::explain(rule, &ladder))
            .chain(
                BUILTIN_ALARMS
                    .iter()
                    .map(|(id, text)| format!("{id}: built-in alarm\n  {text}\n")),
            )
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
    Err(Error::Usage(
        crate::engine::unknown_rule(id, &ladder).unwrap_or_default(),
    ))
}

pub(super) fn validate_command(
    args: &ValidateArgs,
    streams: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    let ladder = Ladder::load(args.ladder.as_deref())?;
    let mut invalid = 0;
    for file in &args.files {
        let name = super::input_name(file);
        let problems = match args.kind {
            ValidateKind::Report => match read_input(file) {
                Err(error) => error.problems,
                Ok(source) => Report::problems(&source, &ladder),
            },
            ValidateKind::Ladder => match read_input(file) {
                Err(error) => error.problems,
                Ok(source) => Ladder::parse(&source)
                    .err()
                    .map(|e| e.problems)
                    .unwrap_or_default(),
            },
            ValidateKind::History => crate::history::load(file, &ladder, false)
                .err()
                .map(|e| e.problems)
                .unwrap_or_default(),
            ValidateKind::Queries => crate::collect::prometheus::Queries::load(Some(file))
                .err()
                .map(|e| e.problems)
                .unwrap_or_default(),
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
