//! Redis straight from `INFO`: the cache hit rate, over a sample window or
//! since the server started, and the caching items of the checklist.

use std::io::{self, Read, Write};
use std::time::Duration;

use redis::{ConnectionAddr, InfoDict, IntoConnectionInfo as _, Value};
use rustls::pki_types::ServerName;

use super::{Deadline, SourceError, Timed};
use crate::checklist::{Measured, Status};
use crate::metric::{format_count, format_number};

/// A server to connect to, from a `redis://` or `rediss://` URL without a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    url: String,
    shown: String,
}

impl Target {
    /// Reads the URL. A password in it is refused and never echoed.
    pub fn parse(text: &str) -> Result<Self, SourceError> {
        let url = super::server_url(
            text,
            "--redis",
            &["redis", "rediss"],
            "--redis-password-file PATH or SCALECTL_REDIS_PASSWORD",
        )?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(SourceError("--redis: the URL names no host".into()));
        }
        let mut shown = url.clone();
        shown.set_query(None);
        Ok(Self {
            url: url.to_string(),
            shown: shown.to_string(),
        })
    }

    /// The server as shown to people.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// Over what the hit rate was counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// Between two `INFO` samples this many seconds apart.
    Sampled(f64),
    /// Since the server started (or `CONFIG RESETSTAT`), this many seconds ago.
    SinceStart(u64),
}

/// What Redis said.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisStats {
    /// The server, as shown to people.
    pub server: String,
    /// `redis_version`.
    pub version: String,
    /// Lookups that found their key, in the window.
    pub hits: u64,
    /// Lookups that did not, in the window.
    pub misses: u64,
    /// The window.
    pub window: Window,
}

/// The most an `INFO` answer may hold: a real one is a few KiB (the largest,
/// with many databases and error kinds, tens of KiB).
pub const MAX_INFO_BYTES: u64 = 1 << 20;

/// The most an answer to `AUTH` or `SELECT` may hold.
const MAX_REPLY_BYTES: u64 = 64 << 10;

struct Counters {
    hits: u64,
    misses: u64,
    uptime: u64,
    version: String,
}

/// The socket, plain or under TLS (`rediss://`).
enum Transport {
    Plain(Timed),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, Timed>>),
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            Self::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
        }
    }
}

/// What the server may still send for the answer being read: the `redis`
/// crate's parser reads through this, so no answer grows past its limit
/// however large the length it announces.
struct Limited {
    transport: Transport,
    allowance: u64,
    exceeded: bool,
}

impl Read for Limited {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.allowance == 0 {
            self.exceeded = true;
            return Err(io::Error::other("the answer is larger than allowed"));
        }
        let most = usize::try_from(self.allowance).map_or(buf.len(), |a| a.min(buf.len()));
        let n = self.transport.read(&mut buf[..most])?;
        self.allowance -= n as u64;
        Ok(n)
    }
}

/// A connection read through the `redis` crate's own parser, over a socket
/// held to the deadline and answers held to their limits.
struct Connection {
    stream: Limited,
    parser: redis::Parser,
    shown: String,
    deadline: Deadline,
}

