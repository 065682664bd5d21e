//! A config file and a Prometheus queries file: validation must return, and
//! a valid config's rules must be checkable against the ladder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalectl::config::Config;
use scalectl::fuzzing::ladder;
use scalectl::collect::prometheus::{Queries, metric_names};
use scalectl::source::{Format, Source};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = Source::from_bytes("scalectl.toml".into(), data.to_vec(), Format::Toml) else {
        return;
    };
    if let Ok(config) = Config::parse(source.clone(), std::path::Path::new("scalectl.toml")) {
        let _ = config.check_rules(&scalectl::engine::alarm_ids(&ladder()));
        let _ = config.describe();
    }
    if let Ok(queries) = source.deserialize::<Queries>() {
        for (_, query) in queries.fields() {
            for variant in query.variants() {
                let _ = metric_names(variant);
            }
        }
    }
});
