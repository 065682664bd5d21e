//! Turning command-line arguments into the list of reports to assess:
//! files as given, directories searched recursively in a stable order.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{FileError, Problem};
use crate::escape::path_name;
use crate::source::{Format, io_reason};

/// Expands files and directories into report paths. Files keep their
/// argument order; a directory contributes its reports (`.yaml`, `.yml`,
/// `.json`, `.toml`) sorted by path, searched recursively, skipping hidden
/// entries and never following a symbolic link to a directory (so a link
/// loop cannot trap the search). A directory that cannot be read, or holds
/// no report, is an error in its place.
pub fn expand(args: &[PathBuf]) -> Vec<Result<PathBuf, FileError>> {
    let mut inputs = Vec::with_capacity(args.len());
    for arg in args {
        if arg.as_os_str() != "-" && arg.is_dir() {
            let mut found = Vec::new();
            let mut errors = Vec::new();
            walk(arg, &mut found, &mut errors);
            found.sort();
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

fn walk(dir: &Path, found: &mut Vec<PathBuf>, errors: &mut Vec<FileError>) {
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
    let mut subdirs = Vec::new();
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
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            subdirs.push(path);
        } else if Format::from_path(&path).is_some() {
            // Regular files, and symbolic links to files; links to
            // directories are not followed.
            if kind.is_file() || fs::metadata(&path).is_ok_and(|m| m.is_file()) || !path.exists() {
                found.push(path);
            }
        }
    }
    for subdir in subdirs {
        walk(&subdir, found, errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let found: Vec<String> = expand(&[root.to_path_buf()])
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
        let results = expand(&[
            PathBuf::from("z.yaml"),
            empty.clone(),
            PathBuf::from("-"),
            PathBuf::from("a.yaml"),
        ]);
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
        let found: Vec<PathBuf> = expand(&[root.to_path_buf()])
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(found, [root.join("link.yaml"), root.join("sub/a.yaml")]);
    }
}
