//! `collect`, `assess --prometheus` and `forecast --prometheus` against a real
//! Prometheus server: a fixture backfilled with promtool, served on a free
//! port, stopped at the end. `.ci/run` installs Debian's `prometheus` package
//! when promtool is missing, so CI always runs this; elsewhere, without it,
//! the test says loudly that it was skipped.

use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use serde_json::Value;

use crate::{free_port, have};

const TOKEN: &str = "s3cr3t-t0ken-do-not-print";

/// A series' value at each 30-second step.
type Step = Box<dyn Fn(u64) -> f64>;
const DAYS: u64 = 90;

/// A running Prometheus, stopped when dropped.
struct Server {
    child: Child,
    url: String,
    /// The fixture's last timestamp (Unix seconds), over three hours ago.
    end: u64,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Users grow 10% every 30 days from 20,000; database CPU is 10 + 0.0005 x users.
fn users_on(day: u64) -> f64 {
    (20_000.0 * 1.1f64.powf(day as f64 / 30.0)).round()
}

/// The OpenMetrics fixture: 90 days of daily gauges, and the last ten minutes
/// of the series the built-in queries read, every 30 seconds.
fn fixture(end: u64) -> String {
    let mut text = String::new();
    let start = end - (DAYS - 1) * 86_400;
    let mut daily = |name: &str, value: &dyn Fn(u64) -> f64| {
        let _ = writeln!(text, "# TYPE {name} gauge");
        for day in 0..DAYS {
            let _ = writeln!(text, "{name} {} {}", value(day), start + day * 86_400);
        }
    };
    daily("app_active_users", &users_on);
    daily("fixture_db_cpu_pct", &|day| 10.0 + 0.0005 * users_on(day));
    let steps = 21u64;
    let first = end - (steps - 1) * 30;
    let mut series = |name: &str, kind: &str, points: Vec<(String, Step)>| {
        let _ = writeln!(text, "# TYPE {name} {kind}");
        for (labels, value) in &points {
            for i in 0..steps {
                let _ = writeln!(text, "{name}{labels} {} {}", value(i), first + i * 30);
            }
        }
    };
    // 100 requests every 30 s: 40 under 50 ms, 80 under 100 ms, 96 under 250 ms, all under 1 s.
    series(
        "http_request_duration_seconds_bucket",
        "unknown",
        [
            ("0.05", 40.0),
            ("0.1", 80.0),
            ("0.25", 96.0),
            ("0.5", 99.0),
            ("1", 100.0),
            ("+Inf", 100.0),
        ]
        .into_iter()
        .map(|(le, per_step)| {
            (
                format!("{{le=\"{le}\"}}"),
                Box::new(move |i: u64| per_step * i as f64) as Step,
            )
        })
        .collect(),
    );
    // The CPU is idle a quarter of the time: 75% busy. As node_exporter
    // writes it: one counter per mode, together one second per second.
    series(
        "node_cpu_seconds_total",
        "unknown",
        vec![
            (
                "{cpu=\"0\",mode=\"idle\"}".into(),
                Box::new(|i| 7.5 * i as f64),
            ),
            (
                "{cpu=\"0\",mode=\"user\"}".into(),
                Box::new(|i| 20.0 * i as f64),
            ),
            (
                "{cpu=\"0\",mode=\"system\"}".into(),
                Box::new(|i| 2.5 * i as f64),
            ),
        ],
    );
    series(
        "pg_stat_activity_count",
        "gauge",
        vec![("{datname=\"app\"}".into(), Box::new(|_| 150.0))],
    );
    series(
        "pg_settings_max_connections",
        "gauge",
        vec![(String::new(), Box::new(|_| 200.0))],
    );
    series(
        "redis_keyspace_hits_total",
        "unknown",
        vec![(String::new(), Box::new(|i| 90.0 * i as f64))],
    );
    series(
        "redis_keyspace_misses_total",
        "unknown",
        vec![(String::new(), Box::new(|i| 10.0 * i as f64))],
    );
    series(
        "pg_replication_lag_seconds",
        "gauge",
        vec![(String::new(), Box::new(|_| 0.12))],
    );
    series(
        "fixture_two",
        "gauge",
        vec![
            ("{instance=\"a\"}".into(), Box::new(|_| 1.0)),
            ("{instance=\"b\"}".into(), Box::new(|_| 2.0)),
        ],
    );
    series(
        "fixture_nan",
        "gauge",
        vec![(String::new(), Box::new(|_| f64::NAN))],
    );
    text.push_str("# EOF\n");
    text
}

fn start() -> Option<Server> {
    if !have("promtool") || !have("prometheus") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the Prometheus tests: .ci/run installs Debian's prometheus package"
        );
        eprintln!(
            "\n*** SKIPPED: the Prometheus tests need `prometheus` and `promtool` (Debian: apt-get install prometheus) ***\n"
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let end = now / 3600 * 3600 - 4 * 3600;
    let om = dir.path().join("fixture.om");
    fs::write(&om, fixture(end)).unwrap();
    let data = dir.path().join("data");
    let backfill = std::process::Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        backfill.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&backfill.stderr)
    );
    let config = dir.path().join("prometheus.yml");
    fs::write(
        &config,
        "global:\n  scrape_interval: 1h\nscrape_configs: []\n",
    )
    .unwrap();
    let port = free_port();
    let log = fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let child = std::process::Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=10y")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        end,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if ureq::get(format!("{}/-/ready", server.url))
            .call()
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        assert!(Instant::now() < deadline, "Prometheus did not become ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(server)
}

