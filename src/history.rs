//! A history of observations for `forecast`: a CSV file (streamed), a
//! YAML or JSON list of metrics reports, or a directory of reports, each
//! with an `observed_at` date.

use std::io::BufReader;
use std::path::Path;

use crate::date;
use crate::error::{FileError, Location, Problem};
use crate::escape::path_name;
use crate::fleet;
use crate::forecast::{Accumulator, Observation};
use crate::ladder::Ladder;
use crate::metric::Metric;
use crate::metrics::{RawReport, Report, Users};
use crate::source::{Format, Source, io_reason, open_file};
use crate::suggest;

/// One observation kept for a plot, in a third of an [`Observation`]'s memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotPoint {
    /// Days since 1970-01-01.
    pub day: f64,
    /// Users, then the metrics in [`Metric::ALL`] order; NaN when missing.
    pub values: [f32; 6],
}

impl PlotPoint {
    /// Users (index 0) or a metric (index 1 + its position in [`Metric::ALL`]).
    pub fn value(&self, index: usize) -> Option<f64> {
        let value = f64::from(self.values[index]);
        (!value.is_nan()).then_some(value)
    }
}

/// A history read into a forecast's accumulator, with the points kept for a plot.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The accumulated trends.
    pub acc: Accumulator,
    /// Every observation, when asked for (for plots).
    pub points: Vec<PlotPoint>,
}

impl History {
    fn add(&mut self, obs: Observation, keep: bool) {
        self.acc.add(&obs);
        if keep {
            #[allow(clippy::cast_possible_truncation)]
            let narrow = |v: Option<f64>| v.map_or(f32::NAN, |v| v as f32);
            let mut values = [f32::NAN; 6];
            values[0] = narrow(obs.users);
            for (slot, value) in values[1..].iter_mut().zip(obs.metrics) {
                *slot = narrow(value);
            }
            self.points.push(PlotPoint {
                day: obs.day,
                values,
            });
        }
    }
}

/// Where each item of a top-level list starts: a line opening with `-` in
/// YAML, an object at depth one in JSON.
fn item_starts(source: &Source) -> Vec<Location> {
    let mut starts = Vec::new();
    match source.format {
        Format::Json => {
            let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
            for (offset, c) in source.text.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' if in_string => escaped = true,
                    '"' => in_string = !in_string,
                    _ if in_string => {}
                    '[' | '{' => {
                        if c == '{' && depth == 1 {
                            starts.push(Location::of_offset(&source.text, offset));
                        }
                        depth += 1;
                    }
                    ']' | '}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
        }
        _ => {
            for (index, line) in source.text.lines().enumerate() {
                if line == "-" || line.starts_with("- ") {
                    starts.push(Location {
                        line: index + 1,
                        column: 1,
                    });
                }
            }
        }
    }
    starts
}

/// Reads a history from a CSV file, a YAML or JSON list of reports, or a
/// directory of reports.
pub fn load(path: &Path, ladder: &Ladder, keep_points: bool) -> Result<History, FileError> {
    let name = path_name(path);
    let mut history = History::default();
    if path.is_dir() {
        for file in fleet::expand(
            &[path.to_path_buf()],
            &globset::GlobSet::empty(),
            &mut fleet::Skipped::default(),
        ) {
            let source = Source::read(&file?)?;
            let report = Report::parse(&source, ladder)?;
            let obs = observation(&report).ok_or_else(|| {
                FileError::new(
                    source.name.clone(),
                    Problem::new("has no observed_at; every report of a history needs its date"),
                )
            })?;
            history.add(obs, keep_points);
        }
        return Ok(history);
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match (extension.as_deref(), Format::from_path(path)) {
        (Some("csv"), _) => read_csv(path, &name, &mut history, keep_points)?,
        (_, Some(Format::Yaml | Format::Json)) => {
            let source = Source::read(path)?;
            let reports: Vec<RawReport> = source
                .deserialize()
                .map_err(|problem| FileError::new(name.clone(), problem))?;
            let starts = item_starts(&source);
            for (index, raw) in reports.into_iter().enumerate() {
                let item = format!("report #{}", index + 1);
                let at = starts.get(index).copied();
                let report = raw.validate(ladder).map_err(|problems| FileError {
                    path: name.clone(),
                    problems: problems
                        .into_iter()
                        .map(|problem| Problem::at(at, format!("{item}: {}", problem.message)))
                        .collect(),
                })?;
                let obs = observation(&report).ok_or_else(|| {
                    FileError::new(
                        name.clone(),
                        Problem::at(at, format!("{item} has no observed_at")),
                    )
                })?;
                history.add(obs, keep_points);
            }
        }
        _ => {
            return Err(FileError::new(
                name,
                Problem::new(
                    "a history is a .csv file, a .yaml, .yml or .json list of reports, or a directory of reports",
                ),
            ));
        }
    }
    Ok(history)
}

#[allow(clippy::cast_precision_loss)]
fn observation(report: &Report) -> Option<Observation> {
    Some(Observation {
        day: report.observed_at?,
        users: Some(report.users as f64),
        metrics: Metric::ALL.map(|m| report.metric(m)),
    })
}

/// What a CSV column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Date,
    Users,
    /// A numeric report field.
    Number(Field),
    /// A report field that a history does not use.
    Ignored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    ApiP95,
    DbCpu,
    Connections,
    MaxConnections,
    CacheHitRate,
    ReplicationLag,
}

