//! Attacks on everything around the parsers: secrets, injection into what
//! people read, output files, bounds, and flags at their extremes. Each case
//! is one the README's promises ("tokens never printed", "nothing lost",
//! "bounded time and memory", "one clear error and exit 2") must survive.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;

fn run(args: &[&str]) -> Output {
    run_in(args, Path::new("."))
}

fn run_in(args: &[&str], dir: &Path) -> Output {
    Command::cargo_bin("scalectl")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("SCALECTL_PROMETHEUS_TOKEN")
        .timeout(Duration::from_secs(20))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A fake Prometheus whose answer to each request (status and body) comes
/// from `answer`, given the request line and how many came before it.
fn fake_server(
    requests: usize,
    answer: impl Fn(&str, usize) -> (u16, String) + Send + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for seen in 0..requests {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let text = String::from_utf8_lossy(&request).into_owned();
            let first = text.lines().next().unwrap_or_default().to_owned();
            let (status, body) = answer(&first, seen);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// A one-shot fake Prometheus that answers every request with `body`, for
/// answers no real server would give. Returns its URL.
/// Runs `collect --prometheus URL --queries FILE ARGS...`, the queries file
/// holding `queries`.
fn collect_with(url: &str, queries: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.toml");
    fs::write(&path, queries).unwrap();
    let mut all = vec![
        "collect",
        "--prometheus",
        url,
        "--queries",
        path.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    run(&all)
}

fn fake_prometheus(body: &'static str, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for _ in 0..requests {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn credentials_in_a_url_are_refused_without_being_printed_or_resolved() {
    for url in [
        "http://admin:hunter2@prometheus.example:9090",
        "http://admin:hun@ter2@prometheus.example:9090",
        "http://admin:hun/ter2@prometheus.example:9090",
    ] {
        for command in [
            vec!["collect", "--prometheus", url, "--users", "5"],
            vec![
                "assess",
                "--prometheus",
                url,
                "--users",
                "5",
                "--format",
                "sarif",
            ],
            vec!["forecast", "--prometheus", url, "--range", "30d"],
        ] {
            let output = run(&command);
            assert_eq!(output.status.code(), Some(2), "{command:?}");
            let text = format!("{}{}", stdout(&output), stderr(&output));
            assert!(text.contains("--basic-auth-file"), "{command:?}: {text}");
            for secret in ["hunter2", "ter2", "admin"] {
                assert!(!text.contains(secret), "{command:?} leaks {secret}: {text}");
            }
        }
    }
}

#[cfg(unix)]
#[test]
fn secret_files_are_bounded_regular_files_and_errors_name_them_not_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("token.fifo");
    mkfifo(&fifo);
    let big = dir.path().join("big.token");
    fs::write(&big, "x".repeat(100_000)).unwrap();
    let two_lines = dir.path().join("two.token");
    fs::write(&two_lines, "s3cret-one\ns3cret-two\n").unwrap();
    let nul = dir.path().join("nul.token");
    fs::write(&nul, "s3cret\0tail").unwrap();
    for (path, expected) in [
        (Path::new("/dev/zero"), "is not a regular file"),
        (fifo.as_path(), "is not a regular file"),
        (big.as_path(), "bytes; a secret file holds at most 65536"),
        (two_lines.as_path(), "holds more than one line"),
        (nul.as_path(), "holds a control character"),
    ] {
        let output = run(&[
            "collect",
            "--prometheus",
            "http://127.0.0.1:9",
            "--users",
            "5",
            "--bearer-token-file",
            path.to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(2), "{path:?}");
        let text = stderr(&output);
        assert!(text.contains(path.to_str().unwrap()), "{text}");
        assert!(text.contains(expected), "{path:?}: {text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}

#[cfg(unix)]
#[test]
fn a_token_from_the_environment_that_is_not_utf8_is_an_error() {
    use std::os::unix::ffi::OsStrExt;
    let output = Command::cargo_bin("scalectl")
        .unwrap()
        .env(
            "SCALECTL_PROMETHEUS_TOKEN",
            std::ffi::OsStr::from_bytes(b"s3cret\xff"),
        )
        .args([
            "collect",
            "--prometheus",
            "http://127.0.0.1:9",
            "--users",
            "5",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("SCALECTL_PROMETHEUS_TOKEN is not valid UTF-8"),
        "{text}"
    );
    assert!(!text.contains("s3cret"));
}

#[test]
fn a_sample_value_cannot_add_fields_to_a_collected_report() {
    let body = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"1\ndb_cpu_pct: 99"]}]}}"#;
    let url = fake_prometheus(body, 3);
    let output = collect_with(&url, "api_p95_ms = \"x\"\n", &["--users", "5"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let yaml = stdout(&output);
    assert!(
        !yaml.lines().any(|line| line.starts_with("db_cpu_pct")),
        "{yaml}"
    );
    assert!(yaml.contains("1\\ndb_cpu_pct: 99"), "{yaml}");
    assert!(
        !stderr(&output).contains("\ndb_cpu_pct"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn collected_values_that_no_command_reads_are_not_written() {
    let body = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"1e300"]}]}}"#;
    let dir = tempfile::tempdir().unwrap();
    let url = fake_prometheus(body, 3);
    let out = dir.path().join("report.yaml");
    let output = collect_with(
        &url,
        "db_connections = \"x\"\n",
        &["--users", "5", "--output", out.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("db_connections"),
        "{}",
        stderr(&output)
    );
    assert!(!out.exists());
}

#[test]
fn a_prometheus_error_is_printed_escaped_and_cut() {
    let body: &'static str = Box::leak(
        format!(
            r#"{{"status":"error","errorType":"bad_data\u001b]0;pwned\u0007","error":"{}\n::error ::injected"}}"#,
            "y".repeat(5_000_000)
        )
        .into_boxed_str(),
    );
    let url = fake_prometheus(body, 2);
    let output = run(&["collect", "--prometheus", &url, "--users", "5"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.len() < 2_000, "{} bytes", text.len());
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text}"
    );
    assert!(!text.contains("\n::error"), "{text}");
}

#[test]
fn control_characters_never_reach_the_terminal_raw() {
    let dir = tempfile::tempdir().unwrap();
    let evil = dir.path().join("evil\n::error ::x\u{1b}[2J.yaml");
    fs::write(
        &evil,
        "service: \"owned\\e]0;title\\a\\u202Ereversed\\n::error ::bad\"\nusers: 5\napi_p95_ms: 10\n",
    )
    .unwrap();
    let broken = dir.path().join("broken\u{1b}[2J.yaml");
    fs::write(&broken, "users: 5\nunknown\u{1b}c: 1\n").unwrap();
    for args in [
        vec!["assess", evil.to_str().unwrap()],
        vec!["assess", dir.path().to_str().unwrap()],
        vec!["checklist", evil.to_str().unwrap()],
        vec!["assess", "--format", "github", dir.path().to_str().unwrap()],
        vec!["validate", broken.to_str().unwrap()],
    ] {
        let output = run(&args);
        for text in [stdout(&output), stderr(&output)] {
            assert!(!text.contains('\u{1b}'), "{args:?}: {text}");
            assert!(!text.contains('\u{7}'), "{args:?}: {text}");
            assert!(!text.contains('\u{202e}'), "{args:?}: {text}");
            assert!(
                !text.lines().any(|l| l.starts_with("::error ::")),
                "{args:?}: {text}"
            );
        }
    }
}

#[test]
fn echoed_input_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.json");
    fs::write(
        &path,
        format!("{{\"users\": 5, \"{}\": 1}}", "k".repeat(5_000_000)),
    )
    .unwrap();
    let output = run(&["assess", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.len() < 1_000, "{} bytes", text.len());
    assert!(text.contains('…'), "{text}");
}

#[cfg(unix)]
#[test]
fn a_fifo_or_device_as_an_input_is_refused_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.yaml");
    mkfifo(&fifo);
    let csv = dir.path().join("history.csv");
    mkfifo(&csv);
    let fifo = fifo.to_str().unwrap();
    for args in [
        vec!["assess", fifo],
        vec!["validate", fifo],
        vec!["assess", "--stages", fifo, "examples/stage1-startup.yaml"],
        vec!["assess", "--baseline", fifo, "examples/stage1-startup.yaml"],
        vec!["forecast", csv.to_str().unwrap()],
        vec!["forecast", "/dev/zero"],
    ] {
        let output = run(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stderr(&output).starts_with("error: "), "{args:?}");
    }
}

#[test]
fn a_history_line_longer_than_the_cap_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.csv");
    fs::write(
        &path,
        format!(
            "date,users\n2026-01-01,5\n2026-01-02,{}\n",
            "9".repeat(2 << 20)
        ),
    )
    .unwrap();
    let output = run(&["forecast", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("line 3 is longer than 1 MiB"),
        "{}",
        stderr(&output)
    );
}

#[cfg(unix)]
#[test]
fn output_files_lose_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.yaml");
    fs::write(&report, "users: 5\napi_p95_ms: 10\n").unwrap();
    let original = fs::read_to_string(&report).unwrap();
    // The input itself, by another name, is refused before anything is written.
    for output in [report.clone(), dir.path().join(".").join("r.yaml")] {
        let result = run(&[
            "assess",
            report.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ]);
        assert_eq!(result.status.code(), Some(2));
        assert!(
            stderr(&result).contains("is also an input"),
            "{}",
            stderr(&result)
        );
        assert_eq!(fs::read_to_string(&report).unwrap(), original);
    }
    let history = PathBuf::from("examples/history.csv");
    let copy = dir.path().join("h.csv");
    fs::copy(&history, &copy).unwrap();
    let result = run(&[
        "forecast",
        copy.to_str().unwrap(),
        "--plot",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(2));
    assert_eq!(fs::read(&copy).unwrap(), fs::read(&history).unwrap());
    // `-` is standard output.
    let result = run(&[
        "assess",
        report.to_str().unwrap(),
        "--format",
        "json",
        "--output",
        "-",
    ]);
    assert_eq!(result.status.code(), Some(0));
    assert!(stdout(&result).starts_with("{\n  \"schema_version\": 1"));
    // A FIFO's reader gets the output; the FIFO stays a FIFO.
    let fifo = dir.path().join("out.fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
    };
    let result = run(&[
        "assess",
        report.to_str().unwrap(),
        "--format",
        "json",
        "--output",
        fifo.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
    assert!(reader.join().unwrap().contains("\"schema_version\": 1"));
    assert!(!fs::metadata(&fifo).unwrap().is_file());
    // A replaced file keeps its mode; a symbolic link keeps being a link.
    let kept = dir.path().join("kept.json");
    fs::write(&kept, "old").unwrap();
    fs::set_permissions(&kept, fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&kept, &link).unwrap();
    let result = run(&[
        "assess",
        report.to_str().unwrap(),
        "--format",
        "json",
        "--output",
        link.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(0));
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        fs::read_to_string(&kept)
            .unwrap()
            .contains("\"schema_version\"")
    );
    assert_eq!(
        fs::metadata(&kept).unwrap().permissions().mode() & 0o777,
        0o640
    );
}

#[cfg(unix)]
#[test]
fn file_names_that_are_not_utf8_print_distinctly() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    for name in [&b"a\xff.yaml"[..], &b"a\xfe.yaml"[..]] {
        fs::write(
            dir.path().join(OsStr::from_bytes(name)),
            "users: 5\napi_p95_ms: 10\n",
        )
        .unwrap();
    }
    let output = run(&["assess", "--format", "json", dir.path().to_str().unwrap()]);
    let text = stdout(&output);
    assert!(
        text.contains("a\\\\xff.yaml") && text.contains("a\\\\xfe.yaml"),
        "{text}"
    );
}

#[test]
fn baselines_with_duplicates_or_odd_versions_get_precise_errors() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("b.json");
    for (version, expected) in [
        ("1.0", "schema_version 1.0 is not a version number"),
        ("-1", "schema_version -1 is not a version number"),
        ("18446744073709551616", "is not a version number"),
        ("2", "the baseline has schema_version 2"),
    ] {
        fs::write(
            &baseline,
            format!("{{\"schema_version\": {version}, \"reports\": []}}"),
        )
        .unwrap();
        let output = run(&[
            "assess",
            "--baseline",
            baseline.to_str().unwrap(),
            "examples/stage1-startup.yaml",
        ]);
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stderr(&output).contains(expected),
            "{version}: {}",
            stderr(&output)
        );
    }
    let entry = r#"{"file":"a.yaml","recommended_stage":{"id":1},"alarms":[],"status":"ok"}"#;
    fs::write(
        &baseline,
        format!("{{\"schema_version\": 1, \"status\": \"ok\", \"reports\": [{entry}, {entry}], \"errors\": []}}"),
    )
    .unwrap();
    let output = run(&[
        "assess",
        "--baseline",
        baseline.to_str().unwrap(),
        "examples/stage1-startup.yaml",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`a.yaml` appears more than once"),
        "{}",
        stderr(&output)
    );
}

/// No flag value, however extreme, makes scalectl panic (exit 101).
#[test]
fn extreme_numeric_flags_never_panic() {
    let huge = [
        "1e20",
        "1e308",
        "18446744073709551616",
        "99999999999999999999",
        "-1",
        "0",
        "NaN",
        "inf",
        "1e-300",
    ];
    let mut cases: Vec<Vec<String>> = Vec::new();
    for value in huge {
        let v = value.to_owned();
        let s = |a: &[&str]| a.iter().map(|x| (*x).to_owned()).collect::<Vec<String>>();
        cases.push(
            [
                s(&[
                    "collect",
                    "--prometheus",
                    "http://127.0.0.1:9",
                    "--users",
                    "5",
                    "--timeout",
                ]),
                vec![v.clone()],
            ]
            .concat(),
        );
        cases.push(
            [
                s(&["forecast", "examples/history.csv", "--horizon"]),
                vec![v.clone()],
            ]
            .concat(),
        );
        cases.push(
            [
                s(&["forecast", "examples/history.csv", "--fail-within"]),
                vec![v.clone()],
            ]
            .concat(),
        );
        cases.push(
            [
                s(&["assess", "examples/stage1-startup.yaml", "--users"]),
                vec![v.clone()],
            ]
            .concat(),
        );
        cases.push(
            [
                s(&["assess", "examples/stage1-startup.yaml", "--max-age"]),
                vec![v.clone()],
            ]
            .concat(),
        );
        cases.push([s(&["plan", "--users"]), vec![v.clone()]].concat());
        for unit in ["s", "d", "w"] {
            let d = format!("{value}{unit}");
            cases.push(
                [
                    s(&[
                        "collect",
                        "--prometheus",
                        "http://127.0.0.1:9",
                        "--users",
                        "5",
                        "--timeout",
                        "0.5",
                        "--range",
                    ]),
                    vec![d.clone()],
                ]
                .concat(),
            );
            cases.push(
                [
                    s(&[
                        "collect",
                        "--prometheus",
                        "http://127.0.0.1:9",
                        "--users",
                        "5",
                        "--timeout",
                        "0.5",
                        "--range",
                        "30d",
                        "--step",
                    ]),
                    vec![d.clone()],
                ]
                .concat(),
            );
        }
        cases.push(
            [
                s(&[
                    "assess",
                    "--prometheus",
                    "http://127.0.0.1:9",
                    "--users",
                    "5",
                    "--timeout",
                    "0.5",
                    "--at",
                ]),
                vec![v.clone()],
            ]
            .concat(),
        );
    }
    let long_query = format!("api_p95_ms = \"{}\"\n", "x".repeat(70_000));
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("long.toml");
    fs::write(&queries, long_query).unwrap();
    cases.push(
        [
            "collect",
            "--prometheus",
            "http://127.0.0.1:9",
            "--users",
            "5",
            "--timeout",
            "0.5",
            "--queries",
            queries.to_str().unwrap(),
        ]
        .iter()
        .map(|x| (*x).to_owned())
        .collect(),
    );
    let long_url = format!("http://127.0.0.1:9/{}", "p".repeat(70_000));
    cases.push(
        ["collect", "--prometheus", &long_url, "--users", "5"]
            .iter()
            .map(|x| (*x).to_owned())
            .collect(),
    );
    for case in cases {
        let args: Vec<&str> = case.iter().map(String::as_str).collect();
        let output = run(&args);
        assert_ne!(
            output.status.code(),
            Some(101),
            "{args:?} panicked: {}",
            stderr(&output)
        );
        assert!(output.status.code().is_some(), "{args:?} was killed");
    }
}

/// An answer far larger than the points asked for is refused as it is read,
/// so memory follows the question, not the server.
#[test]
fn a_range_answer_with_more_than_was_asked_for_is_refused() {
    // Collects three daily points from a server that answers with `points`
    // (timestamps), and returns what it printed on stderr.
    let collect_answering = |points: Vec<i64>| {
        let values: Vec<String> = points.iter().map(|t| format!("[{t},\"1\"]")).collect();
        let body: &'static str = Box::leak(
            format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":[{}]}}]}}}}"#,
                values.join(",")
            )
            .into_boxed_str(),
        );
        let url = fake_prometheus(body, 2);
        let output = collect_with(
            &url,
            "users = \"u\"\n",
            &["--range", "3d", "--step", "1d", "--at", "2026-11-01"],
        );
        assert_eq!(output.status.code(), Some(2));
        stderr(&output)
    };
    let text = collect_answering((0..400_000).map(|i| 1_700_000_000 + i).collect());
    assert!(text.contains("the answer is larger than"), "{text}");
    // Within the size limit, but more points than asked: refused too.
    let text = collect_answering((0..10).map(|i| 1_761_955_200 - 86_400 * i).collect());
    assert!(text.contains("points where 4 were asked for"), "{text}");
}

