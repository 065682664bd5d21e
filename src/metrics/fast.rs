//! A fast path for the plain YAML that reports are almost always made of:
//! one `key: value` per line, numbers and simple strings, comments, and a
//! `checklist:` block of `  item_id: true|false` lines. Anything else
//! (other nesting, flow collections, quotes with escapes, anchors, tags, a
//! value out of range, a duplicate or unknown key, ...) returns `None`, and
//! the full parser reads the file, so every error keeps its message and
//! location. When it answers, its answer is the full parser's: the values go
//! through the same typed deserializers and the same validation, and a
//! property test and a fuzz target hold the two paths equal.

use serde::de::value::{Error, MapDeserializer};
use serde::de::{Deserialize, Deserializer, IntoDeserializer, Visitor};

use super::RawReport;

/// Whether `key` is a report field whose value is a scalar (the map
/// `checklist` is read as a block of its own; `ignore` is left to the full
/// parser).
fn scalar_field(key: &str) -> bool {
    RawReport::FIELDS.contains(&key) && !matches!(key, "checklist" | "ignore")
}

/// Plain words that YAML reads as something other than a string.
fn special_word(word: &str) -> bool {
    [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "nan", "inf",
    ]
    .iter()
    .any(|special| word.eq_ignore_ascii_case(special))
}

/// A value as the fast path reads it, handed to the report's own typed
/// deserializers as YAML's reader would hand it: a whole number, a
/// decimal, a string, or the checklist's answers.
#[derive(Debug)]
enum Plain<'t> {
    Whole(u64),
    Decimal(f64),
    Text(&'t str),
    Answers(Vec<(&'t str, bool)>),
}

impl<'de> Deserializer<'de> for Plain<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Plain::Whole(value) => visitor.visit_u64(value),
            Plain::Decimal(value) => visitor.visit_f64(value),
            Plain::Text(text) => visitor.visit_borrowed_str(text),
            Plain::Answers(answers) => visitor.visit_map(MapDeserializer::new(answers.into_iter())),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, Error> for Plain<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

fn number(text: &str) -> Option<Plain<'_>> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // No sign, no exponent, no leading zeros: the forms every YAML reader
    // agrees on.
    if !digits(whole) || (whole.len() > 1 && whole.starts_with('0')) {
        return None;
    }
    match fraction {
        None => whole.parse().ok().map(Plain::Whole),
        Some(fraction) if digits(fraction) => {
            let value: f64 = text.parse().ok()?;
            value.is_finite().then_some(Plain::Decimal(value))
        }
        Some(_) => None,
    }
}

fn scalar<'t>(key: &str, text: &'t str) -> Option<Plain<'t>> {
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        if inner.contains(['"', '\\']) || inner.chars().any(char::is_control) {
            return None;
        }
        return Some(Plain::Text(inner));
    }
    if let Some(value) = number(text) {
        return Some(value);
    }
    let plain_word = text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        && !special_word(text);
    (key == "service" && plain_word).then_some(Plain::Text(text))
}

