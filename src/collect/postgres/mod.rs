//! PostgreSQL straight from its statistics views, read-only: connections
//! and their limit, replicas and their lag, and what the checklist asks of
//! indexes, statements, pooling and the buffer cache.

pub mod pgpass;
mod stats;
mod tls;

use postgres::fallible_iterator::FallibleIterator as _;
use postgres::types::ToSql;
use postgres::{Client, SimpleQueryMessage};

pub use stats::{IndexUse, PgStats, Pool, Replica, Statement, TableScans};
pub use tls::SslMode;
pub(crate) use tls::client_config as tls_client_config;

use super::{Deadline, SourceError};
use relay::Relay;

/// Debian's socket directory, libpq's default host there.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// Every statement scalectl sends starts with this comment, so that its own
/// statements are left out of `pg_stat_statements`.
const TAG: &str = "/* scalectl */";

/// A server to connect to, from a `postgres://` URL without a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// A host name, an address, or a socket directory (starting with `/`).
    pub host: String,
    /// The port.
    pub port: u16,
    /// The database.
    pub database: String,
    /// The role.
    pub user: String,
    /// TLS, as libpq's `sslmode`.
    pub ssl: SslMode,
    /// A PEM file of CA certificates to check the server's against, as
    /// libpq's `sslrootcert` (`system`, or none: the platform's roots).
    pub root_cert: Option<std::path::PathBuf>,
    /// libpq's `channel_binding`: `require` accepts only SCRAM bound to the
    /// TLS channel, so no password (nor its hash) is sent any other way.
    pub channel_binding: Option<postgres::config::ChannelBinding>,
    /// libpq's `require_auth`: the methods the server may ask for; the
    /// password in the clear (`password`) or as an MD5 hash (`md5`) is sent
    /// only when named here, or over verified TLS.
    pub require_auth: Vec<String>,
}

impl Target {
    /// Reads a `postgres://` or `postgresql://` URL. A password in it is
    /// refused (it would show in the process list and shell history) and
    /// never echoed; `default_database` applies when the URL names none.
    pub fn parse(
        text: &str,
        flag: &str,
        default_database: Option<&str>,
    ) -> Result<Self, SourceError> {
        let fail = |message: String| SourceError(format!("{flag}: {message}"));
        let url = super::server_url(
            text,
            flag,
            &["postgres", "postgresql"],
            "--postgres-password-file PATH, SCALECTL_POSTGRES_PASSWORD, PGPASSWORD or ~/.pgpass",
        )?;
        let decode = |text: &str| {
            percent_decode(text)
                .ok_or_else(|| fail("the URL is not valid UTF-8 once decoded".into()))
        };
        let mut host = decode(url.host_str().unwrap_or_default())?;
        let mut ssl = SslMode::Prefer;
        let mut root_cert = None;
        let mut channel_binding = None;
        let mut require_auth = Vec::new();
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "sslmode" => {
                    ssl = SslMode::parse(&value).ok_or_else(|| {
                        fail(format!(
                            "sslmode={} is not one of disable, allow, prefer, require, verify-ca, verify-full",
                            crate::escape::cut(&value, 40)
                        ))
                    })?;
                }
                "host" => host = value.into_owned(),
                "sslrootcert" => {
                    root_cert = (value != "system").then(|| std::path::PathBuf::from(&*value));
                }
                "require_auth" => {
                    for method in value.split(',') {
                        if !matches!(method, "password" | "md5" | "scram-sha-256" | "none") {
                            return Err(fail(format!(
                                "require_auth: `{}` is not one of password, md5, scram-sha-256, none",
                                crate::escape::cut(method, 40)
                            )));
                        }
                        require_auth.push(method.to_owned());
                    }
                }
                "channel_binding" => {
                    use postgres::config::ChannelBinding;
                    channel_binding = Some(match value.as_ref() {
                        "disable" => ChannelBinding::Disable,
                        "prefer" => ChannelBinding::Prefer,
                        "require" => ChannelBinding::Require,
                        other => {
                            return Err(fail(format!(
                                "channel_binding={} is not one of disable, prefer, require",
                                crate::escape::cut(other, 40)
                            )));
                        }
                    });
                }
                other => {
                    return Err(fail(format!(
                        "the URL parameter `{}` is not supported (sslmode, sslrootcert, channel_binding, require_auth and host are)",
                        crate::escape::cut(other, 40)
                    )));
                }
            }
        }
        if host.is_empty() {
            host = DEFAULT_SOCKET_DIR.to_owned();
        }
        let user = match url.username() {
            "" => std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "postgres".to_owned()),
            user => decode(user)?,
        };
        let database = match url.path().trim_start_matches('/') {
            "" => default_database.map_or_else(|| user.clone(), str::to_owned),
            path => decode(path)?,
        };
        Ok(Self {
            host,
            port: url.port().unwrap_or(5432),
            database,
            user,
            ssl,
            root_cert,
            channel_binding,
            require_auth,
        })
    }

    /// The server as shown to people.
    pub fn shown(&self) -> String {
        if self.host.starts_with('/') {
            format!(
                "postgres://{}@[{}]:{}/{}",
                self.user, self.host, self.port, self.database
            )
        } else {
            format!(
                "postgres://{}@{}:{}/{}",
                self.user, self.host, self.port, self.database
            )
        }
    }
}

fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// Where a password may come from, in libpq's order after scalectl's own:
/// `--postgres-password-file` or `SCALECTL_POSTGRES_PASSWORD`, then
/// `PGPASSWORD`, then the password file.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// From `--postgres-password-file`, `SCALECTL_POSTGRES_PASSWORD` or `PGPASSWORD`.
    pub password: Option<String>,
    /// The text of `PGPASSFILE` or `~/.pgpass`, when readable.
    pub pgpass: Option<String>,
    /// Why the password file was not used, when it was passed over (its
    /// group or others may read it, as libpq refuses too).
    pub pgpass_ignored: Option<String>,
}