/// A server that is starting (503) is asked again until it answers, and a
/// metric that does not exist is an error naming it and the nearest name,
/// not "no data".
#[test]
fn a_starting_server_is_retried_and_a_misspelled_metric_is_named() {
    let names = r#"{"status":"success","data":["pg_stat_activity_count","up"]}"#;
    let sample = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"42"]}]}}"#;
    let url = fake_server(4, move |request, seen| {
        if seen < 2 {
            (503, "starting".to_owned())
        } else if request.contains("__name__") {
            (200, names.to_owned())
        } else {
            (200, sample.to_owned())
        }
    });
    let output = collect_with(
        &url,
        "db_connections = \"sum(pg_stat_activity_count)\"\n",
        &["--users", "5", "--timeout", "20"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("db_connections: 42"),
        "{}",
        stdout(&output)
    );

    let url = fake_server(2, move |_, _| (200, names.to_owned()));
    let output = collect_with(
        &url,
        "db_connections = \"sum(pg_stat_activty_count)\"\n",
        &["--users", "5"],
    );
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(
        text.contains("the metric `pg_stat_activty_count` does not exist"),
        "{text}"
    );
    assert!(
        text.contains("did you mean `pg_stat_activity_count`?"),
        "{text}"
    );
}

/// A field's query can list variants for exporter versions: the first whose
/// metrics exist is used, and the notes say which.
#[test]
fn the_query_variant_for_the_exporter_found_is_used() {
    let names = r#"{"status":"success","data":["pg_replication_lag"]}"#;
    let sample = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.25"]}]}}"#;
    let url = fake_server(2, move |request, _| {
        if request.contains("__name__") {
            (200, names.to_owned())
        } else {
            assert!(
                request.contains("pg_replication_lag%29")
                    || request.contains("pg_replication_lag)"),
                "{request}"
            );
            (200, sample.to_owned())
        }
    });
    let output = collect_with(
        &url,
        "replication_lag_ms = [\"1000 * max(pg_replication_lag_seconds)\", \"1000 * max(pg_replication_lag)\"]\n",
        &["--users", "5"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // The fake answers 0.25 whatever it is asked; the point is which query it was.
    assert!(
        stdout(&output).contains("replication_lag_ms: 0.25"),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains("using variant 2"),
        "{}",
        stderr(&output)
    );
}