/// A checklist item id as the ladder spells them: lowercase letters, digits
/// and underscores, starting with a letter.
fn item_id(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The value of a `key: value` line, without a trailing comment; `None`
/// when the line is not that plain (a `#` that does not start a comment).
fn value_of(rest: &str) -> Option<&str> {
    let rest = rest.strip_prefix(' ')?;
    let value = match rest.find('#') {
        Some(at) if rest[..at].ends_with(' ') => &rest[..at],
        Some(_) => return None,
        None => rest,
    }
    .trim_end_matches(' ');
    (!value.is_empty()).then_some(value)
}

/// Whether YAML reads `c` as printable anywhere, comments included (line
/// breaks other than `\n` and byte-order marks are left to the full parser).
fn printable(c: char) -> bool {
    if c.is_ascii() {
        c == '\n' || (' '..='~').contains(&c)
    } else {
        !c.is_control()
            && !matches!(
                c,
                '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}' | '\u{2028}' | '\u{2029}'
            )
    }
}

/// The report in `text`, when it is plain enough to read without the full
/// parser; `None` otherwise (including whenever the report is invalid).
/// Duplicate fields and checklist items are refused by the deserializers
/// themselves, as in the full parser.
pub fn parse(text: &str) -> Option<RawReport> {
    let ascii = |b: u8| b == b'\n' || (b' '..=b'~').contains(&b);
    if !(text.bytes().all(ascii) || (!text.is_ascii() && text.chars().all(printable))) {
        return None;
    }
    let mut fields: Vec<(&str, Plain<'_>)> = Vec::with_capacity(RawReport::FIELDS.len());
    // The checklist block being read, if the lines are inside one.
    let mut checklist: Option<Vec<(&str, bool)>> = None;
    let mut users = false;
    for line in text.split('\n') {
        if line.bytes().all(|b| b == b' ') || line.starts_with('#') {
            continue;
        }
        if let Some(item) = line.strip_prefix("  ") {
            let answers = checklist.as_mut()?;
            let (key, rest) = item.split_once(':')?;
            let answer = match value_of(rest)? {
                "true" => true,
                "false" => false,
                _ => return None,
            };
            if !item_id(key) || special_word(key) {
                return None;
            }
            answers.push((key, answer));
            continue;
        }
        if let Some(answers) = checklist.take() {
            if answers.is_empty() {
                return None;
            }
            fields.push(("checklist", Plain::Answers(answers)));
        }
        if line.starts_with(char::is_whitespace) {
            return None;
        }
        if line == "checklist:" {
            checklist = Some(Vec::new());
            continue;
        }
        let (key, rest) = line.split_once(':')?;
        if !scalar_field(key) {
            return None;
        }
        users |= key == "users";
        fields.push((key, scalar(key, value_of(rest)?)?));
    }
    if let Some(answers) = checklist.take() {
        if answers.is_empty() {
            return None;
        }
        fields.push(("checklist", Plain::Answers(answers)));
    }
    if !users {
        return None;
    }
    RawReport::deserialize(MapDeserializer::<_, Error>::new(fields.into_iter())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::Ladder;
    use crate::metrics::Report;
    use crate::source::{Format, Source};

    fn both(text: &str) -> (Option<Report>, Result<Report, crate::error::FileError>) {
        let ladder = Ladder::embedded().unwrap();
        let fast = parse(text).and_then(|raw| raw.validate(&ladder).ok());
        let source =
            Source::from_bytes("t.yaml".into(), text.as_bytes().to_vec(), Format::Yaml).unwrap();
        (fast, Report::parse_full(&source, &ladder))
    }

    #[test]
    fn plain_reports_are_read_as_the_full_parser_reads_them() {
        for text in [
            "service: checkout\nusers: 42K\n",
            "users: \"42K\"\napi_p95_ms: 140 # ms\ndb_cpu_pct: 64.5\n\n# spend\nmonthly_cost_usd: 2400\n",
            "service: \"a b\"\nusers: 0\ncurrent_stage: 2\nobserved_at: \"2026-11-01\"\n",
        ] {
            let (fast, full) = both(text);
            if let Some(fast) = fast {
                assert_eq!(Ok(fast), full, "{text}");
            }
        }
        assert!(parse("service: checkout\nusers: 42000\ndb_cpu_pct: 64.5\n").is_some());
        for text in [
            "users: 5\nchecklist:\n  redis_cache: true\n  connection_pooling: false # soon\n",
            "checklist:\n\n# answered by hand\n  indexes_optimized: true\nusers: 5\n",
        ] {
            let (fast, full) = both(text);
            assert!(parse(text).is_some(), "{text:?}");
            assert_eq!(Ok(fast.expect(text)), full, "{text}");
        }
    }

    #[test]
    fn anything_unusual_is_left_to_the_full_parser() {
        for text in [
            "users: 5\nchecklist:\n",
            "users: 5\nchecklist:\nservice: a\n",
            "users: 5\nchecklist:\n  redis_cache: yes\n",
            "users: 5\nchecklist:\n  redis_cache: True\n",
            "users: 5\nchecklist:\n  redis_cache: true\n  redis_cache: false\n",
            "users: 5\nchecklist:\n   redis_cache: true\n",
            "users: 5\nchecklist:\n  Redis: true\n",
            "users: 5\nchecklist:\n  redis_cache: true\nchecklist:\n  replicas: true\n",
            "users: 5\n  redis_cache: true\n",
            "users: 5\nchecklist: {}\n",
            "users: 5\nusers: 6\n",
            "users: 5\ndb_cpu: 3\n",
            "users: -5\n",
            "users: 1e3\n",
            "users: 007\n",
            "service: true\nusers: 5\n",
            "service: yes\nusers: 5\n",
            "users: 5\ndb_cpu_pct: 101\n",
            "users: 5\nservice: \"a\\\"b\"\n",
            "users: 5\r\n",
            "#eQrs: \u{1}u43\nusers: 4",
            "users: 4 # \u{7f}\n",
            "users: 4\n# \u{85}\n",
            "users: 4\t\n",
            "users: 4\n\u{a0}\n",
            "users: 4\nchecklist:\n  null: true\n",
            "users: 4\nchecklist:\n  yes: true\n",
            "users: 4\n\u{3000}\n",
            "users: &a 5\n",
            "users: !!int 5\n",
            "---\nusers: 5\n",
            "users: 5\napi_p95_ms:\n",
            "  users: 5\n",
            "users: [5]\n",
            "db_cpu_pct: 5\n",
        ] {
            assert!(parse(text).is_none(), "{text:?}");
        }
    }
}
