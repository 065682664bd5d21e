//! `collect`, and the connection to Prometheus that `assess` and
//! `forecast` share.

use std::path::Path;
use std::time::Duration;

use super::Streams;
use crate::cli::{CollectArgs, PrometheusArgs};
use crate::error::{Error, FileError, Problem};
use crate::gate::Outcome;
use crate::output::write_atomic;
use crate::source::{Format, io_reason};
use crate::{date, prometheus};

/// The client and queries for `--prometheus`, if given. The token comes from
/// a file or the environment, never from the command line.
pub(super) fn connect(
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

pub(super) fn parse_time(text: Option<&str>) -> Result<Option<f64>, Error> {
    text.map(|t| date::parse_time(t).map_err(|e| Error::Usage(format!("--at: {e}"))))
        .transpose()
}

pub(super) fn collect_history(
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
        None => super::now_seconds(),
    };
    Ok(prometheus::collect_range(
        client, queries, users, end, range, step,
    )?)
}

pub(super) fn note(streams: &mut Streams<'_>, notes: &[String]) {
    for note in notes {
        let _ = writeln!(streams.err, "note: {note}");
    }
}

pub(super) fn collect_command(
    args: &CollectArgs,
    streams: &mut Streams<'_>,
) -> Result<Outcome, Error> {
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
