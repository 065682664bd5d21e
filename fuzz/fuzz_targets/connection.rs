//! The connection parsers: `--postgres`/`--pgbouncer` and `--redis` URLs,
//! and libpq's password file. None may panic, and a password in a URL is
//! refused without being echoed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scalectl::collect::postgres::{Target, pgpass};
use scalectl::collect::redis;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let password = url::Url::parse(text)
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
        .filter(|p| p.len() >= 8 && !text.replace(p.as_str(), "").contains(p.as_str()));
    let message = match selector % 3 {
        0 => Target::parse(text, "--postgres", None).err().map(|e| e.0),
        1 => redis::Target::parse(text).err().map(|e| e.0),
        _ => {
            let _ = pgpass::lookup(text, "db.example", 5432, "app", "reader");
            let _ = pgpass::lookup(text, "/var/run/postgresql", 5432, "app", "reader");
            None
        }
    };
    if let (Some(password), Some(message)) = (password, message) {
        assert!(!message.contains(&password), "{message}");
    }
});
