//! Fleets, CI formats, baselines and the output file.

use std::fs;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn scalectl() -> Command {
    Command::cargo_bin("scalectl").unwrap()
}

fn run(args: &[&str]) -> Output {
    scalectl().args(args).output().unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

#[test]
fn junit_output_validates_against_the_junit_schema() {
    let output = run(&["assess", "--format", "junit", "tests/fleet"]);
    assert_eq!(output.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("junit.xml");
    fs::write(&xml, &output.stdout).unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains(r#"<testsuite name="a&lt;b&amp;&quot;c&quot;""#),
        "escaped service name"
    );
    if std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: xmllint is not installed (Debian: libxml2-utils); .ci/run installs it");
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must validate JUnit output"
        );
        return;
    }
    let check = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", "tests/schemas/junit.xsd"])
        .arg(&xml)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn junit_fails_each_alarm_at_or_above_fail_on() {
    let count = |fail_on: &str| {
        let output = run(&[
            "assess",
            "--format",
            "junit",
            "--fail-on",
            fail_on,
            "tests/fleet",
        ]);
        String::from_utf8(output.stdout)
            .unwrap()
            .matches("<failure ")
            .count()
    };
    // Critical: orders (db-cpu, replication-lag) and a<b&"c" (db-cpu), and
    // marketplace, which measures nothing (not-measured).
    assert_eq!(count("critical"), 4);
    // Warning adds search's api-p95 and marketplace's two warnings.
    assert_eq!(count("warning"), 7);
    assert_eq!(count("never"), 0);
}

#[test]
fn sarif_output_validates_against_the_sarif_schema() {
    let schema: Value =
        serde_json::from_str(&fs::read_to_string("tests/schemas/sarif-2.1.0.json").unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let output = run(&["assess", "--format", "sarif", "tests/fleet"]);
    assert_eq!(output.status.code(), Some(2));
    let sarif = json(&output);
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // A suppressed alarm is a result with its justification, still valid.
    let suppressed = json(&run(&[
        "assess",
        "--format",
        "sarif",
        "tests/fixtures/ignore-with-reason.yaml",
    ]));
    let errors: Vec<String> = validator
        .iter_errors(&suppressed)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let db_cpu = results
        .iter()
        .find(|r| {
            r["ruleId"] == "db-cpu"
                && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    == "tests/fleet/critical.toml"
        })
        .unwrap();
    assert_eq!(db_cpu["level"], "error");
    assert_eq!(
        db_cpu["locations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let index = db_cpu["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], "db-cpu");
    assert!(
        rules[index]["help"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Fix the database")
    );
    let notes = &sarif["runs"][0]["invocations"][0];
    assert_eq!(notes["executionSuccessful"], false);
    assert_eq!(
        notes["toolExecutionNotifications"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn github_annotations_land_on_the_metric_line() {
    let output = run(&["assess", "--format", "github", "tests/fleet"]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains(
            "::error file=tests/fleet/critical.toml,line=4,title=scalectl db-cpu (critical)::"
        ),
        "{text}"
    );
    assert!(text.contains(
        "::error file=tests/fleet/critical.toml,line=5,title=scalectl replication-lag (critical)::"
    ));
    assert!(text.contains(
        "::warning file=tests/fleet/warning.json,line=4,title=scalectl api-p95 (warning)::"
    ));
    assert!(text.contains(
        "::error file=tests/fleet/nested/broken.yaml,line=3,title=scalectl%3A invalid input::"
    ));
}

#[test]
fn output_is_written_atomically_and_keeps_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let output = scalectl()
        .args(["assess", "--format", "json", "--output"])
        .arg(&path)
        .arg("tests/fleet")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "the broken report still fails the run"
    );
    assert!(output.stdout.is_empty());
    let written: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written["reports"].as_array().unwrap().len(), 5);
    assert_eq!(written["errors"].as_array().unwrap().len(), 1);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );

    let missing_dir = dir.path().join("no/such/dir/report.json");
    let output = scalectl()
        .args(["assess", "--output"])
        .arg(&missing_dir)
        .arg("examples/stage1-startup.yaml")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(!missing_dir.exists());
}

#[test]
fn output_is_byte_identical_from_run_to_run() {
    for format in [
        "table", "json", "markdown", "github", "junit", "sarif", "concise",
    ] {
        let first = run(&["assess", "--format", format, "tests/fleet"]);
        let second = run(&["assess", "--format", format, "tests/fleet"]);
        assert_eq!(first.stdout, second.stdout, "{format}");
        assert_eq!(first.stderr, second.stderr, "{format}");
    }
}

fn write_fleet(dir: &Path, count: usize) {
    for i in 0..count {
        let sub = dir.join(format!("team-{}", i % 7));
        fs::create_dir_all(&sub).unwrap();
        fs::write(
            sub.join(format!("svc-{i:04}.yaml")),
            format!(
                "service: svc-{i}\nusers: {}\ndb_cpu_pct: {}\n",
                1000 + i * 997,
                (i * 13) % 100
            ),
        )
        .unwrap();
    }
}

#[test]
fn a_large_fleet_is_assessed_in_path_order_with_the_same_answers_as_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    write_fleet(dir.path(), 300);
    let fleet = json(&run(&[
        "assess",
        "--format",
        "json",
        "--fail-on",
        "never",
        dir.path().to_str().unwrap(),
    ]));
    let reports = fleet["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 300);
    let files: Vec<&str> = reports
        .iter()
        .map(|r| r["file"].as_str().unwrap())
        .collect();
    let mut sorted = files.clone();
    sorted.sort_unstable();
    assert_eq!(files, sorted);
    for report in reports.iter().step_by(37) {
        let single = json(&run(&[
            "assess",
            "--format",
            "json",
            "--fail-on",
            "never",
            report["file"].as_str().unwrap(),
        ]));
        assert_eq!(&single["reports"][0], report);
    }
}

struct Scenario {
    dir: tempfile::TempDir,
}

impl Scenario {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.dir.path().join(name), text).unwrap();
    }

    fn remove(&self, name: &str) {
        fs::remove_file(self.dir.path().join(name)).unwrap();
    }

    fn assess(&self, extra: &[&str]) -> Output {
        scalectl()
            .current_dir(self.dir.path())
            .args(["assess", "--format", "json"])
            .args(extra)
            .args(["reports"])
            .output()
            .unwrap()
    }
}

