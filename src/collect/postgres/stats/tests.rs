use super::*;
use crate::ladder::Ladder;

fn checks() -> Checks {
    *Ladder::embedded().unwrap().checks().unwrap()
}

fn table(name: &str, live_rows: u64, seq_scan: u64, idx_scan: u64) -> TableScans {
    TableScans {
        name: name.into(),
        seq_scan,
        seq_tup_read: seq_scan * live_rows,
        idx_scan,
        live_rows,
    }
}

fn statement(query: &str, calls: u64, total_ms: f64, rows: u64) -> Statement {
    Statement {
        query: query.into(),
        calls,
        total_ms,
        rows,
    }
}

fn find(stats: &PgStats, id: &str) -> Measured {
    stats
        .judge(&checks())
        .into_iter()
        .find(|m| m.id == id)
        .unwrap()
}

#[test]
fn big_tables_read_mostly_by_sequential_scans_fail_and_are_named() {
    let limits = checks().indexes_optimized;
    let min = limits.min_rows;
    let stats = PgStats {
        tables: vec![
            table("public.events", min, 60, 40),
            table("public.users", min, 50, 50),
            table("public.small", min - 1, 100, 0),
            table("public.indexed", 1_000_000, 1, 9_999),
        ],
        ..PgStats::default()
    };
    let measured = find(&stats, "indexes_optimized");
    assert_eq!(measured.status, Status::Fail);
    assert_eq!(measured.evidence.len(), 1, "{:?}", measured.evidence);
    assert!(measured.evidence[0].starts_with("public.events:"));
    // Exactly at the share is within it; a table one row short is not judged.
    let stats = PgStats {
        tables: vec![
            table("public.users", min, 50, 50),
            table("public.small", min - 1, 100, 0),
        ],
        ..PgStats::default()
    };
    assert_eq!(find(&stats, "indexes_optimized").status, Status::Pass);
}

#[test]
fn unused_and_duplicate_indexes_are_warnings_not_failures() {
    let index = |name: &str, scans: u64, unique: bool, key: &str| IndexUse {
        table: "public.users".into(),
        name: name.into(),
        scans,
        bytes: 8192,
        unique,
        key: key.into(),
    };
    let stats = PgStats {
        indexes: vec![
            index("users_pkey", 0, true, "1"),
            index("users_email", 10, false, "2"),
            index("users_email_again", 0, false, "2"),
        ],
        ..PgStats::default()
    };
    let measured = find(&stats, "indexes_optimized");
    assert_eq!(measured.status, Status::Pass);
    assert_eq!(measured.warnings.len(), 2, "{:?}", measured.warnings);
    assert!(
        measured.warnings.iter().any(
            |w| w.contains("duplicate indexes on public.users: users_email, users_email_again")
        )
    );
    assert!(
        measured
            .warnings
            .iter()
            .any(|w| w.starts_with("unused index users_email_again"))
    );
    assert!(
        !measured
            .warnings
            .iter()
            .any(|w| w.contains("unused index users_pkey"))
    );
}

#[test]
fn slow_statements_are_judged_on_their_mean_once_run_often_enough() {
    let limits = checks().slow_queries_fixed;
    let at = limits.max_mean_ms * limits.min_calls as f64;
    let stats = PgStats {
        statements: Ok(vec![
            statement("SELECT slow($1)", limits.min_calls, at + 1.0, 5),
            statement("SELECT at_limit($1)", limits.min_calls, at, 5),
            statement("SELECT once($1)", limits.min_calls - 1, 1e9, 1),
        ]),
        ..PgStats::default()
    };
    let measured = find(&stats, "slow_queries_fixed");
    assert_eq!(measured.status, Status::Fail);
    assert_eq!(measured.evidence.len(), 1, "{:?}", measured.evidence);
    assert!(measured.evidence[0].ends_with("SELECT slow($1)"));
}

#[test]
fn without_pg_stat_statements_the_statement_items_are_unknown_and_say_how() {
    let stats = PgStats {
        statements: Err("pg_stat_statements is not installed: add it".into()),
        ..PgStats::default()
    };
    for id in ["slow_queries_fixed", "n_plus_one_eliminated"] {
        let measured = find(&stats, id);
        assert_eq!(measured.status, Status::Unknown);
        assert!(measured.evidence[0].contains("not installed"));
    }
}

