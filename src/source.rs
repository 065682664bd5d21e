//! Reading input files and deserializing them, whatever their format, with
//! errors that name the file, line and column.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_saphyr::MessageFormatter;

use crate::error::{FileError, Location, Problem};
use crate::escape::path_name;
use crate::suggest;

/// The largest input file scalectl reads, in bytes. Metrics reports and ladder
/// files are a few kilobytes; anything near this size is a mistake.
pub const MAX_INPUT_BYTES: u64 = 10 * 1024 * 1024;

/// The deepest nesting accepted in YAML input.
pub const MAX_YAML_DEPTH: usize = 64;

/// The name under which standard input appears in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// A data format scalectl reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML 1.2.
    Yaml,
    /// JSON.
    Json,
    /// TOML 1.0.
    Toml,
}

impl Format {
    /// The format a file's extension names (`.yaml`, `.yml`, `.json`, `.toml`; any case).
    pub fn from_path(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "yaml" | "yml" => Some(Self::Yaml),
            "json" => Some(Self::Json),
            "toml" => Some(Self::Toml),
            _ => None,
        }
    }
}

/// The text of one input, checked to be UTF-8, with its name and format.
#[derive(Debug, Clone)]
pub struct Source {
    /// The name used in messages: the path as given, or `<stdin>`.
    pub name: String,
    /// The text, without a leading byte-order mark.
    pub text: String,
    /// How to parse the text.
    pub format: Format,
}

impl Source {
    /// Reads a file, choosing the format by its extension.
    pub fn read(path: &Path) -> Result<Self, FileError> {
        let name = path_name(path);
        let fail = |message: String| FileError::new(name.clone(), Problem::new(message));
        let (file, metadata) = open_file(path).map_err(fail)?;
        let format = Format::from_path(path).ok_or_else(|| {
            fail("unknown file type; expected a .yaml, .yml, .json or .toml extension".into())
        })?;
        if metadata.len() > MAX_INPUT_BYTES {
            return Err(fail(too_large()));
        }
        let size = usize::try_from(metadata.len()).unwrap_or(usize::MAX);
        let bytes = read_bounded(file, size).map_err(fail)?;
        Self::from_bytes(name, bytes, format)
    }

    /// Reads standard input as YAML.
    pub fn stdin() -> Result<Self, FileError> {
        let bytes = read_bounded(std::io::stdin().lock(), 0)
            .map_err(|e| FileError::new(STDIN_NAME, Problem::new(e)))?;
        Self::from_bytes(STDIN_NAME.to_owned(), bytes, Format::Yaml)
    }