impl Secrets {
    fn password_for(&self, target: &Target) -> Option<String> {
        self.password.clone().or_else(|| {
            self.pgpass.as_deref().and_then(|text| {
                pgpass::lookup(
                    text,
                    &target.host,
                    target.port,
                    &target.database,
                    &target.user,
                )
            })
        })
    }
}

/// The most rows one statement may return: a million tables, indexes or
/// statements is beyond any server scalectl measures, and each row read
/// costs memory.
const MAX_ROWS: usize = 1_000_000;

/// One open, read-only session.
pub struct Session {
    // Dropped before the relay, so that the server hears the session end.
    client: Client,
    relay: Relay,
    /// The server as shown to people.
    pub shown: String,
    user: String,
    deadline: Deadline,
}

/// A statement that failed: the server said so, or scalectl refused it.
enum Failed {
    Server(postgres::Error),
    Refused(SourceError),
}

/// Opens a connection to `target`, with TLS as its `sslmode` says, through a
/// relay that holds the server to the deadline and bounds what it sends.
fn open(
    target: &Target,
    secrets: &Secrets,
    deadline: &Deadline,
    application_name: Option<&str>,
) -> Result<(Client, Relay), SourceError> {
    let shown = target.shown();
    let upstream = relay::Conn::connect(target, deadline).map_err(|e| {
        if deadline.passed() || super::timed_out(&e) {
            deadline.no_answer(&shown)
        } else {
            SourceError(format!("{shown}: cannot connect: {e}"))
        }
    })?;
    // The password goes in the clear or as an MD5 hash only where no one
    // in the middle can read it, or where the URL allows it.
    let allow_password = target.ssl == SslMode::VerifyFull
        || target
            .require_auth
            .iter()
            .any(|m| m == "password" || m == "md5");
    let relay = Relay::start(upstream, target.port, *deadline, allow_password)
        .map_err(|e| SourceError(format!("{shown}: cannot connect: {e}")))?;
    let mut config = postgres::Config::new();
    config
        .user(&target.user)
        .dbname(&target.database)
        .ssl_mode(target.ssl.negotiation())
        .connect_timeout(
            deadline
                .remaining()
                .max(std::time::Duration::from_millis(1)),
        );
    if let Some(name) = application_name {
        config.application_name(name);
    }
    match relay.endpoint() {
        // The relay's address is connected to; the server's name is the one
        // TLS checks.
        relay::Endpoint::Tcp(address) => config
            .host(super::bare_host(&target.host))
            .hostaddr(address.ip())
            .port(address.port()),
        relay::Endpoint::Unix { dir, .. } => config.host_path(dir).port(target.port),
    };
    let password = secrets.password_for(target);
    if let Some(password) = &password {
        config.password(password);
    }
    // Under `require` the certificate is not checked, so whoever answers
    // could ask for the password in the clear inside the encryption, where
    // the relay cannot see: with a password to give, only SCRAM bound to
    // the channel is accepted, unless the URL says otherwise.
    let binding = target.channel_binding.or_else(|| {
        (password.is_some() && target.ssl == SslMode::Require && !allow_password)
            .then_some(postgres::config::ChannelBinding::Require)
    });
    if let Some(binding) = binding {
        config.channel_binding(binding);
    }
    let connector = target
        .ssl
        .connector(target.root_cert.as_deref())
        .map_err(|e| SourceError(format!("{shown}: {e}")))?;
    // Inside TLS, where the relay cannot look, the stream itself refuses a
    // request for the password in the clear.
    let connector = tls::Guarded::new(connector, allow_password);
    match config.connect(connector) {
        Ok(client) => Ok((client, relay)),
        Err(e) => Err(relay.refused(&shown, deadline).unwrap_or_else(|| {
            let text = chain(&e);
            if let Some(at) = text.find(tls::PASSWORD_REFUSED) {
                return SourceError(format!("{shown}: {}", &text[at..]));
            }
            let mut error = connect_error(&shown, &target.user, password.is_some(), &e);
            // Why the password file was passed over, where it would have helped.
            if let (None, Some(why)) = (&password, &secrets.pgpass_ignored) {
                error.0.push_str(&format!("; {why}"));
            }
            error
        })),
    }
}

/// Connects read-only; the session ends by `deadline`, and so does each
/// statement on the server's side (`statement_timeout`).
pub fn connect(
    target: &Target,
    secrets: &Secrets,
    deadline: &Deadline,
) -> Result<Session, SourceError> {
    let shown = target.shown();
    let (client, relay) = open(target, secrets, deadline, Some("scalectl"))?;
    let mut session = Session {
        client,
        relay,
        shown,
        user: target.user.clone(),
        deadline: *deadline,
    };
    let millis = deadline.remaining().as_millis().clamp(1, i32::MAX as u128);
    session
        .client
        .batch_execute(&format!(
            "{TAG} SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; SET statement_timeout = {millis}"
        ))
        .map_err(|e| session.fail("the session's settings", &e))?;
    Ok(session)
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let more = next.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = next.source();
    }
    text
}