impl Connection {
    fn open(
        target: &Target,
        password: Option<&str>,
        deadline: &Deadline,
    ) -> Result<Self, SourceError> {
        let shown = target.shown().to_owned();
        let info = target
            .url
            .as_str()
            .into_connection_info()
            .map_err(|e| SourceError(format!("--redis: {e}")))?;
        let (host, port, insecure) = match info.addr() {
            ConnectionAddr::Tcp(host, port) => (host, *port, None),
            ConnectionAddr::TcpTls {
                host,
                port,
                insecure,
                ..
            } => (host, *port, Some(*insecure)),
            _ => {
                return Err(SourceError(
                    "--redis: only redis:// and rediss:// URLs are supported".into(),
                ));
            }
        };
        let socket = super::connect_tcp(host, port, deadline).map_err(|e| {
            if deadline.passed() || super::timed_out(&e) {
                deadline.no_answer(&shown)
            } else {
                SourceError(format!("{shown}: cannot connect: {e}"))
            }
        })?;
        let timed = Timed::new(socket, *deadline);
        let transport = match insecure {
            None => Transport::Plain(timed),
            Some(insecure) => {
                let config = crate::collect::postgres::tls_client_config(!insecure)
                    .map_err(|e| SourceError(format!("{shown}: {e}")))?;
                let name = ServerName::try_from(super::bare_host(host).to_owned())
                    .map_err(|e| SourceError(format!("{shown}: TLS: {e}")))?;
                let tls = rustls::ClientConnection::new(std::sync::Arc::new(config), name)
                    .map_err(|e| SourceError(format!("{shown}: TLS: {e}")))?;
                let mut stream = rustls::StreamOwned::new(tls, timed);
                while stream.conn.is_handshaking() {
                    if let Err(e) = stream.conn.complete_io(&mut stream.sock) {
                        return Err(if super::timed_out(&e) || deadline.passed() {
                            deadline.no_answer(&shown)
                        } else {
                            SourceError(format!("{shown}: cannot connect: TLS: {e}"))
                        });
                    }
                }
                Transport::Tls(Box::new(stream))
            }
        };
        let mut connection = Self {
            stream: Limited {
                transport,
                allowance: 0,
                exceeded: false,
            },
            parser: redis::Parser::new(),
            shown,
            deadline: *deadline,
        };
        let settings = info.redis_settings();
        if let Some(password) = password {
            let mut auth = redis::cmd("AUTH");
            if let Some(username) = settings.username() {
                auth.arg(username);
            }
            let mut answer = connection.call(auth.arg(password), "AUTH", MAX_REPLY_BYTES)?;
            // A server older than Redis 6 knows no user names.
            if settings.username().is_some()
                && matches!(&answer, Value::ServerError(e) if e.details().is_some_and(|d| d.contains("wrong number of arguments")))
            {
                answer =
                    connection.call(redis::cmd("AUTH").arg(password), "AUTH", MAX_REPLY_BYTES)?;
            }
            if let Value::ServerError(e) = answer {
                let message = if e.code() == "WRONGPASS" {
                    "the password was refused (WRONGPASS): check --redis-password-file or SCALECTL_REDIS_PASSWORD"
                } else {
                    "the password was refused: check --redis-password-file or SCALECTL_REDIS_PASSWORD"
                };
                return Err(SourceError(format!("{}: {message}", connection.shown)));
            }
        }
        if settings.db() != 0 {
            let answer = connection.call(
                redis::cmd("SELECT").arg(settings.db()),
                "SELECT",
                MAX_REPLY_BYTES,
            )?;
            answer.extract_error().map_err(|e| {
                SourceError(format!(
                    "{}: SELECT {} (the database the URL names): {e}",
                    connection.shown,
                    settings.db()
                ))
            })?;
        }
        Ok(connection)
    }

    /// Sends `command` and reads its answer, of at most `limit` bytes.
    fn call(&mut self, command: &redis::Cmd, what: &str, limit: u64) -> Result<Value, SourceError> {
        self.stream.allowance = limit;
        self.stream.exceeded = false;
        let sent = self
            .stream
            .transport
            .write_all(&command.get_packed_command())
            .and_then(|()| self.stream.transport.flush());
        if let Err(e) = sent {
            return Err(if super::timed_out(&e) || self.deadline.passed() {
                self.deadline.no_answer(&self.shown)
            } else {
                SourceError(format!("{}: {e}", self.shown))
            });
        }
        match self.parser.parse_value(&mut self.stream) {
            Ok(value) => Ok(value),
            Err(_) if self.stream.exceeded => Err(SourceError(format!(
                "{}: the answer to {what} is larger than {}; refused",
                self.shown,
                bytes_words(limit)
            ))),
            Err(e) if e.is_timeout() || self.deadline.passed() => {
                Err(self.deadline.no_answer(&self.shown))
            }
            Err(e) => Err(error(&self.shown, &e)),
        }
    }

    fn counters(&mut self) -> Result<Counters, SourceError> {
        let shown = self.shown.clone();
        let answer = self
            .call(&redis::cmd("INFO"), "INFO", MAX_INFO_BYTES)?
            .extract_error()
            .map_err(|e| error(&shown, &e))?;
        let text: String = redis::from_redis_value(answer)
            .map_err(|e| SourceError(format!("{shown}: INFO: {e}; is this Redis?")))?;
        let info = InfoDict::new(&text);
        let number = |key: &str| -> Result<u64, SourceError> {
            info.get::<u64>(key)
                .ok_or_else(|| SourceError(format!("{shown}: INFO has no `{key}`; is this Redis?")))
        };
        Ok(Counters {
            hits: number("keyspace_hits")?,
            misses: number("keyspace_misses")?,
            uptime: number("uptime_in_seconds")?,
            version: info.get::<String>("redis_version").unwrap_or_default(),
        })
    }
}

