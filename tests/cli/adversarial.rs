//! Adversarial inputs that are made at test time rather than kept as files:
//! very large and very deep inputs, link loops, files that vanish.
//! The fixed cases live in `tests/adversarial/` (see `adversarial_cases`).

use std::fs;
use std::time::Duration;

use assert_cmd::Command;

fn scalectl() -> Command {
    let mut cmd = Command::cargo_bin("scalectl").unwrap();
    cmd.timeout(Duration::from_secs(20));
    cmd
}

fn stderr_of(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let output = scalectl().args(args).output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_100_mb_report_is_refused_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let file = fs::File::create(&path).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap();
    let (code, stderr) = stderr_of(&["assess".as_ref(), path.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.ends_with("is larger than the 10 MiB limit for an input file\n"),
        "{stderr}"
    );
}

#[test]
fn a_100_000_deep_report_and_ladder_are_refused_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for (name, text, command) in [
        (
            "deep.yaml",
            format!("users: 1\nservice: {deep}\n"),
            "assess",
        ),
        (
            "deep.json",
            format!("{{\"users\": 1, \"service\": {deep}}}"),
            "validate",
        ),
        (
            "deep.toml",
            format!("schema_version = 1\nstage = {deep}\n"),
            "stages",
        ),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        let args: Vec<&std::ffi::OsStr> = if command == "stages" {
            vec!["stages".as_ref(), "--stages".as_ref(), path.as_os_str()]
        } else {
            vec![command.as_ref(), path.as_os_str()]
        };
        let (code, stderr) = stderr_of(&args);
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: {}", path.display())),
            "{name}: {stderr}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_directory_loop_through_a_symlink_ends() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet");
    fs::create_dir_all(fleet.join("team")).unwrap();
    fs::write(fleet.join("team/api.yaml"), "users: 1\napi_p95_ms: 10\n").unwrap();
    std::os::unix::fs::symlink(&fleet, fleet.join("team/loop")).unwrap();
    let output = scalectl()
        .args(["assess", "--quiet"])
        .arg(&fleet)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "1 report: 0 critical, 0 unknown, 0 warning, 1 ok, 0 errors\n"
    );
}

#[cfg(unix)]
#[test]
fn a_report_that_vanishes_after_listing_is_an_error_and_the_others_are_assessed() {
    // A link whose target is gone is what a listing sees when a file is
    // deleted between the listing and the read.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("ok.yaml"), "users: 1\napi_p95_ms: 10\n").unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("deleted.yaml"),
        dir.path().join("gone.yaml"),
    )
    .unwrap();
    let output = scalectl()
        .args(["assess", "--quiet"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("gone.yaml: cannot read: No such file or directory"),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "2 reports: 0 critical, 0 unknown, 0 warning, 1 ok, 1 error\n"
    );
}

#[cfg(unix)]
#[test]
fn a_report_without_read_permission_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.yaml");
    fs::write(&path, "users: 1\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&path).is_ok() {
        eprintln!("SKIPPED: running as root, which reads files without read permission");
        return;
    }
    let (code, stderr) = stderr_of(&["assess".as_ref(), path.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.ends_with("cannot read: Permission denied\n"),
        "{stderr}"
    );
}

#[test]
fn an_alias_bomb_is_stopped_by_the_budget_in_every_command() {
    let mut bomb = String::from(
        "users: 1\nservice: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut previous = String::from("a");
    for name in ["b", "c", "d", "e", "f", "g", "h", "i", "j"] {
        bomb.push_str(&format!(
            "x{name}: &{name} [{}]\n",
            vec![format!("*{previous}"); 10].join(",")
        ));
        previous = name.to_owned();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.yaml");
    fs::write(&path, bomb).unwrap();
    for command in ["assess", "validate", "checklist"] {
        let (code, stderr) = stderr_of(&[command.as_ref(), path.as_os_str()]);
        assert_eq!(code, Some(2), "{command}: {stderr}");
    }
}