fn connect_error(
    shown: &str,
    user: &str,
    had_password: bool,
    error: &postgres::Error,
) -> SourceError {
    let code = error.code().map(postgres::error::SqlState::code);
    let message = match code {
        Some("28P01") if had_password => format!(
            "password authentication failed for role `{user}`: check the password given with --postgres-password-file, SCALECTL_POSTGRES_PASSWORD, PGPASSWORD or ~/.pgpass"
        ),
        Some("28P01" | "28000") if !had_password => format!(
            "the server asks role `{user}` for a password and none was given: use --postgres-password-file PATH, SCALECTL_POSTGRES_PASSWORD, PGPASSWORD or ~/.pgpass ({})",
            chain(error)
        ),
        _ if chain(error).contains("password missing") => format!(
            "the server asks role `{user}` for a password and none was given: use --postgres-password-file PATH, SCALECTL_POSTGRES_PASSWORD, PGPASSWORD or ~/.pgpass"
        ),
        _ => format!("cannot connect: {}", chain(error)),
    };
    SourceError(format!("{shown}: {message}"))
}

impl Session {
    fn fail(&self, what: &str, error: &postgres::Error) -> SourceError {
        self.relay
            .refused(&self.shown, &self.deadline)
            .unwrap_or_else(|| {
                SourceError(format!("{}: reading {what}: {}", self.shown, chain(error)))
            })
    }

    /// The rows of `sql`, at most [`MAX_ROWS`] of them.
    fn fetch(&mut self, what: &str, sql: &str) -> Result<Vec<postgres::Row>, Failed> {
        let sql = format!("{TAG} {sql}");
        let mut rows = Vec::new();
        let read = (|| {
            let mut iter = self
                .client
                .query_raw(sql.as_str(), std::iter::empty::<&dyn ToSql>())?;
            while let Some(row) = iter.next()? {
                if rows.len() == MAX_ROWS {
                    return Ok(false);
                }
                rows.push(row);
            }
            Ok(true)
        })();
        match read {
            Ok(true) => Ok(rows),
            Ok(false) => Err(Failed::Refused(SourceError(format!(
                "{}: reading {what}: more than {} rows; refused",
                self.shown,
                crate::metric::format_count(MAX_ROWS as u64)
            )))),
            Err(e) => match self.relay.refused(&self.shown, &self.deadline) {
                Some(refused) => Err(Failed::Refused(refused)),
                None => Err(Failed::Server(e)),
            },
        }
    }

    fn query(&mut self, what: &str, sql: &str) -> Result<Vec<postgres::Row>, SourceError> {
        self.fetch(what, sql).map_err(|failed| match failed {
            Failed::Server(e) => self.fail(what, &e),
            Failed::Refused(e) => e,
        })
    }

    /// Whether the server is a replica (in recovery).
    pub fn is_replica(&mut self) -> Result<bool, SourceError> {
        let rows = self.query("pg_is_in_recovery()", "SELECT pg_is_in_recovery()")?;
        Ok(rows.first().is_some_and(|row| row.get::<_, bool>(0)))
    }

    /// Refuses a role that sees only its own sessions and statements: its
    /// counts would be wrong, not merely incomplete.
    fn check_privileges(&mut self) -> Result<(), SourceError> {
        let rows = self.query(
            "the role's privileges",
            "SELECT rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') FROM pg_roles WHERE rolname = current_user",
        )?;
        if rows.first().is_some_and(|row| row.get::<_, bool>(0)) {
            return Ok(());
        }
        Err(SourceError(format!(
            "{}: role `{}` cannot read other roles' rows of pg_stat_activity (client backends), pg_stat_replication (replica positions and lag) or pg_stat_statements (statement text); grant it with `GRANT pg_read_all_stats TO \"{}\";` (or pg_monitor), or connect as a role that has it",
            self.shown,
            self.user,
            self.user.replace('"', "\"\"")
        )))
    }

    fn version(&mut self) -> Result<i64, SourceError> {
        let rows = self.query(
            "server_version_num",
            "SELECT current_setting('server_version_num')::int8",
        )?;
        Ok(rows.first().map_or(0, |row| row.get(0)))
    }

    /// The replica's own view of its lag: zero when it has replayed all it
    /// received, else the age of the last transaction replayed.
    pub fn replica_lag_ms(&mut self) -> Result<Option<f64>, SourceError> {
        let rows = self.query(
            "the replica's replay position",
            "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8 \
             ELSE (EXTRACT(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8 END",
        )?;
        Ok(rows.first().and_then(|row| row.get(0)))
    }

