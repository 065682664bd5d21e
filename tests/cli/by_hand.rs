//! The by-hand workflow: init, validate, schema, checklist, explain, completions.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn scalectl() -> Command {
    Command::cargo_bin("scalectl").unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let output = scalectl().args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Any input file as a JSON value, the way a YAML-aware editor sees it.
fn as_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => serde_json::from_str(&text).unwrap(),
        Some("toml") => toml::from_str(&text).unwrap(),
        _ => serde_saphyr::from_str(&text).unwrap(),
    }
}

fn schema_validator(kind: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&stdout_of(&["schema", kind])).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn every_example_validates_against_the_metrics_schema() {
    let validator = schema_validator("metrics");
    let mut checked = 0;
    for entry in std::fs::read_dir("examples").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            continue;
        }
        let errors: Vec<String> = validator
            .iter_errors(&as_json(&path))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        checked += 1;
    }
    assert!(checked >= 6);
}

#[test]
fn the_schema_rejects_what_the_parser_rejects() {
    let validator = schema_validator("metrics");
    for bad in [
        serde_json::json!({}),
        serde_json::json!({"users": -1}),
        serde_json::json!({"users": 1, "db_cpu": 3}),
        serde_json::json!({"users": 1, "db_cpu_pct": 101}),
        serde_json::json!({"users": "lots"}),
        serde_json::json!({"users": 1, "db_max_connections": 0}),
        serde_json::json!({"users": 1, "checklist": {"redis_cahce": true}}),
        serde_json::json!({"users": 1, "checklist": {"db_cpu_under_70": true}}),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
    assert!(
        validator
            .is_valid(&serde_json::json!({"users": "1.2M", "checklist": {"redis_cache": true}}))
    );
}

#[test]
fn the_default_ladder_validates_against_the_stages_schema() {
    let validator = schema_validator("stages");
    assert!(validator.is_valid(&as_json(Path::new("stages.toml"))));
    assert!(!validator.is_valid(&serde_json::json!({"schema_version": 1, "stage": [{"id": 1}]})));
}

#[test]
fn the_init_template_is_an_error_until_filled_in() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("metrics.yaml");
    scalectl()
        .args(["init", "--output"])
        .arg(&template)
        .assert()
        .success()
        .stdout("");
    let text = std::fs::read_to_string(&template).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema="));
    // Untouched, it must never pass a gate: `users` is empty.
    let untouched = scalectl().arg("validate").arg(&template).assert().code(2);
    let stderr = String::from_utf8_lossy(&untouched.get_output().stderr).into_owned();
    assert!(stderr.contains("users: missing value"), "{stderr}");
    scalectl().arg("assess").arg(&template).assert().code(2);

    let filled = text
        .replace("users:\n", "users: 42K\n")
        .replace("api_p95_ms:\n", "api_p95_ms: 180\n")
        .replace("db_cpu_pct:\n", "db_cpu_pct: 75\n")
        .replace("db_connections:\n", "db_connections: 50\n")
        .replace("db_max_connections:\n", "db_max_connections: 100\n")
        .replace("cache_hit_rate_pct:\n", "cache_hit_rate_pct: 90\n")
        .replace("replication_lag_ms:\n", "replication_lag_ms: 20\n")
        .replace("current_stage:\n", "current_stage: 2\n")
        .replace("monthly_cost_usd:\n", "monthly_cost_usd: 2500\n")
        .replace("  # indexes_optimized: true", "  indexes_optimized: true")
        .replace("  # failover_tested: true", "  failover_tested: false");
    std::fs::write(&template, &filled).unwrap();
    scalectl().arg("validate").arg(&template).assert().success();
    assert!(schema_validator("metrics").is_valid(&as_json(&template)));
    let output = scalectl()
        .args(["assess", "--format", "json"])
        .arg(&template)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "db-cpu at 75% is stage 2's trigger"
    );
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    // Only the indexes are answered: fix the rest first, then stage 3.
    assert_eq!(json["reports"][0]["recommended_stage"]["id"], 2);
    assert_eq!(json["reports"][0]["decision"]["action"], "fix-first");
    let checklist: Value = serde_json::from_str(&stdout_of(&[
        "checklist",
        "--format",
        "json",
        template.to_str().unwrap(),
    ]))
    .unwrap();
    let status = |id: &str| {
        checklist["sections"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["items"].as_array().unwrap())
            .find(|i| i["id"] == id)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("indexes_optimized"), "pass");
    assert_eq!(status("failover_tested"), "fail");
    assert_eq!(status("db_cpu_under_70"), "fail");
    assert_eq!(status("alerts_set"), "unknown");
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stages.toml");
    std::fs::write(&path, "keep me\n").unwrap();
    let output = scalectl()
        .args(["init", "--stages", "--output"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        format!(
            "error: {}: already exists; use --force to overwrite it\n",
            path.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me\n");

    scalectl()
        .args(["init", "ladder", "--force", "--output"])
        .arg(&path)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        std::fs::read_to_string("stages.toml").unwrap()
    );
    scalectl()
        .args(["validate", "--kind", "ladder"])
        .arg(&path)
        .assert()
        .success();
    // `--stages PATH` is `--ladder PATH` everywhere: the report is checked
    // against that ladder, not as a ladder.
    scalectl()
        .args(["validate", "--stages"])
        .arg(&path)
        .arg("examples/stage2-traction.yaml")
        .assert()
        .success()
        .stdout("examples/stage2-traction.yaml: ok\n");
    let queries = dir.path().join("queries.toml");
    scalectl()
        .args(["init", "queries", "--output"])
        .arg(&queries)
        .assert()
        .success();
    scalectl()
        .args(["validate", "--kind", "queries"])
        .arg(&queries)
        .assert()
        .success();
    scalectl()
        .args(["validate", "--kind", "history", "examples/history.csv"])
        .assert()
        .success();
    scalectl()
        .args([
            "validate",
            "--kind",
            "history",
            "examples/stage1-startup.yaml",
        ])
        .assert()
        .code(2);
    std::fs::remove_file(&queries).unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn a_custom_ladder_flows_through_checklist_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let stages = dir.path().join("strict.toml");
    let text = std::fs::read_to_string("stages.toml")
        .unwrap()
        .replace("warning = 60\ncritical = 70", "warning = 40\ncritical = 50");
    std::fs::write(&stages, text).unwrap();
    let stages = stages.to_str().unwrap();

    let explain = stdout_of(&["explain", "db-cpu", "--stages", stages]);
    assert!(explain.contains("warning   at or over 40%"), "{explain}");
    assert!(
        explain.contains("critical  db_cpu_pct over 50%"),
        "{explain}"
    );

    let checklist = stdout_of(&[
        "checklist",
        "examples/stage2-traction.yaml",
        "--stages",
        stages,
    ]);
    let line = checklist
        .lines()
        .find(|l| l.contains("db_cpu_under_70"))
        .unwrap();
    assert!(line.trim_start().starts_with("fail"), "{line}");
    assert!(line.contains("under 50%"), "{line}");
    let default = stdout_of(&["checklist", "examples/stage2-traction.yaml"]);
    let line = default
        .lines()
        .find(|l| l.contains("db_cpu_under_70"))
        .unwrap();
    assert!(line.trim_start().starts_with("pass"), "{line}");
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains("scalectl"), "{shell}");
        assert!(
            script.contains("checklist"),
            "{shell}: subcommands complete"
        );
    }
}
