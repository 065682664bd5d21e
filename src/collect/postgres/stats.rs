//! What PostgreSQL's statistics views said, and the checklist answers they
//! give against the ladder's `[checks]` thresholds. Pure: no connection here.

use std::collections::BTreeMap;

use crate::checklist::{Measured, Status};
use crate::ladder::Checks;
use crate::metric::{format_count, format_number};

/// One row of `pg_stat_user_tables`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableScans {
    /// `schema.table`.
    pub name: String,
    /// Sequential scans started.
    pub seq_scan: u64,
    /// Rows read by sequential scans.
    pub seq_tup_read: u64,
    /// Index scans started.
    pub idx_scan: u64,
    /// Estimated live rows.
    pub live_rows: u64,
}

/// One index of a user table, from `pg_stat_user_indexes` and `pg_index`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexUse {
    /// `schema.table`.
    pub table: String,
    /// The index's name.
    pub name: String,
    /// Index scans started.
    pub scans: u64,
    /// Its size on disk, in bytes.
    pub bytes: u64,
    /// Whether it enforces uniqueness or a primary key (never "unused").
    pub unique: bool,
    /// Its columns, operator classes, expressions and predicate: equal for
    /// two indexes that duplicate each other.
    pub key: String,
}

/// One statement of `pg_stat_statements`, summed over roles.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The normalised text (`$1` for constants).
    pub query: String,
    /// Times run.
    pub calls: u64,
    /// Total execution time, in milliseconds.
    pub total_ms: f64,
    /// Rows returned or affected, in all.
    pub rows: u64,
}

impl Statement {
    fn mean_ms(&self) -> f64 {
        self.total_ms / self.calls.max(1) as f64
    }

    fn rows_per_call(&self) -> f64 {
        self.rows as f64 / self.calls.max(1) as f64
    }
}

/// A replica as the primary's `pg_stat_replication` sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Replica {
    /// Its `application_name`, or its address.
    pub name: String,
    /// `streaming`, `catchup`, ...
    pub state: String,
    /// How far behind its replay is, in milliseconds; `None` when unknown.
    pub lag_ms: Option<f64>,
}

/// One pool of PgBouncer's `SHOW POOLS`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    /// The database.
    pub database: String,
    /// The user.
    pub user: String,
    /// Client connections linked to a server connection.
    pub cl_active: u64,
    /// Client connections waiting for a server connection.
    pub cl_waiting: u64,
    /// Server connections in use.
    pub sv_active: u64,
    /// Server connections idle, ready for clients.
    pub sv_idle: u64,
    /// `session`, `transaction` or `statement`.
    pub mode: String,
}

/// What the statistics views said about one primary.
#[derive(Debug, Clone, PartialEq)]
pub struct PgStats {
    /// The server, as shown to people (no password).
    pub server: String,
    /// Client backends other than scalectl's own.
    pub connections: u64,
    /// `max_connections` less the connections reserved for superusers and
    /// `pg_use_reserved_connections`.
    pub max_connections: u64,
    /// The replicas streaming from it.
    pub replicas: Vec<Replica>,
    /// `pg_stat_user_tables`.
    pub tables: Vec<TableScans>,
    /// The indexes of user tables.
    pub indexes: Vec<IndexUse>,
    /// `pg_stat_statements` of this database, or how to enable it.
    pub statements: Result<Vec<Statement>, String>,
    /// Sessions opened and their total time in milliseconds
    /// (`pg_stat_database`, PostgreSQL 14 and later).
    pub sessions: Option<(u64, f64)>,
    /// Block reads served from shared buffers, and from outside them.
    pub blocks: (u64, u64),
    /// PgBouncer's pools, when `--pgbouncer` was given.
    pub pools: Option<Vec<Pool>>,
}

