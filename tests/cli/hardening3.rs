//! Hardening, round 3: what a repository can make scalectl do to the files
//! around it, and what a config file can do to the gate.

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;

fn run_in(args: &[&str], dir: &Path) -> Output {
    Command::cargo_bin("scalectl")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(20))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A committed link `scalectl.sarif -> ~/bin/tool` and a report whose service
/// is a shell command substitution: the tool is neither replaced nor left
/// executable with the report in it.
#[cfg(unix)]
#[test]
fn a_committed_symlink_cannot_aim_an_output_outside_the_checkout() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let home = tempfile::tempdir().unwrap();
    let tool = home.path().join("tool");
    fs::write(&tool, "#!/bin/sh\necho real tool\n").unwrap();
    fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
    let checkout = tempfile::tempdir().unwrap();
    symlink(&tool, checkout.path().join("scalectl.sarif")).unwrap();
    fs::write(
        checkout.path().join("r.yaml"),
        "service: \"x$(touch PWNED)\"\nusers: 50K\ndb_cpu_pct: 90\n",
    )
    .unwrap();
    let output = run_in(
        &[
            "assess",
            "--format",
            "sarif",
            "--output",
            "scalectl.sarif",
            "r.yaml",
        ],
        checkout.path(),
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("scalectl.sarif"), "{message}");
    assert!(message.contains("is a symbolic link to"), "{message}");
    assert!(message.contains("refusing to follow it"), "{message}");
    assert_eq!(
        fs::read_to_string(&tool).unwrap(),
        "#!/bin/sh\necho real tool\n"
    );
    assert_eq!(mode(&tool), 0o755);
    // A link inside the checkout is followed, and the output is named.
    fs::create_dir(checkout.path().join("out")).unwrap();
    symlink("out/report.sarif", checkout.path().join("inside.sarif")).unwrap();
    let output = run_in(
        &[
            "assess",
            "--format",
            "sarif",
            "--output",
            "inside.sarif",
            "r.yaml",
        ],
        checkout.path(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(checkout.path().join("out/report.sarif").is_file());
    assert!(
        stderr(&output).contains("wrote inside.sarif"),
        "{}",
        stderr(&output)
    );
}

/// A replaced file never keeps an execute bit.
#[cfg(unix)]
#[test]
fn a_replaced_executable_is_no_longer_executable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    fs::write(&out, "old").unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o775)).unwrap();
    fs::write(dir.path().join("r.yaml"), "users: 5\napi_p95_ms: 50\n").unwrap();
    let output = run_in(
        &[
            "assess",
            "--format",
            "json",
            "--output",
            "report.json",
            "r.yaml",
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(mode(&out), 0o664);
    // --quiet keeps standard error quiet.
    let output = run_in(
        &[
            "assess",
            "--quiet",
            "--format",
            "json",
            "--output",
            "report.json",
            "r.yaml",
        ],
        dir.path(),
    );
    assert!(!stderr(&output).contains("wrote"), "{}", stderr(&output));
}

/// A config file may only write below its own directory, and its paths are
/// relative to it.
#[test]
fn a_config_file_writes_only_below_its_own_directory() {
    let victim_dir = tempfile::tempdir().unwrap();
    let victim = victim_dir.path().join("tool");
    fs::write(&victim, "keep").unwrap();
    let project = tempfile::tempdir().unwrap();
    fs::create_dir(project.path().join(".git")).unwrap();
    fs::write(project.path().join("r.yaml"), "users: 5\napi_p95_ms: 50\n").unwrap();
    for spec in [
        format!("sarif:{}", victim.display()),
        "sarif:../tool".to_owned(),
        "sarif:out/../../tool".to_owned(),
    ] {
        fs::write(
            project.path().join("scalectl.toml"),
            format!("output-format = [\"{spec}\"]\n"),
        )
        .unwrap();
        let output = run_in(&["assess", "r.yaml"], project.path());
        assert_eq!(output.status.code(), Some(2), "{spec}: {}", stderr(&output));
        let message = stderr(&output);
        assert!(
            message.contains("scalectl.toml:1:1: output-format:"),
            "{message}"
        );
        assert!(
            message.contains("outside the config file's directory"),
            "{message}"
        );
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    }
    // Relative to the config file, wherever scalectl runs below it.
    fs::write(
        project.path().join("scalectl.toml"),
        "output-format = [\"json:out.json\"]\n",
    )
    .unwrap();
    fs::create_dir(project.path().join("sub")).unwrap();
    let output = run_in(&["assess", "../r.yaml"], &project.path().join("sub"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(project.path().join("out.json").is_file());
    assert!(!project.path().join("sub/out.json").exists());
    assert!(
        stderr(&output).contains("wrote ../out.json"),
        "{}",
        stderr(&output)
    );
}

/// The config search stops at the repository's root: a `scalectl.toml`
/// above it is not applied.
#[test]
fn the_config_search_stops_at_the_repository_root() {
    let outer = tempfile::tempdir().unwrap();
    fs::write(outer.path().join("scalectl.toml"), "fail-on = \"never\"\n").unwrap();
    let repo = outer.path().join("repo");
    fs::create_dir_all(repo.join(".git")).unwrap();
    fs::write(repo.join("r.yaml"), "users: 50K\ndb_cpu_pct: 90\n").unwrap();
    let output = run_in(&["assess", "r.yaml"], &repo);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the outer fail-on is not applied"
    );
    let output = run_in(&["config"], &repo);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.starts_with("config file: none"), "{text}");
}

/// An error written to a standard error nobody reads (`2>&1 | head -0`)
/// is no panic: the exit code still says what happened.
#[test]
fn a_closed_standard_error_is_no_panic() {
    for args in [
        &["assess", "/nonexistent.yaml"][..],
        &["validate", "/nonexistent.yaml"][..],
        &["forecast", "/nonexistent.csv"][..],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("scalectl"))
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(writer)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}");
    }
}