    /// Checks raw bytes: not too large, UTF-8, not empty; strips a byte-order mark.
    pub fn from_bytes(name: String, bytes: Vec<u8>, format: Format) -> Result<Self, FileError> {
        let fail = |location, message: String| {
            FileError::new(name.clone(), Problem::at(location, message))
        };
        if bytes.len() as u64 > MAX_INPUT_BYTES {
            return Err(fail(None, too_large()));
        }
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let bytes = e.as_bytes();
                let location = Location::of_offset(
                    std::str::from_utf8(&bytes[..valid]).unwrap_or_default(),
                    valid,
                );
                let message = if bytes.contains(&0) {
                    "is a binary file, not text".to_owned()
                } else {
                    "is not valid UTF-8 text".to_owned()
                };
                return Err(fail(Some(location), message));
            }
        };
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_owned(),
            None => text,
        };
        if text.contains('\0') {
            return Err(fail(None, "is a binary file, not text".into()));
        }
        if text.trim().is_empty() {
            return Err(fail(None, "is empty".into()));
        }
        Ok(Self { name, text, format })
    }

    /// Deserializes the whole text into `T`, mapping any error to a located problem.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Problem> {
        match self.format {
            Format::Yaml => {
                if let Some((location, message)) = yaml_lint(&self.text) {
                    return Err(Problem::at(Some(location), message));
                }
                let options = || {
                    serde_saphyr::options! {
                        budget: serde_saphyr::budget! {
                            max_depth: MAX_YAML_DEPTH,
                            max_documents: 2,
                        },
                        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
                        strict_booleans: true,
                        merge_keys: serde_saphyr::MergeKeyPolicy::Error,
                        reject_unsupported_tags: true,
                        reject_tagged_field_names: true,
                    }
                };
                let located = |e: serde_saphyr::Error| {
                    let e = e.without_snippet();
                    let message = serde_saphyr::DefaultMessageFormatter.format_message(e);
                    let location = e.location().and_then(|l| {
                        let line = usize::try_from(l.line()).ok()?;
                        let column = usize::try_from(l.column()).ok()?;
                        (line > 0).then_some(Location { line, column })
                    });
                    Problem::at(location, explain(&message))
                };
                // With aliases, the whole document is expanded once first, so
                // that an alias bomb meets the budget whatever field it hides
                // in (a typed read stops at the first wrong field, unexpanded).
                if self.text.contains('*') {
                    serde_saphyr::from_str_with_options::<serde::de::IgnoredAny>(
                        &self.text,
                        options(),
                    )
                    .map_err(located)?;
                }
                serde_saphyr::from_str_with_options(&self.text, options()).map_err(located)
            }
            Format::Json => {
                let mut deserializer = serde_json::Deserializer::from_str(&self.text);
                let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
                    let key = match e.path().iter().next_back() {
                        Some(serde_path_to_error::Segment::Map { key }) => Some(key.clone()),
                        _ => None,
                    };
                    self.json_problem(e.inner(), key.as_deref())
                })?;
                deserializer
                    .end()
                    .map_err(|e| self.json_problem(&e, None))?;
                Ok(value)
            }
            Format::Toml => toml::from_str(&self.text).map_err(|e| {
                let location = e
                    .span()
                    .map(|span| Location::of_offset(&self.text, span.start));
                let message = e.message().trim();
                let key = e.span().and_then(|span| self.text.get(span));
                match key {
                    Some(key) if message == "duplicate key" => {
                        Problem::at(location, format!("duplicate key `{key}`"))
                    }
                    _ => Problem::at(location, explain(message)),
                }
            }),
        }
    }

    /// A JSON error as a located problem. Errors in a value are located at
    /// the value's key, since serde_json reports where it stopped reading.
    fn json_problem(&self, error: &serde_json::Error, key: Option<&str>) -> Problem {
        let key_location = key
            .filter(|_| error.classify() == serde_json::error::Category::Data)
            .and_then(|key| self.key_location(key));
        let location = key_location.or_else(|| {
            (error.line() > 0).then_some(Location {
                line: error.line(),
                column: error.column().max(1),
            })
        });
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) => &message[..at],
            None => &message,
        };
        let message = explain(message);
        match key.filter(|_| error.classify() == serde_json::error::Category::Data) {
            Some(key) if !message.contains(&format!("`{key}`")) => {
                Problem::at(location, format!("{key}: {message}"))
            }
            _ => Problem::at(location, message),
        }
    }

    /// The line of each of `keys` written at the start of a line as a mapping
    /// key (`key:`, `"key":`, `key =`), in one pass over the text.
    pub fn key_lines(&self, keys: &[&'static str]) -> Vec<(&'static str, usize)> {
        let mut found: Vec<(&'static str, usize)> = Vec::with_capacity(keys.len());
        for (index, line) in self.text.lines().enumerate() {
            let trimmed = line.trim_start().trim_start_matches(['"', '\'']);
            let name_end = trimmed
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(trimmed.len());
            let name = &trimmed[..name_end];
            let rest = trimmed[name_end..]
                .trim_start_matches(['"', '\''])
                .trim_start();
            if !rest.starts_with([':', '=']) {
                continue;
            }
            if let Some(&key) = keys.iter().find(|&&k| k == name)
                && !found.iter().any(|&(k, _)| k == key)
            {
                found.push((key, index + 1));
            }
        }
        found
    }

    /// The 1-based line and column where `key` is first written as a mapping key,
    /// in any of the three formats (`key:`, `"key":`, `key =`).
    pub fn key_location(&self, key: &str) -> Option<Location> {
        key_location_from(&self.text, key, 0)
    }

    /// Where the value of `key` starts when it is on the key's own line (as
    /// the parsers locate a bad value), else where the key is written.
    pub fn value_location(&self, key: &str) -> Option<Location> {
        let at = self.key_location(key)?;
        let line = self.text.lines().nth(at.line - 1)?;
        let (head, value) = line.split_once([':', '='])?;
        let start = value.len() - value.trim_start().len();
        if value.trim().is_empty() || value.trim_start().starts_with('#') {
            return Some(at);
        }
        Some(Location {
            line: at.line,
            column: head.chars().count() + 1 + value[..start].chars().count() + 1,
        })
    }

    /// Where the entry `key` of the mapping `parent` is written (an `ignore:`
    /// entry): the first such key after `parent`'s own line, else `parent`.
    pub fn entry_location(&self, parent: &str, key: &str) -> Option<Location> {
        let at = self.key_location(parent)?;
        key_location_from(&self.text, key, at.line).or(Some(at))
    }
}

/// Where `key` is first written as a key at or after line `skip` + 1.
fn key_location_from(text: &str, key: &str, skip: usize) -> Option<Location> {
    {
        text.lines()
            .enumerate()
            .skip(skip)
            .find_map(|(index, line)| {
                let trimmed = line.trim_start();
                let indent = line.len() - trimmed.len();
                let (quoted, rest) = match trimmed.strip_prefix(['"', '\'']) {
                    Some(rest) => (true, rest),
                    None => (false, trimmed),
                };
                let rest = rest.strip_prefix(key)?;
                let rest = if quoted {
                    rest.strip_prefix(['"', '\''])?
                } else {
                    rest
                };
                rest.trim_start().starts_with([':', '=']).then(|| Location {
                    line: index + 1,
                    column: line[..indent].chars().count() + 1,
                })
            })
    }
}

/// The first YAML construct that reports refuse, outside quotes and
/// comments: a tag (`!tag`, `!!binary`), which can change what a value means
/// without showing it, or a boolean not written `true` or `false` (YAML 1.2
/// also reads `True` and `TRUE`).
fn yaml_lint(text: &str) -> Option<(Location, &'static str)> {
    let boundary = |c: char| c.is_whitespace() || "[{,:-".contains(c);
    for (index, line) in text.lines().enumerate() {
        let mut quote = None;
        let mut previous = ' ';
        let chars: Vec<char> = line.chars().collect();
        for (column, &c) in chars.iter().enumerate() {
            let at = Location {
                line: index + 1,
                column: column + 1,
            };
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') if boundary(previous) => quote = Some(c),
                (None, '#') if previous.is_whitespace() => break,
                (None, '!') if boundary(previous) => {
                    return Some((
                        at,
                        "YAML tags (`!!binary`, `!custom`, ...) are not accepted; write the plain value",
                    ));
                }
                (None, 'T' | 'F') if boundary(previous) => {
                    let word: String = chars[column..]
                        .iter()
                        .take_while(|c| c.is_ascii_alphabetic())
                        .collect();
                    let end = chars.get(column + word.len()).copied().unwrap_or(' ');
                    if matches!(word.as_str(), "True" | "TRUE" | "False" | "FALSE")
                        && (end.is_whitespace() || ",]}#".contains(end))
                    {
                        return Some((at, "booleans are written `true` or `false` (lower case)"));
                    }
                }
                _ => {}
            }
            previous = c;
        }
    }
    None
}