impl Default for PgStats {
    fn default() -> Self {
        Self {
            server: String::new(),
            connections: 0,
            max_connections: 0,
            replicas: Vec::new(),
            tables: Vec::new(),
            indexes: Vec::new(),
            statements: Ok(Vec::new()),
            sessions: None,
            blocks: (0, 0),
            pools: None,
        }
    }
}

/// The most tables, statements or indexes listed as evidence of one item.
const MAX_LISTED: usize = 10;

/// The longest statement text shown, in characters.
const MAX_QUERY_CHARS: usize = 160;

fn listed(mut lines: Vec<String>, total: usize) -> Vec<String> {
    if total > MAX_LISTED {
        lines.truncate(MAX_LISTED);
        lines.push(format!("... and {} more", total - MAX_LISTED));
    }
    lines
}

/// A statement's text on one line, cut to [`MAX_QUERY_CHARS`].
fn one_line(query: &str) -> String {
    let line = query.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX_QUERY_CHARS) {
        Some((at, _)) => format!("{}...", &line[..at]),
        None => line,
    }
}

fn pass_if(passes: bool) -> Status {
    if passes { Status::Pass } else { Status::Fail }
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        100.0 * part / whole
    } else {
        0.0
    }
}

impl PgStats {
    /// The worst replica lag in milliseconds; `None` without replicas or
    /// when no replica's lag is known.
    pub fn replication_lag_ms(&self) -> Option<f64> {
        self.replicas
            .iter()
            .filter_map(|r| r.lag_ms)
            .max_by(f64::total_cmp)
    }

    /// Every checklist answer these statistics give.
    pub fn judge(&self, checks: &Checks) -> Vec<Measured> {
        vec![
            self.indexes_optimized(checks),
            self.slow_queries_fixed(checks),
            self.n_plus_one_eliminated(checks),
            self.connection_pooling(checks),
            self.read_replicas_deployed(),
            self.failover_tested(),
            self.buffer_cache(checks),
        ]
    }

    fn measured(
        &self,
        id: &'static str,
        status: Status,
        rule: String,
        evidence: Vec<String>,
        views: &str,
    ) -> Measured {
        Measured {
            id,
            status,
            rule,
            evidence,
            warnings: Vec::new(),
            read_from: format!("{views} on {}", self.server),
        }
    }

    fn indexes_optimized(&self, checks: &Checks) -> Measured {
        let limits = checks.indexes_optimized;
        let mut scanned: Vec<(&TableScans, f64)> = self
            .tables
            .iter()
            .filter(|t| t.live_rows >= limits.min_rows)
            .map(|t| {
                (
                    t,
                    percent(t.seq_scan as f64, t.seq_scan as f64 + t.idx_scan as f64),
                )
            })
            .filter(|&(t, share)| t.seq_scan > 0 && share > limits.max_seq_scan_pct)
            .collect();
        scanned.sort_by(|a, b| {
            b.0.seq_tup_read
                .cmp(&a.0.seq_tup_read)
                .then(a.0.name.cmp(&b.0.name))
        });
        let judged = self
            .tables
            .iter()
            .filter(|t| t.live_rows >= limits.min_rows)
            .count();
        let evidence = if scanned.is_empty() {
            vec![format!(
                "{judged} table(s) of at least {} rows; none is read mostly by sequential scans",
                format_count(limits.min_rows)
            )]
        } else {
            let lines = scanned
                .iter()
                .map(|(t, share)| {
                    format!(
                        "{}: {} rows, {}% of {} scans sequential ({} rows read by them): missing index?",
                        t.name,
                        format_count(t.live_rows),
                        format_number(share.round()),
                        format_count(t.seq_scan.saturating_add(t.idx_scan)),
                        format_count(t.seq_tup_read)
                    )
                })
                .collect();
            listed(lines, scanned.len())
        };
        let mut measured = self.measured(
            "indexes_optimized",
            pass_if(scanned.is_empty()),
            format!(
                "tables of {}+ rows read sequentially in at most {}% of scans",
                format_count(limits.min_rows),
                format_number(limits.max_seq_scan_pct)
            ),
            evidence,
            "pg_stat_user_tables, pg_stat_user_indexes, pg_index",
        );
        measured.warnings = self.index_warnings();
        measured
    }

