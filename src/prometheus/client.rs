//! Talking to the Prometheus HTTP API: instant and range queries.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Answers larger than this are refused; long ranges of many steps stay well under it.
const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

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

/// A client for one Prometheus server.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    shown: String,
    auth: Auth,
}

/// Why a query failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

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

/// The URL without any `user:password@` part, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

fn sample(text: &str) -> Sample {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Sample::Value(value + 0.0),
        _ => Sample::NotFinite(text.to_owned()),
    }
}

fn labels(metric: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = metric.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", inner.join(", "))
}

impl Client {
    /// A client for the server at `url` (`http://host:9090`, or with a path prefix).
    pub fn new(url: &str, timeout: Duration, auth: Auth) -> Result<Self, QueryError> {
        let shown = redact(url.trim_end_matches('/'));
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(QueryError(format!(
                "{shown}: the Prometheus URL must start with http:// or https://"
            )));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                    .build(),
            )
            .build()
            .into();
        Ok(Self {
            agent,
            base: url.trim_end_matches('/').to_owned(),
            shown,
            auth,
        })
    }

    fn get(&self, path: &str, params: &[(&str, String)], query: &str) -> Result<Data, QueryError> {
        let fail =
            |message: String| QueryError(format!("{}: query `{query}`: {message}", self.shown));
        let mut request = self.agent.get(format!("{}{path}", self.base));
        for (key, value) in params {
            request = request.query(*key, value);
        }
        request = match &self.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.header("Authorization", format!("Bearer {token}")),
            Auth::Basic(user_password) => request.header(
                "Authorization",
                format!("Basic {}", base64(user_password.as_bytes())),
            ),
        };
        let mut response = request.call().map_err(|e| {
            fail(match e {
                ureq::Error::Timeout(_) => {
                    "the server did not answer in time (see --timeout)".to_owned()
                }
                ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
                    format!("cannot connect: {}", redact(&e.to_string()))
                }
                ureq::Error::HostNotFound => "host not found".to_owned(),
                other => redact(&other.to_string()),
            })
        })?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| match e {
                ureq::Error::Timeout(_) => {
                    fail("the server did not answer in time (see --timeout)".into())
                }
                other => fail(format!(
                    "cannot read the answer: {}",
                    redact(&other.to_string())
                )),
            })?;
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

    /// Evaluates `query` at `at` (Unix seconds; the server's now when `None`).
    pub fn instant(&self, query: &str, at: Option<f64>) -> Result<Sample, QueryError> {
        let mut params = vec![("query", query.to_owned())];
        if let Some(at) = at {
            params.push(("time", format!("{at}")));
        }
        let fail =
            |message: String| QueryError(format!("{}: query `{query}`: {message}", self.shown));
        match self.get("/api/v1/query", &params, query)? {
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
        match self.get("/api/v1/query_range", &params, query)? {
            Data::Matrix(series) => match series.as_slice() {
                [] => Ok((Vec::new(), 0)),
                [one] => {
                    let mut points = Vec::with_capacity(one.values.len());
                    let mut not_finite = 0;
                    for (time, value) in &one.values {
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

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_encodes_basic_credentials() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn urls_lose_their_credentials_in_messages() {
        assert_eq!(
            redact("https://u:secret@prom.example:9090/x"),
            "https://prom.example:9090/x"
        );
        assert_eq!(redact("http://prom:9090"), "http://prom:9090");
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