/// SIGTERM or SIGINT while an output is being written leaves no temporary
/// file behind. The run waits on a standard input that never ends, after
/// the reports before it are already in the temporary file.
#[cfg(unix)]
#[test]
fn a_signal_during_output_leaves_no_temporary_file() {
    for signal in ["TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path().join("reports");
        let out = dir.path().join("out");
        fs::create_dir_all(&reports).unwrap();
        fs::create_dir_all(&out).unwrap();
        for i in 0..50 {
            fs::write(
                reports.join(format!("{i}.yaml")),
                "users: 5\napi_p95_ms: 50\n",
            )
            .unwrap();
        }
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("scalectl"))
            .current_dir(dir.path())
            .args([
                "assess",
                "reports",
                "-",
                "--format",
                "json",
                "--output",
                "out/all.json",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let temporary = || {
            fs::read_dir(&out)
                .unwrap()
                .filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with(".scalectl-"))
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !temporary() {
            assert!(
                std::time::Instant::now() < deadline,
                "no temporary file appeared"
            );
            assert!(child.try_wait().unwrap().is_none(), "the run ended early");
            std::thread::yield_now();
        }
        let killed = std::process::Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        let expected = if signal == "TERM" { 143 } else { 130 };
        assert_eq!(status.code(), Some(expected), "SIG{signal}");
        let left: Vec<_> = fs::read_dir(&out).unwrap().filter_map(Result::ok).collect();
        assert!(left.is_empty(), "SIG{signal}: {left:?}");
    }
}

/// A pull-request comment neither pings people nor reorders what reviewers
/// read: `@name` stays text and bidirectional controls are shown escaped.
#[test]
fn markdown_mentions_and_bidirectional_controls_are_defused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("r.yaml"),
        "service: \"@octocat ping \u{202e}gnp.exe team@example.com\"\nusers: 50K\ndb_cpu_pct: 90\n",
    )
    .unwrap();
    let output = run_in(&["assess", "--format", "markdown", "r.yaml"], dir.path());
    let md = String::from_utf8(output.stdout).unwrap();
    assert!(!md.contains('\u{202e}'), "{md}");
    assert!(md.contains("\\u{202e}gnp.exe"), "{md}");
    assert!(md.contains("@<!-- -->octocat"), "{md}");
    assert!(!md.contains(" @octocat"), "{md}");
    assert!(md.contains("team@example.com"), "{md}");
}

