//! `collect`, and the connection to Prometheus that `assess` and
//! `forecast` share.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use super::Streams;
use crate::cli::{CollectArgs, PrometheusArgs};
use crate::collect::prometheus;
use crate::date;
use crate::error::{Error, FileError, Problem};
use crate::escape::path_name;
use crate::gate::Outcome;
use crate::ladder::Ladder;
use crate::metrics::Report;
use crate::output::write_output;
use crate::source::{Format, Source, io_reason};

/// The most bytes read from a token or password file.
pub(super) const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// A secret read from a file: a regular file (a FIFO or device would hang
/// or never end), at most [`MAX_SECRET_BYTES`], one line. Errors name the
/// file, never the value.
pub(super) fn read_secret(path: &Path) -> Result<String, Error> {
    let fail = |message: String| -> Error {
        FileError::new(path_name(path), Problem::new(message)).into()
    };
    let metadata =
        std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {}", io_reason(&e))))?;
    if !metadata.is_file() {
        return Err(fail(
            "is not a regular file; a secret is read from a file only".into(),
        ));
    }
    if metadata.len() > MAX_SECRET_BYTES {
        return Err(fail(format!(
            "is {} bytes; a secret file holds at most {MAX_SECRET_BYTES}",
            metadata.len()
        )));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_SECRET_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| fail(format!("cannot read: {}", io_reason(&e))))?;
    if bytes.len() as u64 > MAX_SECRET_BYTES {
        return Err(fail(format!(
            "holds more than {MAX_SECRET_BYTES} bytes; a secret file holds one line"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| fail("is not UTF-8 text".into()))?;
    check_secret(&text).map_err(fail)
}

/// The secret in `text` without surrounding whitespace: not empty, one line,
/// no control characters (they cannot be sent in an HTTP header).
pub(super) fn check_secret(text: &str) -> Result<String, String> {
    let secret = text.trim();
    if secret.is_empty() {
        return Err("is empty".into());
    }
    if secret.contains(['\n', '\r']) {
        return Err("holds more than one line; a secret is one line".into());
    }
    if secret.chars().any(char::is_control) {
        return Err("holds a control character (such as NUL); a secret is printable text".into());
    }
    Ok(secret.to_owned())
}

/// The client and queries for `--prometheus`, if given. The token comes from
/// a file or the environment, never from the command line.
pub(super) fn connect(
    args: &PrometheusArgs,
    streams: &mut Streams<'_>,
) -> Result<Option<(prometheus::Client, prometheus::Queries)>, Error> {
    let Some(url) = &args.prometheus else {
        return Ok(None);
    };
    let url = prometheus::ServerUrl::parse(url)?;
    if !(args.timeout.is_finite()
        && args.timeout > 0.0
        && args.timeout <= prometheus::MAX_TIMEOUT_SECONDS)
    {
        return Err(Error::Usage(format!(
            "--timeout must be a number of seconds above 0 and at most {} (a day)",
            prometheus::MAX_TIMEOUT_SECONDS
        )));
    }
    let auth = match (&args.bearer_token_file, &args.basic_auth_file) {
        (Some(path), _) => prometheus::Auth::Bearer(read_secret(path)?),
        (None, Some(path)) => {
            let user_password = read_secret(path)?;
            if !user_password.contains(':') {
                return Err(FileError::new(
                    path_name(path),
                    Problem::new("must hold `user:password`"),
                )
                .into());
            }
            prometheus::Auth::Basic(user_password)
        }
        (None, None) => match std::env::var_os(TOKEN_VARIABLE) {
            None => prometheus::Auth::None,
            Some(token) if token.is_empty() => prometheus::Auth::None,
            Some(token) => {
                let token = token
                    .into_string()
                    .map_err(|_| Error::Usage(format!("{TOKEN_VARIABLE} is not valid UTF-8")))?;
                prometheus::Auth::Bearer(
                    check_secret(&token)
                        .map_err(|e| Error::Usage(format!("{TOKEN_VARIABLE} {e}")))?,
                )
            }
        },
    };
    if let Some(warning) = plain_http_warning(&url, &auth) {
        let _ = writeln!(streams.err, "{warning}");
    }
    let client = prometheus::Client::new(&url, Duration::from_secs_f64(args.timeout), auth)?;
    let queries = prometheus::Queries::load(args.queries.as_deref())?
        .with_db_selector(args.db_selector.as_deref())
        .map_err(Error::Usage)?;
    Ok(Some((client, queries)))
}

/// A warning when credentials would cross the network unencrypted.
fn plain_http_warning(url: &prometheus::ServerUrl, auth: &prometheus::Auth) -> Option<String> {
    (!matches!(auth, prometheus::Auth::None) && url.is_plain_http() && !url.is_loopback()).then(
        || {
            format!(
                "warning: {}: credentials are sent over plain http:// to another host; use https://",
                crate::escape::line(&url.shown())
            )
        },
    )
}

/// The most points one range query asks for.
const MAX_POINTS: f64 = 10_000.0;

/// The environment variable a bearer token may come from.
const TOKEN_VARIABLE: &str = "SCALECTL_PROMETHEUS_TOKEN";

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
    if step > range {
        return Err(Error::Usage(
            "--step is longer than --range: the history would have no points".into(),
        ));
    }
    let points = range / step;
    if points > MAX_POINTS {
        return Err(Error::Usage(format!(
            "--range / --step asks for {points:.0} points a query; at most {MAX_POINTS} are asked for (Prometheus's own limit is 11,000): use a larger --step"
        )));
    }
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
        let _ = writeln!(streams.err, "note: {}", crate::escape::echo(note));
    }
}

pub(super) fn collect_command(
    args: &CollectArgs,
    streams: &mut Streams<'_>,
) -> Result<Outcome, Error> {
    if args.database.given() {
        for (given, flag) in [
            (args.connection.prometheus.is_some(), "--prometheus"),
            (args.range.is_some(), "--range"),
            (args.at.is_some(), "--at"),
        ] {
            if given {
                return Err(Error::Usage(format!(
                    "{flag} cannot be combined with --postgres or --redis: a database is measured now, Prometheus keeps the history; collect from one at a time"
                )));
            }
        }
    }
    let ladder = Ladder::load(args.ladder.as_deref())?;
    let text = if let Some(measurement) =
        super::database::measure(&args.database, args.users, &ladder)?
    {
        let mut collected = measurement.collected;
        if !collected.values.contains_key("users") {
            return Err(Error::Usage(
                "no user count: give --users N (a database does not know its users)".into(),
            ));
        }
        collected.service.clone_from(&args.service);
        collected.observed_at = Some(crate::date::format_rfc3339(super::now_seconds()));
        note(streams, &collected.notes);
        report_text(
            &collected,
            &measurement.servers,
            args.output.as_deref(),
            &ladder,
        )?
    } else {
        let Some((client, queries)) = connect(&args.connection, streams)? else {
            return Err(Error::Usage(
                "collect needs --prometheus URL, --postgres URL or --redis URL".into(),
            ));
        };
        let url = client.shown();
        match &args.range {
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
                let name = format!("<history collected from {url}>");
                let mut check = crate::history::History::default();
                crate::history::read_csv_from(collected.csv.as_bytes(), &name, &mut check, false)?;
                collected.csv
            }
            None => {
                let at = parse_time(args.at.as_deref())?;
                let mut collected = prometheus::collect(&client, &queries, args.users, at)?;
                collected.service.clone_from(&args.service);
                collected.observed_at = Some(crate::date::format_rfc3339(
                    at.unwrap_or_else(super::now_seconds),
                ));
                note(streams, &collected.notes);
                report_text(&collected, url, args.output.as_deref(), &ladder)?
            }
        }
    };
    match args
        .output
        .as_deref()
        .filter(|p| p.as_os_str() != super::STDOUT)
    {
        Some(path) => {
            let mut inputs: Vec<&Path> = Vec::new();
            inputs.extend(args.connection.queries.as_deref());
            inputs.extend(args.connection.bearer_token_file.as_deref());
            inputs.extend(args.connection.basic_auth_file.as_deref());
            inputs.extend(args.database.postgres_password_file.as_deref());
            inputs.extend(args.database.redis_password_file.as_deref());
            inputs.extend(args.ladder.as_deref());
            write_output(path, args.force, &inputs, |out| {
                out.write_all(text.as_bytes())
            })?;
            streams.wrote(path, false);
        }
        None => streams.write_out(&text)?,
    }
    Ok(Outcome::Pass)
}