#[test]
fn baselines_mark_each_transition() {
    let s = Scenario::new();
    fs::create_dir(s.dir.path().join("reports")).unwrap();
    s.write("reports/worse.yaml", "users: 60K\ndb_cpu_pct: 65\n");
    s.write(
        "reports/better.yaml",
        "users: 60K\ndb_cpu_pct: 85\napi_p95_ms: 170\n",
    );
    s.write("reports/same.yaml", "users: 20K\napi_p95_ms: 170\n");
    s.write("reports/gone.yaml", "users: 1\n");
    let baseline = s.assess(&["--output", "baseline.json"]);
    assert_eq!(baseline.status.code(), Some(1));

    s.write(
        "reports/worse.yaml",
        "users: 60K\ndb_cpu_pct: 75\ncache_hit_rate_pct: 50\n",
    );
    s.write("reports/better.yaml", "users: 60K\ndb_cpu_pct: 65\n");
    s.write("reports/new.yaml", "users: 20K\nreplication_lag_ms: 500\n");
    s.remove("reports/gone.yaml");
    let output = s.assess(&["--baseline", "baseline.json"]);
    assert_eq!(output.status.code(), Some(1));
    let now = json(&output);
    let change = |file: &str| {
        now["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["file"] == format!("reports/{file}"))
            .unwrap()["baseline"]
            .clone()
    };
    let worse = change("worse.yaml");
    assert_eq!(worse["status"], "worse");
    assert_eq!(
        worse["stage"], "worse",
        "db-cpu critical moves stage 2 up, with users near stage 3"
    );
    assert_eq!(worse["alarms"]["db-cpu"], "worse");
    assert_eq!(worse["alarms"]["cache-hit-rate"], "new");
    let better = change("better.yaml");
    assert_eq!(better["status"], "better");
    assert_eq!(better["stage"], "better");
    assert_eq!(better["alarms"]["db-cpu"], "better");
    assert_eq!(better["resolved"], serde_json::json!(["api-p95"]));
    let same = change("same.yaml");
    assert_eq!(same["status"], "unchanged");
    assert_eq!(same["stage"], "unchanged");
    assert_eq!(same["alarms"]["api-p95"], "unchanged");
    let new = change("new.yaml");
    assert_eq!(new["status"], "new");
    assert_eq!(new["alarms"]["replication-lag"], "new");
    assert_eq!(
        now["baseline_missing"],
        serde_json::json!(["reports/gone.yaml"])
    );
}

#[test]
fn fail_on_new_ignores_alarms_the_baseline_already_had() {
    let s = Scenario::new();
    fs::create_dir(s.dir.path().join("reports")).unwrap();
    s.write("reports/red.yaml", "users: 20K\ndb_cpu_pct: 90\n");
    s.assess(&["--output", "baseline.json"]);
    let gated = |s: &Scenario| {
        s.assess(&["--baseline", "baseline.json", "--fail-on-new"])
            .status
            .code()
    };
    assert_eq!(gated(&s), Some(0), "an already-red fleet passes");
    assert_eq!(
        s.assess(&["--baseline", "baseline.json"]).status.code(),
        Some(1),
        "without --fail-on-new it fails"
    );
    s.write(
        "reports/red.yaml",
        "users: 20K\ndb_cpu_pct: 90\napi_p95_ms: 300\n",
    );
    assert_eq!(gated(&s), Some(1), "a new critical alarm fails");
    s.write("reports/red.yaml", "users: 20K\ndb_cpu_pct: 65\n");
    s.assess(&["--output", "baseline.json"]);
    s.write("reports/red.yaml", "users: 20K\ndb_cpu_pct: 90\n");
    assert_eq!(gated(&s), Some(1), "warning turning critical fails");
}

#[test]
fn a_baseline_from_another_schema_version_is_a_clear_error() {
    let s = Scenario::new();
    fs::create_dir(s.dir.path().join("reports")).unwrap();
    s.write("reports/a.yaml", "users: 1\n");
    s.write(
        "old.json",
        "{\n  \"schema_version\": 2,\n  \"reports\": []\n}\n",
    );
    let output = s.assess(&["--baseline", "old.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: old.json:2:3: the baseline has schema_version 2; this scalectl reads version 1: save a new baseline with `scalectl assess --format json --output FILE`\n"
    );
    s.write("other.json", "{\"hello\": 1}");
    let output = s.assess(&["--baseline", "other.json"]);
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("is not a scalectl JSON report")
    );
}

/// A baseline matches reports by where they are, not by how they were
/// named: saved from `reports/`, compared from `./reports` or from inside
/// the folder, nothing is new and nothing is removed.
#[test]
fn baselines_match_reports_however_their_paths_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    for (name, cpu) in [("a.yaml", 40), ("b.yaml", 80)] {
        std::fs::write(
            reports.join(name),
            format!("users: 50K\ndb_cpu_pct: {cpu}\n"),
        )
        .unwrap();
    }
    let baseline = dir.path().join("baseline.json");
    let run_in = |cwd: &std::path::Path, args: &[&str]| {
        Command::cargo_bin("scalectl")
            .unwrap()
            .current_dir(cwd)
            .args(args)
            .output()
            .unwrap()
    };
    let saved = run_in(
        dir.path(),
        &[
            "assess",
            "--format",
            "json",
            "--output",
            "baseline.json",
            "reports/",
        ],
    );
    assert_eq!(saved.status.code(), Some(1));
    let baseline = baseline.to_str().unwrap();
    for (cwd, path) in [
        (dir.path(), "./reports"),
        (reports.as_path(), "."),
        (reports.as_path(), "../reports"),
    ] {
        let output = run_in(
            cwd,
            &[
                "assess",
                "--format",
                "json",
                "--baseline",
                baseline,
                "--fail-on-new",
                path,
            ],
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{path} from {cwd:?}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(json["baseline_missing"], serde_json::json!([]), "{path}");
        for report in json["reports"].as_array().unwrap() {
            assert_eq!(report["baseline"]["status"], "unchanged", "{path}");
        }
    }
    // A report that is gone is "removed".
    std::fs::remove_file(reports.join("a.yaml")).unwrap();
    let output = run_in(dir.path(), &["assess", "--baseline", baseline, "reports"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("removed (in the baseline, not in this run): reports/a.yaml"),
        "{text}"
    );
}

/// A pull-request comment stays under GitHub's 65,536 characters however
/// large the fleet: passing reports collapse into a count, and what is left
/// out is said.
#[test]
fn markdown_fits_a_pull_request_comment() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..400 {
        let cpu = if i % 4 == 0 { 85 } else { 30 };
        fs::write(
            dir.path().join(format!("svc-{i:03}.yaml")),
            format!("service: svc-{i}\nusers: 50K\ndb_cpu_pct: {cpu}\napi_p95_ms: 90\n"),
        )
        .unwrap();
    }
    let output = run(&[
        "assess",
        "--format",
        "markdown",
        dir.path().to_str().unwrap(),
    ]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.chars().count() <= 65_536,
        "{} characters",
        text.chars().count()
    );
    assert!(
        text.contains("300 passing reports are not listed"),
        "{}",
        &text[text.len() - 500..]
    );
    assert!(text.contains("failing reports are left out"));
    assert!(text.contains("svc-0 ("), "a failing report is detailed");
    let small = run(&["assess", "--format", "markdown", "tests/fleet"]);
    assert!(
        !String::from_utf8(small.stdout)
            .unwrap()
            .contains("not listed")
    );
}

#[test]
fn write_baseline_exits_0_on_a_red_fleet_and_changes_show_values() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("a.yaml");
    fs::write(&report, "service: checkout\nusers: 42K\ndb_cpu_pct: 75\n").unwrap();
    let baseline = dir.path().join("baseline.json");
    let output = run(&[
        "assess",
        "--write-baseline",
        baseline.to_str().unwrap(),
        report.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "a red fleet still writes its baseline and passes"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("baseline written"));
    fs::write(&report, "service: checkout\nusers: 85K\ndb_cpu_pct: 90\n").unwrap();
    let output = run(&[
        "assess",
        "--baseline",
        baseline.to_str().unwrap(),
        report.to_str().unwrap(),
    ]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("db_cpu_pct 75% -> 90%"), "{text}");
    assert!(text.contains("users 42,000 -> 85,000"), "{text}");
}

#[test]
fn one_run_writes_several_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("scalectl.sarif");
    let output = run(&[
        "assess",
        "--output-format",
        &format!("sarif:{}", sarif.display()),
        "--output-format",
        "github",
        "tests/fleet",
    ]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a broken report in the fleet"
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with("::error file=tests/fleet/critical.toml"),
        "{stdout}"
    );
    let written: Value = serde_json::from_str(&fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(written["version"], "2.1.0");
}

/// JSON Lines holds the same reports as the JSON report, one per line.
#[test]
fn json_lines_hold_the_json_reports_one_per_line() {
    let lines = run(&["assess", "--format", "jsonl", "tests/fleet"]);
    let whole = json(&run(&["assess", "--format", "json", "tests/fleet"]));
    let text = String::from_utf8(lines.stdout).unwrap();
    let parsed: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reports: Vec<&Value> = parsed.iter().filter(|v| v["type"] == "report").collect();
    let expected = whole["reports"].as_array().unwrap();
    assert_eq!(reports.len(), expected.len());
    for (line, report) in reports.iter().zip(expected) {
        let mut line = (*line).clone();
        line.as_object_mut().unwrap().remove("type");
        assert_eq!(&line, report);
    }
    assert_eq!(parsed.iter().filter(|v| v["type"] == "error").count(), 1);
    let summary = parsed.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["status"], "error");
    assert_eq!(summary["totals"], whole["totals"]);
}

