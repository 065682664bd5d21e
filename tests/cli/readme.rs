//! The README is a contract: every `$ scalectl ...` sample in it is what the
//! binary prints, and every `scalectl` command line in it parses.

use assert_cmd::Command;
use clap::Parser;
use scalectl::cli::Cli;

/// The fenced code blocks of the README, each as its lines.
fn blocks() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string("README.md").unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in text.lines() {
        if line.starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some(Vec::new()),
            }
            continue;
        }
        if let Some(block) = current.as_mut() {
            block.push(line.to_owned());
        }
    }
    assert!(current.is_none(), "the README has an unclosed code fence");
    blocks
}

fn words(command: &str) -> Vec<String> {
    command
        .split_whitespace()
        .map(|w| w.trim_matches(['\'', '"']).to_owned())
        .collect()
}

#[test]
fn every_sample_is_what_the_binary_prints() {
    let mut checked = 0;
    for block in blocks() {
        let Some(command) = block.first().and_then(|l| l.strip_prefix("$ scalectl ")) else {
            continue;
        };
        let expected = &block[1..];
        let (expected, prefix_only) = match expected.last().map(String::as_str) {
            Some("...") => (&expected[..expected.len() - 1], true),
            _ => (expected, false),
        };
        let output = Command::cargo_bin("scalectl")
            .unwrap()
            .env("NO_COLOR", "1")
            .env_remove("COLUMNS")
            .args(words(command))
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let mut want = expected.join("\n");
        want.push('\n');
        if prefix_only {
            let want = want.trim_end_matches('\n');
            assert!(
                stdout.starts_with(want),
                "README sample `scalectl {command}` differs from the binary:\n{stdout}"
            );
        } else {
            assert_eq!(stdout, want, "README sample `scalectl {command}`");
        }
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} samples found");
}

#[test]
fn every_command_line_parses() {
    let mut checked = 0;
    for line in blocks().iter().flatten() {
        let line = line.trim_start_matches("$ ").trim();
        let args = if let Some(rest) = line.strip_prefix("cargo run --release -- ") {
            rest
        } else if let Some(rest) = line.strip_prefix("scalectl ") {
            rest
        } else if let Some(at) = line.find("run: scalectl ").or(line.find("  scalectl ")) {
            line[at..]
                .trim_start_matches("run:")
                .trim()
                .trim_start_matches("scalectl ")
        } else {
            continue;
        };
        // Synopses (`[OPTIONS] FILE|DIR...`) are not command lines.
        if args.contains('[') || args.contains("FILE|") {
            continue;
        }
        let args = args.split(" #").next().unwrap();
        let args = args.split(['>', '|']).next().unwrap();
        let mut argv = vec!["scalectl".to_owned()];
        argv.extend(words(args));
        if let Err(error) = Cli::try_parse_from(&argv) {
            panic!("README command line `{line}` does not parse:\n{error}");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} command lines found");
}

/// The README shows the plot of the seasonal example: it is the binary's own.
#[test]
fn the_plot_in_the_readme_is_the_binarys() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("plot.svg");
    Command::cargo_bin("scalectl")
        .unwrap()
        .args(["forecast", "examples/history-seasonal.csv", "--plot"])
        .arg(&plot)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&plot).unwrap(),
        std::fs::read_to_string("docs/forecast-seasonal.svg").unwrap(),
        "regenerate with: scalectl forecast examples/history-seasonal.csv --plot docs/forecast-seasonal.svg"
    );
}
