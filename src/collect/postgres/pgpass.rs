//! libpq's password file (`~/.pgpass`, or `PGPASSFILE`): one
//! `host:port:database:user:password` line per server, `*` matching
//! anything, `\:` and `\\` escaping.

/// The password of the first line matching the connection, if any.
pub fn lookup(text: &str, host: &str, port: u16, database: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    // A socket directory matches `localhost`, as in libpq.
    let host = if host.starts_with('/') {
        "localhost"
    } else {
        host
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = split(line)?;
            let wanted = [host, port.as_str(), database, user];
            fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, value)| field == "*" || field == value)
                .then(|| fields[4].clone())
        })
}

/// The five fields of a line, unescaped; `None` for a malformed line.
fn split(line: &str) -> Option<[String; 5]> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.push(chars.next().unwrap_or('\\')),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut()?.push(c),
        }
    }
    fields.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_line_wins_with_wildcards_and_escapes() {
        let text = "# comment\n\
                    db.example:5432:app:reader:s3cr\\:et\n\
                    *:*:*:reader:fallback\n\
                    localhost:5433:*:admin:local\\\\pw\n";
        assert_eq!(
            lookup(text, "db.example", 5432, "app", "reader").as_deref(),
            Some("s3cr:et")
        );
        assert_eq!(
            lookup(text, "other", 5432, "app", "reader").as_deref(),
            Some("fallback")
        );
        assert_eq!(
            lookup(text, "/var/run/postgresql", 5433, "x", "admin").as_deref(),
            Some("local\\pw")
        );
        assert_eq!(lookup(text, "other", 5432, "app", "writer"), None);
        assert_eq!(lookup("too:few:fields", "too", 1, "x", "y"), None);
    }
}
