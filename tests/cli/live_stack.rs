//! The built-in queries against the exporters people run, live: PostgreSQL
//! with a streaming replica made by pg_basebackup and postgres_exporter on
//! each, Redis with redis_exporter, node_exporter, an application endpoint
//! exporting `http_request_duration_seconds`, and Prometheus scraping them
//! every second; all on free loopback ports, started and stopped by this test.
//! The six fields scalectl collects are checked against the truth read from
//! the sources themselves: `pg_stat_activity`, `SHOW max_connections` and
//! `pg_stat_replication` on the primary, Redis's own `INFO stats`, the
//! endpoint's own request log, and `/proc/stat` sampled around the scrapes.
//! `.ci/run` installs the packages; without them, elsewhere, the test says
//! loudly that it was skipped.

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::servers::{
    Cluster, Processes, one_at_a_time, pg_bin, postgres_dir, psql, skipped, spawn, wait_for,
};
use crate::{free_port, have};

fn get(url: &str) -> Option<Value> {
    let mut response = ureq::get(url).call().ok()?;
    serde_json::from_str(&response.body_mut().read_to_string().ok()?).ok()
}

fn redis(port: u16, commands: &str) -> String {
    let mut child = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(commands.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn info_stat(info: &str, key: &str) -> f64 {
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("{key} not in INFO"))
        .trim()
        .parse()
        .unwrap()
}

/// (idle, total) jiffies over all CPUs, from /proc/stat.
fn cpu_times() -> (f64, f64) {
    let stat = fs::read_to_string("/proc/stat").unwrap();
    let fields: Vec<f64> = stat
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|v| v.parse().unwrap())
        .collect();
    // idle + iowait, as node_exporter's idle and iowait modes.
    (fields[3], fields.iter().sum())
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// An application endpoint exporting a request-duration histogram: nothing
/// until `serve` is set, then 1,000 requests of 0.4 ms to 400 ms, evenly
/// spread (their p95 is 380 ms).
fn app_endpoint(port: u16, serve: Arc<Mutex<bool>>) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buffer = [0u8; 2048];
            let _ = stream.read(&mut buffer);
            let served = *serve.lock().unwrap();
            let log: Vec<f64> = if served {
                (1..=1000).map(|i| f64::from(i) * 0.0004).collect()
            } else {
                Vec::new()
            };
            let mut body = String::from("# TYPE http_request_duration_seconds histogram\n");
            for le in ["0.1", "0.2", "0.3", "0.4", "0.5", "+Inf"] {
                let bound: f64 = le.parse().unwrap_or(f64::INFINITY);
                let count = log.iter().filter(|&&d| d <= bound + 1e-12).count();
                body.push_str(&format!(
                    "http_request_duration_seconds_bucket{{le=\"{le}\"}} {count}\n"
                ));
            }
            body.push_str(&format!(
                "http_request_duration_seconds_sum {}\n",
                log.iter().sum::<f64>()
            ));
            body.push_str(&format!(
                "http_request_duration_seconds_count {}\n",
                log.len()
            ));
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
}