impl Field {
    fn parse(self, cell: &str) -> Result<f64, String> {
        let value: f64 = cell
            .trim()
            .parse()
            .map_err(|_| format!("\"{cell}\" is not a number"))?;
        if !value.is_finite() {
            return Err(format!("{cell} is not a finite number"));
        }
        if value < 0.0 {
            return Err(format!("{value} is negative; expected a number >= 0"));
        }
        match self {
            Field::DbCpu | Field::CacheHitRate if value > 100.0 => Err(format!(
                "{value} is over 100; expected a percentage from 0 to 100"
            )),
            Field::Connections | Field::MaxConnections if value.fract() != 0.0 => {
                Err(format!("{value} is not a whole number"))
            }
            Field::MaxConnections if value == 0.0 => {
                Err("the connection limit must be greater than 0".into())
            }
            _ => Ok(value + 0.0),
        }
    }
}

fn column(name: &str) -> Result<Column, String> {
    Ok(match name {
        "date" => Column::Date,
        "users" => Column::Users,
        "api_p95_ms" => Column::Number(Field::ApiP95),
        "db_cpu_pct" => Column::Number(Field::DbCpu),
        "db_connections" => Column::Number(Field::Connections),
        "db_max_connections" => Column::Number(Field::MaxConnections),
        "cache_hit_rate_pct" => Column::Number(Field::CacheHitRate),
        "replication_lag_ms" => Column::Number(Field::ReplicationLag),
        "service" | "current_stage" | "monthly_cost_usd" => Column::Ignored,
        other => {
            let known = [
                "date",
                "users",
                "api_p95_ms",
                "db_cpu_pct",
                "db_connections",
                "db_max_connections",
                "cache_hit_rate_pct",
                "replication_lag_ms",
            ];
            return Err(match suggest::nearest(other, known) {
                Some(nearest) => format!("unknown column `{other}`; did you mean `{nearest}`?"),
                None => format!(
                    "unknown column `{other}`; expected `date` and metric columns such as `users`"
                ),
            });
        }
    })
}

/// The 1-based character column where field `index` of a record starts.
fn field_column(record: &csv::StringRecord, index: usize) -> usize {
    1 + record
        .iter()
        .take(index)
        .map(|f| f.chars().count() + 1)
        .sum::<usize>()
}

fn read_csv(path: &Path, name: &str, history: &mut History, keep: bool) -> Result<(), FileError> {
    let fail = |message: String| FileError::new(name.to_owned(), Problem::new(message));
    let (file, _) = open_file(path).map_err(fail)?;
    read_csv_from(BufReader::with_capacity(1 << 16, file), name, history, keep)
}

/// The longest line of a history CSV, in bytes: a record is a date and a
/// few numbers, so anything near this is not a history (and would otherwise
/// be held whole in memory).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// A reader that fails on a line longer than [`MAX_LINE_BYTES`], naming it.
struct BoundedLines<R> {
    inner: R,
    line: usize,
    line_bytes: usize,
}