    /// Everything the checklist and the report need from a primary.
    pub fn read_primary(&mut self) -> Result<PgStats, SourceError> {
        self.check_privileges()?;
        let version = self.version()?;
        let count = |row: &postgres::Row, index: usize| -> u64 {
            u64::try_from(row.get::<_, Option<i64>>(index).unwrap_or(0)).unwrap_or(0)
        };
        let mut stats = PgStats {
            server: self.shown.clone(),
            ..PgStats::default()
        };
        let rows = self.query(
            "pg_stat_activity",
            "SELECT count(*)::int8 FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
        )?;
        stats.connections = rows.first().map_or(0, |row| count(row, 0));
        let rows = self.query(
            "max_connections",
            "SELECT (current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int \
             - COALESCE(NULLIF(current_setting('reserved_connections', true), '')::int, 0))::int8",
        )?;
        stats.max_connections = rows.first().map_or(0, |row| count(row, 0));
        let rows = self.query(
            "pg_stat_replication",
            "SELECT COALESCE(NULLIF(application_name, ''), client_addr::text, 'pid ' || pid), COALESCE(state, 'unknown'), \
             (EXTRACT(epoch FROM replay_lag) * 1000)::float8, \
             replay_lsn IS NOT NULL AND replay_lsn = pg_current_wal_lsn() \
             FROM pg_stat_replication ORDER BY 1",
        )?;
        stats.replicas = rows
            .iter()
            .map(|row| {
                let lag: Option<f64> = row.get(2);
                let caught_up: bool = row.get(3);
                Replica {
                    name: row.get(0),
                    state: row.get(1),
                    lag_ms: lag.or(caught_up.then_some(0.0)),
                }
            })
            .collect();
        let rows = self.query(
            "pg_stat_user_tables",
            // reltuples (from the last VACUUM or ANALYZE) survives a reset of
            // the statistics, which zeroes n_live_tup.
            "SELECT s.schemaname || '.' || s.relname, s.seq_scan::int8, s.seq_tup_read::int8, s.idx_scan::int8, \
             GREATEST(s.n_live_tup, c.reltuples::int8) \
             FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid ORDER BY 1",
        )?;
        stats.tables = rows
            .iter()
            .map(|row| TableScans {
                name: row.get(0),
                seq_scan: count(row, 1),
                seq_tup_read: count(row, 2),
                idx_scan: count(row, 3),
                live_rows: count(row, 4),
            })
            .collect();
        let rows = self.query(
            "pg_stat_user_indexes",
            "SELECT s.schemaname || '.' || s.relname, s.indexrelname, s.idx_scan::int8, pg_relation_size(s.indexrelid)::int8, \
             i.indisunique OR i.indisprimary, \
             i.indkey::text || ' ' || i.indclass::text || ' ' || COALESCE(pg_get_expr(i.indexprs, i.indrelid), '') \
             || ' ' || COALESCE(pg_get_expr(i.indpred, i.indrelid), '') \
             FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid ORDER BY 1, 2",
        )?;
        stats.indexes = rows
            .iter()
            .map(|row| IndexUse {
                table: row.get(0),
                name: row.get(1),
                scans: count(row, 2),
                bytes: count(row, 3),
                unique: row.get(4),
                key: row.get(5),
            })
            .collect();
        stats.statements = self.statements(version)?;
        let rows = self.query(
            "pg_stat_database",
            "SELECT blks_hit::int8, blks_read::int8 FROM pg_stat_database WHERE datname = current_database()",
        )?;
        stats.blocks = rows
            .first()
            .map_or((0, 0), |row| (count(row, 0), count(row, 1)));
        if version >= 140_000 {
            let rows = self.query(
                "pg_stat_database",
                "SELECT sessions::int8, session_time::float8 FROM pg_stat_database WHERE datname = current_database()",
            )?;
            stats.sessions = rows
                .first()
                .map(|row| (count(row, 0), row.get::<_, Option<f64>>(1).unwrap_or(0.0)));
        }
        Ok(stats)
    }

    /// `pg_stat_statements` of this database, or how to enable it.
    fn statements(&mut self, version: i64) -> Result<Result<Vec<Statement>, String>, SourceError> {
        let rows = self.query(
            "pg_extension",
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'",
        )?;
        let Some(schema) = rows.first().map(|row| row.get::<_, String>(0)) else {
            let rows = self.query(
                "shared_preload_libraries",
                "SELECT current_setting('shared_preload_libraries')",
            )?;
            let loaded = rows
                .first()
                .is_some_and(|row| row.get::<_, String>(0).contains("pg_stat_statements"));
            return Ok(Err(if loaded {
                "pg_stat_statements is loaded but not created in this database: run `CREATE EXTENSION pg_stat_statements;` in it".to_owned()
            } else {
                "pg_stat_statements is not installed: add it to shared_preload_libraries in postgresql.conf, restart, then run `CREATE EXTENSION pg_stat_statements;` in this database".to_owned()
            }));
        };
        let total = if version >= 130_000 {
            "total_exec_time"
        } else {
            "total_time"
        };
        let sql = format!(
            "SELECT query, sum(calls)::int8, sum({total})::float8, sum(rows)::int8 FROM \"{}\".pg_stat_statements \
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND query NOT LIKE '/* scalectl */%' GROUP BY query ORDER BY 3 DESC, 1",
            schema.replace('"', "\"\"")
        );
        match self.fetch("pg_stat_statements", &sql) {
            Ok(rows) => Ok(Ok(rows
                .iter()
                .map(|row| Statement {
                    query: row.get(0),
                    calls: u64::try_from(row.get::<_, Option<i64>>(1).unwrap_or(0)).unwrap_or(0),
                    total_ms: row.get::<_, Option<f64>>(2).unwrap_or(0.0),
                    rows: u64::try_from(row.get::<_, Option<i64>>(3).unwrap_or(0)).unwrap_or(0),
                })
                // Only statements PostgreSQL normalises (their constants
                // become $1, $2, ...) are evidence: a utility statement is
                // kept as typed, and `ALTER ROLE ... PASSWORD '...'` is one.
                .filter(|statement| normalised(&statement.query))
                .collect())),
            // Created but not preloaded: the view cannot be read.
            Err(Failed::Server(e))
                if e.code()
                    == Some(&postgres::error::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE) =>
            {
                Ok(Err(format!(
                    "pg_stat_statements cannot be read ({}): add it to shared_preload_libraries and restart",
                    chain(&e)
                )))
            }
            Err(Failed::Server(e)) => Err(self.fail("pg_stat_statements", &e)),
            Err(Failed::Refused(e)) => Err(e),
        }
    }
}

