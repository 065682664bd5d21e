//! Text printed for a person: control and bidirectional-override characters
//! escaped, so that input can neither move the cursor, clear the screen, set
//! a terminal's title, reorder what is shown, nor start a line of its own (a
//! CI runner's workflow command); and echoed input cut to a readable length.
//! Machine formats (JSON, XML, SARIF) keep their own escaping.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;

/// The most characters of an input echoed in one message.
pub const MAX_ECHO_CHARS: usize = 400;

/// Whether `c` must not reach a terminal (or a rendered page) raw.
pub(crate) fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_unsafe(c) && !(keep_newlines && c == '\n');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !unsafe_char(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// `text` on one line: every control and bidirectional-override character,
/// newlines included, written as an escape (`\n`, `\u{1b}`).
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// `text` as it may span several lines: like [`line`], but newlines stay.
/// For messages whose line breaks are scalectl's own.
pub fn text(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// `text` with what may be a secret masked, for echoing a connection string
/// or URL that could not be read: the value after any `password=` (as
/// libpq's `key=value` strings write it), and any user information before an
/// `@` (`user:password@host`).
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        let Some(at) = lower.find("password") else {
            out.push_str(rest);
            break;
        };
        let after = &rest[at + "password".len()..];
        let trimmed = after.trim_start();
        let Some(value) = trimmed.strip_prefix('=') else {
            out.push_str(&rest[..at + "password".len()]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..at]);
        out.push_str("password=***");
        let value = value.trim_start();
        let end = match value.strip_prefix('\'') {
            Some(quoted) => quoted.find('\'').map_or(value.len(), |end| end + 2),
            None => value.find(char::is_whitespace).unwrap_or(value.len()),
        };
        rest = &value[end..];
    }
    // User information: whatever stands between the start of a word (or a
    // `/`) and an `@`.
    let mut masked = String::with_capacity(out.len());
    for word in out.split_inclusive(char::is_whitespace) {
        match word.rfind('@') {
            Some(at) => {
                let start = word[..at].rfind('/').map_or(0, |slash| slash + 1);
                masked.push_str(&word[..start]);
                masked.push_str("***");
                masked.push_str(&word[at..]);
            }
            None => masked.push_str(word),
        }
    }
    masked
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
    }
}

/// Input echoed in a message: cut, then on one line.
pub fn echo(text: &str) -> String {
    line(&cut(text, MAX_ECHO_CHARS)).into_owned()
}

/// A path as a name in messages and reports: its text, with any bytes that
/// are not UTF-8 written as `\xNN`, so that two different names never print
/// the same.
pub fn path_name(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut out = String::new();
        for chunk in path.as_os_str().as_bytes().utf8_chunks() {
            out.push_str(chunk.valid());
            for byte in chunk.invalid() {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert_eq!(line("plain text: ok"), "plain text: ok");
        assert!(matches!(line("plain"), Cow::Borrowed(_)));
        assert_eq!(line("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(line("x\n::error ::owned"), "x\\n::error ::owned");
        assert_eq!(line("tab\there\r"), "tab\\there\\r");
        assert_eq!(line("\u{202e}evil"), "\\u{202e}evil");
        assert_eq!(line("\u{7f}\u{9b}"), "\\u{7f}\\u{9b}");
        assert_eq!(text("one\ntwo\x07"), "one\ntwo\\u{7}");
        assert_eq!(line("héllo ✓"), "héllo ✓");
    }

    #[test]
    fn long_input_is_cut_with_an_ellipsis() {
        assert_eq!(cut("abcdef", 3), "abc…");
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("ééé", 2), "éé…");
        let long = "x".repeat(10_000_000);
        assert_eq!(echo(&long).chars().count(), MAX_ECHO_CHARS + 1);
    }

    #[cfg(unix)]
    #[test]
    fn paths_that_are_not_utf8_print_their_bytes() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let a = Path::new(OsStr::from_bytes(b"r\xffa.yaml"));
        let b = Path::new(OsStr::from_bytes(b"r\xfea.yaml"));
        assert_eq!(path_name(a), "r\\xffa.yaml");
        assert_ne!(path_name(a), path_name(b));
        assert_eq!(path_name(Path::new("plain/é.yaml")), "plain/é.yaml");
    }
}

#[cfg(test)]
mod redact_tests {
    use super::redact;

    #[test]
    fn secrets_in_connection_strings_are_masked() {
        assert_eq!(
            redact("host=db port=1 password=Hunter2pw dbname=db"),
            "host=db port=1 password=*** dbname=db"
        );
        assert_eq!(
            redact("host=db PASSWORD = 'two words' dbname=db"),
            "host=db password=*** dbname=db"
        );
        assert_eq!(
            redact("postgres:/bob:Hunter2pw@127.0.0.1/db"),
            "postgres:/***@127.0.0.1/db"
        );
        assert_eq!(redact("bob:Hunter2pw@127.0.0.1:1"), "***@127.0.0.1:1");
        assert_eq!(redact("http://prometheus:9090"), "http://prometheus:9090");
    }
}
