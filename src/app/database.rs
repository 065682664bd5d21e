//! `--postgres`, `--pgbouncer` and `--redis`: measuring a report and the
//! checklist straight from the servers, for `collect`, `assess` and
//! `checklist`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Duration;

use super::prometheus::{MAX_SECRET_BYTES, check_secret, read_secret};
use crate::checklist::{self, Answer, Measured, Status};
use crate::cli::DatabaseArgs;
use crate::collect::postgres::{self, PgStats, Replica, Secrets, Target};
use crate::collect::{Collected, Deadline, SourceError, cpu, redis};
use crate::error::Error;
use crate::ladder::{Checks, Ladder};

/// A report and checklist answers measured from the servers.
pub(super) struct Measurement {
    /// The report's fields, and the notes on what was left out.
    pub collected: Collected,
    /// The checklist answers, with their evidence.
    pub measured: Vec<Measured>,
    /// The servers measured, as shown to people.
    pub servers: String,
}

/// The longest `--sample` window: an hour.
const MAX_SAMPLE_SECONDS: f64 = 3_600.0;

/// The CPU window with `--local` when no `--sample` is given.
const DEFAULT_CPU_SAMPLE: Duration = Duration::from_secs(1);

/// How long past the deadline the command waits for the servers' own error
/// (each read ends by the deadline) before it gives up on them itself.
const GRACE: Duration = Duration::from_millis(500);

fn env_secret(name: &str) -> Result<Option<String>, Error> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(value) if value.is_empty() => Ok(None),
        Some(value) => {
            let value = value
                .into_string()
                .map_err(|_| Error::Usage(format!("{name} is not valid UTF-8")))?;
            check_secret(&value)
                .map(Some)
                .map_err(|e| Error::Usage(format!("{name} {e}")))
        }
    }
}

/// libpq's password file: `PGPASSFILE`, else `~/.pgpass`; absent,
/// unreadable or larger than a secret file may be, it is not used. As in
/// libpq, a file that its group or others may read or write is not used
/// either, and the warning says why (`Err`).
fn pgpass() -> Result<Option<String>, String> {
    let path = match std::env::var_os("PGPASSFILE") {
        Some(path) => PathBuf::from(path),
        None => match std::env::var_os("HOME") {
            Some(home) => Path::new(&home).join(".pgpass"),
            None => return Ok(None),
        },
    };
    let Ok(metadata) = std::fs::metadata(&path) else {
        return Ok(None);
    };
    if !metadata.is_file() || metadata.len() > MAX_SECRET_BYTES {
        return Ok(None);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "password file {} has group or world access; permissions should be u=rw (0600) or less: it is not used",
                crate::escape::path_name(&path)
            ));
        }
    }
    Ok(std::fs::read(&path)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok()))
}

fn postgres_secrets(args: &DatabaseArgs) -> Result<(Secrets, Option<String>), Error> {
    let password = match &args.postgres_password_file {
        Some(path) => Some(read_secret(path)?),
        None => match env_secret("SCALECTL_POSTGRES_PASSWORD")? {
            Some(password) => Some(password),
            None => env_secret("PGPASSWORD")?,
        },
    };
    let (pgpass, warning) = match password.is_none().then(pgpass) {
        Some(Ok(text)) => (text, None),
        Some(Err(warning)) => (None, Some(warning)),
        None => (None, None),
    };
    Ok((
        Secrets {
            password,
            pgpass,
            pgpass_ignored: warning.clone(),
        },
        warning,
    ))
}

fn redis_password(args: &DatabaseArgs) -> Result<Option<String>, Error> {
    match &args.redis_password_file {
        Some(path) => Ok(Some(read_secret(path)?)),
        None => env_secret("SCALECTL_REDIS_PASSWORD"),
    }
}

fn durations(args: &DatabaseArgs) -> Result<(Duration, Option<Duration>), Error> {
    let timeout = args.connect_timeout;
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= 86_400.0) {
        return Err(Error::Usage(
            "--connect-timeout must be a number of seconds above 0 and at most 86400 (a day)"
                .into(),
        ));
    }
    let sample = match &args.sample {
        None => None,
        Some(text) => {
            let seconds = crate::date::parse_duration(text)
                .map_err(|e| Error::Usage(format!("--sample: {e}")))?;
            if !(seconds > 0.0 && seconds <= MAX_SAMPLE_SECONDS) {
                return Err(Error::Usage(format!(
                    "--sample must be above 0 and at most {MAX_SAMPLE_SECONDS} seconds (an hour)"
                )));
            }
            Some(Duration::from_secs_f64(seconds))
        }
    };
    Ok((Duration::from_secs_f64(timeout), sample))
}

