//! Turning command-line arguments into the list of reports to assess:
//! files as given, directories searched recursively in a stable order.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::error::{FileError, Problem};
use crate::escape::path_name;
use crate::source::{Format, io_reason};

/// Expands files and directories into report paths. Files keep their
/// argument order; a directory contributes its reports (`.yaml`, `.yml`,
/// `.json`, `.toml`) sorted by path, searched recursively, skipping hidden
/// entries and never following a symbolic link to a directory (so a link
/// loop cannot trap the search). In a directory, files that match an
/// `exclude` glob (against the path as printed, or relative to the directory
/// given) are skipped, and so are JSON files that declare themselves
/// something else: a JSON Schema (`$schema`), a scalectl JSON report or
/// baseline (`schema_version` and `reports`); TOML files that are
/// scalectl's own settings (a ladder, a queries file, a config file, by name
/// or by content) are skipped with a note. What was skipped goes into
/// `skipped`. A directory that cannot be read, or holds no report, is an
/// error in its place.
pub fn expand(
    args: &[PathBuf],
    exclude: &GlobSet,
    skipped: &mut Skipped,
) -> Vec<Result<PathBuf, FileError>> {
    let mut inputs = Vec::with_capacity(args.len());
    for arg in args {
        if arg.as_os_str() != "-" && arg.is_dir() {
            let mut found = Vec::new();
            let mut errors = Vec::new();
            walk(arg, &mut found, &mut errors, true);
            // Telling a JSON report from other JSON opens the file: on
            // every core, for a fleet of JSON files.
            let keep = crate::parallel::map_ordered(&found, 64, |path| {
                let relative = path.strip_prefix(arg).unwrap_or(path);
                let excluded =
                    !exclude.is_empty() && (exclude.is_match(path) || exclude.is_match(relative));
                if excluded {
                    return Err(Skip::Excluded);
                }
                if not_a_report(path) {
                    return Err(Skip::Silently);
                }
                match settings_kind(path) {
                    Some(kind) => Err(Skip::Noted(format!(
                        "skipped {}: {kind}, not a report",
                        path_name(path)
                    ))),
                    None => Ok(()),
                }
            });
            for (path, kept) in found.iter().zip(&keep) {
                match kept {
                    Err(Skip::Noted(note)) => skipped.notes.push(note.clone()),
                    Err(Skip::Excluded) => skipped.excluded.push(path.clone()),
                    Err(Skip::Silently) | Ok(()) => {}
                }
            }
            let mut keep = keep.into_iter();
            found.retain(|_| keep.next().is_some_and(|k| k.is_ok()));
            if found.is_empty() && errors.is_empty() {
                errors.push(FileError::new(
                    path_name(arg),
                    Problem::new("holds no reports (.yaml, .yml, .json or .toml files)"),
                ));
            }
            inputs.extend(found.into_iter().map(Ok));
            inputs.extend(errors.into_iter().map(Err));
        } else {
            inputs.push(Ok(arg.clone()));
        }
    }
    inputs
}

/// The first bytes of a JSON file that a report never holds.
fn not_a_report(path: &Path) -> bool {
    if Format::from_path(path) != Some(Format::Json) {
        return false;
    }
    let mut head = [0u8; 4096];
    let Ok(read) = fs::File::open(path).and_then(|mut file| file.read(&mut head)) else {
        return false;
    };
    let head = String::from_utf8_lossy(&head[..read]);
    head.contains("\"$schema\"")
        || (head.contains("\"schema_version\"") && head.contains("\"reports\""))
}

/// What the walk left out of a run.
#[derive(Debug, Default)]
pub struct Skipped {
    /// scalectl's own files, each with a note saying what it is.
    pub notes: Vec<String>,
    /// The files an `exclude` pattern removed.
    pub excluded: Vec<PathBuf>,
}

/// Why a file found is not a report of the run.
#[derive(Debug, Clone)]
enum Skip {
    /// An `exclude` pattern matched it.
    Excluded,
    /// scalectl's own file, with the note that says so.
    Noted(String),
    /// A JSON Schema, output or baseline.
    Silently,
}

