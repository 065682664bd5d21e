//! Metrics from where they live: Prometheus, PostgreSQL and Redis, each
//! turned into the same collected report.

pub mod cpu;
pub mod postgres;
pub mod prometheus;
pub mod redis;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::time::{Duration, Instant};

use crate::metric::format_number;

/// A database, pooler or cache that could not be reached or read: the
/// server as shown to people (never a password), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", crate::escape::echo(.0))]
pub struct SourceError(pub String);

/// The one deadline of a command that talks to databases: every connection,
/// read and write to PostgreSQL, PgBouncer and Redis ends by it, however
/// slowly a server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    allowed: Duration,
}

impl Deadline {
    /// A deadline `allowed` from now.
    pub fn after(allowed: Duration) -> Self {
        Self {
            at: Instant::now() + allowed,
            allowed,
        }
    }

    /// The time left, zero once it passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.remaining().is_zero()
    }

    /// The time left for one socket operation, or `TimedOut` once none is.
    pub fn timeout(&self) -> io::Result<Duration> {
        match self.remaining() {
            left if left.is_zero() => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the deadline passed",
            )),
            left => Ok(left),
        }
    }

    /// The error of a server that did not answer in time.
    pub fn no_answer(&self, server: &str) -> SourceError {
        SourceError(format!(
            "no answer from {server} within {} s",
            format_number(self.allowed.as_secs_f64())
        ))
    }
}

/// Whether an I/O error is a socket timeout (`EAGAIN` for a read timeout on
/// Unix, `TimedOut` elsewhere).
pub(crate) fn timed_out(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// A host without the brackets of an IPv6 address in a URL.
pub(crate) fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Connects to `host` (a name, an address, or an IPv6 address in brackets)
/// by the deadline, trying each address it resolves to.
pub(crate) fn connect_tcp(host: &str, port: u16, deadline: &Deadline) -> io::Result<TcpStream> {
    let host = bare_host(host);
    let mut last = None;
    for address in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&address, deadline.timeout()?) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host} resolves to no address"),
        )
    }))
}

/// A socket whose every read and write ends by the deadline: a server that
/// trickles a byte at a time cannot stretch it.
#[derive(Debug)]
pub(crate) struct Timed {
    stream: TcpStream,
    deadline: Deadline,
}

impl Timed {
    pub(crate) fn new(stream: TcpStream, deadline: Deadline) -> Self {
        Self { stream, deadline }
    }
}