/// A fleet larger than one batch, written as it is assessed, is byte for
/// byte what the same formats write when every result is held: with
/// errors, suppressions, a baseline and `--fail-on-new` in the mix.
#[test]
fn a_streamed_fleet_is_what_the_whole_run_writes() {
    let dir = generated_fleet(2_600);
    let fleet = dir.path().to_str().unwrap();
    let baseline = dir.path().join("baseline.json");
    let written = run(&[
        "assess",
        fleet,
        "--write-baseline",
        baseline.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(written.status.code(), Some(2));
    for format in [
        "json", "jsonl", "github", "concise", "table", "junit", "sarif", "markdown",
    ] {
        for extra in [
            &[][..],
            &["--baseline", baseline.to_str().unwrap(), "--fail-on-new"][..],
        ] {
            let mut streamed: Vec<&str> = vec!["assess", fleet, "tests/fleet", "--format", format];
            streamed.extend(extra);
            let mut whole: Vec<&str> =
                vec!["assess", fleet, "tests/fleet", "--output-format", format];
            whole.extend(extra);
            let (streamed, whole) = (run(&streamed), run(&whole));
            assert_eq!(
                streamed.status.code(),
                whole.status.code(),
                "{format} {extra:?}"
            );
            // Markdown fits a pull-request comment: 65,536 characters.
            let least = if format == "markdown" {
                50_000
            } else {
                100_000
            };
            assert!(streamed.stdout.len() > least, "{format}");
            assert!(
                streamed.stdout == whole.stdout,
                "{format} {extra:?}: stdout differs"
            );
            assert_eq!(
                String::from_utf8_lossy(&streamed.stderr),
                String::from_utf8_lossy(&whole.stderr),
                "{format}"
            );
        }
    }
}

/// The table for a terminal (coloured, fitted to its width) is drawn from
/// the rows kept as the fleet is assessed, as the whole run draws it.
#[test]
fn a_streamed_coloured_or_fitted_table_is_what_the_whole_run_draws() {
    let dir = generated_fleet(1_500);
    let fleet = dir.path().to_str().unwrap();
    for (color, columns) in [
        ("always", None),
        ("never", Some("90")),
        ("always", Some("120")),
    ] {
        let output = |format_flag: &str| {
            let mut command = scalectl();
            command.args([
                "assess",
                fleet,
                "tests/fleet",
                format_flag,
                "table",
                "--color",
                color,
            ]);
            if let Some(columns) = columns {
                command.env("COLUMNS", columns);
            }
            command.output().unwrap()
        };
        let (streamed, whole) = (output("--format"), output("--output-format"));
        let case = format!("--color {color}, COLUMNS {columns:?}");
        assert_eq!(streamed.status.code(), whole.status.code(), "{case}");
        assert!(streamed.stdout.len() > 100_000, "{case}");
        let text = String::from_utf8_lossy(&streamed.stdout);
        assert_eq!(text.contains("\x1b["), color == "always", "{case}");
        if let (Some(columns), "never") = (columns, color) {
            let widest = text
                .lines()
                .filter(|line| line.starts_with(['┌', '│', '╞', '├', '└']))
                .map(|line| line.chars().count())
                .max();
            assert!(widest <= columns.parse().ok(), "{case}: {widest:?}");
        }
        assert!(streamed.stdout == whole.stdout, "{case}: stdout differs");
        assert_eq!(streamed.stderr, whole.stderr, "{case}");
    }
}

/// JSON written to a file goes straight to it, after room for its head
/// (whose status is known only at the end): whether the status guessed from
/// the first reports is right or wrong, the file is the whole run's.
#[test]
fn json_written_to_a_file_is_the_whole_run_s_whatever_the_status_turns_out_to_be() {
    let dir = generated_fleet(1_500);
    let fleet = dir.path().to_str().unwrap();
    let healthy = tempfile::tempdir().unwrap();
    for i in 0..1_500 {
        fs::write(
            healthy.path().join(format!("svc-{i:04}.yaml")),
            format!("service: svc-{i}\nusers: {}\ndb_cpu_pct: 20\n", 100 + i),
        )
        .unwrap();
    }
    let healthy = healthy.path().to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    for (case, inputs) in [
        // An error first: the guess ("error") holds.
        ("broken first", vec![fleet]),
        // Healthy, then critical: the head grows ("ok" to "critical").
        (
            "critical last",
            vec![healthy, "examples/trigger-db-cpu.yaml"],
        ),
        // Healthy, then an error: the head grows ("ok" to "error").
        ("error last", vec![healthy, "tests/fleet"]),
        // Critical, then an error: the head shrinks ("critical" to "error").
        (
            "critical then error",
            vec!["examples/trigger-db-cpu.yaml", healthy, "tests/fleet"],
        ),
        // Critical, then only healthy: the guess holds.
        (
            "critical first",
            vec!["examples/trigger-db-cpu.yaml", healthy],
        ),
        // Healthy throughout: the guess holds.
        ("healthy", vec![healthy]),
    ] {
        let streamed_path = out.path().join("streamed.json");
        let whole_path = out.path().join("whole.json");
        let mut streamed = vec!["assess", "--format", "json", "--output"];
        streamed.push(streamed_path.to_str().unwrap());
        streamed.extend(&inputs);
        let whole_spec = format!("json:{}", whole_path.display());
        let mut whole = vec!["assess", "--output-format", &whole_spec];
        whole.extend(&inputs);
        let (streamed, whole) = (run(&streamed), run(&whole));
        assert_eq!(streamed.status.code(), whole.status.code(), "{case}");
        let (streamed, whole) = (
            fs::read(&streamed_path).unwrap(),
            fs::read(&whole_path).unwrap(),
        );
        assert!(streamed.len() > 2 << 20, "{case}: {} bytes", streamed.len());
        assert!(streamed == whole, "{case}: the files differ");
        let parsed: serde_json::Value = serde_json::from_slice(&streamed).unwrap();
        assert!(parsed["status"].is_string(), "{case}");
    }
}

/// `n` reports in seven team directories; every 997th one is broken.
fn generated_fleet(n: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        let team = dir.path().join(format!("team-{:02}", i % 7));
        fs::create_dir_all(&team).unwrap();
        let text = if i % 997 == 0 {
            "users: [broken\n".to_owned()
        } else {
            format!(
                "service: svc-{i}\nusers: {}\ndb_cpu_pct: {}\napi_p95_ms: {}\nmonthly_cost_usd: {}\n",
                500 + i * 37,
                20 + i % 75,
                80 + i % 300,
                100 + i % 4000
            )
        };
        fs::write(team.join(format!("svc-{i}.yaml")), text).unwrap();
    }
    dir
}

/// A reader that stops early (`| head`) does not stop the gate: the exit
/// code is the whole fleet's.
#[test]
fn a_streamed_fleet_read_only_in_part_still_gates_on_every_report() {
    use std::io::BufRead as _;
    let dir = generated_fleet(3_000);
    for format in ["jsonl", "concise"] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("scalectl"))
            .args(["assess", dir.path().to_str().unwrap(), "--format", format])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty());
        // The pipe is closed here, long before the fleet is written.
        let status = child.wait().unwrap();
        // Broken reports are input errors: exit 2, as for a full read.
        assert_eq!(status.code(), Some(2), "{format}");
    }
}

