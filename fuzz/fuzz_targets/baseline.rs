//! A baseline JSON report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalectl::baseline::Baseline;
use scalectl::source::{Format, Source};

fuzz_target!(|data: &[u8]| {
    if let Ok(source) = Source::from_bytes("fuzz.json".into(), data.to_vec(), Format::Json) {
        let _ = Baseline::parse(&source, std::path::Path::new("/fuzz"));
    }
});
