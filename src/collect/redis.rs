//! Redis straight from `INFO`: the cache hit rate, over a sample window or
//! since the server started, and the caching items of the checklist.

use std::time::Duration;

use redis::{InfoDict, IntoConnectionInfo as _};

use super::SourceError;
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

struct Counters {
    hits: u64,
    misses: u64,
    uptime: u64,
    version: String,
}

fn counters(connection: &mut redis::Connection, shown: &str) -> Result<Counters, SourceError> {
    let info: InfoDict = redis::cmd("INFO")
        .query(connection)
        .map_err(|e| error(shown, &e))?;
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

fn error(shown: &str, error: &redis::RedisError) -> SourceError {
    let message = match error.code() {
        Some("NOAUTH") => "the server requires a password (AUTH): give it with --redis-password-file PATH or SCALECTL_REDIS_PASSWORD".to_owned(),
        Some("WRONGPASS") => "the password was refused (WRONGPASS): check --redis-password-file or SCALECTL_REDIS_PASSWORD".to_owned(),
        _ if error.kind() == redis::ErrorKind::AuthenticationFailed => "the password was refused: check --redis-password-file or SCALECTL_REDIS_PASSWORD".to_owned(),
        _ => format!("{error}"),
    };
    SourceError(format!("{shown}: {message}"))
}

/// Reads `INFO` once, or twice `sample` apart for a hit rate of now.
pub fn collect(
    target: &Target,
    password: Option<&str>,
    timeout: Duration,
    sample: Option<Duration>,
) -> Result<RedisStats, SourceError> {
    let shown = target.shown();
    let mut info = target
        .url
        .as_str()
        .into_connection_info()
        .map_err(|e| SourceError(format!("--redis: {e}")))?;
    if let Some(password) = password {
        let settings = info.redis_settings().clone().set_password(password);
        info = info.set_redis_settings(settings);
    }
    let client = redis::Client::open(info).map_err(|e| error(shown, &e))?;
    let mut connection = client
        .get_connection_with_timeout(timeout)
        .map_err(|e| error(shown, &e))?;
    connection
        .set_read_timeout(Some(timeout))
        .and_then(|()| connection.set_write_timeout(Some(timeout)))
        .map_err(|e| error(shown, &e))?;
    let first = counters(&mut connection, shown)?;
    let stats = |hits, misses, window| RedisStats {
        server: shown.to_owned(),
        version: first.version.clone(),
        hits,
        misses,
        window,
    };
    Ok(match sample {
        None => stats(first.hits, first.misses, Window::SinceStart(first.uptime)),
        Some(sample) => {
            std::thread::sleep(sample);
            let second = counters(&mut connection, shown)?;
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
        let lookups = self.hits + self.misses;
        (lookups > 0).then(|| 100.0 * self.hits as f64 / lookups as f64)
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
        let lookups = self.hits + self.misses;
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
}