/// Opens `path` for reading if it is a regular file (or a link to one),
/// with its metadata: reading a FIFO would wait forever for a writer, and a
/// device such as `/dev/zero` never ends. Standard input is read with `-`.
pub fn open_file(path: &Path) -> Result<(File, std::fs::Metadata), String> {
    let reason = |e: std::io::Error| format!("cannot read: {}", io_reason(&e));
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // A FIFO opened for reading waits for a writer; without blocking, it
    // opens at once and is refused below like any other non-file.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(|e| {
        if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            directory()
        } else {
            reason(e)
        }
    })?;
    let metadata = file.metadata().map_err(reason)?;
    if metadata.is_dir() {
        return Err(directory());
    }
    if !metadata.is_file() {
        return Err(
            "is not a regular file (a FIFO, device or socket); give a file, or `-` for standard input"
                .into(),
        );
    }
    Ok((file, metadata))
}

fn directory() -> String {
    "is a directory, not a file".into()
}

/// Reads at most one byte more than the size limit; `expected` (a regular
/// file's size, or 0 when unknown) sizes the buffer so that a file is read
/// in one call.
fn read_bounded(reader: impl Read, expected: usize) -> Result<Vec<u8>, String> {
    let limit = usize::try_from(MAX_INPUT_BYTES).unwrap_or(usize::MAX);
    let reason = |e: std::io::Error| format!("cannot read: {}", io_reason(&e));
    let mut reader = reader.take(MAX_INPUT_BYTES + 1);
    let mut bytes = Vec::with_capacity(expected.min(limit) + 1);
    if (1..=limit).contains(&expected) {
        // Asked for one byte more than its size, a regular file that gives
        // exactly its size has ended: no second read to find that out.
        bytes.resize(expected + 1, 0);
        let read = loop {
            match reader.read(&mut bytes) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                read => break read.map_err(reason)?,
            }
        };
        bytes.truncate(read);
        if read == expected {
            return Ok(bytes);
        }
    }
    reader.read_to_end(&mut bytes).map_err(reason)?;
    if bytes.len() > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