/// PgBouncer's pools, from its admin console (`SHOW POOLS`).
pub fn pools(
    target: &Target,
    secrets: &Secrets,
    deadline: &Deadline,
) -> Result<Vec<Pool>, SourceError> {
    let shown = target.shown();
    // PgBouncer's console takes no application_name.
    let (mut client, relay) = open(target, secrets, deadline, None)?;
    let messages = client.simple_query("SHOW POOLS").map_err(|e| {
        relay.refused(&shown, deadline).unwrap_or_else(|| {
            SourceError(format!(
                "{shown}: SHOW POOLS: {} (is role `{}` in PgBouncer's admin_users or stats_users?)",
                chain(&e),
                target.user
            ))
        })
    })?;
    drop(client);
    drop(relay);
    let number = |row: &postgres::SimpleQueryRow, column: &str| -> u64 {
        row.try_get(column)
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let text = |row: &postgres::SimpleQueryRow, column: &str| -> String {
        row.try_get(column)
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_owned()
    };
    Ok(messages
        .iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(Pool {
                database: text(row, "database"),
                user: text(row, "user"),
                cl_active: number(row, "cl_active"),
                cl_waiting: number(row, "cl_waiting"),
                sv_active: number(row, "sv_active"),
                sv_idle: number(row, "sv_idle"),
                mode: text(row, "pool_mode"),
            }),
            _ => None,
        })
        .collect())
}

/// A relay between the `postgres` crate and the server, in this process:
/// the crate cannot be given a deadline for a read, nor a limit on what it
/// buffers (a message's length header makes it reserve that much), so every
/// byte passes through here. Each read and write ends by the command's
/// deadline; a plaintext message larger than [`MAX_MESSAGE_BYTES`], or more
/// than [`MAX_SESSION_BYTES`] in all (TLS hides the messages, not their
/// bytes), ends the session with the reason kept for the error. TLS stays
/// with the crate (and its channel binding): the relay moves bytes.
mod relay {
    use std::io::{self, Read, Write};
    use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

    use super::Target;
    use crate::collect::{Deadline, SourceError, timed_out};
    use crate::metric::format_count;

    /// The largest message a server may send: a row, an error, a notice.
    pub const MAX_MESSAGE_BYTES: u64 = 16 << 20;

    /// The most a server may send in one session.
    pub const MAX_SESSION_BYTES: u64 = 256 << 20;

    /// A client's request for TLS: length 8, code 80877103.
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

    /// A socket to the server, or to the crate.
    pub enum Conn {
        Tcp(TcpStream),
        Unix(UnixStream),
    }

    impl Conn {
        /// Connects to the server: a TCP host by the deadline, or the
        /// socket of a socket directory.
        pub fn connect(target: &Target, deadline: &Deadline) -> io::Result<Self> {
            if target.host.starts_with('/') {
                let path = Path::new(&target.host).join(format!(".s.PGSQL.{}", target.port));
                UnixStream::connect(path).map(Self::Unix)
            } else {
                crate::collect::connect_tcp(&target.host, target.port, deadline).map(Self::Tcp)
            }
        }

        fn try_clone(&self) -> io::Result<Self> {
            Ok(match self {
                Self::Tcp(s) => Self::Tcp(s.try_clone()?),
                Self::Unix(s) => Self::Unix(s.try_clone()?),
            })
        }

        fn set_timeouts(&self, deadline: &Deadline) -> io::Result<()> {
            let left = Some(deadline.timeout()?);
            match self {
                Self::Tcp(s) => s.set_read_timeout(left).and(s.set_write_timeout(left)),
                Self::Unix(s) => s.set_read_timeout(left).and(s.set_write_timeout(left)),
            }
        }

        fn shutdown(&self) {
            let _ = match self {
                Self::Tcp(s) => s.shutdown(Shutdown::Both),
                Self::Unix(s) => s.shutdown(Shutdown::Both),
            };
        }
    }

