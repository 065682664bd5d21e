//! The whole assess path: bytes -> report -> engine -> every output format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalectl::fuzzing::{format_from, ladder, render_all};
use scalectl::metrics::Report;
use scalectl::source::Source;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let ladder = ladder();
    if let Ok(source) = Source::from_bytes("fuzz".into(), bytes.to_vec(), format_from(selector))
        && let Ok(report) = Report::parse(&source, &ladder)
    {
        render_all(&report, &ladder);
    }
});
