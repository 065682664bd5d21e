//! End-to-end tests of the `scalectl` binary.

mod adversarial;
mod assess;
mod by_hand;
mod distribution;
mod fleet;
mod forecast;
mod hardening;
mod live_stack;
mod prometheus;
mod properties;
mod readme;

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