fn deadline_error(error: io::Error) -> io::Error {
    if timed_out(&error) {
        io::Error::new(io::ErrorKind::TimedOut, "the deadline passed")
    } else {
        error
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream
            .set_read_timeout(Some(self.deadline.timeout()?))?;
        self.stream.read(buf).map_err(deadline_error)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream
            .set_write_timeout(Some(self.deadline.timeout()?))?;
        self.stream.write(buf).map_err(deadline_error)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// A server URL of one of `schemes`, without a password: a password in it
/// is refused and never echoed (nor is the URL, when it may hold one).
pub(crate) fn server_url(
    text: &str,
    flag: &str,
    schemes: &[&str],
    password_from: &str,
) -> Result<url::Url, SourceError> {
    let fail = |message: String| SourceError(format!("{flag}: {message}"));
    let url = url::Url::parse(text).map_err(|e| {
        fail(format!(
            "`{}` is not a valid URL ({e}); expected one such as {}://HOST:PORT",
            crate::escape::cut(&crate::escape::redact(text), 200),
            schemes.first().copied().unwrap_or("postgres")
        ))
    })?;
    // `postgres:/user:password@host/db` would read as a socket path whose
    // database name holds the password: two slashes or none.
    if let Some(after) = text.split_once(':').map(|(_, after)| after)
        && after.starts_with('/')
        && !after.starts_with("//")
    {
        return Err(fail(format!(
            "`{}` has one slash after `{}:`; a server URL has two ({}://HOST:PORT)",
            crate::escape::cut(&crate::escape::redact(text), 200),
            url.scheme(),
            url.scheme()
        )));
    }
    if !schemes.contains(&url.scheme()) {
        return Err(fail(format!(
            "the URL must start with {}, not {}://",
            schemes
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(" or "),
            url.scheme()
        )));
    }
    if url.password().is_some() {
        return Err(fail(format!(
            "the URL holds a password; give it with {password_from} instead"
        )));
    }
    Ok(url)
}

/// Fields that are percentages; rate() noise can push them a hair past 100.
pub(crate) const PERCENT_FIELDS: [&str; 2] = ["db_cpu_pct", "cache_hit_rate_pct"];

/// The largest count a report holds exactly (2^53).
pub(crate) const LARGEST_COUNT: f64 = 9_007_199_254_740_992.0;

/// Whole-number fields.
pub(crate) const WHOLE_FIELDS: [&str; 3] = ["users", "db_connections", "db_max_connections"];

/// A collected report: its fields, the checklist items measured, and what
/// was left out and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    /// The service name to write, from `--service`.
    pub service: Option<String>,
    /// When the numbers were observed, as RFC 3339.
    pub observed_at: Option<String>,
    /// Field -> value, for the fields that had a value.
    pub values: BTreeMap<&'static str, f64>,
    /// Checklist items answered by measurement: item id -> done.
    pub checklist: BTreeMap<&'static str, bool>,
    /// What showed each measured checklist answer, one line per item.
    pub evidence: Vec<String>,
    /// What the user should know: missing series, NaN values, clamped percentages.
    pub notes: Vec<String>,
}

pub(crate) fn clean(field: &'static str, value: f64, notes: &mut Vec<String>) -> f64 {
    if PERCENT_FIELDS.contains(&field) && !(0.0..=100.0).contains(&value) {
        let clamped = value.clamp(0.0, 100.0);
        notes.push(format!(
            "{field}: {} is outside 0-100; using {}",
            format_number(value),
            format_number(clamped)
        ));
        return clamped;
    }
    if value < 0.0 {
        notes.push(format!(
            "{field}: {} is negative; using 0",
            format_number(value)
        ));
        return 0.0;
    }
    if WHOLE_FIELDS.contains(&field) {
        value.round()
    } else {
        value
    }
}

/// A collected report in report-field order, as it is written.
#[derive(serde::Serialize)]
struct CollectedReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    users: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_p95_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    db_cpu_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    db_connections: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    db_max_connections: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_hit_rate_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replication_lag_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    observed_at: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    checklist: BTreeMap<&'static str, bool>,
}

impl Collected {
    fn report(&self) -> CollectedReport {
        let number = |field: &str| self.values.get(field).map(|&v| round_collected(v));
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = |field: &str| number(field).map(|v| v as u64);
        CollectedReport {
            service: self.service.clone(),
            users: whole("users"),
            api_p95_ms: number("api_p95_ms"),
            db_cpu_pct: number("db_cpu_pct"),
            db_connections: whole("db_connections"),
            db_max_connections: whole("db_max_connections"),
            cache_hit_rate_pct: number("cache_hit_rate_pct"),
            replication_lag_ms: number("replication_lag_ms"),
            observed_at: self.observed_at.clone(),
            checklist: self.checklist.clone(),
        }
    }

    /// The report as TOML.
    pub fn toml(&self) -> String {
        toml::to_string(&self.report()).unwrap_or_default()
    }

    /// The report as YAML, written by the serializer, after comments naming
    /// the source and the notes; comments are escaped onto one line each, so
    /// nothing the server says can add a field.
    pub fn yaml(&self, source: &str) -> String {
        let mut out = format!(
            "# Collected by scalectl from {}\n",
            crate::escape::echo(source)
        );
        for note in &self.notes {
            let _ = writeln!(out, "# note: {}", crate::escape::echo(note));
        }
        for line in &self.evidence {
            let _ = writeln!(out, "# measured: {}", crate::escape::echo(line));
        }
        out.push_str(&serde_saphyr::to_string(&self.report()).unwrap_or_default());
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }

    /// The report as JSON.
    pub fn json(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.report()).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// A collected value to two decimals: `rate()` arithmetic leaves float
/// noise (`240.6249999999999`) that no measurement has.
fn round_collected(value: f64) -> f64 {
    if value.abs() < 1e13 {
        (value * 100.0).round() / 100.0 + 0.0
    } else {
        value
    }
}

/// A collected value, rounded, without a needless ".0".
pub(crate) fn format_number_exact(value: f64) -> String {
    let value = round_collected(value);
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}