#[test]
fn the_built_in_queries_read_real_exporters_right() {
    let needed = [
        "prometheus",
        "redis-server",
        "redis-cli",
        "prometheus-redis-exporter",
        "prometheus-node-exporter",
        "prometheus-postgres-exporter",
        "victoria-metrics",
    ];
    let mut missing: Vec<&str> = needed.iter().copied().filter(|b| !have(b)).collect();
    let pg = pg_bin();
    if pg.is_none() {
        missing.push("postgresql");
    }
    if skipped("live-stack", &missing) {
        return;
    }
    let _live = one_at_a_time();
    let pg = pg.unwrap();
    let (dir, pg_dir) = postgres_dir();
    let mut processes = Processes(Vec::new());

    // PostgreSQL: a primary and a streaming replica, owned by `postgres`.
    let primary = Cluster::start(
        &pg,
        &pg_dir,
        "primary",
        free_port(),
        &["max_connections=50", "wal_level=replica"],
        &mut processes,
    );
    let replica = primary.replica(&pg_dir, "replica", free_port(), &mut processes);
    let (primary_port, replica_port) = (primary.port, replica.port);
    // Connections held open on the primary while it is measured.
    for _ in 0..5 {
        processes.0.push(
            Command::new(pg.join("psql"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &primary_port.to_string(),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-c",
                    "select pg_sleep(300)",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }

    // Redis, and the exporters, each on a free port.
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
            "--appendonly".into(),
            "no".into(),
            "--dir".into(),
            dir.path().display().to_string(),
        ],
        &dir.path().join("redis.log"),
    ));
    wait_for(20, "redis", || redis(redis_port, "PING\n").contains("PONG"));
    let (redis_exporter, node_exporter, primary_exporter, replica_exporter, app, prometheus) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let victoria = free_port();
    processes.0.push(spawn(
        "prometheus-redis-exporter",
        &[
            format!("--redis.addr=redis://127.0.0.1:{redis_port}"),
            format!("--web.listen-address=127.0.0.1:{redis_exporter}"),
        ],
        &dir.path().join("redis-exporter.log"),
    ));
    processes.0.push(spawn(
        "prometheus-node-exporter",
        &[
            "--collector.disable-defaults".into(),
            "--collector.cpu".into(),
            format!("--web.listen-address=127.0.0.1:{node_exporter}"),
        ],
        &dir.path().join("node-exporter.log"),
    ));
    for (port, exporter) in [
        (primary_port, primary_exporter),
        (replica_port, replica_exporter),
    ] {
        processes.0.push(
            Command::new("prometheus-postgres-exporter")
                .arg(format!("--web.listen-address=127.0.0.1:{exporter}"))
                .env(
                    "DATA_SOURCE_NAME",
                    format!("postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=disable"),
                )
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(
                    fs::File::create(dir.path().join(format!("pg-exporter-{port}.log"))).unwrap(),
                )
                .spawn()
                .unwrap(),
        );
    }
    let serve = Arc::new(Mutex::new(false));
    app_endpoint(app, Arc::clone(&serve));
    let config = dir.path().join("prometheus.yml");
    let job = |name: &str, port: u16| {
        format!("  - job_name: {name}\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n")
    };
    fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n{}{}{}{}{}",
            job("redis", redis_exporter),
            job("node", node_exporter),
            job("postgres-primary", primary_exporter),
            job("postgres-replica", replica_exporter),
            job("app", app)
        ),
    )
    .unwrap();
    processes.0.push(spawn(
        "prometheus",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address=127.0.0.1:{prometheus}"),
        ],
        &dir.path().join("prometheus.log"),
    ));
    // VictoriaMetrics, the store teams scale to, scraping the same targets
    // with the same configuration. Its queries normally leave out the last
    // 30 s of samples (-search.latencyOffset); a gate wants them.
    processes.0.push(spawn(
        "victoria-metrics",
        &[
            format!("-httpListenAddr=127.0.0.1:{victoria}"),
            format!("-storageDataPath={}", dir.path().join("vm").display()),
            format!("-promscrape.config={}", config.display()),
            "-retentionPeriod=100y".into(),
            "-search.latencyOffset=0s".into(),
        ],
        &dir.path().join("victoria-metrics.log"),
    ));
    let url = format!("http://127.0.0.1:{prometheus}");
    let vm_url = format!("http://127.0.0.1:{victoria}");
    let api_of = |server: &str, query: &str| -> Option<Value> {
        let encoded: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
        get(&format!("{server}/api/v1/query?query={encoded}"))
    };
    let number_of = |server: &str, query: &str| -> Option<f64> {
        api_of(server, query).and_then(|v| {
            v["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|s| s.parse().ok())
        })
    };
    // /proc/stat, sampled every 100 ms from now on, to read it at the very
    // moments node_exporter did.
    let cpu_log: CpuLog = Arc::new(Mutex::new(Vec::new()));
    let sampling = {
        let cpu_log = Arc::clone(&cpu_log);
        std::thread::spawn(move || {
            let stop = Instant::now() + Duration::from_secs(120);
            while Instant::now() < stop && Arc::strong_count(&cpu_log) > 1 {
                cpu_log.lock().unwrap().push((now(), cpu_times()));
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // Every target scraped twice, the counters seen at zero first.
    let jobs = [
        "redis",
        "node",
        "postgres-primary",
        "postgres-replica",
        "app",
    ];
    wait_for(60, "the first scrapes", || {
        [&url, &vm_url].iter().all(|server| {
            jobs.iter().all(|job| {
                number_of(server, &format!("count_over_time(up{{job=\"{job}\"}}[5m])"))
                    .unwrap_or(0.0)
                    >= 2.0
                    && number_of(server, &format!("min(up{{job=\"{job}\"}})")) == Some(1.0)
            })
        })
    });
    // The workload: 900 cache hits and 100 misses; 1,000 requests.
    let mut commands = String::from("SET present value\n");
    commands.push_str(&"GET present\n".repeat(900));
    commands.push_str(&"GET absent\n".repeat(100));
    redis(redis_port, &commands);
    let info = redis(redis_port, "INFO stats\n");
    assert_eq!(
        (
            info_stat(&info, "keyspace_hits"),
            info_stat(&info, "keyspace_misses")
        ),
        (900.0, 100.0)
    );
    *serve.lock().unwrap() = true;
    wait_for(30, "the workload to be scraped", || {
        [&url, &vm_url].iter().all(|server| {
            number_of(server, "max(redis_keyspace_misses_total)") == Some(100.0)
                && number_of(server, "max(http_request_duration_seconds_count)") == Some(1000.0)
        })
    });
    std::thread::sleep(Duration::from_millis(1500));
    let at = now().floor();

    let collect = |server: &str| -> (Value, String) {
        let out = dir.path().join(format!("report-{}.json", server.len()));
        let output = assert_cmd::Command::cargo_bin("scalectl")
            .unwrap()
            .args([
                "collect",
                "--prometheus",
                server,
                "--users",
                "5",
                "--db-selector",
                "{job=\"node\"}",
                "--at",
                &format!("{at}"),
                "--output",
                out.to_str().unwrap(),
                "--force",
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let notes = String::from_utf8_lossy(&output.stderr).into_owned();
        eprintln!("{notes}");
        (
            serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap(),
            notes,
        )
    };
    let (report, notes) = collect(&url);
    // Seconds-old series are flagged: a 5-minute rate of them is not reliable.
    assert!(
        notes.contains("db_cpu_pct: node_cpu_seconds_total has less than 5m of data"),
        "{notes}"
    );

    // The truth, from the sources.
    let connections: f64 = psql(&pg, primary_port, "select count(*) from pg_stat_activity where datname is not null and pid <> pg_backend_pid()").parse().unwrap();
    let limit: f64 = psql(&pg, primary_port, "show max_connections")
        .parse()
        .unwrap();
    let replay_lag_ms: f64 = psql(
        &pg,
        primary_port,
        "select coalesce(max(extract(epoch from replay_lag)), 0) * 1000 from pg_stat_replication",
    )
    .parse()
    .unwrap();
    drop(sampling);
    let log = cpu_log.lock().unwrap().clone();
    // The box's CPU between the first and last scrape in a server's window,
    // from /proc/stat read at those moments (each store scrapes on its own clock).
    // The busy share between the first and last scrape of the window, as
    // bounds: /proc/stat at a scrape lies between the samples just before
    // and just after it, so a machine busy with other tests widens the
    // bounds instead of making the truth a guess.
    let cpu_truth_of = |server: &str| -> ((f64, f64), f64) {
        let window = api_of(
            server,
            &format!("node_cpu_seconds_total{{cpu=\"0\",mode=\"idle\"}}[5m] @ {at}"),
        )
        .unwrap();
        let points = window["data"]["result"][0]["values"].as_array().unwrap();
        let first = points.first().unwrap()[0].as_f64().unwrap();
        let last = points.last().unwrap()[0].as_f64().unwrap();
        // (busy, total) ticks just before and just after `t`.
        let around = |t: f64| {
            let busy = |&(_, (idle, total)): &(f64, (f64, f64))| (total - idle, total);
            let before = log.iter().rev().find(|s| s.0 <= t).unwrap_or(&log[0]);
            let after = log
                .iter()
                .find(|s| s.0 >= t + 0.05)
                .unwrap_or(&log[log.len() - 1]);
            (busy(before), busy(after))
        };
        let ((b0_lo, t0_lo), (b0_hi, t0_hi)) = around(first);
        let ((b1_lo, t1_lo), (b1_hi, t1_hi)) = around(last);
        let low = 100.0 * (b1_lo - b0_hi) / (t1_hi - t0_lo);
        let high = 100.0 * (b1_hi - b0_lo) / (t1_lo - t0_hi).max(1.0);
        ((low.max(0.0), high.min(100.0)), last - first)
    };
    let (cpu_truth, seconds) = cpu_truth_of(&url);

    let field = |report: &Value, name: &str| {
        report[name]
            .as_f64()
            .unwrap_or_else(|| panic!("{name} not collected: {report}"))
    };
    eprintln!(
        "live stack (Prometheus): {report}\n truth: connections {connections}, limit {limit}, lag {replay_lag_ms:.1} ms, cpu {:.2}% to {:.2}% over {:.0} s, cache 90%, p95 380 ms",
        cpu_truth.0, cpu_truth.1, seconds
    );
    assert_eq!(
        field(&report, "db_connections"),
        connections,
        "the busiest server, not primary + replica"
    );
    assert_eq!(field(&report, "db_max_connections"), limit);
    assert!((field(&report, "replication_lag_ms") - replay_lag_ms).abs() <= 1000.0);
    assert!((field(&report, "cache_hit_rate_pct") - 90.0).abs() <= 1.0);
    assert!((field(&report, "api_p95_ms") - 380.0).abs() <= 2.0);
    let within = |value: f64, (low, high): (f64, f64), slack: f64| {
        (low - slack..=high + slack).contains(&value)
    };
    assert!(
        within(field(&report, "db_cpu_pct"), cpu_truth, 2.0),
        "{cpu_truth:?}"
    );

    // The same command, unchanged, against VictoriaMetrics: the same truth.
    let (vm_report, _) = collect(&vm_url);
    eprintln!("live stack (VictoriaMetrics): {vm_report}");
    assert_eq!(field(&vm_report, "db_connections"), connections);
    assert_eq!(field(&vm_report, "db_max_connections"), limit);
    assert!((field(&vm_report, "replication_lag_ms") - replay_lag_ms).abs() <= 1000.0);
    assert!((field(&vm_report, "cache_hit_rate_pct") - 90.0).abs() <= 1.0);
    assert!((field(&vm_report, "api_p95_ms") - 380.0).abs() <= 2.0);
    let (vm_cpu_truth, _) = cpu_truth_of(&vm_url);
    // VictoriaMetrics' rate() also reaches back to the sample before its
    // window and extrapolates differently, so its window is not exactly the
    // raw samples' first to last: more slack on a machine that is busy.
    assert!(
        within(field(&vm_report, "db_cpu_pct"), vm_cpu_truth, 5.0),
        "{vm_cpu_truth:?}"
    );

    // Weeks of history loaded beside the live series (VictoriaMetrics'
    // import API), then `forecast --prometheus --users` on them.
    let day_ms = 86_400_000.0;
    let end_ms = (at * 1000.0 / day_ms).floor() * day_ms - day_ms;
    let stamps: Vec<String> = (0..60)
        .map(|d| format!("{}", end_ms - f64::from(59 - d) * day_ms))
        .collect();
    let values: Vec<String> = (0..60)
        .map(|d| format!("{}", 30.0 + 0.5 * f64::from(d)))
        .collect();
    let import = format!(
        "{{\"metric\":{{\"__name__\":\"history_db_cpu_pct\"}},\"values\":[{}],\"timestamps\":[{}]}}\n",
        values.join(","),
        stamps.join(",")
    );
    let imported = ureq::post(format!("{vm_url}/api/v1/import"))
        .send(import.as_bytes())
        .unwrap();
    assert!(imported.status().as_u16() < 300);
    let history_queries = dir.path().join("history.toml");
    fs::write(
        &history_queries,
        "db_cpu_pct = \"max(history_db_cpu_pct)\"\n",
    )
    .unwrap();
    let end = format!("{}", end_ms / 1000.0 + 1.0);
    wait_for(30, "the imported history", || {
        number_of(
            &vm_url,
            &format!("count_over_time(history_db_cpu_pct[90d] @ {end})"),
        ) == Some(60.0)
    });
    let output = assert_cmd::Command::cargo_bin("scalectl")
        .unwrap()
        .args([
            "forecast",
            "--prometheus",
            &vm_url,
            "--queries",
            history_queries.to_str().unwrap(),
            "--users",
            "42K",
            "--range",
            "59d",
            "--at",
            &end,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let forecast: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(forecast["users"]["last"], 42_000);
    // 30 + 0.5 a day passes 70% 80 days after the first day: 21 days on.
    let critical = forecast["crossings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == "db-cpu" && c["severity"] == "critical")
        .unwrap()
        .clone();
    let days_ahead = critical["days"].as_i64().unwrap();
    assert!((19..=23).contains(&days_ahead), "{critical}");
}

/// (when, (idle, total)) samples of /proc/stat.
type CpuLog = Arc<Mutex<Vec<(f64, (f64, f64))>>>;
