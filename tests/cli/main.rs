//! End-to-end tests of the `scalectl` binary.

mod adversarial;
mod assess;
mod by_hand;
mod database;
mod distribution;
mod fleet;
mod forecast;
mod hardening;
mod hardening3;
mod hostile_db;
mod live_stack;
mod prometheus;
mod properties;
mod readme;
mod servers;

/// A loopback port free at the moment of asking.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `program` is on the `PATH`.
fn have(program: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn cli_cases() {
    trycmd::TestCases::new()
        .env("NO_COLOR", "1")
        .env("COLUMNS", "")
        .case("tests/cmd/*.toml");
}

/// One case per file in `tests/adversarial/`: the input, and next to it the
/// command (`.toml`, with its exit code) and the expected output.
#[test]
fn adversarial_cases() {
    trycmd::TestCases::new()
        .env("NO_COLOR", "1")
        .env("COLUMNS", "")
        .case("tests/adversarial/*.toml");
}
