//! Metrics from where they live: a report of now, or a history, built from
//! a Prometheus server's answers.

mod client;
mod queries;

use std::collections::{BTreeMap, BTreeSet};

pub use client::{Auth, Client, MAX_TIMEOUT_SECONDS, MAX_URL_BYTES, QueryError, Sample, ServerUrl};
pub use queries::{DEFAULT_QUERIES, Queries, Query, metric_names};

pub use super::Collected;
use super::{LARGEST_COUNT, WHOLE_FIELDS, clean, format_number_exact};
use crate::date::format_rfc3339;

/// The variant of a field's query to run: the first whose metrics all exist
/// on the server (any, when the server does not list its metric names). A
/// metric that exists nowhere is an error naming it and the nearest names.
fn choose<'q>(
    field: &str,
    query: &'q Query,
    built_in: bool,
    known: Option<&BTreeSet<String>>,
    notes: &mut Vec<String>,
) -> Result<Option<&'q str>, QueryError> {
    let variants = query.variants();
    let Some(known) = known else {
        return Ok(Some(variants[0]));
    };
    let missing = |variant: &str| -> Vec<String> {
        queries::metric_names(variant)
            .into_iter()
            .filter(|name| !known.contains(name))
            .collect()
    };
    for (index, variant) in variants.iter().enumerate() {
        if missing(variant).is_empty() {
            if index > 0 {
                notes.push(format!(
                    "{field}: using variant {} of its query ({variant}); the metrics of the ones before it do not exist here",
                    index + 1
                ));
            }
            return Ok(Some(variant));
        }
    }
    let absent = missing(variants[0]);
    let name = absent.first().map_or("", String::as_str);
    if built_in {
        notes.push(format!(
            "{field}: not collected: the metric `{name}` of its built-in query does not exist here (is its exporter scraped?)"
        ));
        return Ok(None);
    }
    let hint = crate::suggest::nearest(name, known.iter().map(String::as_str))
        .map_or_else(String::new, |n| format!("; did you mean `{n}`?"));
    Err(QueryError(format!(
        "{field}: the metric `{name}` does not exist on this server{hint} (its query: {}); fix the queries file, or check that the exporter runs and is scraped",
        variants[0]
    )))
}

/// Notes a metric whose series is younger than the window its query rates
/// over (`[5m]`): a rate over a few seconds of a new series reads wrong.
fn young_series(
    client: &Client,
    field: &str,
    query: &str,
    at: Option<f64>,
    notes: &mut Vec<String>,
) -> Result<(), QueryError> {
    let Some(window) = range_windows(query)
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
    else {
        return Ok(());
    };
    for metric in queries::metric_names(query) {
        let then = format!("count({metric} offset {})", window.0);
        if client.instant(&then, at)? == Sample::Empty {
            notes.push(format!(
                "{field}: {metric} has less than {} of data: the {} rate is not reliable yet",
                window.0, window.0
            ));
        }
    }
    Ok(())
}

/// The range windows of a query (`[5m]`, `[1h]`), as written and in seconds.
fn range_windows(query: &str) -> Vec<(String, f64)> {
    query
        .split('[')
        .skip(1)
        .filter_map(|rest| {
            let inside = rest.split(']').next()?;
            let window = inside.split(':').next()?.trim();
            let seconds = crate::date::parse_duration(window).ok()?;
            Some((window.to_owned(), seconds))
        })
        .collect()
}

