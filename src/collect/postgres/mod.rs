//! PostgreSQL straight from its statistics views, read-only: connections
//! and their limit, replicas and their lag, and what the checklist asks of
//! indexes, statements, pooling and the buffer cache.

pub mod pgpass;
mod stats;
mod tls;

use std::time::Duration;

use postgres::{Client, SimpleQueryMessage};

pub use stats::{IndexUse, PgStats, Pool, Replica, Statement, TableScans};
pub use tls::SslMode;

use super::SourceError;

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
                other => {
                    return Err(fail(format!(
                        "the URL parameter `{}` is not supported (sslmode and host are)",
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

/// One open, read-only session.
pub struct Session {
    client: Client,
    /// The server as shown to people.
    pub shown: String,
    user: String,
}

/// Opens a connection to `target`, with TLS as its `sslmode` says.
fn open(
    target: &Target,
    secrets: &Secrets,
    timeout: Duration,
    application_name: Option<&str>,
) -> Result<Client, SourceError> {
    let shown = target.shown();
    let mut config = postgres::Config::new();
    config
        .user(&target.user)
        .dbname(&target.database)
        .port(target.port)
        .ssl_mode(target.ssl.negotiation())
        .connect_timeout(timeout);
    if let Some(name) = application_name {
        config.application_name(name);
    }
    if target.host.starts_with('/') {
        config.host_path(&target.host);
    } else {
        config.host(&target.host);
    }
    let password = secrets.password_for(target);
    if let Some(password) = &password {
        config.password(password);
    }
    let connector = target
        .ssl
        .connector()
        .map_err(|e| SourceError(format!("{shown}: {e}")))?;
    config
        .connect(connector)
        .map_err(|e| connect_error(&shown, &target.user, password.is_some(), &e))
}

/// Connects read-only, with `timeout` for the connection and each statement.
pub fn connect(
    target: &Target,
    secrets: &Secrets,
    timeout: Duration,
) -> Result<Session, SourceError> {
    let shown = target.shown();
    let mut client = open(target, secrets, timeout, Some("scalectl"))?;
    let millis = timeout.as_millis().min(i32::MAX as u128);
    client
        .batch_execute(&format!(
            "{TAG} SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; SET statement_timeout = {millis}"
        ))
        .map_err(|e| SourceError(format!("{shown}: {}", chain(&e))))?;
    Ok(Session {
        client,
        shown,
        user: target.user.clone(),
    })
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
        SourceError(format!("{}: reading {what}: {}", self.shown, chain(error)))
    }

    fn query(&mut self, what: &str, sql: &str) -> Result<Vec<postgres::Row>, SourceError> {
        let sql = format!("{TAG} {sql}");
        self.client
            .query(sql.as_str(), &[])
            .map_err(|e| self.fail(what, &e))
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
        let sql = format!("{TAG} {sql}");
        match self.client.query(sql.as_str(), &[]) {
            Ok(rows) => Ok(Ok(rows
                .iter()
                .map(|row| Statement {
                    query: row.get(0),
                    calls: u64::try_from(row.get::<_, Option<i64>>(1).unwrap_or(0)).unwrap_or(0),
                    total_ms: row.get::<_, Option<f64>>(2).unwrap_or(0.0),
                    rows: u64::try_from(row.get::<_, Option<i64>>(3).unwrap_or(0)).unwrap_or(0),
                })
                .collect())),
            // Created but not preloaded: the view cannot be read.
            Err(e)
                if e.code()
                    == Some(&postgres::error::SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE) =>
            {
                Ok(Err(format!(
                    "pg_stat_statements cannot be read ({}): add it to shared_preload_libraries and restart",
                    chain(&e)
                )))
            }
            Err(e) => Err(self.fail("pg_stat_statements", &e)),
        }
    }
}

/// PgBouncer's pools, from its admin console (`SHOW POOLS`).
pub fn pools(
    target: &Target,
    secrets: &Secrets,
    timeout: Duration,
) -> Result<Vec<Pool>, SourceError> {
    let shown = target.shown();
    // PgBouncer's console takes no application_name.
    let mut client = open(target, secrets, timeout, None)?;
    let messages = client.simple_query("SHOW POOLS").map_err(|e| {
        SourceError(format!(
            "{shown}: SHOW POOLS: {} (is role `{}` in PgBouncer's admin_users or stats_users?)",
            chain(&e),
            target.user
        ))
    })?;
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
            }
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
