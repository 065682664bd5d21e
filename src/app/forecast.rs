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
    let ladder = Ladder::load(args.stages.as_deref())?;
    let keep = args.plot.is_some();
    let (name, history) = match (&args.history, connect(&args.connection, streams)?) {
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
            let name = format!("<{}>", client.shown());
            let mut history = history::History::default();
            history::read_csv_from(collected.csv.as_bytes(), &name, &mut history, keep)?;
            (name, history)
        }
        (Some(path), None) => (path_name(path), history::load(path, &ladder, keep)?),
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
        if path.as_os_str() == super::STDOUT {
            return Err(Error::Usage(
                "--plot -: the SVG would be mixed with the forecast on standard output; give a file".into(),
            ));
        }
        let mut inputs: Vec<&Path> = Vec::new();
        inputs.extend(args.history.as_deref());
        inputs.extend(args.stages.as_deref());
        write_output(path, true, &inputs, |out| out.write_all(svg.as_bytes()))?;
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
