//! The built-in queries against the exporters people run, live: Redis with
//! Debian's redis_exporter, node_exporter, and Prometheus scraping them every
//! second, all on free loopback ports, started and stopped by this test. The
//! numbers scalectl collects are checked against the truth read from the
//! sources themselves: Redis's own `INFO stats`, and `/proc/stat` sampled
//! around Prometheus's own scrapes. `.ci/run` installs the packages; without
//! them, elsewhere, the test says loudly that it was skipped.

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Child processes, killed when dropped, whatever happens in the test.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn have(binary: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {binary}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn spawn(program: &str, args: &[String], log: &std::path::Path) -> Child {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn get(url: &str) -> Option<Value> {
    let mut response = ureq::get(url).call().ok()?;
    serde_json::from_str(&response.body_mut().read_to_string().ok()?).ok()
}

/// Polls `check` every 200 ms until it holds, for at most `seconds`.
fn wait_for(seconds: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
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

/// (when, (idle, total)) samples of /proc/stat.
type CpuLog = Arc<Mutex<Vec<(f64, (f64, f64))>>>;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn the_built_in_queries_read_real_exporters_right() {
    let needed = [
        "prometheus",
        "redis-server",
        "redis-cli",
        "prometheus-redis-exporter",
        "prometheus-node-exporter",
    ];
    let missing: Vec<&str> = needed.iter().copied().filter(|b| !have(b)).collect();
    if !missing.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the live-stack test: .ci/run installs {missing:?}"
        );
        eprintln!("\n*** SKIPPED: the live-stack test needs {missing:?} (Debian packages) ***\n");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (redis_port, redis_exporter, node_exporter, prometheus) =
        (free_port(), free_port(), free_port(), free_port());
    let mut processes = Processes(Vec::new());
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
    let config = dir.path().join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: redis\n    static_configs: [{{targets: ['127.0.0.1:{redis_exporter}']}}]\n  - job_name: node\n    static_configs: [{{targets: ['127.0.0.1:{node_exporter}']}}]\n"
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
    let url = format!("http://127.0.0.1:{prometheus}");
    let api = |query: &str| -> Option<Value> {
        let encoded: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
        get(&format!("{url}/api/v1/query?query={encoded}"))
    };
    let samples = |query: &str| -> usize {
        api(query)
            .and_then(|v| {
                v["data"]["result"][0]["value"][1]
                    .as_str()
                    .and_then(|s| s.parse().ok())
            })
            .unwrap_or(0)
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
    // Both exporters scraped, and Redis's counters seen at zero first.
    wait_for(60, "the first scrapes", || {
        samples("count_over_time(redis_keyspace_hits_total[5m])") >= 2
            && samples("count_over_time(node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}[5m])") >= 2
    });
    // A known share of misses: 900 hits and 100 misses.
    let mut commands = String::from("SET present value\n");
    commands.push_str(&"GET present\n".repeat(900));
    commands.push_str(&"GET absent\n".repeat(100));
    redis(redis_port, &commands);
    let info = redis(redis_port, "INFO stats\n");
    let (hits, misses) = (
        info_stat(&info, "keyspace_hits"),
        info_stat(&info, "keyspace_misses"),
    );
    assert_eq!((hits, misses), (900.0, 100.0), "Redis's own count");
    // Scraped again after the workload.
    let counted = |query: &str| {
        api(query).and_then(|v| {
            v["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|s| s.parse::<f64>().ok())
        })
    };
    wait_for(30, "the workload to be scraped", || {
        counted("max(redis_keyspace_hits_total)") == Some(900.0)
            && counted("max(redis_keyspace_misses_total)") == Some(100.0)
    });
    std::thread::sleep(Duration::from_millis(1500));
    let at = now().floor();

    let queries = dir.path().join("queries.toml");
    let defaults = scalectl_queries();
    fs::write(&queries, defaults).unwrap();
    let output = assert_cmd::Command::cargo_bin("scalectl")
        .unwrap()
        .args([
            "collect",
            "--prometheus",
            &url,
            "--users",
            "5",
            "--queries",
            queries.to_str().unwrap(),
            "--db-selector",
            "{job=\"node\"}",
            "--at",
            &format!("{at}"),
            "--output",
            dir.path().join("report.json").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();

    // Cache hit rate: 900 / 1,000, as Redis itself counts.
    let cache = report["cache_hit_rate_pct"].as_f64().unwrap();
    assert!(
        (cache - 90.0).abs() <= 1.0,
        "cache hit rate {cache}% vs Redis's 90%"
    );

    // CPU: the box's utilisation between the first and last scrape in the
    // window, from /proc/stat read at those moments.
    let window = api(&format!(
        "node_cpu_seconds_total{{cpu=\"0\",mode=\"idle\"}}[5m] @ {at}"
    ))
    .unwrap();
    let points = window["data"]["result"][0]["values"].as_array().unwrap();
    let first = points.first().unwrap()[0].as_f64().unwrap();
    let last = points.last().unwrap()[0].as_f64().unwrap();
    drop(sampling);
    let log = cpu_log.lock().unwrap().clone();
    let nearest = |t: f64| {
        log.iter()
            .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
            .unwrap()
            .1
    };
    let ((idle0, total0), (idle1, total1)) = (nearest(first), nearest(last));
    let truth = 100.0 * (1.0 - (idle1 - idle0) / (total1 - total0));
    let cpu = report["db_cpu_pct"].as_f64().unwrap();
    eprintln!(
        "live stack: cache_hit_rate_pct {cache} (Redis: 90); db_cpu_pct {cpu} (/proc/stat: {truth:.2}) over {:.0} s",
        last - first
    );
    assert!(
        (cpu - truth).abs() <= 5.0,
        "db_cpu_pct {cpu} vs /proc/stat {truth:.1} over the same window"
    );
}

/// The built-in queries, for the fields this stack exports.
fn scalectl_queries() -> String {
    let all = String::from_utf8(
        assert_cmd::Command::cargo_bin("scalectl")
            .unwrap()
            .args(["init", "queries"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    all.lines()
        .filter(|line| line.starts_with("db_cpu_pct") || line.starts_with("cache_hit_rate_pct"))
        .map(|line| format!("{line}\n"))
        .collect()
}
