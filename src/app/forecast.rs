//! `forecast`: from a history file or from Prometheus.

use std::path::Path;

use super::Streams;
use super::prometheus::{collect_history, connect, note};
use crate::cli::{ForecastArgs, ListFormat};
use crate::engine::Severity;
use crate::error::{Error, FileError, Problem};
use crate::escape::path_name;
use crate::gate::Outcome;
use crate::ladder::Ladder;
use crate::output::write_output;
use crate::{forecast, history, render};

pub(super) fn forecast_command(
    args: &ForecastArgs,
    streams: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    let ladder = Ladder::load(args.ladder.as_deref())?;
    let keep = args.plot.is_some();
    let (name, history) = match (&args.history, connect(&args.connection, streams)?) {
        (_, Some((client, queries))) => {
            let range = args.range.as_deref().ok_or_else(|| {
                Error::Usage("--prometheus needs --range, such as --range 90d".into())
            })?;
            let collected = collect_history(
                &client,
                &queries,
                args.users,
                args.at.as_deref(),
                range,
                &args.step,
            )?;
            note(streams, &collected.notes);
            let name = format!("<{}>", client.shown());
            let mut history = history::History::default();
            history::read_csv_from(collected.csv.as_bytes(), &name, &mut history, keep)?;
            (name, history)
        }
        (Some(path), None) if path.as_os_str() == "-" => {
            let name = super::input_name(path);
            let mut history = history::History::default();
            history::read_csv_from(std::io::stdin().lock(), &name, &mut history, keep)?;
            (name, history)
        }
        (Some(path), None) => (path_name(path), history::load(path, &ladder, keep)?),
        (None, None) => {
            return Err(Error::Usage(
                "give a HISTORY file or --prometheus URL".into(),
            ));
        }
    };
    let since = args
        .since
        .as_deref()
        .map(|text| crate::date::parse(text).map_err(|e| Error::Usage(format!("--since: {e}"))))
        .transpose()?;
    let options = forecast::Options {
        // The horizon always covers --fail-within, or the gate could never fail.
        horizon: args
            .horizon
            .max(args.fail_within.unwrap_or(0))
            .min(forecast::MAX_HORIZON),
        period: args.period,
        peak: args.peak,
        since,
    };
    let forecast = forecast::forecast(&history.acc, &ladder, &options)
        .map_err(|e| FileError::new(name, Problem::new(e.to_string())))?;
    if let Some(path) = &args.plot {
        let svg = render::plot::svg(&forecast, &ladder, &history.points);
        if path.as_os_str() == super::STDOUT {
            return Err(Error::Usage(
                "--plot -: the SVG would be mixed with the forecast on standard output; give a file".into(),
            ));
        }
        let mut inputs: Vec<&Path> = Vec::new();
        inputs.extend(args.history.as_deref());
        inputs.extend(args.ladder.as_deref());
        write_output(path, true, &inputs, |out| out.write_all(svg.as_bytes()))?;
        streams.wrote(path, false);
    }
    let text = match args.format {
        ListFormat::Table => render::forecast::table(&forecast, &ladder),
        ListFormat::Json => render::forecast::json(&forecast)?,
    };
    streams.write_out(&text)?;
    let Some(within) = args.fail_within else {
        return Ok(Outcome::Pass);
    };
    // The gate fails on the earliest plausible date, and says which.
    let tripped: Vec<String> = forecast
        .crossings
        .iter()
        .filter(|c| c.severity == Severity::Critical)
        .filter_map(|c| {
            let earliest = c.earliest.or(c.days)?;
            (earliest <= i64::from(within)).then(|| {
                if c.already {
                    format!("{} is already critical", c.rule.id)
                } else {
                    format!(
                        "{} {} as early as {} ({})",
                        c.rule.id,
                        c.describe(),
                        crate::date::format_day(forecast.to + earliest),
                        crate::render::forecast::in_days(earliest)
                    )
                }
            })
        })
        .collect();
    if tripped.is_empty() {
        return Ok(Outcome::Pass);
    }
    let _ = writeln!(
        streams.err,
        "forecast: within --fail-within {within} days: {}",
        tripped.join("; ")
    );
    Ok(Outcome::GateFailed)
}