/// A limit in words: `1 MiB`, `64 KiB`.
fn bytes_words(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

fn error(shown: &str, error: &redis::RedisError) -> SourceError {
    let message = match error.code() {
        Some("NOAUTH") => "the server requires a password (AUTH): give it with --redis-password-file PATH or SCALECTL_REDIS_PASSWORD".to_owned(),
        Some("WRONGPASS") => "the password was refused (WRONGPASS): check --redis-password-file or SCALECTL_REDIS_PASSWORD".to_owned(),
        _ if error.kind() == redis::ErrorKind::AuthenticationFailed => "the password was refused: check --redis-password-file or SCALECTL_REDIS_PASSWORD".to_owned(),
        _ => format!("{error}"),
    };
    SourceError(format!("{shown}: {message}"))
}

/// Reads `INFO` once, or twice `sample` apart for a hit rate of now; every
/// read ends by `deadline`.
pub fn collect(
    target: &Target,
    password: Option<&str>,
    deadline: &Deadline,
    sample: Option<Duration>,
) -> Result<RedisStats, SourceError> {
    let mut connection = Connection::open(target, password, deadline)?;
    let first = connection.counters()?;
    let stats = |hits, misses, window| RedisStats {
        server: target.shown().to_owned(),
        version: first.version.clone(),
        hits,
        misses,
        window,
    };
    Ok(match sample {
        None => stats(first.hits, first.misses, Window::SinceStart(first.uptime)),
        Some(sample) => {
            std::thread::sleep(sample.min(deadline.remaining()));
            let second = connection.counters()?;
            stats(
                second.hits.saturating_sub(first.hits),
                second.misses.saturating_sub(first.misses),
                Window::Sampled(sample.as_secs_f64()),
            )
        }
    })
}

impl RedisStats {
    /// Hits in percent of lookups; `None` without lookups.
    pub fn hit_rate_pct(&self) -> Option<f64> {
        // In 128 bits: two counters near 2^64 must not wrap (nor panic).
        let lookups = self.lookups();
        (lookups > 0).then(|| 100.0 * self.hits as f64 / lookups as f64)
    }

    /// Hits and misses, without overflow.
    fn lookups(&self) -> u128 {
        u128::from(self.hits) + u128::from(self.misses)
    }

    fn window(&self) -> String {
        match self.window {
            Window::Sampled(seconds) => format!("in {} s", format_number(seconds)),
            Window::SinceStart(seconds) => {
                format!("since the server started {} ago", uptime_words(seconds))
            }
        }
    }

    /// A note for the user about what the hit rate covers.
    pub fn note(&self) -> Option<String> {
        match (self.window, self.hit_rate_pct()) {
            (Window::SinceStart(_), Some(_)) => Some(format!(
                "cache_hit_rate_pct: counted {}; --sample 10s measures the rate of now",
                self.window()
            )),
            (_, None) => Some(format!(
                "cache_hit_rate_pct: {} counted no lookups {}; the field is left out",
                self.server,
                self.window()
            )),
            _ => None,
        }
    }

    /// The caching items Redis answers.
    pub fn judge(&self) -> Vec<Measured> {
        let read_from = format!("INFO on {}", self.server);
        let lookups = self.lookups();
        vec![
            Measured {
                id: "redis_cache",
                status: Status::Pass,
                rule: "a Redis answers".to_owned(),
                evidence: vec![format!("Redis {} answers", self.version)],
                warnings: Vec::new(),
                read_from: read_from.clone(),
            },
            Measured {
                id: "cache_monitoring",
                status: if lookups > 0 {
                    Status::Pass
                } else {
                    Status::Unknown
                },
                rule: "hits and misses counted".to_owned(),
                evidence: vec![format!(
                    "{} hits and {} misses {}",
                    format_count(self.hits),
                    format_count(self.misses),
                    self.window()
                )],
                warnings: Vec::new(),
                read_from,
            },
        ]
    }
}

/// An uptime in the largest whole unit: `45 s`, `12 min`, `3 h`, `40 days`.
fn uptime_words(seconds: u64) -> String {
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7_200 => format!("{} min", seconds / 60),
        7_200..172_800 => format!("{} h", seconds / 3_600),
        _ => format!("{} days", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_refused_and_never_echoed() {
        let error = Target::parse("redis://:hunter2@cache:6379").unwrap_err();
        assert!(error.0.contains("--redis-password-file"), "{error}");
        assert!(!error.0.contains("hunter2"));
        assert!(Target::parse("http://cache:6379").is_err());
        assert_eq!(
            Target::parse("redis://cache:6379/2").unwrap().shown(),
            "redis://cache:6379/2"
        );
    }

    #[test]
    fn the_hit_rate_is_of_lookups_and_absent_without_any() {
        let mut stats = RedisStats {
            server: "redis://c".into(),
            version: "7".into(),
            hits: 900,
            misses: 100,
            window: Window::Sampled(10.0),
        };
        assert_eq!(stats.hit_rate_pct(), Some(90.0));
        assert_eq!(stats.note(), None);
        assert_eq!(stats.judge()[1].status, Status::Pass);
        stats.hits = 0;
        stats.misses = 0;
        assert_eq!(stats.hit_rate_pct(), None);
        assert!(stats.note().unwrap().contains("left out"));
        assert_eq!(stats.judge()[1].status, Status::Unknown);
        stats.window = Window::SinceStart(90);
        stats.hits = 1;
        assert!(stats.note().unwrap().contains("--sample"));
    }

    #[test]
    fn counters_at_the_top_of_64_bits_give_half_not_all_nor_a_panic() {
        let stats = RedisStats {
            server: "redis://c".into(),
            version: "7".into(),
            hits: u64::MAX,
            misses: u64::MAX,
            window: Window::SinceStart(90),
        };
        assert_eq!(stats.hit_rate_pct(), Some(50.0));
        assert_eq!(stats.judge()[1].status, Status::Pass);
    }
}