impl<R: std::io::Read> std::io::Read for BoundedLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        let too_long = |line: usize| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "line {line} is longer than {} MiB; a history row is a date and a few numbers",
                    MAX_LINE_BYTES >> 20
                ),
            )
        };
        match (
            chunk.iter().position(|&b| b == b'\n'),
            chunk.iter().rposition(|&b| b == b'\n'),
        ) {
            (Some(first), Some(last)) => {
                // Lines wholly inside the chunk are shorter than the chunk.
                if self.line_bytes + first > MAX_LINE_BYTES || n > MAX_LINE_BYTES {
                    return Err(too_long(self.line));
                }
                self.line += chunk.iter().filter(|&&b| b == b'\n').count();
                self.line_bytes = n - last - 1;
            }
            _ => self.line_bytes += n,
        }
        if self.line_bytes > MAX_LINE_BYTES {
            return Err(too_long(self.line));
        }
        Ok(n)
    }
}

/// Streams a history CSV from any reader into `history`; `name` names it in errors.
pub fn read_csv_from(
    input: impl std::io::Read,
    name: &str,
    history: &mut History,
    keep: bool,
) -> Result<(), FileError> {
    let fail = |location: Option<Location>, message: String| {
        FileError::new(name.to_owned(), Problem::at(location, message))
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(BoundedLines {
            inner: input,
            line: 1,
            line_bytes: 0,
        });
    let csv_error = |e: csv::Error| {
        let line = e
            .position()
            .map(|p| usize::try_from(p.line()).unwrap_or(usize::MAX));
        let message = match e.kind() {
            csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8 text".to_owned(),
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => {
                format!("this row has {len} fields but the header has {expected_len}")
            }
            csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
                io.to_string()
            }
            csv::ErrorKind::Io(io) => format!("cannot read: {}", io_reason(io)),
            _ => e.to_string(),
        };
        fail(line.map(|line| Location { line, column: 1 }), message)
    };
    let headers = reader.headers().map_err(csv_error)?.clone();
    let header = |index: usize| {
        Some(Location {
            line: 1,
            column: field_column(&headers, index),
        })
    };
    let mut columns = Vec::with_capacity(headers.len());
    for (index, raw) in headers.iter().enumerate() {
        let name = raw.trim_start_matches('\u{feff}').trim();
        let kind = column(name).map_err(|message| fail(header(index), message))?;
        if kind != Column::Ignored && columns.contains(&kind) {
            return Err(fail(
                header(index),
                format!("column `{name}` appears twice"),
            ));
        }
        columns.push(kind);
    }
    if !columns.contains(&Column::Date) {
        return Err(fail(
            Some(Location { line: 1, column: 1 }),
            "the header has no `date` column".into(),
        ));
    }
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_error)? {
        let line = record
            .position()
            .map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
        let at = |index: usize| {
            Some(Location {
                line,
                column: field_column(&record, index),
            })
        };
        let mut obs = Observation {
            day: f64::NAN,
            ..Observation::default()
        };
        let (mut connections, mut max_connections) = (None, None);
        for (index, (cell, kind)) in record.iter().zip(&columns).enumerate() {
            if cell.contains('\0') {
                return Err(fail(at(index), "is a binary file, not text".into()));
            }
            let cell = cell.trim();
            if cell.is_empty() {
                if *kind == Column::Date {
                    return Err(fail(at(index), "the date is empty".into()));
                }
                continue;
            }
            let value = match kind {
                Column::Ignored => continue,
                Column::Date => date::parse(cell),
                #[allow(clippy::cast_precision_loss)]
                Column::Users => Users::parse(cell).map(|u| u.0 as f64),
                Column::Number(field) => field.parse(cell),
            };
            let value = value.map_err(|message| {
                fail(
                    at(index),
                    format!("{}: {message}", headers.get(index).unwrap_or_default()),
                )
            })?;
            match kind {
                Column::Date => obs.day = value,
                Column::Users => obs.users = Some(value),
                Column::Number(Field::ApiP95) => obs.metrics[0] = Some(value),
                Column::Number(Field::DbCpu) => obs.metrics[1] = Some(value),
                Column::Number(Field::Connections) => connections = Some(value),
                Column::Number(Field::MaxConnections) => max_connections = Some(value),
                Column::Number(Field::CacheHitRate) => obs.metrics[3] = Some(value),
                Column::Number(Field::ReplicationLag) => obs.metrics[4] = Some(value),
                Column::Ignored => {}
            }
        }
        if let (Some(open), Some(max)) = (connections, max_connections) {
            obs.metrics[2] = Some(100.0 * open / max);
        }
        history.add(obs, keep);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