    impl Read for Conn {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self {
                Self::Tcp(s) => s.read(buf),
                Self::Unix(s) => s.read(buf),
            }
        }
    }

    impl Write for Conn {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            match self {
                Self::Tcp(s) => s.write(buf),
                Self::Unix(s) => s.write(buf),
            }
        }

        fn flush(&mut self) -> io::Result<()> {
            match self {
                Self::Tcp(s) => s.flush(),
                Self::Unix(s) => s.flush(),
            }
        }
    }

    /// Why the relay ended a session.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Refusal {
        /// The deadline passed.
        Deadline,
        /// A message of this many bytes was announced.
        Message(u64),
        /// The server sent more than [`MAX_SESSION_BYTES`].
        Session,
        /// The server asked for the password in the clear (3) or as an MD5
        /// hash (5) over a connection that is not verified TLS.
        Password(u32),
    }

    impl Refusal {
        pub fn error(self, shown: &str, deadline: &Deadline) -> SourceError {
            match self {
                Self::Deadline => deadline.no_answer(shown),
                Self::Message(bytes) => SourceError(format!(
                    "{shown}: the server announced a message of {} bytes, more than the {} MiB scalectl reads; refused",
                    format_count(bytes),
                    MAX_MESSAGE_BYTES >> 20
                )),
                Self::Session => SourceError(format!(
                    "{shown}: the server sent more than {} MiB in one session; refused",
                    MAX_SESSION_BYTES >> 20
                )),
                Self::Password(code) => SourceError(format!(
                    "{shown}: the server asks for the password {} over a connection that is not verified TLS; refused, and the password was not sent (use sslmode=verify-full, or allow it with require_auth={} in the URL)",
                    if code == 3 {
                        "in the clear"
                    } else {
                        "as an MD5 hash"
                    },
                    if code == 3 { "password" } else { "md5" }
                )),
            }
        }
    }

    /// Where the crate connects to reach the relay.
    pub enum Endpoint {
        /// A loopback port (for a TCP server: TLS needs a host name).
        Tcp(SocketAddr),
        /// A socket directory of this process's own (for a socket directory).
        Unix { dir: PathBuf, socket: PathBuf },
    }

    struct Shared {
        deadline: Deadline,
        /// Whether the server may ask for the password in the clear or as
        /// an MD5 hash (`require_auth`, or verified TLS).
        allow_password: bool,
        refusal: Mutex<Option<Refusal>>,
        open: Mutex<Vec<Conn>>,
        closing: AtomicBool,
    }

    fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }

    impl Shared {
        /// Ends the session, keeping the first reason.
        fn refuse(&self, refusal: Refusal) {
            lock(&self.refusal).get_or_insert(refusal);
            self.close();
        }

        fn close(&self) {
            for conn in lock(&self.open).iter() {
                conn.shutdown();
            }
        }

        /// Keeps a handle to shut `conn` down with; false once closing.
        fn keep(&self, conn: &Conn) -> bool {
            let Ok(clone) = conn.try_clone() else {
                return false;
            };
            lock(&self.open).push(clone);
            if self.closing.load(Ordering::SeqCst) {
                self.close();
                return false;
            }
            true
        }
    }

    /// A running relay; dropping it ends the session.
    pub struct Relay {
        endpoint: Endpoint,
        shared: Arc<Shared>,
        _dir: Option<tempfile::TempDir>,
    }

    impl Relay {
        /// Listens for the crate's connection and relays it to `upstream`
        /// (whose port names the socket of a socket directory).
        pub fn start(
            upstream: Conn,
            port: u16,
            deadline: Deadline,
            allow_password: bool,
        ) -> io::Result<Self> {
            let shared = Arc::new(Shared {
                deadline,
                allow_password,
                refusal: Mutex::new(None),
                open: Mutex::new(Vec::new()),
                closing: AtomicBool::new(false),
            });
            shared.keep(&upstream);
            let serving = Arc::clone(&shared);
            match upstream {
                Conn::Tcp(_) => {
                    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
                    let address = listener.local_addr()?;
                    std::thread::Builder::new()
                        .name("postgres relay".into())
                        .spawn(move || {
                            if let Some(client) = accept_own(&listener, &serving) {
                                drop(listener);
                                serve(Conn::Tcp(client), upstream, &serving);
                            }
                        })?;
                    Ok(Self {
                        endpoint: Endpoint::Tcp(address),
                        shared,
                        _dir: None,
                    })
                }
                Conn::Unix(_) => {
                    // Made private to this user by tempfile (mode 0700).
                    let dir = tempfile::Builder::new().prefix("scalectl-").tempdir()?;
                    let socket = dir.path().join(format!(".s.PGSQL.{port}"));
                    let listener = UnixListener::bind(&socket)?;
                    std::thread::Builder::new()
                        .name("postgres relay".into())
                        .spawn(move || {
                            if let Ok((client, _)) = listener.accept() {
                                drop(listener);
                                if !serving.closing.load(Ordering::SeqCst) {
                                    serve(Conn::Unix(client), upstream, &serving);
                                }
                            }
                        })?;
                    Ok(Self {
                        endpoint: Endpoint::Unix {
                            dir: dir.path().to_owned(),
                            socket,
                        },
                        shared,
                        _dir: Some(dir),
                    })
                }
            }
        }

        pub fn endpoint(&self) -> &Endpoint {
            &self.endpoint
        }

        /// The error to report when the relay ended the session.
        pub fn refused(&self, shown: &str, deadline: &Deadline) -> Option<SourceError> {
            let refusal = *lock(&self.shared.refusal);
            refusal
                .or_else(|| deadline.passed().then_some(Refusal::Deadline))
                .map(|refusal| refusal.error(shown, deadline))
        }
    }

    impl Drop for Relay {
        fn drop(&mut self) {
            self.shared.closing.store(true, Ordering::SeqCst);
            self.shared.close();
            // Wakes a relay still waiting for the crate's connection.
            match &self.endpoint {
                Endpoint::Tcp(address) => {
                    let _ = TcpStream::connect_timeout(address, std::time::Duration::from_secs(1));
                }
                Endpoint::Unix { socket, .. } => {
                    let _ = UnixStream::connect(socket);
                }
            }
        }
    }

    /// The first connection from this user's own processes: on Linux, a
    /// loopback connection of another user is not relayed (the server would
    /// take it for scalectl's, as an `ident` check would).
    fn accept_own(listener: &TcpListener, shared: &Shared) -> Option<TcpStream> {
        let own = listener.local_addr().ok()?;
        loop {
            let (stream, peer) = listener.accept().ok()?;
            if shared.closing.load(Ordering::SeqCst) {
                return None;
            }
            if same_user(peer, own) {
                return Some(stream);
            }
        }
    }

    #[cfg(target_os = "linux")]
    fn same_user(peer: SocketAddr, listener: SocketAddr) -> bool {
        let Ok(table) = std::fs::read_to_string("/proc/self/net/tcp") else {
            return true;
        };
        let uid = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("Uid:"))
                    .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_owned))
            });
        let port = |field: &str| {
            field
                .rsplit_once(':')
                .and_then(|(_, port)| u16::from_str_radix(port, 16).ok())
        };
        table.lines().skip(1).any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 7
                && port(fields[1]) == Some(peer.port())
                && port(fields[2]) == Some(listener.port())
                && uid.as_deref() == Some(fields[7])
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn same_user(_peer: SocketAddr, _listener: SocketAddr) -> bool {
        true
    }

    /// Relays one session: the crate's first eight bytes say whether it asks
    /// for TLS, which decides whether the server's messages can be read.
    fn serve(mut client: Conn, mut upstream: Conn, shared: &Arc<Shared>) {
        if !shared.keep(&client) {
            return;
        }
        let mut first = [0; 8];
        let started = client
            .set_timeouts(&shared.deadline)
            .and_then(|()| client.read_exact(&mut first))
            .and_then(|()| upstream.set_timeouts(&shared.deadline))
            .and_then(|()| upstream.write_all(&first));
        if let Err(e) = started {
            if timed_out(&e) || shared.deadline.passed() {
                shared.refuse(Refusal::Deadline);
            }
            shared.close();
            return;
        }
        let mut framing = if first == SSL_REQUEST {
            Framing::Answer
        } else {
            Framing::header()
        };
        let (Ok(mut client_in), Ok(mut upstream_out)) = (client.try_clone(), upstream.try_clone())
        else {
            shared.close();
            return;
        };
        let sending = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name("postgres relay".into())
            .spawn(move || pump(&mut client_in, &mut upstream_out, &sending, |_| Ok(())));
        if spawned.is_err() {
            shared.close();
            return;
        }
        let mut received = 0u64;
        pump(&mut upstream, &mut client, shared, |bytes| {
            received = received.saturating_add(bytes.len() as u64);
            if received > MAX_SESSION_BYTES {
                return Err(Refusal::Session);
            }
            framing.inspect(bytes, shared.allow_password)
        });
    }

    /// Copies `from` to `to` until either ends, the deadline passes or
    /// `inspect` refuses what was read; then ends the session.
    fn pump(
        from: &mut Conn,
        to: &mut Conn,
        shared: &Shared,
        mut inspect: impl FnMut(&[u8]) -> Result<(), Refusal>,
    ) {
        let mut buf = vec![0; 64 << 10];
        loop {
            let read = from
                .set_timeouts(&shared.deadline)
                .and_then(|()| from.read(&mut buf));
            let n = match read {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if timed_out(&e) => {
                    shared.refuse(Refusal::Deadline);
                    return;
                }
                Err(_) => break,
            };
            if let Err(refusal) = inspect(&buf[..n]) {
                shared.refuse(refusal);
                return;
            }
            let written = to
                .set_timeouts(&shared.deadline)
                .and_then(|()| to.write_all(&buf[..n]));
            match written {
                Ok(()) => {}
                Err(e) if timed_out(&e) => {
                    shared.refuse(Refusal::Deadline);
                    return;
                }
                Err(_) => break,
            }
        }
        shared.close();
    }

    /// Where the server's bytes are in its messages: a type byte and a
    /// four-byte length (counting itself), then the body.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Framing {
        /// The one-byte answer to the request for TLS.
        Answer,
        /// TLS: the messages cannot be seen.
        Opaque,
        /// This much of a message's header, so far.
        Header { have: usize, bytes: [u8; 5] },
        /// This many bytes of a message's body to come.
        Body(u64),
        /// An authentication request's method, so far, and the body after it.
        Method {
            have: usize,
            bytes: [u8; 4],
            rest: u64,
        },
    }

    impl Framing {
        pub(super) fn header() -> Self {
            Self::Header {
                have: 0,
                bytes: [0; 5],
            }
        }

        /// Follows `data` through the messages; refuses a message larger
        /// than [`MAX_MESSAGE_BYTES`] from its header, before its body, and
        /// a request for the password in the clear or as an MD5 hash unless
        /// `allow_password`.
        pub(super) fn inspect(
            &mut self,
            mut data: &[u8],
            allow_password: bool,
        ) -> Result<(), Refusal> {
            while let Some(&first) = data.first() {
                match self {
                    Self::Opaque => return Ok(()),
                    Self::Answer => match first {
                        b'S' => *self = Self::Opaque,
                        b'N' => {
                            *self = Self::header();
                            data = &data[1..];
                        }
                        // An error instead of an answer: a message.
                        _ => *self = Self::header(),
                    },
                    Self::Header { have, bytes } => {
                        let take = (5 - *have).min(data.len());
                        bytes[*have..*have + take].copy_from_slice(&data[..take]);
                        *have += take;
                        data = &data[take..];
                        if *have == 5 {
                            let length = u64::from(u32::from_be_bytes([
                                bytes[1], bytes[2], bytes[3], bytes[4],
                            ]));
                            if length > MAX_MESSAGE_BYTES {
                                return Err(Refusal::Message(length + 1));
                            }
                            *self = match (bytes[0], length.saturating_sub(4)) {
                                (_, 0) => Self::header(),
                                (b'R', body) if body >= 4 => Self::Method {
                                    have: 0,
                                    bytes: [0; 4],
                                    rest: body - 4,
                                },
                                (_, body) => Self::Body(body),
                            };
                        }
                    }
                    Self::Method { have, bytes, rest } => {
                        let take = (4 - *have).min(data.len());
                        bytes[*have..*have + take].copy_from_slice(&data[..take]);
                        *have += take;
                        data = &data[take..];
                        if *have == 4 {
                            let method = u32::from_be_bytes(*bytes);
                            if matches!(method, 3 | 5) && !allow_password {
                                return Err(Refusal::Password(method));
                            }
                            *self = match *rest {
                                0 => Self::header(),
                                rest => Self::Body(rest),
                            };
                        }
                    }
                    Self::Body(rest) => {
                        let take = (*rest).min(data.len() as u64);
                        *rest -= take;
                        data = &data[usize::try_from(take).unwrap_or(data.len())..];
                        if *rest == 0 {
                            *self = Self::header();
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_as_libpq_reads_them() {
        let target = Target::parse(
            "postgresql://reader@db.example:6543/app?sslmode=require",
            "--postgres",
            None,
        )
        .unwrap();
        assert_eq!(
            target,
            Target {
                host: "db.example".into(),
                port: 6543,
                database: "app".into(),
                user: "reader".into(),
                ssl: SslMode::Require,
                root_cert: None,
                channel_binding: None,
                require_auth: Vec::new(),
            }
        );
        let strict = Target::parse(
            "postgres://reader@db.example/app?sslmode=verify-full&sslrootcert=/etc/ca.pem&channel_binding=require",
            "--postgres",
            None,
        )
        .unwrap();
        assert_eq!(
            strict.root_cert.as_deref(),
            Some(std::path::Path::new("/etc/ca.pem"))
        );
        assert_eq!(
            strict.channel_binding,
            Some(postgres::config::ChannelBinding::Require)
        );
        assert!(
            Target::parse("postgres://h/app?channel_binding=maybe", "--postgres", None).is_err()
        );
        let socket = Target::parse("postgres:///app?host=/tmp/pg", "--postgres", None).unwrap();
        assert_eq!(socket.host, "/tmp/pg");
        assert_eq!(socket.database, "app");
        let encoded = Target::parse("postgres://me@%2Ftmp%2Fpg/app", "--postgres", None).unwrap();
        assert_eq!(encoded.host, "/tmp/pg");
        assert_eq!(encoded.user, "me");
        assert_eq!(socket.ssl, SslMode::Prefer);
        let pgbouncer = Target::parse(
            "postgres://admin@127.0.0.1:6432",
            "--pgbouncer",
            Some("pgbouncer"),
        )
        .unwrap();
        assert_eq!(pgbouncer.database, "pgbouncer");
        assert_eq!(
            Target::parse("postgres://u@h/d%20b", "--postgres", None)
                .unwrap()
                .database,
            "d b"
        );
    }

    #[test]
    fn a_password_in_the_url_is_refused_and_never_echoed() {
        let error = Target::parse("postgres://u:hunter2@h/db", "--postgres", None).unwrap_err();
        assert!(error.0.contains("--postgres-password-file"), "{error}");
        assert!(!error.0.contains("hunter2"));
        let error =
            Target::parse("postgres://u:hunter2@h:99999/db", "--postgres", None).unwrap_err();
        assert!(!error.0.contains("hunter2"), "{error}");
    }

    #[test]
    fn messages_are_followed_and_an_oversized_one_refused_from_its_header() {
        use relay::{Framing, MAX_MESSAGE_BYTES, Refusal};
        let message = |tag: u8, length: u32| {
            let mut bytes = vec![tag];
            bytes.extend_from_slice(&length.to_be_bytes());
            bytes
        };
        // TLS declined, two messages, then a header split across reads.
        let mut framing = Framing::Answer;
        let mut bytes = b"N".to_vec();
        bytes.extend(message(b'R', 8));
        bytes.extend([0; 4]);
        bytes.extend(message(b'Z', 5));
        bytes.push(b'I');
        assert_eq!(framing.inspect(&bytes, true), Ok(()));
        assert_eq!(framing, Framing::header());
        let huge = message(b'E', 1_900_000_000);
        assert_eq!(framing.inspect(&huge[..2], true), Ok(()));
        assert_eq!(
            framing.inspect(&huge[2..], true),
            Err(Refusal::Message(1_900_000_001))
        );
        // The largest allowed message passes, its body counted out.
        let mut framing = Framing::header();
        let largest = u32::try_from(MAX_MESSAGE_BYTES).unwrap();
        assert_eq!(framing.inspect(&message(b'D', largest), true), Ok(()));
        assert_eq!(framing, Framing::Body(MAX_MESSAGE_BYTES - 4));
        // Under TLS the messages cannot be seen.
        let mut framing = Framing::Answer;
        assert_eq!(framing.inspect(b"S", true), Ok(()));
        assert_eq!(framing.inspect(&huge, true), Ok(()));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for (url, expected) in [
            ("mysql://h/db", "postgres://"),
            ("postgres://h/db?sslmode=maybe", "sslmode=maybe"),
            ("postgres://h/db?options=-c", "`options` is not supported"),
            ("not a url", "not a valid URL"),
        ] {
            let error = Target::parse(url, "--postgres", None).unwrap_err();
            assert!(error.0.contains(expected), "{url}: {error}");
            assert!(error.0.starts_with("--postgres: "), "{error}");
        }
    }
}

/// Whether `pg_stat_statements` keeps `query` normalised: the optimisable
/// statements (SELECT, INSERT, UPDATE, DELETE, MERGE, VALUES, TABLE, and WITH
/// before one of them), whose constants it replaces with parameters. Utility
/// statements (ALTER ROLE, CREATE USER, SET, COPY, ...) keep their literals,
/// passwords included.
fn normalised(query: &str) -> bool {
    let mut text = query.trim_start();
    // Leading comments, such as an ORM's tags.
    loop {
        if let Some(rest) = text.strip_prefix("/*") {
            text = rest
                .split_once("*/")
                .map_or("", |(_, after)| after)
                .trim_start();
        } else if let Some(rest) = text.strip_prefix("--") {
            text = rest
                .split_once('\n')
                .map_or("", |(_, after)| after)
                .trim_start();
        } else {
            break;
        }
    }
    let text = text.trim_start_matches('(');
    let word: String = text
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_uppercase();
    matches!(
        word.as_str(),
        "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "VALUES" | "TABLE" | "WITH"
    )
}

#[cfg(test)]
mod normalised_tests {
    use super::normalised;

    #[test]
    fn only_normalised_statements_are_evidence() {
        for query in [
            "SELECT * FROM t WHERE id = $1",
            "  /* app:checkout */ select 1",
            "-- tag\nUPDATE t SET a = $1",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "(SELECT 1) UNION (SELECT 2)",
            "insert into t values ($1)",
        ] {
            assert!(normalised(query), "{query}");
        }
        for query in [
            "ALTER ROLE clear PASSWORD 'LeakMe_Secret_42'",
            "CREATE USER u WITH PASSWORD 'x'",
            "SET statement_timeout = 5",
            "COPY t FROM STDIN",
            "/* unterminated SELECT",
            "",
        ] {
            assert!(!normalised(query), "{query}");
        }
    }
}