/// A collected report in the format `output`'s name asks for (YAML without
/// one), checked to be a report every later command reads.
fn report_text(
    collected: &crate::collect::Collected,
    source: &str,
    output: Option<&Path>,
    ladder: &Ladder,
) -> Result<String, Error> {
    let format = match output.filter(|p| p.as_os_str() != super::STDOUT) {
        None => Format::Yaml,
        Some(path) => Format::from_path(path).ok_or_else(|| {
            Error::Usage(format!(
                "--output {}: a report is written as .yaml, .yml, .json or .toml",
                path_name(path)
            ))
        })?,
    };
    let text = match format {
        Format::Json => collected.json(),
        Format::Toml => collected.toml(),
        Format::Yaml => collected.yaml(source),
    };
    let checked = Source::from_bytes(
        format!("<report collected from {source}>"),
        text.clone().into_bytes(),
        format,
    )?;
    Report::parse(&checked, ladder)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::prometheus::{Auth, ServerUrl};

    #[test]
    fn credentials_over_plain_http_to_another_host_are_warned_about() {
        let token = Auth::Bearer("t".into());
        let url = |text: &str| ServerUrl::parse(text).unwrap();
        assert!(plain_http_warning(&url("http://prom:9090"), &token).is_some());
        assert!(plain_http_warning(&url("HTTP://prom:9090"), &token).is_some());
        assert!(plain_http_warning(&url("https://prom:9090"), &token).is_none());
        assert!(plain_http_warning(&url("http://127.0.0.1:9090"), &token).is_none());
        assert!(plain_http_warning(&url("http://prom:9090"), &Auth::None).is_none());
    }

    #[test]
    fn secrets_are_one_printable_line() {
        assert_eq!(check_secret("  tok3n \n"), Ok("tok3n".to_owned()));
        assert!(check_secret("a\nb").is_err());
        assert!(check_secret("a\0b").is_err());
        assert!(check_secret(" \n").is_err());
    }
}