/// Connects to every `--postgres` server: exactly one primary, any replicas.
fn primary_and_replicas(
    targets: &[Target],
    secrets: &Secrets,
    deadline: &Deadline,
    talking_to: &TalkingTo,
) -> Result<(postgres::Session, Vec<postgres::Session>), SourceError> {
    let mut primary = None;
    let mut replicas = Vec::new();
    for target in targets {
        talking_to.set(target.shown());
        let mut session = postgres::connect(target, secrets, deadline)?;
        if session.is_replica()? {
            replicas.push(session);
        } else if let Some(first) = &primary {
            let first: &postgres::Session = first;
            return Err(SourceError(format!(
                "--postgres: {} and {} are both primaries (not in recovery); give one primary and its replicas",
                first.shown, session.shown
            )));
        } else {
            primary = Some(session);
        }
    }
    let primary = primary.ok_or_else(|| {
        SourceError(format!(
            "--postgres: every server given is a replica ({}); give the primary too",
            replicas
                .iter()
                .map(|s| s.shown.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    Ok((primary, replicas))
}

/// The server being talked to, for the error when the command gives up.
#[derive(Clone, Default)]
struct TalkingTo(Arc<Mutex<String>>);

impl TalkingTo {
    fn set(&self, server: String) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = server;
    }

    fn get(&self) -> String {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Everything to talk to, owned: it moves to the thread that talks.
struct Servers {
    targets: Vec<Target>,
    pgbouncer: Option<Target>,
    redis: Option<redis::Target>,
    secrets: Secrets,
    redis_password: Option<String>,
    sample: Option<Duration>,
    cpu_window: Option<Duration>,
}

/// What the servers (and the CPU) said.
struct Answers {
    postgres: Option<PgStats>,
    cpu: Option<f64>,
    redis: Option<redis::RedisStats>,
}

/// Talks to every server, by the deadline.
fn ask(
    servers: &Servers,
    deadline: &Deadline,
    talking_to: &TalkingTo,
) -> Result<Answers, SourceError> {
    let mut answers = Answers {
        postgres: None,
        cpu: None,
        redis: None,
    };
    if !servers.targets.is_empty() {
        let (mut primary, mut replica_sessions) =
            primary_and_replicas(&servers.targets, &servers.secrets, deadline, talking_to)?;
        talking_to.set(primary.shown.clone());
        let mut stats = primary.read_primary()?;
        if let Some(target) = &servers.pgbouncer {
            talking_to.set(target.shown());
            stats.pools = Some(postgres::pools(target, &servers.secrets, deadline)?);
        }
        // Replicas given but not seen by the primary (a cascade, another
        // primary's): their own view of their lag.
        if stats.replicas.is_empty() {
            for session in &mut replica_sessions {
                talking_to.set(session.shown.clone());
                stats.replicas.push(Replica {
                    name: session.shown.clone(),
                    state: "replica (given)".to_owned(),
                    lag_ms: session.replica_lag_ms()?,
                });
            }
        }
        answers.postgres = Some(stats);
    }
    if let Some(target) = &servers.redis {
        talking_to.set(target.shown().to_owned());
    }
    // The CPU sample runs while Redis is sampled.
    let (cpu, redis_stats) = std::thread::scope(|scope| {
        let cpu = servers
            .cpu_window
            .map(|window| scope.spawn(move || cpu::busy_pct(window)));
        let redis_stats = servers
            .redis
            .as_ref()
            .map(|target| {
                redis::collect(
                    target,
                    servers.redis_password.as_deref(),
                    deadline,
                    servers.sample,
                )
            })
            .transpose();
        let cpu = cpu
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(SourceError("--local: the CPU sample failed".into())))
            })
            .transpose();
        (cpu, redis_stats)
    });
    answers.cpu = cpu?;
    answers.redis = redis_stats?;
    Ok(answers)
}

/// Asks the servers in a thread of its own and waits for it until the
/// deadline: a server that stalls where no read can be bounded (a name that
/// takes long to resolve) still cannot hold the command past it.
fn ask_by(servers: Servers, deadline: Deadline) -> Result<Answers, SourceError> {
    let talking_to = TalkingTo::default();
    let (sender, receiver) = mpsc::channel();
    let talking = talking_to.clone();
    std::thread::Builder::new()
        .name("database".into())
        .spawn(move || {
            let _ = sender.send(ask(&servers, &deadline, &talking));
        })
        .map_err(|e| SourceError(format!("cannot start a thread: {e}")))?;
    match receiver.recv_timeout(deadline.remaining() + GRACE) {
        Ok(answers) => answers,
        // The thread is left behind; the command ends with this error.
        Err(mpsc::RecvTimeoutError::Timeout) => Err(deadline.no_answer(&talking_to.get())),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(SourceError(format!(
            "{}: reading the server failed unexpectedly",
            talking_to.get()
        ))),
    }
}

/// Measures what `args` names; `None` when it names no server.
pub(super) fn measure(
    args: &DatabaseArgs,
    users: Option<u64>,
    ladder: &Ladder,
) -> Result<Option<Measurement>, Error> {
    if !args.given() {
        return Ok(None);
    }
    let (timeout, sample) = durations(args)?;
    let targets = args
        .postgres
        .iter()
        .map(|url| Target::parse(url, "--postgres", None))
        .collect::<Result<Vec<_>, _>>()?;
    let pgbouncer = args
        .pgbouncer
        .as_deref()
        .map(|url| Target::parse(url, "--pgbouncer", Some("pgbouncer")))
        .transpose()?;
    let redis_target = args
        .redis
        .as_deref()
        .map(redis::Target::parse)
        .transpose()?;
    let (secrets, pgpass_warning) = postgres_secrets(args)?;
    let redis_password = if redis_target.is_some() {
        redis_password(args)?
    } else {
        None
    };
    let embedded;
    let checks: &Checks = match ladder.checks() {
        Some(checks) => checks,
        None => {
            embedded = Ladder::embedded()?;
            embedded
                .checks()
                .ok_or_else(|| Error::Usage("the embedded ladder has no [checks]".into()))?
        }
    };

    // One deadline for the whole command: the connect timeout, and the
    // sample window (Redis's and the CPU's, taken together) when there is one.
    let cpu_window = args.local.then(|| sample.unwrap_or(DEFAULT_CPU_SAMPLE));
    let deadline = Deadline::after(timeout + sample.or(cpu_window).unwrap_or_default());
    let asked_postgres = !targets.is_empty();
    let answers = ask_by(
        Servers {
            targets,
            pgbouncer,
            redis: redis_target,
            secrets,
            redis_password,
            sample,
            cpu_window,
        },
        deadline,
    )?;

    let mut collected = Collected::default();
    collected.notes.extend(pgpass_warning);
    let mut measured = Vec::new();
    let mut servers = Vec::new();
    if let Some(stats) = answers.postgres {
        servers.push(stats.server.clone());
        #[allow(clippy::cast_precision_loss)]
        {
            collected
                .values
                .insert("db_connections", stats.connections as f64);
            collected
                .values
                .insert("db_max_connections", stats.max_connections as f64);
        }
        match stats.replication_lag_ms() {
            Some(lag) => {
                collected.values.insert("replication_lag_ms", lag);
            }
            None if stats.replicas.is_empty() => collected.notes.push(
                "replication_lag_ms: no replica streams from the primary (pg_stat_replication is empty); the field is left out".into(),
            ),
            None => collected.notes.push(
                "replication_lag_ms: no replica has reported its replay lag yet; the field is left out".into(),
            ),
        }
        if let Err(how) = &stats.statements {
            collected.notes.push(format!(
                "slow_queries_fixed, n_plus_one_eliminated: unknown: {how}"
            ));
        }
        measured.extend(stats.judge(checks));
    }
    match (answers.cpu, cpu_window) {
        (Some(busy), Some(window)) => {
            collected.values.insert("db_cpu_pct", busy);
            collected.notes.push(format!(
                "db_cpu_pct: this machine's CPU over {} s (/proc/stat), as --local says it is the database host",
                crate::metric::format_number(window.as_secs_f64())
            ));
        }
        _ if asked_postgres => collected.notes.push(
            "db_cpu_pct: not measured: PostgreSQL does not report its host's CPU; run with --local on the database host, or collect it from Prometheus (node_exporter)".into(),
        ),
        _ => {}
    }
    if let Some(stats) = answers.redis {
        servers.push(stats.server.clone());
        if let Some(rate) = stats.hit_rate_pct() {
            collected.values.insert("cache_hit_rate_pct", rate);
        }
        collected.notes.extend(stats.note());
        measured.extend(stats.judge());
    }
    if let Some(users) = users {
        #[allow(clippy::cast_precision_loss)]
        collected.values.insert("users", users as f64);
    }
    for item in &measured {
        let answerable = checklist::item(item.id).is_some_and(|i| i.answer == Answer::Manual);
        match item.status {
            Status::Pass if answerable => {
                collected.checklist.insert(item.id, true);
            }
            Status::Fail if answerable => {
                collected.checklist.insert(item.id, false);
            }
            _ => {}
        }
    }
    for item in &measured {
        collected.evidence.push(format!(
            "{} {}: {}",
            item.id,
            item.status.name(),
            item.evidence.join("; ")
        ));
    }
    Ok(Some(Measurement {
        collected,
        measured,
        servers: servers.join(" and "),
    }))
}
