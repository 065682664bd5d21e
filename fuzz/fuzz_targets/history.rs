//! A history CSV, and a forecast from whatever it holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalectl::forecast::forecast;
use scalectl::fuzzing::ladder;
use scalectl::history::{History, read_csv_from};

fuzz_target!(|data: &[u8]| {
    let ladder = ladder();
    let mut history = History::default();
    if read_csv_from(data, "fuzz.csv", &mut history, true).is_ok()
        && let Ok(f) = forecast(&history.acc, &ladder, &scalectl::forecast::Options::default())
    {
        let _ = scalectl::render::forecast::json(&f);
        let _ = scalectl::render::forecast::table(&f, &ladder);
        let _ = scalectl::render::plot::svg(&f, &ladder, &history.points);
    }
});