fn scalectl(args: &[&str]) -> Output {
    let mut command = Command::cargo_bin("scalectl").unwrap();
    command
        .env_remove("SCALECTL_PROMETHEUS_TOKEN")
        .timeout(Duration::from_secs(60));
    command.args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn queries(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, body).unwrap();
    path
}

fn close(value: &Value, expected: f64, tolerance: f64) {
    let actual = value.as_f64().unwrap_or(f64::NAN);
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} vs {expected}"
    );
}

#[test]
fn prometheus_end_to_end() {
    let Some(server) = start() else { return };
    let url = server.url.as_str();
    let at = server.end.to_string();
    let work = tempfile::tempdir().unwrap();

    // A full report from the built-in queries.
    let report = work.path().join("report.json");
    let output = scalectl(&[
        "collect",
        "--prometheus",
        url,
        "--users",
        "42K",
        "--at",
        &at,
        "--output",
        report.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let json: Value = serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["users"], 42_000);
    close(&json["api_p95_ms"], 240.625, 0.01);
    close(&json["db_cpu_pct"], 75.0, 0.01);
    assert_eq!(json["db_connections"], 150);
    assert_eq!(json["db_max_connections"], 200);
    close(&json["cache_hit_rate_pct"], 90.0, 0.01);
    close(&json["replication_lag_ms"], 120.0, 0.01);
    let assessed = scalectl(&["assess", "--format", "json", report.to_str().unwrap()]);
    assert_eq!(assessed.status.code(), Some(1), "db-cpu at 75% is critical");

    // The same without the intermediate file; YAML on standard output.
    let output = scalectl(&[
        "collect",
        "--prometheus",
        url,
        "--users",
        "42K",
        "--at",
        &at,
    ]);
    let yaml = text(&output.stdout);
    assert!(yaml.contains("\ndb_connections: 150\n"), "{yaml}");
    let output = scalectl(&[
        "assess",
        "--prometheus",
        url,
        "--users",
        "42K",
        "--at",
        &at,
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    // db-cpu fires at 42,000 users with no cheap fix answered: fix first.
    assert_eq!(json["reports"][0]["recommended_stage"]["id"], 2);
    assert_eq!(json["reports"][0]["decision"]["action"], "fix-first");
    assert_eq!(json["reports"][0]["decision"]["trigger"], "db-cpu");

    // Every query empty (its metrics exist, but no series matches): the
    // report measures nothing, so the gate fails with `not-measured`, and the
    // empty fields are listed in the report.
    let empty = queries(
        work.path(),
        "empty.toml",
        "api_p95_ms = \"max(fixture_db_cpu_pct{job=\\\"none\\\"})\"\ndb_cpu_pct = \"max(pg_settings_max_connections{job=\\\"none\\\"})\"\n",
    );
    let output = scalectl(&[
        "assess",
        "--prometheus",
        url,
        "--queries",
        empty.to_str().unwrap(),
        "--users",
        "42K",
        "--at",
        &at,
        "--format",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let report = &json["reports"][0];
    assert_eq!(report["status"], "unknown");
    assert_eq!(report["alarms"][0]["rule"], "not-measured");
    let missing: Vec<&str> = report["missing_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        missing.contains(&"api_p95_ms") && missing.contains(&"db_cpu_pct"),
        "{missing:?}"
    );

    // Collected reports carry their service and time, in the format their
    // name asks for, so that a folder of them is a history.
    let daily = work.path().join("daily");
    std::fs::create_dir(&daily).unwrap();
    for (days_before, name) in [(2u64, "a.yaml"), (1, "b.json"), (0, "c.toml")] {
        let when = (server.end - days_before * 86_400).to_string();
        let out = daily.join(name);
        let output = scalectl(&[
            "collect",
            "--prometheus",
            url,
            "--users",
            "42K",
            "--service",
            "checkout",
            "--at",
            &when,
            "--output",
            out.to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let written = std::fs::read_to_string(&out).unwrap();
        assert!(
            written.contains("checkout") && written.contains("observed_at"),
            "{written}"
        );
        assert!(
            !written.contains("99999999"),
            "values are rounded: {written}"
        );
    }
    let output = scalectl(&["forecast", daily.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let wrong = work.path().join("report.txt");
    let output = scalectl(&[
        "collect",
        "--prometheus",
        url,
        "--users",
        "5",
        "--output",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains(".yaml, .yml, .json or .toml"),
        "{}",
        text(&output.stderr)
    );
    assert!(!wrong.exists());

    // Credentials in the URL are refused, and never echoed.
    let with_password = url.replace("http://", "http://admin:hunter2@");
    let output = scalectl(&["assess", "--prometheus", &with_password, "--users", "5"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("--basic-auth-file"), "{stderr}");
    assert!(
        !stderr.contains("hunter2") && !stderr.contains("admin"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    // A history, and a forecast of it that finds the fixture's trend.
    let daily = queries(
        work.path(),
        "daily.toml",
        "users = \"app_active_users\"\ndb_cpu_pct = \"fixture_db_cpu_pct\"\n",
    );
    let history = work.path().join("history.csv");
    let output = scalectl(&[
        "collect",
        "--prometheus",
        url,
        "--queries",
        daily.to_str().unwrap(),
        "--range",
        "90d",
        "--step",
        "1d",
        "--at",
        &at,
        "--output",
        history.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let csv = fs::read_to_string(&history).unwrap();
    assert!(csv.starts_with("date,users,db_cpu_pct\n"), "{csv}");
    assert!(csv.lines().count() >= 90, "{} rows", csv.lines().count());
    let output = scalectl(&["forecast", "--format", "json", history.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let forecast: Value = serde_json::from_slice(&output.stdout).unwrap();
    close(&forecast["users"]["growth_pct_per_month"], 10.0, 0.1);
    assert_eq!(forecast["metrics"][0]["model"], "users");
    let direct = scalectl(&[
        "forecast",
        "--format",
        "json",
        "--prometheus",
        url,
        "--queries",
        daily.to_str().unwrap(),
        "--range",
        "90d",
        "--at",
        &at,
    ]);
    assert!(direct.status.success(), "{}", text(&direct.stderr));
    let direct: Value = serde_json::from_slice(&direct.stdout).unwrap();
    assert_eq!(direct["users"], forecast["users"]);
    assert_eq!(direct["crossings"], forecast["crossings"]);

    // A metric with no matching series, and NaN: left out, with a note.
    let odd = queries(
        work.path(),
        "odd.toml",
        "db_cpu_pct = \"fixture_db_cpu_pct{job=\\\"none\\\"}\"\nreplication_lag_ms = \"fixture_nan\"\napi_p95_ms = \"pg_replication_lag_seconds * 1000\"\n",
    );
    let output = scalectl(&[
        "collect",
        "--prometheus",
        url,
        "--queries",
        odd.to_str().unwrap(),
        "--users",
        "5",
        "--at",
        &at,
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("note: db_cpu_pct: the query returned no data; the field is left out"),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: replication_lag_ms: the query returned NaN; the field is left out"),
        "{stderr}"
    );
    let yaml = text(&output.stdout);
    assert!(
        yaml.contains("# note: db_cpu_pct: the query returned no data"),
        "{yaml}"
    );
    assert!(
        !yaml.lines().any(|line| line.starts_with("db_cpu_pct:")),
        "{yaml}"
    );
    assert!(yaml.contains("\napi_p95_ms: 120.0\n"), "{yaml}");

    // forecast --prometheus with a constant --users, as the README says.
    let cpu_only = queries(
        work.path(),
        "cpu-only.toml",
        "db_cpu_pct = \"fixture_db_cpu_pct\"\n",
    );
    let output = scalectl(&[
        "forecast",
        "--prometheus",
        url,
        "--queries",
        cpu_only.to_str().unwrap(),
        "--users",
        "42K",
        "--range",
        "30d",
        "--at",
        &at,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("now 42,000"),
        "{}",
        text(&output.stdout)
    );

    // A metric that exists nowhere is not "no data": it is an error naming
    // it, and the nearest name that does exist.
    let typo = queries(
        work.path(),
        "typo.toml",
        "db_connections = \"sum(pg_stat_activty_count)\"\n",
    );
    let output = scalectl(&[
        "collect",
        "--prometheus",
        url,
        "--queries",
        typo.to_str().unwrap(),
        "--users",
        "5",
        "--at",
        &at,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("the metric `pg_stat_activty_count` does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `pg_stat_activity_count`?"),
        "{stderr}"
    );

    // Several series: an error that names the query and asks for an aggregation.
    let two = queries(work.path(), "two.toml", "db_cpu_pct = \"fixture_two\"\n");
    let output = scalectl(&[
        "collect",
        "--prometheus",
        url,
        "--queries",
        two.to_str().unwrap(),
        "--users",
        "5",
        "--at",
        &at,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("query `fixture_two`: returned 2 series"),
        "{stderr}"
    );
    assert!(stderr.contains("aggregate it to one"), "{stderr}");

    // A query Prometheus rejects: its errorType and message.
    let bad = queries(work.path(), "bad.toml", "db_cpu_pct = \"sum((\"\n");
    let output = scalectl(&[
        "collect",
        "--prometheus",
        url,
        "--queries",
        bad.to_str().unwrap(),
        "--users",
        "5",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("Prometheus answered bad_data: "),
        "{}",
        text(&output.stderr)
    );

    // A token, from the environment or a file, never appears in any output.
    let token_file = work.path().join("token");
    fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let mut command = Command::cargo_bin("scalectl").unwrap();
    let output = command
        .env("SCALECTL_PROMETHEUS_TOKEN", TOKEN)
        .args([
            "assess",
            "--prometheus",
            url,
            "--users",
            "42K",
            "--at",
            &at,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let down = format!("http://127.0.0.1:{}", free_port());
    for args in [
        vec![
            "collect",
            "--prometheus",
            url,
            "--bearer-token-file",
            token_file.to_str().unwrap(),
            "--users",
            "5",
            "--at",
            &at,
        ],
        vec![
            "collect",
            "--prometheus",
            &down,
            "--bearer-token-file",
            token_file.to_str().unwrap(),
            "--users",
            "5",
        ],
        vec![
            "collect",
            "--prometheus",
            url,
            "--queries",
            bad.to_str().unwrap(),
            "--bearer-token-file",
            token_file.to_str().unwrap(),
            "--users",
            "5",
        ],
    ] {
        let output = scalectl(&args);
        for stream in [&output.stdout, &output.stderr] {
            assert!(
                !text(stream).contains(TOKEN),
                "the token leaked: {}",
                text(stream)
            );
        }
    }
    for stream in [&output.stdout, &output.stderr] {
        assert!(!text(stream).contains(TOKEN));
    }
}

#[test]
fn a_server_that_is_down_is_a_clear_error_within_the_timeout() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let output = scalectl(&[
        "collect",
        "--prometheus",
        &url,
        "--users",
        "5",
        "--timeout",
        "3",
    ]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    // It names the server, not a query that was never the problem.
    assert!(
        stderr.starts_with(&format!("error: {url}: cannot connect")),
        "{stderr}"
    );
}

#[test]
fn a_server_that_answers_slowly_hits_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        // Accept, read the request, and say nothing for longer than the timeout.
        if let Ok((mut stream, _)) = listener.accept() {
            let mut buffer = [0u8; 1024];
            let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
            let _ = stream.read(&mut buffer);
            std::thread::sleep(Duration::from_secs(4));
            drop::<TcpStream>(stream);
        }
    });
    let started = Instant::now();
    let output = scalectl(&[
        "collect",
        "--prometheus",
        &url,
        "--users",
        "5",
        "--timeout",
        "1",
    ]);
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(2));
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
    assert!(
        text(&output.stderr).contains("no answer within --timeout (1 s for the whole command)"),
        "{}",
        text(&output.stderr)
    );
    server.join().unwrap();
}