/// On Unix a backslash is part of a file name: SARIF percent-encodes it
/// rather than reading it as a directory separator.
#[cfg(unix)]
#[test]
fn sarif_keeps_backslashes_in_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let name = "x\\..\\..\\.github\\workflows\\deploy.yml";
    fs::write(dir.path().join(name), "users: 50K\ndb_cpu_pct: 90\n").unwrap();
    let output = run_in(&["assess", "--format", "sarif", name], dir.path());
    let sarif = String::from_utf8(output.stdout).unwrap();
    assert!(
        sarif.contains("x%5C..%5C..%5C.github%5Cworkflows%5Cdeploy.yml"),
        "{sarif}"
    );
    assert!(!sarif.contains(".github/workflows"), "{sarif}");
}

/// The README's own layout, as written: its config file names a ladder
/// inside `capacity/`, and its CI runs `scalectl assess capacity/`. The
/// ladder (and a queries or config file there) is skipped with a note, not
/// read as a broken report.
#[test]
fn the_readmes_config_layout_passes_its_own_gate() {
    let readme = fs::read_to_string("README.md").unwrap();
    let at = readme.find("### The config file: scalectl.toml").unwrap();
    let start = at + readme[at..].find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let config = &readme[start..end];
    assert!(
        config.contains("ladder = \"capacity/stages.toml\""),
        "{config}"
    );
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("scalectl.toml"), config).unwrap();
    fs::create_dir_all(dir.path().join("capacity/legacy")).unwrap();
    let ladder = run_in(
        &["init", "ladder", "--output", "capacity/stages.toml"],
        dir.path(),
    );
    assert_eq!(ladder.status.code(), Some(0), "{}", stderr(&ladder));
    let queries = run_in(
        &["init", "queries", "--output", "capacity/queries.toml"],
        dir.path(),
    );
    assert_eq!(queries.status.code(), Some(0), "{}", stderr(&queries));
    fs::write(
        dir.path().join("capacity/api.yaml"),
        "users: 42K\napi_p95_ms: 120\ndb_cpu_pct: 40\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("capacity/legacy/old.yaml"),
        "users: 50K\nreplication_lag_ms: 900\ncurrent_stage: 2\ndb_cpu_pct: 30\n",
    )
    .unwrap();
    let output = run_in(&["assess", "capacity/"], dir.path());
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains("note: skipped capacity/stages.toml: a ladder file, not a report"),
        "{err}"
    );
    assert!(
        err.contains("note: skipped capacity/queries.toml: a queries file, not a report"),
        "{err}"
    );
    assert!(dir.path().join("scalectl.sarif").is_file());
}

