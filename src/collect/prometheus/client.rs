//! Talking to the Prometheus HTTP API: instant and range queries.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;
use url::Url;

use crate::escape;

/// The largest answer to an instant query: one sample is a few hundred bytes,
/// so this leaves room for an error message or a list of series to refuse.
const MAX_INSTANT_ANSWER_BYTES: u64 = 4 * 1024 * 1024;

/// What a range answer may hold per point asked for, in bytes (a point is
/// `[1700000000,"123.456"]`, about 30), beyond [`MAX_INSTANT_ANSWER_BYTES`].
/// The answer's size, and so the memory it takes, follows what was asked.
const ANSWER_BYTES_PER_POINT: u64 = 128;

/// The most metric names read: each name, however short, is kept once, and
/// past this the answer is refused (a list of millions of empty strings fits
/// in the byte limit but would take gigabytes as strings).
const MAX_NAMES: usize = 1_000_000;

/// How the refusal of a list past [`MAX_NAMES`] starts.
const TOO_MANY_NAMES: &str = "more metric names than scalectl reads";

/// A list of names read straight into a set, refused past [`MAX_NAMES`]
/// entries (duplicates count: they cost parsing time all the same).
fn bounded_names<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<std::collections::BTreeSet<String>, D::Error> {
    struct Bounded;
    impl<'de> serde::de::Visitor<'de> for Bounded {
        type Value = std::collections::BTreeSet<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of metric names")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut names = std::collections::BTreeSet::new();
            let mut count = 0usize;
            while let Some(name) = seq.next_element::<String>()? {
                count += 1;
                if count > MAX_NAMES {
                    return Err(serde::de::Error::custom(TOO_MANY_NAMES));
                }
                names.insert(name);
            }
            Ok(names)
        }
    }
    deserializer.deserialize_seq(Bounded)
}

/// The largest list of metric names read: a big Prometheus has tens of
/// thousands, a few MiB.
const MAX_NAMES_BYTES: u64 = 64 * 1024 * 1024;

/// The longest request URL sent, query included, in bytes; HTTP clients and
/// servers refuse longer ones (and the client would fail on it).
pub const MAX_URL_BYTES: usize = 32 * 1024;

/// The longest `--timeout`, in seconds: a day.
pub const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;

/// How scalectl proves who it is, if at all. The secret never appears in
/// output, errors or `Debug`.
#[derive(Clone, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// `Authorization: Basic ...` from `user:password`.
    Basic(String),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Auth::None => "Auth::None",
            Auth::Bearer(_) => "Auth::Bearer(<redacted>)",
            Auth::Basic(_) => "Auth::Basic(<redacted>)",
        })
    }
}

/// What a query returned for one point in time.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    /// A finite number.
    Value(f64),
    /// No series matched.
    Empty,
    /// NaN or an infinity (as Prometheus writes them).
    NotFinite(String),
}

/// A client for one Prometheus server. Every request shares one deadline,
/// so `--timeout` bounds the whole command, not each request.
pub struct Client {
    agent: ureq::Agent,
    base: Url,
    shown: String,
    auth: Auth,
    timeout: Duration,
    deadline: Instant,
}

/// Why a query failed. Its text echoes what the server said, so it is
/// escaped and cut when shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", escape::echo(.0))]
pub struct QueryError(pub String);

/// A Prometheus URL, checked: `http` or `https`, a host, no credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl(Url);

