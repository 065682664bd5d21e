//! A ladder file: validation must return, and a valid ladder must place
//! every user count on exactly one stage.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalectl::ladder::Ladder;
use scalectl::source::{Format, Source};

fuzz_target!(|data: &[u8]| {
    if let Ok(source) = Source::from_bytes("fuzz.toml".into(), data.to_vec(), Format::Toml)
        && let Ok(ladder) = Ladder::parse(&source)
    {
        for users in [0, 1, 9_999, 10_000, 123_456, u64::MAX / 2, u64::MAX] {
            let holding = ladder.stages().iter().filter(|s| s.holds(users)).count();
            assert_eq!(holding, 1);
            assert!(ladder.stage_for(users).holds(users));
        }
    }
});