fn too_large() -> String {
    format!(
        "is larger than the {} MiB limit for an input file",
        MAX_INPUT_BYTES / (1024 * 1024)
    )
}

/// An I/O error's reason without Rust's "(os error N)" suffix.
pub fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Rewrites serde's "unknown field" message into one that suggests the nearest
/// known field; other messages pass through unchanged.
fn explain(message: &str) -> String {
    // Parser jargon, in the words of the file's purpose.
    if message.starts_with("expected mapping start") || message.contains("expected struct") {
        return "expected a mapping (`key: value` lines), found something else, such as a list or a single value".to_owned();
    }
    if message.starts_with("invalid type: sequence, expected struct")
        || message.starts_with("invalid type: sequence, expected a map")
    {
        return "expected a mapping of fields, found a list".to_owned();
    }
    if message.starts_with("multiple YAML documents") || message.contains("Documents {") {
        return "the file holds several YAML documents (`---`); a report is a single document"
            .to_owned();
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!("duplicate key `{key}`");
    }
    if message.starts_with("YAML merge keys are not allowed") {
        return "YAML merge keys (`<<`) are not accepted: they override fields without a duplicate-key error; write each field once".to_owned();
    }
    if let Some(breach) = message.strip_prefix("budget breached: ") {
        if let Some(nodes) = breach
            .strip_prefix("Nodes { nodes: ")
            .and_then(|rest| rest.strip_suffix(" }"))
        {
            return format!(
                "the YAML expands to more than {} nodes through its aliases (an alias bomb?): too large to read safely",
                nodes
                    .parse::<u64>()
                    .map_or(nodes.to_owned(), |n| crate::metric::format_count(
                        n.saturating_sub(1)
                    ))
            );
        }
        return format!("the YAML is too large or too deeply nested to read safely ({breach})");
    }
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_owned();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_owned();
    };
    let known: Vec<&str> = expected
        .split([',', '`', ' '])
        .filter(|word| !word.is_empty() && !["expected", "one", "of", "or"].contains(word))
        .collect();
    match suggest::nearest(field, known.iter().copied()) {
        Some(nearest) => format!("unknown field `{field}`; did you mean `{nearest}`?"),
        None if known.is_empty() => format!("unknown field `{field}`; no fields are allowed here"),
        None => format!(
            "unknown field `{field}`; expected one of {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Small {
        users: u64,
        db_cpu_pct: Option<f64>,
    }

    fn source(format: Format, text: &str) -> Source {
        Source::from_bytes("m".into(), text.as_bytes().to_vec(), format).unwrap()
    }

    #[test]
    fn unknown_fields_suggest_the_nearest_in_every_format() {
        for (format, text, line) in [
            (Format::Yaml, "users: 1\ndb_cpu: 9\n", 2),
            (Format::Json, "{\"users\": 1,\n\"db_cpu\": 9}", 2),
            (Format::Toml, "users = 1\ndb_cpu = 9\n", 2),
        ] {
            let problem = source(format, text).deserialize::<Small>().unwrap_err();
            assert_eq!(
                problem.message, "unknown field `db_cpu`; did you mean `db_cpu_pct`?",
                "{format:?}"
            );
            assert_eq!(problem.location.map(|l| l.line), Some(line), "{format:?}");
        }
    }

    #[test]
    fn unrelated_unknown_field_lists_the_known_ones() {
        let problem = source(Format::Yaml, "users: 1\nzzzzzz: 9\n")
            .deserialize::<Small>()
            .unwrap_err();
        assert_eq!(
            problem.message,
            "unknown field `zzzzzz`; expected one of `users`, `db_cpu_pct`"
        );
    }

    #[test]
    fn duplicate_keys_are_errors_in_every_format() {
        for (format, text) in [
            (Format::Yaml, "users: 1\nusers: 2\n"),
            (Format::Json, "{\"users\": 1, \"users\": 2}"),
            (Format::Toml, "users = 1\nusers = 2\n"),
        ] {
            let problem = source(format, text).deserialize::<Small>().unwrap_err();
            assert!(
                problem.message.contains("duplicate"),
                "{format:?}: {}",
                problem.message
            );
        }
    }

    #[test]
    fn yaml_alias_bombs_and_deep_nesting_are_refused() {
        let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        for (i, previous) in ('b'..='j').zip('a'..) {
            bomb.push_str(&format!(
                "{i}: &{i} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]\n"
            ));
        }
        let result =
            source(Format::Yaml, &bomb).deserialize::<BTreeMap<String, serde_json::Value>>();
        assert!(result.is_err());

        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        for format in [Format::Yaml, Format::Json, Format::Toml] {
            let text = if format == Format::Toml {
                format!("a = {deep}")
            } else {
                deep.clone()
            };
            let result = source(format, &text).deserialize::<serde_json::Value>();
            assert!(result.is_err(), "{format:?}");
        }
    }

    #[test]
    fn rejects_empty_binary_and_non_utf8_input() {
        let message = |bytes: &[u8]| {
            Source::from_bytes("m".into(), bytes.to_vec(), Format::Yaml)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(message(b""), "m: is empty");
        assert_eq!(message(b" \n\t\n"), "m: is empty");
        assert_eq!(message(b"users: 1\n\xff"), "m:2:1: is not valid UTF-8 text");
        assert_eq!(
            message(b"\x00\x01\x02\xff"),
            "m:1:4: is a binary file, not text"
        );
        assert_eq!(message(b"users: \x00"), "m: is a binary file, not text");
    }

    #[test]
    fn reads_everything_whatever_size_was_expected() {
        let text = b"users: 1200\napi_p95_ms: 180\n";
        for expected in [0, 1, text.len() - 1, text.len(), text.len() + 1, 4096] {
            let read = read_bounded(std::io::Cursor::new(text), expected).unwrap();
            assert_eq!(read, text, "expected {expected}");
        }
        // A reader that gives less than the size at first is read to its end.
        let slow = std::io::Cursor::new(text).chain(std::io::Cursor::new(b"cache: 1\n"));
        assert_eq!(
            read_bounded(slow, text.len() + 9).unwrap(),
            [&text[..], b"cache: 1\n"].concat()
        );
    }

    #[test]
    fn strips_a_byte_order_mark() {
        let source = source(Format::Yaml, "\u{feff}users: 3\n");
        assert_eq!(source.deserialize::<Small>().unwrap().users, 3);
    }

    #[test]
    fn finds_key_lines_in_each_format() {
        assert_eq!(
            source(Format::Yaml, "users: 1\n# db_cpu_pct: 3\ndb_cpu_pct: 4\n")
                .key_location("db_cpu_pct"),
            Some(Location { line: 3, column: 1 })
        );
        assert_eq!(
            source(Format::Json, "{\n  \"users\": 1\n}").key_location("users"),
            Some(Location { line: 2, column: 3 })
        );
        assert_eq!(
            source(Format::Toml, "users_max = 1\nusers = 2\n").key_location("users"),
            Some(Location { line: 2, column: 1 })
        );
        assert_eq!(source(Format::Toml, "users = 2\n").key_location("db"), None);
    }

    #[test]
    fn key_lines_agree_with_key_location() {
        let text =
            "# users: 0\nservice: a\n\"users\": 5\n  db_cpu_pct = 3\nusers_max: 1\ndb_cpu_pct: 4\n";
        let source = source(Format::Yaml, text);
        let keys = ["users", "db_cpu_pct", "service", "checklist"];
        let lines = source.key_lines(&keys);
        for key in keys {
            assert_eq!(
                lines.iter().find(|(k, _)| *k == key).map(|(_, l)| *l),
                source.key_location(key).map(|l| l.line),
                "{key}"
            );
        }
        assert_eq!(lines, [("service", 2), ("users", 3), ("db_cpu_pct", 4)]);
    }

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(Format::from_path(Path::new("a.YML")), Some(Format::Yaml));
        assert_eq!(Format::from_path(Path::new("a.json")), Some(Format::Json));
        assert_eq!(Format::from_path(Path::new("a.toml")), Some(Format::Toml));
        assert_eq!(Format::from_path(Path::new("a.txt")), None);
        assert_eq!(Format::from_path(Path::new("yaml")), None);
    }
}