/// What a TOML file of scalectl's own is, when it is one: by its name
/// (`stages.toml`, `queries.toml`, `scalectl.toml`), else by its content (a
/// ladder's tables, a config file's keys, a queries file's PromQL strings).
fn settings_kind(path: &Path) -> Option<&'static str> {
    if Format::from_path(path) != Some(Format::Toml) {
        return None;
    }
    let name = path.file_name()?.to_string_lossy();
    match name.as_ref() {
        "stages.toml" => return Some("a ladder file"),
        "queries.toml" => return Some("a queries file"),
        crate::config::FILE_NAME => return Some("a config file"),
        _ => {}
    }
    let mut head = [0u8; 4096];
    let read = fs::File::open(path)
        .and_then(|mut file| file.read(&mut head))
        .ok()?;
    let head = String::from_utf8_lossy(&head[..read]);
    let keys: Vec<&str> = head
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let key = |k: &str| {
        keys.iter().any(|l| {
            l.strip_prefix(k)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
    };
    if keys.iter().any(|l| *l == "[[stage]]" || *l == "[[rule]]") {
        Some("a ladder file")
    } else if [
        "fail-on",
        "output-format",
        "select",
        "max-age",
        "allow-unmeasured",
        "ladder",
    ]
    .iter()
    .any(|k| key(k))
        || keys.contains(&"[[override]]")
        || (!key("users") && (key("ignore") || keys.contains(&"[ignore]")))
    {
        Some("a config file")
    } else if !key("users")
        && keys.iter().any(|l| {
            l.split_once('=')
                .is_some_and(|(_, v)| v.trim_start().starts_with('"') && v.contains('('))
        })
    {
        Some("a queries file")
    } else {
        None
    }
}

/// Compiles `--exclude` globs.
pub fn globs(patterns: &[String]) -> Result<GlobSet, String> {
    if patterns.len() > crate::config::MAX_PATTERNS {
        return Err(format!(
            "--exclude: {} patterns is more than the {} scalectl accepts; exclude directories rather than files",
            patterns.len(),
            crate::config::MAX_PATTERNS
        ));
    }
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        set.add(Glob::new(pattern).map_err(|e| format!("--exclude {pattern:?}: {e}"))?);
    }
    set.build()
        .map_err(|e| format!("--exclude: the patterns cannot be compiled: {e}"))
}

/// Searches `dir`; its subdirectories on every core when `parallel` and
/// there are several (the order of what is found stays the same).
fn walk(dir: &Path, found: &mut Vec<PathBuf>, errors: &mut Vec<FileError>, parallel: bool) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(FileError::new(
                path_name(dir),
                Problem::new(format!("cannot read the directory: {}", io_reason(&e))),
            ));
            return;
        }
    };
    // Each directory's entries sorted by name, subdirectories searched in
    // their place: the same order as sorting every path found, for a
    // fraction of the comparisons.
    let mut children = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                errors.push(FileError::new(
                    path_name(dir),
                    Problem::new(format!("cannot read the directory: {}", io_reason(&e))),
                ));
                continue;
            }
        };
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        children.push((name, entry.path(), kind));
    }
    children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let subdirectories = children.iter().filter(|(_, _, kind)| kind.is_dir()).count();
    if parallel && subdirectories >= 2 {
        let parts = crate::parallel::map_ordered(&children, 2, |(_, path, kind)| {
            let (mut found, mut errors) = (Vec::new(), Vec::new());
            visit(path.clone(), *kind, &mut found, &mut errors);
            (found, errors)
        });
        found.reserve(parts.iter().map(|(part, _)| part.len()).sum());
        for (part_found, part_errors) in parts {
            found.extend(part_found);
            errors.extend(part_errors);
        }
    } else {
        for (_, path, kind) in children {
            visit(path, kind, found, errors);
        }
    }
}