/// Runs the instant queries at `at` (the server's now when `None`).
/// `users`, when given, replaces the users query.
pub fn collect(
    client: &Client,
    queries: &Queries,
    users: Option<u64>,
    at: Option<f64>,
) -> Result<Collected, QueryError> {
    let mut collected = Collected::default();
    let known = client.metric_names()?;
    for (field, query) in queries.fields() {
        if field == "users" && users.is_some() {
            continue;
        }
        let Some(query) = choose(
            field,
            query,
            queries.built_in,
            known.as_ref(),
            &mut collected.notes,
        )?
        else {
            continue;
        };
        match client.instant(query, at)? {
            Sample::Value(value) => {
                young_series(client, field, query, at, &mut collected.notes)?;
                let value = clean(field, value, &mut collected.notes);
                if WHOLE_FIELDS.contains(&field) && value > LARGEST_COUNT {
                    return Err(QueryError(format!(
                        "{field}: the query `{query}` returned {value}, too large for a count; no report could hold it"
                    )));
                }
                collected.values.insert(field, value);
            }
            Sample::Empty => collected.notes.push(format!(
                "{field}: the query returned no data; the field is left out"
            )),
            Sample::NotFinite(text) => collected.notes.push(format!(
                "{field}: the query returned {text}; the field is left out"
            )),
        }
    }
    if let Some(users) = users {
        #[allow(clippy::cast_precision_loss)]
        collected.values.insert("users", users as f64);
    }
    if !collected.values.contains_key("users") {
        return Err(QueryError(
            "no user count: give --users N, or a `users` query in the queries file (the users query returned nothing)".into(),
        ));
    }
    Ok(collected)
}

/// A history collected from range queries, as CSV rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectedHistory {
    /// The CSV text: a `date` column and one column per field that had data.
    pub csv: String,
    /// Rows written.
    pub rows: usize,
    /// What the user should know.
    pub notes: Vec<String>,
}

/// Runs the range queries from `end - range` to `end`, every `step` seconds.
pub fn collect_range(
    client: &Client,
    queries: &Queries,
    users: Option<u64>,
    end: f64,
    range: f64,
    step: f64,
) -> Result<CollectedHistory, QueryError> {
    let start = end - range;
    let mut notes = Vec::new();
    let mut columns: Vec<&'static str> = Vec::new();
    let mut table: BTreeMap<i64, BTreeMap<&'static str, f64>> = BTreeMap::new();
    let known = client.metric_names()?;
    for (field, query) in queries.fields() {
        if field == "users" && users.is_some() {
            continue;
        }
        let Some(query) = choose(field, query, queries.built_in, known.as_ref(), &mut notes)?
        else {
            continue;
        };
        let (points, not_finite) = client.range(query, start, end, step)?;
        if not_finite > 0 {
            notes.push(format!(
                "{field}: {not_finite} NaN or infinite values left out"
            ));
        }
        if points.is_empty() {
            notes.push(format!(
                "{field}: the query returned no data; the column is left out"
            ));
            continue;
        }
        columns.push(field);
        let mut adjusted = Vec::new();
        for (time, value) in points {
            let value = clean(field, value, &mut adjusted);
            #[allow(clippy::cast_possible_truncation)]
            table
                .entry(time.round() as i64)
                .or_default()
                .insert(field, value);
        }
        if !adjusted.is_empty() {
            notes.push(format!(
                "{field}: {} values out of range were clamped (first: {})",
                adjusted.len(),
                adjusted[0]
            ));
        }
    }
    if let Some(users) = users {
        columns.insert(0, "users");
        #[allow(clippy::cast_precision_loss)]
        for row in table.values_mut() {
            row.insert("users", users as f64);
        }
    }
    if !columns.contains(&"users") {
        return Err(QueryError(
            "no user count: a forecast needs users over time; add a `users` query to the queries file (or --users N, which holds them constant)".into(),
        ));
    }
    let mut csv = String::from("date");
    for column in &columns {
        csv.push(',');
        csv.push_str(column);
    }
    csv.push('\n');
    for (time, row) in &table {
        #[allow(clippy::cast_precision_loss)]
        csv.push_str(&format_rfc3339(*time as f64));
        for column in &columns {
            csv.push(',');
            if let Some(value) = row.get(column) {
                csv.push_str(&format_number_exact(*value));
            }
        }
        csv.push('\n');
    }
    Ok(CollectedHistory {
        csv,
        rows: table.len(),
        notes,
    })
}
