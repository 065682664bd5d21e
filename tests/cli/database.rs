//! `--postgres`, `--pgbouncer` and `--redis` against real servers: a
//! PostgreSQL primary with pg_stat_statements and a pg_basebackup replica,
//! PgBouncer in front, and Redis, on free loopback ports. The fixture plants
//! what the checklist looks for (a big table read by sequential scans beside
//! an indexed one, a duplicate and an unused index, a slow statement, an N+1
//! pattern, a connection opened per request) and every measured answer is
//! checked against what was planted and against the views themselves.
//! `.ci/run` installs the packages; elsewhere, without them, the test says
//! loudly that it was skipped.

use std::fs;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;

use crate::servers::{
    Cluster, Processes, as_postgres, one_at_a_time, pg_bin, postgres_dir, skipped, spawn, wait_for,
};
use crate::{free_port, have};

const SCHEMA: &str = "
CREATE EXTENSION pg_stat_statements;
CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, created timestamptz NOT NULL);
INSERT INTO events SELECT g, 'kind' || (g % 50), now() - g * interval '1 minute' FROM generate_series(1, 50000) g;
CREATE INDEX events_created_idx ON events (created);
CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL);
INSERT INTO customers SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 50000) g;
CREATE INDEX customers_email_idx ON customers (email);
CREATE INDEX customers_email_again_idx ON customers (email);
CREATE TABLE authors (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO authors SELECT g, 'author ' || g FROM generate_series(1, 200) g;
CREATE TABLE posts (id bigint PRIMARY KEY, author_id bigint NOT NULL REFERENCES authors);
INSERT INTO posts SELECT g, 1 + g % 200 FROM generate_series(1, 2000) g;
CREATE ROLE monitor LOGIN PASSWORD 'm0nitor-pw' IN ROLE pg_monitor;
CREATE ROLE app LOGIN PASSWORD 'app-pw';
CREATE TABLE probe (id int);
";

fn client(port: u16, database: &str) -> postgres::Client {
    postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user("postgres")
        .dbname(database)
        .connect(postgres::NoTls)
        .unwrap()
}

/// The application's workload, through PgBouncer: sequential scans of
/// `events`, index lookups in `customers`, one slow report, and a page of
/// posts whose authors are fetched one by one (N+1).
fn workload(pgbouncer_port: u16) {
    let mut db = client(pgbouncer_port, "shop");
    for i in 0..30 {
        db.query(
            "SELECT count(*) FROM events WHERE kind = $1",
            &[&format!("kind{i}")],
        )
        .unwrap();
    }
    for i in 1..=300_i64 {
        db.query(
            "SELECT id FROM customers WHERE email = $1",
            &[&format!("user{}@example.com", i * 7)],
        )
        .unwrap();
    }
    for _ in 0..6 {
        db.query("SELECT count(*), pg_sleep(0.15) FROM authors", &[])
            .unwrap();
    }
    // A utility statement is kept as typed by pg_stat_statements, password
    // and all: it must never reach the evidence.
    db.batch_execute("CREATE ROLE leaky").unwrap();
    for _ in 0..6 {
        db.batch_execute("ALTER ROLE leaky PASSWORD 'LeakMe_Secret_42'")
            .unwrap();
    }
    // A plain write after it, so that the replica's lag is measured on that
    // (the role changes make the replica reload its caches).
    db.batch_execute("INSERT INTO probe VALUES (1)").unwrap();
    for page in 0..40_i64 {
        let posts = db
            .query(
                "SELECT id, author_id FROM posts WHERE id > $1 ORDER BY id LIMIT 50",
                &[&(page * 50)],
            )
            .unwrap();
        for post in posts {
            let author: i64 = post.get(1);
            db.query("SELECT name FROM authors WHERE id = $1", &[&author])
                .unwrap();
        }
    }
}

fn scalectl(args: &[&str]) -> std::process::Output {
    cargo_bin_cmd!("scalectl")
        .env_remove("PGPASSWORD")
        .env_remove("SCALECTL_POSTGRES_PASSWORD")
        .env_remove("SCALECTL_REDIS_PASSWORD")
        .env("PGPASSFILE", "/nonexistent")
        .args(args)
        .output()
        .unwrap()
}

fn json(output: &std::process::Output) -> Value {
    assert!(
        output.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn item<'a>(checklist: &'a Value, id: &str) -> &'a Value {
    checklist["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["items"].as_array().unwrap())
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id}"))
}

fn evidence(item: &Value) -> String {
    item["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn error_of(output: &std::process::Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// A top-level number of a collected YAML report.
fn field(report: &str, name: &str) -> f64 {
    report
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {report}"))
        .parse()
        .unwrap()
}

fn redis_cli(port: u16, password: Option<&str>, command: &[&str]) -> String {
    let mut cli = Command::new("redis-cli");
    cli.args(["-h", "127.0.0.1", "-p", &port.to_string()]);
    if let Some(password) = password {
        cli.env("REDISCLI_AUTH", password);
    }
    let output = cli.args(command).output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn info(port: u16, key: &str) -> u64 {
    redis_cli(port, None, &["INFO", "stats"])
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
#[allow(clippy::too_many_lines)]
fn the_checklist_is_measured_straight_from_postgresql_pgbouncer_and_redis() {
    // Debian puts pgbouncer in /usr/sbin, not always on a user's PATH.
    let pgbouncer_bin = ["/usr/sbin/pgbouncer", "pgbouncer"]
        .into_iter()
        .find(|b| Path::new(b).exists() || have(b));
    let mut missing: Vec<&str> = ["redis-server", "redis-cli"]
        .into_iter()
        .filter(|b| !have(b))
        .collect();
    if pgbouncer_bin.is_none() {
        missing.push("pgbouncer");
    }
    let bin = pg_bin();
    if bin.is_none() {
        missing.push("postgresql");
    }
    if skipped("database", &missing) {
        return;
    }
    let _live = one_at_a_time();
    let bin = bin.unwrap();
    let (_dir, pg_dir) = postgres_dir();
    let mut processes = Processes(Vec::new());

    // The primary offers TLS with a self-signed certificate: libpq's
    // default `prefer` encrypts, `verify-full` refuses the certificate.
    let (key, cert) = super::servers::self_signed(&pg_dir);
    let _ = Command::new("chown")
        .arg("postgres")
        .arg(&key)
        .arg(&cert)
        .status();
    let mut permissions = fs::metadata(&key).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
    fs::set_permissions(&key, permissions).unwrap();
    let ssl_cert = format!("ssl_cert_file={}", cert.display());
    let ssl_key = format!("ssl_key_file={}", key.display());

    // The primary, with pg_stat_statements, and a replica streaming from it.
    let primary = Cluster::start(
        &bin,
        &pg_dir,
        "primary",
        free_port(),
        &[
            "max_connections=40",
            "wal_level=replica",
            "shared_preload_libraries=pg_stat_statements",
            "ssl=on",
            "log_connections=on",
            &ssl_cert,
            &ssl_key,
        ],
        &mut processes,
    );
    primary.sql_in("postgres", "CREATE DATABASE shop");
    primary.sql_in("postgres", "CREATE DATABASE plain");
    primary.sql_in("shop", SCHEMA);
    primary.sql_in("shop", "VACUUM ANALYZE");
    let replica = primary.replica(&pg_dir, "replica", free_port(), &mut processes);

    // PgBouncer in front of `shop`, its admin console open to `postgres`.
    let pgbouncer_port = free_port();
    let ini = pg_dir.join("pgbouncer.ini");
    let users = pg_dir.join("users.txt");
    fs::write(&users, "\"postgres\" \"\"\n").unwrap();
    fs::write(
        &ini,
        format!(
            "[databases]\nshop = host=127.0.0.1 port={} dbname=shop user=postgres\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {pgbouncer_port}\n\
             unix_socket_dir =\nauth_type = trust\nauth_file = {}\nadmin_users = postgres\n\
             pool_mode = session\nlogfile = {}\n",
            primary.port,
            users.display(),
            pg_dir.join("pgbouncer.log").display()
        ),
    )
    .unwrap();
    let _ = Command::new("chown")
        .arg("-R")
        .arg("postgres")
        .arg(&pg_dir)
        .status();
    let mut pgbouncer = as_postgres(Path::new(pgbouncer_bin.unwrap()));
    processes.0.push(
        pgbouncer
            .arg(&ini)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(30, "PgBouncer", || {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(pgbouncer_port)
            .user("postgres")
            .dbname("shop")
            .connect(postgres::NoTls)
            .is_ok()
    });
    // Redis: 9 hits and 1 miss since it started.
    let redis_port = free_port();
    processes.0.push(spawn(
        "redis-server",
        &[
            "--port".into(),
            redis_port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            String::new(),
        ],
        &pg_dir.join("redis.log"),
    ));
    wait_for(20, "Redis", || {
        redis_cli(redis_port, None, &["PING"]) == "PONG"
    });
    redis_cli(redis_port, None, &["SET", "session:1", "x"]);
    for _ in 0..9 {
        redis_cli(redis_port, None, &["GET", "session:1"]);
    }
    redis_cli(redis_port, None, &["GET", "session:2"]);
    // The statistics count the workload only.
    primary.sql_in(
        "shop",
        "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset();",
    );
    workload(pgbouncer_port);
    // A connection opened per request, straight to the primary.
    for _ in 0..600 {
        let mut db = client(primary.port, "shop");
        db.query("SELECT 1", &[]).unwrap();
    }
    // Connections the application holds open while it is measured.
    let _held: Vec<postgres::Client> = (0..4).map(|_| client(primary.port, "shop")).collect();
    let postgres_url = format!("postgres://postgres@127.0.0.1:{}/shop", primary.port);
    let replica_url = format!("postgres://postgres@127.0.0.1:{}/shop", replica.port);
    let pgbouncer_url = format!("postgres://postgres@127.0.0.1:{pgbouncer_port}/pgbouncer");
    let redis_url = format!("redis://127.0.0.1:{redis_port}");

    // Without the pooler named, the connection pattern answers.
    let checklist = json(&scalectl(&[
        "checklist",
        "--postgres",
        &postgres_url,
        "--redis",
        &redis_url,
        "--users",
        "50000",
        "--format",
        "json",
    ]));
    let pooling = item(&checklist, "connection_pooling");
    assert_eq!(pooling["status"], "fail", "{pooling}");
    assert!(evidence(pooling).contains("a connection opened per request"));

    let checklist = json(&scalectl(&[
        "checklist",
        "--postgres",
        &postgres_url,
        "--postgres",
        &replica_url,
        "--pgbouncer",
        &pgbouncer_url,
        "--redis",
        &redis_url,
        "--users",
        "50000",
        "--format",
        "json",
    ]));
    let indexes = item(&checklist, "indexes_optimized");
    assert_eq!(indexes["status"], "fail", "{indexes}");
    assert_eq!(indexes["source"], "measured");
    let found = evidence(indexes);
    assert!(
        found.contains("public.events: 50,000 rows, 100% of 30 scans sequential"),
        "{found}"
    );
    assert!(!found.contains("customers"), "{found}");
    let warnings = indexes["warnings"].to_string();
    assert!(
        warnings.contains(
            "duplicate indexes on public.customers: customers_email_again_idx, customers_email_idx"
        ),
        "{warnings}"
    );
    assert!(
        warnings.contains("unused index events_created_idx"),
        "{warnings}"
    );
    assert!(
        indexes["read_from"]
            .as_str()
            .unwrap()
            .contains("pg_stat_user_tables")
    );

    assert!(
        !checklist.to_string().contains("LeakMe_Secret_42"),
        "a password from pg_stat_statements reached the output"
    );
    let slow = item(&checklist, "slow_queries_fixed");
    assert_eq!(slow["status"], "fail", "{slow}");
    let found = evidence(slow);
    assert_eq!(found.lines().count(), 1, "{found}");
    assert!(found.contains("over 6 calls"), "{found}");
    assert!(
        found.contains("SELECT count(*), pg_sleep($1) FROM authors"),
        "{found}"
    );

    let n_plus_one = item(&checklist, "n_plus_one_eliminated");
    assert_eq!(n_plus_one["status"], "fail", "{n_plus_one}");
    let found = evidence(n_plus_one);
    assert_eq!(found.lines().count(), 1, "{found}");
    assert!(
        found.starts_with("2,000 calls of at most one row"),
        "{found}"
    );
    assert!(
        found.contains("SELECT name FROM authors WHERE id = $1"),
        "{found}"
    );
    assert!(
        found.contains(
            "run once per row of (40 calls, 50 rows a call): SELECT id, author_id FROM posts"
        ),
        "{found}"
    );

    let pooling = item(&checklist, "connection_pooling");
    assert_eq!(pooling["status"], "pass", "{pooling}");
    assert!(
        evidence(pooling).contains("pool shop/postgres (session mode)"),
        "{pooling}"
    );

    let replicas = item(&checklist, "read_replicas_deployed");
    assert_eq!(replicas["status"], "pass", "{replicas}");
    assert!(evidence(replicas).contains("streaming"), "{replicas}");
    // The lag is the server's last measurement, which background writes
    // (autovacuum) renew under load: the item passes exactly when the lag
    // the same run read is under 100 ms.
    let read: f64 = evidence(replicas)
        .split("replay lag ")
        .nth(1)
        .and_then(|rest| rest.split(" ms").next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(0.0);
    let lag = item(&checklist, "replication_lag_under_100ms");
    assert_eq!(
        lag["status"],
        if read < 100.0 { "pass" } else { "fail" },
        "{lag} {replicas}"
    );
    assert_eq!(item(&checklist, "failover_tested")["status"], "unknown");
    assert_eq!(item(&checklist, "redis_cache")["status"], "pass");
    assert_eq!(item(&checklist, "cache_monitoring")["status"], "pass");
    assert_eq!(item(&checklist, "cache_hit_rate_over_80")["status"], "pass");

    // The buffer cache figure is pg_stat_database's own.
    let buffer = item(&checklist, "db_buffer_cache_hit");
    let truth = primary.sql_in(
        "shop",
        "SELECT blks_hit, blks_read FROM pg_stat_database WHERE datname = 'shop'",
    );
    let (hit, read): (f64, f64) = {
        let mut parts = truth.split('|').map(|v| v.parse::<f64>().unwrap());
        (parts.next().unwrap(), parts.next().unwrap())
    };
    let shown = evidence(buffer);
    let percent: f64 = shown.split('%').next().unwrap().parse().unwrap();
    assert!(
        (percent - 100.0 * hit / (hit + read)).abs() < 0.5,
        "{shown} vs {truth}"
    );

    // The report: every field the servers know, against the views.
    let collected = scalectl(&[
        "collect",
        "--postgres",
        &postgres_url,
        "--postgres",
        &replica_url,
        "--pgbouncer",
        &pgbouncer_url,
        "--redis",
        &redis_url,
        "--users",
        "50000",
        "--output",
        "-",
    ]);
    assert!(
        collected.status.success(),
        "{}",
        String::from_utf8_lossy(&collected.stderr)
    );
    let report = String::from_utf8_lossy(&collected.stdout);
    let connections = primary.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    );
    assert_eq!(
        field(&report, "db_connections"),
        connections.parse::<f64>().unwrap(),
        "{report}"
    );
    let max: u64 = primary.sql("SHOW max_connections").parse().unwrap();
    let reserved: u64 = primary
        .sql("SHOW superuser_reserved_connections")
        .parse()
        .unwrap();
    assert_eq!(
        field(&report, "db_max_connections"),
        (max - reserved) as f64,
        "{report}"
    );
    let hits = info(redis_port, "keyspace_hits") as f64;
    let misses = info(redis_port, "keyspace_misses") as f64;
    let rate = 100.0 * hits / (hits + misses);
    assert!(
        (field(&report, "cache_hit_rate_pct") - rate).abs() < 0.01,
        "{report}"
    );
    assert!(report.contains("indexes_optimized: false"), "{report}");
    assert!(report.contains("connection_pooling: true"), "{report}");
    // The replica's lag, as the server last measured it (background writes
    // renew it under load).
    let lag = field(&report, "replication_lag_ms");
    assert!(lag.is_finite() && lag >= 0.0, "{report}");
    assert!(
        !report.lines().any(|l| l.starts_with("db_cpu_pct")),
        "{report}"
    );
    let stderr = String::from_utf8_lossy(&collected.stderr);
    assert!(stderr.contains("db_cpu_pct: not measured"), "{stderr}");

    // assess: a full report from the same flags.
    let assessed = json(&scalectl(&[
        "assess",
        "--postgres",
        &postgres_url,
        "--redis",
        &redis_url,
        "--users",
        "50000",
        "--local",
        "--format",
        "json",
        "--fail-on",
        "never",
    ]));
    let result = &assessed["reports"][0];
    assert_eq!(result["stage"]["id"], 2, "{result}");
    let measured = result["measured"].to_string();
    for field in [
        "db_cpu_pct",
        "db_connections",
        "cache_hit_rate_pct",
        "replication_lag_ms",
    ] {
        assert!(measured.contains(field), "{field}: {measured}");
    }
    // Only the API's latency is not the database's to tell.
    assert_eq!(
        result["missing_metrics"].to_string(),
        "[\"api_p95_ms\"]",
        "{result}"
    );

    // A manual answer contradicted by the measurement is shown.
    let report_file = pg_dir.join("answered.yaml");
    fs::write(
        &report_file,
        "users: 50000\nchecklist:\n  indexes_optimized: true\n",
    )
    .unwrap();
    let checklist = json(&scalectl(&[
        "checklist",
        report_file.to_str().unwrap(),
        "--postgres",
        &postgres_url,
        "--format",
        "json",
    ]));
    let indexes = item(&checklist, "indexes_optimized");
    assert_eq!(indexes["status"], "fail");
    assert_eq!(indexes["report_answer"], true, "{indexes}");
    let table = scalectl(&[
        "checklist",
        report_file.to_str().unwrap(),
        "--postgres",
        &postgres_url,
    ]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("conflict: the report answers true; the measurement (fail) wins"),
        "{text}"
    );
    assert!(text.contains("read from pg_stat_user_tables"), "{text}");

    // Without pg_stat_statements: unknown, and how to enable it.
    let plain = format!("postgres://postgres@127.0.0.1:{}/plain", primary.port);
    let checklist = json(&scalectl(&[
        "checklist",
        "--postgres",
        &plain,
        "--format",
        "json",
    ]));
    let slow = item(&checklist, "slow_queries_fixed");
    assert_eq!(slow["status"], "unknown");
    assert!(
        evidence(slow).contains("CREATE EXTENSION pg_stat_statements"),
        "{slow}"
    );

    // Zero lookups in a sample window: the hit rate is left out, not 0 or 90.
    let sampled = scalectl(&[
        "collect", "--redis", &redis_url, "--users", "10", "--sample", "1s",
    ]);
    assert!(
        sampled.status.success(),
        "{}",
        String::from_utf8_lossy(&sampled.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&sampled.stdout)
            .lines()
            .any(|l| l.starts_with("cache_hit_rate_pct")),
        "{}",
        String::from_utf8_lossy(&sampled.stdout)
    );
    assert!(String::from_utf8_lossy(&sampled.stderr).contains("counted no lookups in 1 s"));

    // Bad inputs: each one clear error, exit 2, no password echoed.
    let monitor = format!("postgres://monitor@127.0.0.1:{}/shop", primary.port);
    let wrong = pg_dir.join("wrong-password");
    fs::write(&wrong, "not-the-password\n").unwrap();
    let stderr = error_of(&scalectl(&[
        "checklist",
        "--postgres",
        &monitor,
        "--postgres-password-file",
        wrong.to_str().unwrap(),
    ]));
    assert!(
        stderr.contains("password authentication failed for role `monitor`"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-password"), "{stderr}");
    let stderr = error_of(&scalectl(&["checklist", "--postgres", &monitor]));
    assert!(stderr.contains("none was given"), "{stderr}");
    // A password file its group or others may read is passed over, as libpq
    // does, and the error says why; at 0600 it is used.
    let pgpass = pg_dir.join("pgpass");
    fs::write(
        &pgpass,
        format!("127.0.0.1:{}:shop:monitor:m0nitor-pw\n", primary.port),
    )
    .unwrap();
    for (mode, used) in [(0o644, false), (0o600, true)] {
        fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
        let output = cargo_bin_cmd!("scalectl")
            .env_remove("PGPASSWORD")
            .env_remove("SCALECTL_POSTGRES_PASSWORD")
            .env("PGPASSFILE", &pgpass)
            .args(["checklist", "--postgres", &monitor, "--format", "json"])
            .output()
            .unwrap();
        if used {
            assert!(
                output.status.code().is_some_and(|c| c < 2),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        } else {
            let stderr = error_of(&output);
            assert!(stderr.contains("none was given"), "{stderr}");
            assert!(
                stderr.contains(
                    "has group or world access; permissions should be u=rw (0600) or less"
                ),
                "{stderr}"
            );
            assert!(!stderr.contains("m0nitor-pw"), "{stderr}");
        }
    }
    let right = pg_dir.join("right-password");
    fs::write(&right, "m0nitor-pw\n").unwrap();
    let checklist = json(&scalectl(&[
        "checklist",
        "--postgres",
        &monitor,
        "--postgres-password-file",
        right.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert_eq!(item(&checklist, "indexes_optimized")["status"], "fail");
    let app = format!("postgres://app@127.0.0.1:{}/shop", primary.port);
    let output = cargo_bin_cmd!("scalectl")
        .env("PGPASSWORD", "app-pw")
        .args(["checklist", "--postgres", &app])
        .output()
        .unwrap();
    let stderr = error_of(&output);
    assert!(
        stderr.contains("GRANT pg_read_all_stats TO \"app\""),
        "{stderr}"
    );
    assert!(stderr.contains("pg_stat_statements"), "{stderr}");
    let down = format!("postgres://postgres@127.0.0.1:{}/shop", free_port());
    let stderr = error_of(&scalectl(&["checklist", "--postgres", &down]));
    assert!(
        stderr.contains("cannot connect") && stderr.contains(&down),
        "{stderr}"
    );
    let stderr = error_of(&scalectl(&["checklist", "--postgres", &replica_url]));
    assert!(
        stderr.contains("every server given is a replica"),
        "{stderr}"
    );

    // TLS as libpq's sslmode says.
    let json_of = |url: &str| scalectl(&["checklist", "--postgres", url, "--format", "json"]);
    let required = json_of(&format!("{postgres_url}?sslmode=require"));
    assert_eq!(
        item(&json(&required), "indexes_optimized")["status"],
        "fail"
    );
    // With a password to give under `require` (the certificate unchecked),
    // only SCRAM bound to the TLS channel is accepted: the real server's
    // SCRAM-SHA-256-PLUS passes.
    let bound = scalectl(&[
        "checklist",
        "--postgres",
        &format!("{monitor}?sslmode=require"),
        "--postgres-password-file",
        right.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(item(&json(&bound), "indexes_optimized")["status"], "fail");
    // Every session scalectl opened on the primary, under the default
    // `prefer` too, was encrypted: the server's own log says so.
    let log = fs::read_to_string(primary.data.with_extension("log")).unwrap();
    let sessions: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("connection authorized") && l.contains("application_name=scalectl"))
        .collect();
    assert!(sessions.len() >= 5, "{log}");
    assert!(
        sessions.iter().all(|l| l.contains("SSL enabled")),
        "{sessions:?}"
    );
    let stderr = error_of(&json_of(&format!("{postgres_url}?sslmode=verify-full")));
    assert!(
        stderr.contains("cannot connect") && stderr.contains("certificate"),
        "{stderr}"
    );
    let stderr = error_of(&json_of(&format!("{replica_url}?sslmode=require")));
    assert!(stderr.contains("cannot connect"), "{stderr}");
    let stderr = error_of(&json_of(&format!("{postgres_url}?sslmode=sometimes")));
    assert!(
        stderr.contains("sslmode=sometimes is not one of"),
        "{stderr}"
    );

    // A Redis that requires AUTH.
    redis_cli(
        redis_port,
        None,
        &["CONFIG", "SET", "requirepass", "r3dis-pw"],
    );
    let stderr = error_of(&scalectl(&[
        "collect", "--redis", &redis_url, "--users", "10",
    ]));
    assert!(stderr.contains("requires a password"), "{stderr}");
    let output = cargo_bin_cmd!("scalectl")
        .env("SCALECTL_REDIS_PASSWORD", "r3dis-pw")
        .args(["collect", "--redis", &redis_url, "--users", "10"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("redis_cache: true"));
    let output = cargo_bin_cmd!("scalectl")
        .env("SCALECTL_REDIS_PASSWORD", "wrong")
        .args(["collect", "--redis", &redis_url, "--users", "10"])
        .output()
        .unwrap();
    let stderr = error_of(&output);
    assert!(
        stderr.contains("the password was refused") && !stderr.contains("wrong\n"),
        "{stderr}"
    );
}