/// A config file with 200,000 unknown rules or 100,000 exclude patterns is
/// checked in linear time and reported in a bounded number of lines.
#[test]
fn a_huge_config_file_is_checked_quickly_and_reported_briefly() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("r.yaml"), "users: 5\napi_p95_ms: 50\n").unwrap();
    let mut config = String::from("[ignore]\n");
    for i in 0..200_000 {
        config.push_str(&format!("rule{i} = \"x\"\n"));
    }
    fs::write(dir.path().join("scalectl.toml"), &config).unwrap();
    let output = run_in(&["assess", "r.yaml"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.lines().count() <= 102, "{} lines", err.lines().count());
    assert!(
        err.contains("scalectl.toml: and 199900 more problems"),
        "{}",
        &err[err.len().saturating_sub(300)..]
    );

    let mut config = String::from("exclude = [\n");
    for i in 0..100_000 {
        config.push_str(&format!("  \"drafts/{i}/**\",\n"));
    }
    config.push_str("]\n");
    fs::write(dir.path().join("scalectl.toml"), &config).unwrap();
    let output = run_in(&["assess", "r.yaml"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("scalectl.toml:1:1: exclude: 100000 patterns is more than the 1000"),
        "{err}"
    );
}

/// A config file that turns the gate off, narrows it or excludes reports
/// leaves a trace in every format: which policy, from which file, and what
/// `exclude` removed.
#[test]
fn every_format_says_which_policy_applied_and_where_from() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    fs::create_dir_all(dir.path().join("capacity/drafts")).unwrap();
    fs::write(
        dir.path().join("scalectl.toml"),
        "fail-on = \"never\"\nexclude = [\"**/drafts/**\"]\nselect = [\"db-cpu\"]\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("capacity/a.yaml"),
        "users: 50K\ndb_cpu_pct: 90\napi_p95_ms: 900\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("capacity/drafts/b.yaml"),
        "users: 50K\ndb_cpu_pct: 99\n",
    )
    .unwrap();
    let line = "policy: fail-on never (scalectl.toml), select db-cpu (scalectl.toml), 1 file excluded (scalectl.toml)";
    for format in ["table", "concise", "github", "markdown", "junit"] {
        let output = run_in(&["assess", "--format", format, "capacity/"], dir.path());
        assert_eq!(output.status.code(), Some(0), "{format}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains(line), "{format}: {text}");
    }
    for format in ["json", "sarif", "jsonl"] {
        let output = run_in(&["assess", "--format", format, "capacity/"], dir.path());
        let text = String::from_utf8(output.stdout).unwrap();
        let policy: serde_json::Value = match format {
            "json" => serde_json::from_str::<serde_json::Value>(&text).unwrap()["policy"].clone(),
            "sarif" => serde_json::from_str::<serde_json::Value>(&text).unwrap()["runs"][0]
                ["invocations"][0]["properties"]["policy"]
                .clone(),
            _ => serde_json::from_str::<serde_json::Value>(text.lines().last().unwrap()).unwrap()
                ["policy"]
                .clone(),
        };
        assert_eq!(policy["config"], "scalectl.toml", "{format}");
        assert_eq!(policy["fail_on"], "never", "{format}");
        assert_eq!(policy["fail_on_from"], "config-file", "{format}");
        assert_eq!(policy["select_from"], "config-file", "{format}");
        assert_eq!(
            policy["excluded"],
            serde_json::json!(["capacity/drafts/b.yaml"]),
            "{format}"
        );
    }
    // A suppression by the config's select names the config, not --select.
    let output = run_in(
        &["assess", "--format", "json", "capacity/a.yaml"],
        dir.path(),
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        json["reports"][0]["suppressed"][0]["reason"],
        "not selected (select in scalectl.toml)"
    );
    // The defaults leave no policy line.
    let output = run_in(&["assess", "--no-config", "capacity/"], dir.path());
    assert!(
        !String::from_utf8(output.stdout)
            .unwrap()
            .contains("policy:")
    );
}

/// A report dated in the future would never go stale: it is refused, past a
/// day of clock skew.
#[test]
fn an_observed_at_in_the_future_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("r.yaml"),
        "users: 5\napi_p95_ms: 40\nobserved_at: 9999-12-31T23:59:59Z\n",
    )
    .unwrap();
    let output = run_in(&["assess", "r.yaml"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("r.yaml:3:14: observed_at: 9999-12-31 is in the future"),
        "{}",
        stderr(&output)
    );
}

/// A Prometheus whose list of metric names is millions of empty strings,
/// well inside the byte limit, is refused by count before it costs memory.
#[test]
fn a_flood_of_metric_names_is_refused_by_count() {
    use std::io::{Read, Write};
    let mut body = String::from("{\"status\":\"success\",\"data\":[");
    body.push_str(&"\"\",".repeat(1_500_000));
    body.push_str("\"\"]}");
    let body: &'static str = Box::leak(body.into_boxed_str());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { return };
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
    let dir = tempfile::tempdir().unwrap();
    let output = run_in(
        &[
            "collect",
            "--prometheus",
            &url,
            "--users",
            "1K",
            "--timeout",
            "10",
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("the list of metric names: more metric names than scalectl reads (1000000)"),
        "{}",
        stderr(&output)
    );
}

/// A password written into a connection string or URL that cannot be read
/// is never echoed back.
#[test]
fn passwords_in_unreadable_connection_strings_are_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[
            "checklist",
            "--postgres",
            "host=127.0.0.1 port=1 password=Hunter2pw dbname=db",
        ][..],
        &[
            "checklist",
            "--postgres",
            "postgres:/bob:Hunter2pw@127.0.0.1/db",
        ][..],
        &[
            "collect",
            "--prometheus",
            "bob:Hunter2pw@127.0.0.1:1",
            "--users",
            "1",
        ][..],
    ] {
        let output = run_in(args, dir.path());
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = stderr(&output);
        assert!(!err.contains("Hunter2pw"), "{args:?}: {err}");
        assert!(err.contains("***"), "{args:?}: {err}");
    }
}
