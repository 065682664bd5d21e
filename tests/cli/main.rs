//! End-to-end tests of the `scalectl` binary.

mod assess;
mod by_hand;
mod fleet;
mod forecast;

#[test]
fn cli_cases() {
    trycmd::TestCases::new()
        .env("NO_COLOR", "1")
        .case("tests/cmd/*.toml");
}
