//! The ways scalectl is handed to people: the container image, the GitHub
//! Action and the pre-commit hook. Each runs scalectl with arguments that
//! must parse; the image is built when a Docker engine is at hand.

use clap::Parser;
use scalectl::cli::Cli;
use serde_json::Value;

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parses(args: &[&str]) {
    let mut argv = vec!["scalectl"];
    argv.extend(args);
    if let Err(error) = Cli::try_parse_from(&argv) {
        panic!("`{}` does not parse:\n{error}", argv.join(" "));
    }
}

#[test]
fn the_action_runs_assess_with_its_inputs() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = &action["inputs"];
    for input in ["paths", "output-formats", "fail-on", "args"] {
        assert!(inputs[input]["description"].is_string(), "input {input}");
    }
    let steps = action["runs"]["steps"].as_array().unwrap();
    assert!(
        steps[0]["run"]
            .as_str()
            .unwrap()
            .contains("--path \"$GITHUB_ACTION_PATH\""),
        "installs at the action's ref"
    );
    // Never built in the untrusted checkout, never with its toolchain.
    assert_eq!(steps[0]["working-directory"], "${{ github.action_path }}");
    assert_eq!(steps[0]["env"]["RUSTUP_TOOLCHAIN"], "stable");
    // The command the defaults make.
    let mut args = vec![
        "assess",
        "--fail-on",
        inputs["fail-on"]["default"].as_str().unwrap(),
    ];
    for spec in inputs["output-formats"]["default"]
        .as_str()
        .unwrap()
        .split_whitespace()
    {
        args.extend(["--output-format", spec]);
    }
    args.extend(
        inputs["paths"]["default"]
            .as_str()
            .unwrap()
            .split_whitespace(),
    );
    parses(&args);
    assert!(
        steps[1]["run"]
            .as_str()
            .unwrap()
            .contains("assess --fail-on \"$FAIL_ON\" \"${outputs[@]}\"")
    );
}

/// The README's own workflow pins what it installs and builds it outside
/// the checkout, with the toolchain pinned.
#[test]
fn the_readme_workflow_installs_a_pinned_scalectl_outside_the_checkout() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme.find("name: capacity\non: [pull_request]").unwrap();
    let end = start + readme[start..].find("```").unwrap();
    let workflow: Value = serde_saphyr::from_str(&readme[start..end]).unwrap();
    let steps = workflow["jobs"]["scalectl"]["steps"].as_array().unwrap();
    let install = steps
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("cargo install"))
        })
        .unwrap();
    let run = install["run"].as_str().unwrap();
    assert!(run.contains("--tag ") || run.contains("--rev "), "{run}");
    assert_eq!(install["working-directory"], "${{ runner.temp }}");
    assert_eq!(install["env"]["RUSTUP_TOOLCHAIN"], "stable");
    // The gate step itself parses.
    let gate = steps.iter().find(|s| s["name"] == "Capacity gate").unwrap()["run"]
        .as_str()
        .unwrap();
    let args: Vec<&str> = gate.split_whitespace().skip(1).collect();
    parses(&args);
}

#[test]
fn the_pre_commit_hook_validates_reports() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hook = &hooks[0];
    assert_eq!(hook["id"], "scalectl-validate");
    assert_eq!(hook["language"], "rust");
    let entry: Vec<&str> = hook["entry"].as_str().unwrap().split_whitespace().collect();
    assert_eq!(entry[0], "scalectl");
    let mut args: Vec<&str> = entry[1..].to_vec();
    args.push("examples/stage1-startup.yaml");
    parses(&args);
    // The files it takes are reports, not the config, a ladder or CI settings.
    let files = regex_lite(hook["files"].as_str().unwrap());
    let exclude = regex_lite(hook["exclude"].as_str().unwrap());
    for (path, taken) in [
        ("capacity/checkout.yaml", true),
        ("capacity/api.json", true),
        ("capacity/db.toml", true),
        ("scalectl.toml", false),
        ("capacity/stages.toml", false),
        ("queries.toml", false),
        ("Cargo.toml", false),
        (".github/workflows/ci.yml", false),
        (".pre-commit-config.yaml", false),
    ] {
        assert_eq!(files(path) && !exclude(path), taken, "{path}");
    }
}

/// The hook's patterns, tested by `grep -E` as pre-commit would match them
/// (both are POSIX-extended-compatible here).
fn regex_lite(pattern: &str) -> impl Fn(&str) -> bool {
    let pattern = pattern.to_owned();
    move |path: &str| {
        let mut child = std::process::Command::new("grep")
            .args(["-qE", &pattern])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{path}\n").as_bytes())
            .unwrap();
        child.wait().unwrap().success()
    }
}

#[test]
fn the_container_image_builds_and_runs() {
    let dockerfile = std::fs::read_to_string("Dockerfile").unwrap();
    assert!(dockerfile.contains("FROM gcr.io/distroless/static"));
    assert!(dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/scalectl\"]"));
    let engine = std::process::Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success());
    if !engine {
        eprintln!(
            "SKIPPED: the container image was not built: no Docker engine here (`docker info` failed)"
        );
        return;
    }
    let build = std::process::Command::new("docker")
        .args(["build", "-t", "scalectl-test", "."])
        .status()
        .unwrap();
    assert!(build.success());
    let run = std::process::Command::new("docker")
        .args(["run", "--rm", "scalectl-test", "--version"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("scalectl "));
}