/// One entry of a directory: a subdirectory is searched, a report kept.
fn visit(path: PathBuf, kind: fs::FileType, found: &mut Vec<PathBuf>, errors: &mut Vec<FileError>) {
    if kind.is_dir() {
        walk(&path, found, errors, false);
    } else if Format::from_path(&path).is_some() {
        // Regular files, and symbolic links to files; links to
        // directories are not followed.
        if kind.is_file() || fs::metadata(&path).is_ok_and(|m| m.is_file()) || !path.exists() {
            found.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The walk without what it skipped.
    fn expand(args: &[PathBuf], exclude: &GlobSet) -> Vec<Result<PathBuf, FileError>> {
        super::expand(args, exclude, &mut Skipped::default())
    }

    #[test]
    fn ladders_queries_and_config_files_are_skipped_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (name, text) in [
            ("report.toml", "users = 5\napi_p95_ms = 50\n"),
            ("stages.toml", "not even toml ["),
            (
                "custom-ladder.toml",
                "schema_version = 1\n\n[[stage]]\nid = 1\n",
            ),
            ("queries.toml", "api_p95_ms = \"x\"\n"),
            ("prom.toml", "db_cpu_pct = \"100 * max(rate(x[5m]))\"\n"),
            ("scalectl.toml", "fail-on = \"never\"\n"),
            ("team.toml", "# settings\nfail-on = \"warning\"\n"),
        ] {
            fs::write(root.join(name), text).unwrap();
        }
        let mut skipped = Skipped::default();
        let found: Vec<PathBuf> =
            super::expand(&[root.to_path_buf()], &GlobSet::empty(), &mut skipped)
                .into_iter()
                .map(Result::unwrap)
                .collect();
        assert_eq!(found, [root.join("report.toml")]);
        let mut notes: Vec<&str> = skipped
            .notes
            .iter()
            .map(|n| n.rsplit_once(": ").unwrap().1)
            .collect();
        notes.sort_unstable();
        assert_eq!(
            notes,
            [
                "a config file, not a report",
                "a config file, not a report",
                "a ladder file, not a report",
                "a ladder file, not a report",
                "a queries file, not a report",
                "a queries file, not a report",
            ]
        );
    }

    #[test]
    fn the_walk_finds_reports_in_sorted_path_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for path in [
            "a.yaml",
            "a/z.yaml",
            "a/b/c.json",
            "a-b.yaml",
            "a.b/x.toml",
            "B.yaml",
            "ab/0.yml",
            "é.yaml",
            "z/a/a/a.yaml",
            "z/a.yaml",
        ] {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "users: 1\n").unwrap();
        }
        let found: Vec<PathBuf> = expand(&[root.to_owned()], &globs(&[]).unwrap())
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let mut sorted = found.clone();
        sorted.sort();
        assert_eq!(found.len(), 10);
        assert_eq!(found, sorted);
    }

    #[test]
    fn schemas_baselines_and_excluded_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, text) in [
            ("a.yaml", "users: 1\n"),
            (
                "metrics.schema.json",
                "{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\"}",
            ),
            (
                "baseline.json",
                "{\"schema_version\": 1, \"status\": \"ok\", \"reports\": []}",
            ),
            ("legacy/old.yaml", "users: 1\n"),
            ("b.json", "{\"users\": 1}"),
        ] {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let found: Vec<String> = expand(
            &[root.to_path_buf()],
            &globs(&["legacy/**".into()]).unwrap(),
        )
        .into_iter()
        .map(|r| r.unwrap().strip_prefix(root).unwrap().display().to_string())
        .collect();
        assert_eq!(found, ["a.yaml", "b.json"]);
        assert!(globs(&["[".into()]).is_err());
    }

    #[test]
    fn expands_directories_recursively_in_sorted_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for path in [
            "b.yaml",
            "a.json",
            "sub/c.toml",
            "sub/deeper/d.yml",
            "notes.txt",
            ".hidden/e.yaml",
            ".f.yaml",
        ] {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "users: 1\n").unwrap();
        }
        let found: Vec<String> = expand(&[root.to_path_buf()], &GlobSet::empty())
            .into_iter()
            .map(|r| r.unwrap().strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(
            found,
            ["a.json", "b.yaml", "sub/c.toml", "sub/deeper/d.yml"]
        );
    }

    #[test]
    fn files_keep_argument_order_and_empty_directories_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        let results = expand(
            &[
                PathBuf::from("z.yaml"),
                empty.clone(),
                PathBuf::from("-"),
                PathBuf::from("a.yaml"),
            ],
            &GlobSet::empty(),
        );
        assert_eq!(results[0], Ok(PathBuf::from("z.yaml")));
        assert!(
            results[1]
                .as_ref()
                .unwrap_err()
                .to_string()
                .ends_with("holds no reports (.yaml, .yml, .json or .toml files)")
        );
        assert_eq!(results[2], Ok(PathBuf::from("-")));
        assert_eq!(results[3], Ok(PathBuf::from("a.yaml")));
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_link_loops_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("sub")).unwrap();
        fs::write(root.join("sub/a.yaml"), "users: 1\n").unwrap();
        std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("sub/a.yaml"), root.join("link.yaml")).unwrap();
        let found: Vec<PathBuf> = expand(&[root.to_path_buf()], &GlobSet::empty())
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(found, [root.join("link.yaml"), root.join("sub/a.yaml")]);
    }
}