impl ServerUrl {
    /// Parses and checks a URL given on the command line. Credentials in it
    /// are refused, and never appear in the error.
    pub fn parse(text: &str) -> Result<Self, QueryError> {
        let text = text.trim();
        if text.len() > MAX_URL_BYTES / 4 {
            return Err(QueryError(format!(
                "the Prometheus URL is {} bytes long; at most {} are accepted",
                text.len(),
                MAX_URL_BYTES / 4
            )));
        }
        let mut url = Url::parse(text).map_err(|e| {
            let hint = if text.contains('@') {
                "; credentials are not accepted in the URL: put `user:password` in a file and pass --basic-auth-file PATH"
            } else {
                ""
            };
            QueryError(format!(
                "the Prometheus URL is not a valid URL ({e}); expected one such as http://prometheus:9090{hint}"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            return Err(QueryError(format!(
                "{}: the Prometheus URL must start with http:// or https:// and name a host",
                crate::escape::redact(&shown(&url))
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            return Err(QueryError(format!(
                "{}: the Prometheus URL holds credentials; they are refused so that they never reach a log: put `user:password` in a file and pass --basic-auth-file PATH (or a token with --bearer-token-file)",
                shown(&url)
            )));
        }
        url.set_query(None);
        url.set_fragment(None);
        Ok(Self(url))
    }

    /// The URL as shown in messages and reports (it holds no credentials).
    pub fn shown(&self) -> String {
        shown(&self.0)
    }

    /// Whether the server is on this machine (a loopback address or `localhost`).
    pub fn is_loopback(&self) -> bool {
        match self.0.host() {
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }

    /// Whether requests go out unencrypted.
    pub fn is_plain_http(&self) -> bool {
        self.0.scheme() == "http"
    }
}

fn shown(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<VectorSample>),
    Matrix(Vec<Series>),
    Scalar((f64, String)),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct VectorSample {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

fn sample(text: &str) -> Sample {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Sample::Value(value + 0.0),
        _ => Sample::NotFinite(text.to_owned()),
    }
}

fn labels(metric: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = metric
        .iter()
        .map(|(k, v)| format!("{}=\"{}\"", escape::echo(k), escape::echo(v)))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

impl Client {
    /// A client for the server at `url`, whose requests all end by `timeout`
    /// from now (at most [`MAX_TIMEOUT_SECONDS`]).
    pub fn new(url: &ServerUrl, timeout: Duration, auth: Auth) -> Result<Self, QueryError> {
        if !(timeout > Duration::ZERO && timeout.as_secs_f64() <= MAX_TIMEOUT_SECONDS) {
            return Err(QueryError(format!(
                "--timeout must be above 0 and at most {MAX_TIMEOUT_SECONDS} seconds (a day)"
            )));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                    .build(),
            )
            .build()
            .into();
        let mut base = url.0.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(Self {
            agent,
            base,
            shown: url.shown(),
            auth,
            timeout,
            deadline: Instant::now() + timeout,
        })
    }

    /// The server's URL as shown in messages and reports.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The body of a GET, retried with a short back-off while the server is
    /// starting (connection refused, HTTP 503) until the deadline. Errors
    /// name the server, and `what` was asked only when it matters.
    fn fetch(
        &self,
        path: &str,
        params: &[(&str, String)],
        what: &str,
        limit: u64,
    ) -> Result<(u16, String), QueryError> {
        let server = |message: String| QueryError(format!("{}: {message}", self.shown));
        let asking = |message: String| QueryError(format!("{}: {what}: {message}", self.shown));
        let out_of_time = |last: &str| {
            server(format!(
                "no answer within --timeout ({} s for the whole command){last}",
                self.timeout.as_secs_f64()
            ))
        };
        let mut url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| server(e.to_string()))?;
        url.query_pairs_mut()
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        if url.as_str().len() > MAX_URL_BYTES {
            return Err(asking(format!(
                "the request would be {} bytes long; at most {MAX_URL_BYTES} are sent (shorten the query)",
                url.as_str().len()
            )));
        }
        let mut pause = Duration::from_millis(100);
        loop {
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(out_of_time(""));
            }
            let mut request = self
                .agent
                .get(url.as_str())
                .config()
                .timeout_global(Some(remaining))
                .build();
            request = match &self.auth {
                Auth::None => request,
                Auth::Bearer(token) => request.header("Authorization", format!("Bearer {token}")),
                Auth::Basic(user_password) => request.header(
                    "Authorization",
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(user_password.as_bytes())
                    ),
                ),
            };
            let starting = match request.call() {
                Ok(mut response) if response.status().as_u16() != 503 => {
                    let status = response.status().as_u16();
                    let body = response
                        .body_mut()
                        .with_config()
                        .limit(limit)
                        .read_to_string()
                        .map_err(|e| match e {
                            ureq::Error::Timeout(_) => out_of_time(""),
                            ureq::Error::BodyExceedsLimit(_) => asking(format!(
                                "the answer is larger than the {} KiB that this query can need; it returns far more series or points than asked for (aggregate it to one series)",
                                limit / 1024
                            )),
                            other => server(format!("cannot read the answer: {other}")),
                        })?;
                    return Ok((status, body));
                }
                Ok(_) => "it answers 503 (Service Unavailable): still starting?".to_owned(),
                Err(ureq::Error::Timeout(_)) => return Err(out_of_time("")),
                Err(e @ (ureq::Error::ConnectionFailed | ureq::Error::Io(_))) => {
                    format!("cannot connect: {e}")
                }
                Err(ureq::Error::HostNotFound) => return Err(server("host not found".to_owned())),
                Err(other) => return Err(server(other.to_string())),
            };
            // A server that is starting gets until the deadline to answer.
            let remaining = self.deadline.saturating_duration_since(Instant::now());
            if remaining <= pause {
                return Err(server(starting));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    fn get(
        &self,
        path: &str,
        params: &[(&str, String)],
        query: &str,
        limit: u64,
    ) -> Result<Data, QueryError> {
        let what = format!("query `{query}`");
        let fail = |message: String| QueryError(format!("{}: {what}: {message}", self.shown));
        let (status, body) = self.fetch(path, params, &what, limit)?;
        let answer: Answer = serde_json::from_str(&body).map_err(|_| {
            fail(format!(
                "the answer (HTTP {status}) is not a Prometheus API answer"
            ))
        })?;
        if answer.status != "success" {
            return Err(fail(format!(
                "Prometheus answered {}: {}",
                answer.error_type.as_deref().unwrap_or("error"),
                answer.error.as_deref().unwrap_or("(no message)")
            )));
        }
        answer
            .data
            .ok_or_else(|| fail("the answer has no data".into()))
    }

    /// The metric names the server knows (`/api/v1/label/__name__/values`),
    /// or `None` when it does not answer that question.
    pub fn metric_names(&self) -> Result<Option<std::collections::BTreeSet<String>>, QueryError> {
        #[derive(Deserialize)]
        struct Names {
            status: String,
            #[serde(default, deserialize_with = "bounded_names")]
            data: std::collections::BTreeSet<String>,
        }
        let (status, body) = self.fetch(
            "/api/v1/label/__name__/values",
            &[],
            "the list of metric names",
            MAX_NAMES_BYTES,
        )?;
        match serde_json::from_str::<Names>(&body) {
            Ok(names) => Ok((status == 200 && names.status == "success").then_some(names.data)),
            Err(e) if e.to_string().starts_with(TOO_MANY_NAMES) => Err(QueryError(format!(
                "{}: the list of metric names: {TOO_MANY_NAMES} ({MAX_NAMES}); refusing an answer no Prometheus gives",
                self.shown
            ))),
            Err(_) => Ok(None),
        }
    }

    /// Evaluates `query` at `at` (Unix seconds; the server's now when `None`).
    pub fn instant(&self, query: &str, at: Option<f64>) -> Result<Sample, QueryError> {
        let mut params = vec![("query", query.to_owned())];
        if let Some(at) = at {
            params.push(("time", format!("{at}")));
        }
        let fail =
            |message: String| QueryError(format!("{}: query `{query}`: {message}", self.shown));
        match self.get("/api/v1/query", &params, query, MAX_INSTANT_ANSWER_BYTES)? {
            Data::Scalar((_, value)) => Ok(sample(&value)),
            Data::Vector(samples) => match samples.as_slice() {
                [] => Ok(Sample::Empty),
                [one] => Ok(sample(&one.value.1)),
                many => Err(fail(format!(
                    "returned {} series ({} ...); aggregate it to one, with sum(), max() or avg()",
                    many.len(),
                    labels(&many[0].metric)
                ))),
            },
            _ => Err(fail(
                "returned neither a number nor an instant vector".into(),
            )),
        }
    }

    /// Evaluates `query` from `start` to `end` every `step` seconds:
    /// (time, value) pairs, with NaN and infinite values counted apart.
    pub fn range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<(Vec<(f64, f64)>, usize), QueryError> {
        let params = [
            ("query", query.to_owned()),
            ("start", format!("{start}")),
            ("end", format!("{end}")),
            ("step", format!("{step}")),
        ];
        let fail =
            |message: String| QueryError(format!("{}: query `{query}`: {message}", self.shown));
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let points = ((end - start) / step).floor().clamp(0.0, 1e9) as u64 + 1;
        let limit =
            MAX_INSTANT_ANSWER_BYTES.saturating_add(points.saturating_mul(ANSWER_BYTES_PER_POINT));
        match self.get("/api/v1/query_range", &params, query, limit)? {
            Data::Matrix(series) => match series.as_slice() {
                [] => Ok((Vec::new(), 0)),
                [one] => {
                    // At most one point a step, inside the window asked for.
                    #[allow(
                        clippy::cast_precision_loss,
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss
                    )]
                    let expected = ((end - start) / step).floor().max(0.0) as usize + 1;
                    if one.values.len() > expected {
                        return Err(fail(format!(
                            "returned {} points where {expected} were asked for; the answer is not trusted",
                            one.values.len()
                        )));
                    }
                    let mut points = Vec::with_capacity(one.values.len());
                    let mut not_finite = 0;
                    for (time, value) in &one.values {
                        if !(start..=end).contains(time) {
                            continue;
                        }
                        match sample(value) {
                            Sample::Value(v) => points.push((*time, v)),
                            _ => not_finite += 1,
                        }
                    }
                    Ok((points, not_finite))
                }
                many => Err(fail(format!(
                    "returned {} series ({} ...); aggregate it to one, with sum(), max() or avg()",
                    many.len(),
                    labels(&many[0].metric)
                ))),
            },
            _ => Err(fail("did not return a range vector".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_url_are_refused_and_never_shown() {
        for url in [
            "https://u:secret@prom.example:9090/x",
            "http://u:p@ss@prom:9090",
            "http://u:se/cret@prom:9090",
            "http://user@prom:9090",
            "HTTP://u:secret@PROM:9090",
        ] {
            let error = ServerUrl::parse(url).unwrap_err().to_string();
            assert!(error.contains("--basic-auth-file"), "{url}: {error}");
            for secret in ["secret", "p@ss", "ss@", "se/cret", "user@", "u:"] {
                assert!(!error.contains(secret), "{url} leaks {secret}: {error}");
            }
        }
        let ok = ServerUrl::parse("HTTP://Prom:9090/").unwrap();
        assert_eq!(ok.shown(), "http://prom:9090");
        assert!(ok.is_plain_http() && !ok.is_loopback());
        assert!(
            ServerUrl::parse("http://127.0.0.2:9090")
                .unwrap()
                .is_loopback()
        );
        assert!(ServerUrl::parse("http://[::1]:9090").unwrap().is_loopback());
        assert!(
            ServerUrl::parse("http://LOCALHOST:9090")
                .unwrap()
                .is_loopback()
        );
        assert!(ServerUrl::parse("ftp://prom:21").is_err());
        assert!(ServerUrl::parse("prom:9090").is_err());
        let long = format!("http://prom:9090/{}", "x".repeat(70_000));
        assert!(
            ServerUrl::parse(&long)
                .unwrap_err()
                .to_string()
                .contains("bytes long")
        );
    }

    #[test]
    fn samples_keep_only_finite_numbers() {
        assert_eq!(sample("1.5"), Sample::Value(1.5));
        assert_eq!(sample("NaN"), Sample::NotFinite("NaN".into()));
        assert_eq!(sample("+Inf"), Sample::NotFinite("+Inf".into()));
        assert_eq!(
            format!("{:?}", Auth::Bearer("s3cret".into())),
            "Auth::Bearer(<redacted>)"
        );
    }
}
