//! A metrics report in any of the three formats (the first byte picks one):
//! parsing and the all-problems pass must return, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalectl::fuzzing::{format_from, ladder};
use scalectl::metrics::Report;
use scalectl::source::Source;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let ladder = ladder();
    if let Ok(source) = Source::from_bytes("fuzz".into(), bytes.to_vec(), format_from(selector)) {
        let parsed = Report::parse(&source, &ladder);
        let problems = Report::problems(&source, &ladder);
        assert_eq!(parsed.is_ok(), problems.is_empty());
    }
});
