//! The fast path for plain YAML reports: whenever it reads a report, the
//! full parser must read the same one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalectl::fuzzing::ladder;
use scalectl::metrics::{Report, fast};
use scalectl::source::{Format, Source};

fuzz_target!(|data: &[u8]| {
    let ladder = ladder();
    let Ok(source) = Source::from_bytes("fuzz.yaml".into(), data.to_vec(), Format::Yaml) else {
        return;
    };
    if let Some(report) = fast::parse(&source.text).and_then(|raw| raw.validate(&ladder).ok()) {
        assert_eq!(Report::parse_full(&source, &ladder), Ok(report));
    }
});