#[test]
fn the_n_plus_one_signature_names_the_child_and_its_parent() {
    let limits = checks().n_plus_one_eliminated;
    let parents = 40;
    let per_parent = (limits.min_calls as f64 / parents as f64).ceil() as u64;
    let children = parents * per_parent;
    let stats = PgStats {
        statements: Ok(vec![
            statement("SELECT id FROM posts LIMIT $1", parents, 4.0, children),
            statement(
                "SELECT name FROM authors WHERE id = $1",
                children,
                0.02 * children as f64,
                children,
            ),
            // A busy one-row statement without a parent returning many rows.
            statement("SELECT now()", children * 10, 1.0, children * 10),
        ]),
        ..PgStats::default()
    };
    let measured = find(&stats, "n_plus_one_eliminated");
    assert_eq!(measured.status, Status::Fail);
    // `SELECT now()` runs far more often than the posts query returns rows:
    // it is busy, not run once per row.
    assert_eq!(measured.evidence.len(), 1, "{:?}", measured.evidence);
    let line = &measured.evidence[0];
    assert!(line.contains("SELECT name FROM authors"), "{line}");
    assert!(line.contains("SELECT id FROM posts"), "{line}");
    // One call fewer than the minimum is not judged.
    let stats = PgStats {
        statements: Ok(vec![
            statement("SELECT id FROM posts LIMIT $1", 1, 1.0, 10_000),
            statement(
                "SELECT name FROM authors WHERE id = $1",
                limits.min_calls - 1,
                1.0,
                limits.min_calls - 1,
            ),
        ]),
        ..PgStats::default()
    };
    assert_eq!(find(&stats, "n_plus_one_eliminated").status, Status::Pass);
}

#[test]
fn pooling_is_read_from_pgbouncer_or_from_the_session_pattern() {
    let limits = checks().connection_pooling;
    let short = PgStats {
        sessions: Some((limits.min_sessions, limits.min_sessions as f64 * 5.0)),
        ..PgStats::default()
    };
    assert_eq!(find(&short, "connection_pooling").status, Status::Fail);
    let long = PgStats {
        sessions: Some((
            limits.min_sessions,
            limits.min_sessions as f64 * limits.max_mean_session_ms,
        )),
        ..PgStats::default()
    };
    assert_eq!(find(&long, "connection_pooling").status, Status::Pass);
    let few = PgStats {
        sessions: Some((limits.min_sessions - 1, 1.0)),
        ..PgStats::default()
    };
    assert_eq!(find(&few, "connection_pooling").status, Status::Unknown);
    let pooled = PgStats {
        pools: Some(vec![Pool {
            database: "app".into(),
            user: "app".into(),
            cl_active: 3,
            cl_waiting: 0,
            sv_active: 1,
            sv_idle: 2,
            mode: "transaction".into(),
        }]),
        ..short
    };
    let measured = find(&pooled, "connection_pooling");
    assert_eq!(measured.status, Status::Pass);
    assert!(measured.read_from.contains("SHOW POOLS"));
}

#[test]
fn replicas_their_lag_and_the_buffer_cache() {
    let mut stats = PgStats::default();
    assert_eq!(find(&stats, "read_replicas_deployed").status, Status::Fail);
    assert_eq!(stats.replication_lag_ms(), None);
    assert_eq!(find(&stats, "db_buffer_cache_hit").status, Status::Unknown);
    stats.replicas = vec![
        Replica {
            name: "a".into(),
            state: "streaming".into(),
            lag_ms: Some(3.0),
        },
        Replica {
            name: "b".into(),
            state: "catchup".into(),
            lag_ms: None,
        },
    ];
    assert_eq!(find(&stats, "read_replicas_deployed").status, Status::Pass);
    assert_eq!(stats.replication_lag_ms(), Some(3.0));
    let min = checks().db_buffer_cache_hit.min_hit_pct;
    stats.blocks = (min as u64, 100 - min as u64);
    assert_eq!(find(&stats, "db_buffer_cache_hit").status, Status::Pass);
    stats.blocks = (min as u64 - 1, 101 - min as u64);
    assert_eq!(find(&stats, "db_buffer_cache_hit").status, Status::Fail);
    assert_eq!(find(&stats, "failover_tested").status, Status::Unknown);
}