    /// Unused and duplicate indexes: each costs writes and memory.
    fn index_warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self
            .indexes
            .iter()
            .filter(|i| i.scans == 0 && !i.unique)
            .map(|i| {
                format!(
                    "unused index {} on {} (0 scans, {} bytes): drop it if nothing needs it",
                    i.name,
                    i.table,
                    format_count(i.bytes)
                )
            })
            .collect();
        let mut groups: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for index in &self.indexes {
            groups
                .entry((index.table.as_str(), index.key.as_str()))
                .or_default()
                .push(index.name.as_str());
        }
        for ((table, _), mut names) in groups {
            if names.len() > 1 {
                names.sort_unstable();
                warnings.push(format!(
                    "duplicate indexes on {table}: {} index the same columns",
                    names.join(", ")
                ));
            }
        }
        warnings.sort();
        let total = warnings.len();
        listed(warnings, total)
    }

    fn slow_queries_fixed(&self, checks: &Checks) -> Measured {
        let limits = checks.slow_queries_fixed;
        let rule = format!(
            "statements run {}+ times at most {} ms on average",
            format_count(limits.min_calls),
            format_number(limits.max_mean_ms)
        );
        let statements = match &self.statements {
            Ok(statements) => statements,
            Err(how) => {
                return self.measured(
                    "slow_queries_fixed",
                    Status::Unknown,
                    rule,
                    vec![how.clone()],
                    "pg_extension",
                );
            }
        };
        let mut slow: Vec<&Statement> = statements
            .iter()
            .filter(|s| s.calls >= limits.min_calls && s.mean_ms() > limits.max_mean_ms)
            .collect();
        slow.sort_by(|a, b| {
            b.total_ms
                .total_cmp(&a.total_ms)
                .then(a.query.cmp(&b.query))
        });
        let all_ms: f64 = statements.iter().map(|s| s.total_ms).sum();
        let describe = |s: &Statement| {
            format!(
                "{} ms mean over {} calls, {}% of all statement time: {}",
                format_number((s.mean_ms() * 10.0).round() / 10.0),
                format_count(s.calls),
                format_number(percent(s.total_ms, all_ms).round()),
                one_line(&s.query)
            )
        };
        let evidence = if slow.is_empty() {
            let top = statements
                .iter()
                .max_by(|a, b| a.total_ms.total_cmp(&b.total_ms));
            let mut lines = vec![format!(
                "{} statements recorded; none is slow",
                format_count(statements.len() as u64)
            )];
            lines.extend(top.map(|s| format!("the most time: {}", describe(s))));
            lines
        } else {
            listed(slow.iter().map(|s| describe(s)).collect(), slow.len())
        };
        self.measured(
            "slow_queries_fixed",
            pass_if(slow.is_empty()),
            rule,
            evidence,
            "pg_stat_statements",
        )
    }

    fn n_plus_one_eliminated(&self, checks: &Checks) -> Measured {
        let limits = checks.n_plus_one_eliminated;
        let rule = format!(
            "no one-row statement under {} ms run {}+ times and {}x as often as one returning {}+ rows a call",
            format_number(limits.max_mean_ms),
            format_count(limits.min_calls),
            format_number(limits.multiple),
            format_number(limits.multiple)
        );
        let statements = match &self.statements {
            Ok(statements) => statements,
            Err(how) => {
                return self.measured(
                    "n_plus_one_eliminated",
                    Status::Unknown,
                    rule,
                    vec![how.clone()],
                    "pg_extension",
                );
            }
        };
        let mut found: Vec<(&Statement, &Statement)> = statements
            .iter()
            .filter(|child| {
                child.calls >= limits.min_calls
                    && child.rows_per_call() <= 1.0
                    && child.mean_ms() <= limits.max_mean_ms
            })
            .filter_map(|child| {
                statements
                    .iter()
                    .filter(|parent| {
                        !std::ptr::eq(*parent, child)
                            && parent.calls > 0
                            && parent.rows_per_call() >= limits.multiple
                            && child.calls as f64 >= limits.multiple * parent.calls as f64
                            // About once per row the parent returned, not more.
                            && child.calls <= parent.rows.saturating_mul(2)
                    })
                    // The parent whose rows best match the child's calls.
                    .min_by(|a, b| {
                        let gap = |p: &Statement| (p.rows as f64 - child.calls as f64).abs();
                        gap(a).total_cmp(&gap(b)).then(a.query.cmp(&b.query))
                    })
                    .map(|parent| (child, parent))
            })
            .collect();
        found.sort_by(|a, b| b.0.calls.cmp(&a.0.calls).then(a.0.query.cmp(&b.0.query)));
        let evidence = if found.is_empty() {
            vec![format!(
                "{} statements recorded; none has the N+1 signature",
                format_count(statements.len() as u64)
            )]
        } else {
            let lines = found
                .iter()
                .map(|(child, parent)| {
                    format!(
                        "{} calls of at most one row, {} ms mean: {} -- run once per row of ({} calls, {} rows a call): {}",
                        format_count(child.calls),
                        format_number((child.mean_ms() * 1000.0).round() / 1000.0),
                        one_line(&child.query),
                        format_count(parent.calls),
                        format_number(parent.rows_per_call().round()),
                        one_line(&parent.query)
                    )
                })
                .collect();
            listed(lines, found.len())
        };
        self.measured(
            "n_plus_one_eliminated",
            pass_if(found.is_empty()),
            rule,
            evidence,
            "pg_stat_statements",
        )
    }

    fn connection_pooling(&self, checks: &Checks) -> Measured {
        let limits = checks.connection_pooling;
        if let Some(pools) = &self.pools {
            let lines: Vec<String> = pools
                .iter()
                .map(|p| {
                    format!(
                        "pool {}/{} ({} mode): {} clients active, {} waiting; {} server connections active, {} idle",
                        p.database, p.user, p.mode, p.cl_active, p.cl_waiting, p.sv_active, p.sv_idle
                    )
                })
                .collect();
            let total = lines.len();
            let (status, evidence) = if pools.iter().any(|p| p.database != "pgbouncer") {
                (Status::Pass, listed(lines, total))
            } else {
                (
                    Status::Fail,
                    vec!["PgBouncer answers but pools no application database".to_owned()],
                )
            };
            let mut measured = self.measured(
                "connection_pooling",
                status,
                "a pooler in front of the database".to_owned(),
                evidence,
                "SHOW POOLS",
            );
            measured.read_from = "PgBouncer's SHOW POOLS (--pgbouncer)".to_owned();
            return measured;
        }
        let rule = format!(
            "sessions last {}+ ms on average once {}+ were opened",
            format_number(limits.max_mean_session_ms),
            format_count(limits.min_sessions)
        );
        let Some((sessions, session_ms)) = self.sessions else {
            return self.measured(
                "connection_pooling",
                Status::Unknown,
                rule,
                vec!["this server does not count sessions (pg_stat_database.sessions needs PostgreSQL 14); give --pgbouncer URL if a PgBouncer pools the connections".to_owned()],
                "pg_stat_database",
            );
        };
        let mean = session_ms / sessions.max(1) as f64;
        let status = if sessions < limits.min_sessions {
            Status::Unknown
        } else if mean < limits.max_mean_session_ms {
            Status::Fail
        } else {
            Status::Pass
        };
        let verdict = match status {
            Status::Fail => {
                "a connection opened per request: put a pooler (PgBouncer) in front, or pool in the application"
            }
            Status::Pass => "connections are long-lived: pooled by the application or a pooler",
            _ => "too few to tell; give --pgbouncer URL if a PgBouncer pools the connections",
        };
        self.measured(
            "connection_pooling",
            status,
            rule,
            vec![format!(
                "{} sessions opened since the statistics were reset, {} ms long on average: {verdict}",
                format_count(sessions),
                format_number(mean.round())
            )],
            "pg_stat_database",
        )
    }

    fn read_replicas_deployed(&self) -> Measured {
        let status = if self.replicas.is_empty() {
            Status::Fail
        } else {
            Status::Pass
        };
        let evidence = if self.replicas.is_empty() {
            vec!["no replica streams from this primary".to_owned()]
        } else {
            self.replicas
                .iter()
                .map(|r| {
                    format!(
                        "{}: {}, replay lag {}",
                        r.name,
                        r.state,
                        r.lag_ms.map_or("unknown".to_owned(), |lag| format!(
                            "{} ms",
                            format_number((lag * 10.0).round() / 10.0)
                        ))
                    )
                })
                .collect()
        };
        self.measured(
            "read_replicas_deployed",
            status,
            "at least one replica streaming".to_owned(),
            evidence,
            "pg_stat_replication",
        )
    }

    fn failover_tested(&self) -> Measured {
        self.measured(
            "failover_tested",
            Status::Unknown,
            "a failover drill done".to_owned(),
            vec!["no statistic shows a drill: promote a replica in staging (pg_promote()), point the application at it, and answer failover_tested by hand in the report".to_owned()],
            "pg_stat_replication (no statistic records a drill)",
        )
    }

    fn buffer_cache(&self, checks: &Checks) -> Measured {
        let min = checks.db_buffer_cache_hit.min_hit_pct;
        let (hit, read) = self.blocks;
        // A server's counters: summed without overflow.
        let total = hit.saturating_add(read);
        let rule = format!("at least {}%", format_number(min));
        if total == 0 {
            return self.measured(
                crate::checklist::DB_BUFFER_CACHE.id,
                Status::Unknown,
                rule,
                vec!["no block has been read since the statistics were reset".to_owned()],
                "pg_stat_database",
            );
        }
        let ratio = percent(hit as f64, hit as f64 + read as f64);
        self.measured(
            crate::checklist::DB_BUFFER_CACHE.id,
            if ratio >= min {
                Status::Pass
            } else {
                Status::Fail
            },
            rule,
            vec![format!(
                "{}% of {} block reads served from shared buffers ({} from disk or the OS cache)",
                format_number((ratio * 100.0).round() / 100.0),
                format_count(total),
                format_count(read)
            )],
            "pg_stat_database",
        )
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod overflow_tests {
    use super::*;

    #[test]
    fn counters_at_the_top_of_64_bits_neither_wrap_nor_panic() {
        let stats = PgStats {
            server: "postgres://m@db:5432/app".into(),
            tables: vec![TableScans {
                name: "public.events".into(),
                seq_scan: u64::MAX,
                seq_tup_read: u64::MAX,
                idx_scan: u64::MAX / 4,
                live_rows: u64::MAX,
            }],
            blocks: (u64::MAX, u64::MAX),
            ..PgStats::default()
        };
        let checks = *crate::ladder::Ladder::embedded().unwrap().checks().unwrap();
        let judged = stats.judge(&checks);
        let buffer = judged
            .iter()
            .find(|m| m.id == crate::checklist::DB_BUFFER_CACHE.id)
            .unwrap();
        // Half the reads from shared buffers, not ~100% nor a panic.
        assert!(buffer.evidence[0].starts_with("50% of "), "{buffer:?}");
        let indexes = judged.iter().find(|m| m.id == "indexes_optimized").unwrap();
        assert!(
            indexes.evidence[0].contains("80% of 18,446,744,073,709,551,615 scans"),
            "{indexes:?}"
        );
    }
}