/// However many reports fail, the Markdown comment stays under GitHub's
/// limit, and says what it left out.
#[test]
fn markdown_of_thousands_of_failing_reports_still_fits_a_comment() {
    let dir = generated_fleet(3_000);
    let output = run(&[
        "assess",
        dir.path().to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.chars().count() < 65_536, "{}", text.chars().count());
    assert!(
        text.contains("more failing reports are not listed"),
        "{text}"
    );
}

/// JSON to standard output holds its reports beyond 4 MiB in a temporary
/// file until its head is known; where none can be made, the run says so
/// and writes nothing.
#[test]
fn json_to_standard_output_waits_in_a_temporary_file_or_says_why_it_cannot() {
    let dir = generated_fleet(3_000);
    let fleet = dir.path().to_str().unwrap();
    let temp = tempfile::tempdir().unwrap();
    let written = temp.path().join("written.json");
    let streamed = scalectl()
        .env("TMPDIR", temp.path())
        .args(["assess", fleet, "--format", "json"])
        .output()
        .unwrap();
    let to_file = run(&[
        "assess",
        fleet,
        "--format",
        "json",
        "--output",
        written.to_str().unwrap(),
    ]);
    assert_eq!(streamed.status.code(), to_file.status.code());
    assert!(streamed.stdout.len() > 4 << 20, "{}", streamed.stdout.len());
    assert!(streamed.stdout == fs::read(&written).unwrap());

    let missing = temp.path().join("missing");
    let failed = scalectl()
        .env("TMPDIR", &missing)
        .args(["assess", fleet, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(2));
    assert!(failed.stdout.is_empty());
    let stderr = String::from_utf8(failed.stderr).unwrap();
    let expected = format!(
        "error: cannot write standard output: cannot create a temporary file in {} to hold the output until its head is known",
        missing.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(
        stderr.contains("; set TMPDIR to a writable directory"),
        "{stderr}"
    );
}
