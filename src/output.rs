//! Writing output files without losing anything: a regular file is replaced
//! atomically (a temporary file in the same directory, renamed into place),
//! so that an interrupted run never leaves half a file; a symbolic link has
//! its target replaced, not the link; a device, FIFO or socket is written
//! to, never replaced; and a file that is one of the run's inputs is refused
//! before anything is written.
//!
//! The new file is not flushed to disk before the rename (no `fsync`): what
//! the rename guards against is a run that stops half-way, and every file
//! scalectl writes is made again by running it again. Syncing cost a
//! 10,000-report JSON run about a tenth of its time.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::escape::path_name;
use crate::source::io_reason;

/// Writes `text` to `path`. Without `overwrite`, an existing file is an
/// error and is left untouched.
pub fn write_atomic(path: &Path, text: &str, overwrite: bool) -> Result<(), Error> {
    write_output(path, overwrite, &[], |out| out.write_all(text.as_bytes()))
}

/// Writes what `write` produces to `path`, through a buffer. `inputs` are the
/// files the run reads: none of them may be the output.
pub fn write_output(
    path: &Path,
    overwrite: bool,
    inputs: &[&Path],
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    let fail = |message: String| Error::Output {
        path: path_name(path),
        message,
    };
    let cannot_write = |e: &std::io::Error| fail(format!("cannot write: {}", io_reason(e)));
    match fs::metadata(path) {
        Ok(metadata) => {
            if !overwrite {
                return Err(fail("already exists; use --force to overwrite it".into()));
            }
            if let Some(input) = inputs.iter().find(|input| same_file(&metadata, input)) {
                return Err(fail(format!(
                    "is also an input of this run ({}); refusing to overwrite it",
                    path_name(input)
                )));
            }
            if !metadata.is_file() {
                if metadata.is_dir() {
                    return Err(fail("is a directory".into()));
                }
                // A device, FIFO or socket: write to it as it is.
                let file = fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| cannot_write(&e))?;
                let mut buffered = std::io::BufWriter::new(file);
                return write(&mut buffered)
                    .and_then(|()| buffered.flush())
                    .map_err(|e| cannot_write(&e));
            }
            let target = fs::canonicalize(path).map_err(|e| cannot_write(&e))?;
            replace(&target, Some(metadata.permissions()), true, write).map_err(fail)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            replace(&link_target(path), None, overwrite, write).map_err(fail)
        }
        Err(e) => Err(cannot_write(&e)),
    }
}

/// Where a new file at `path` goes: through a dangling symbolic link to the
/// file it names, else `path` itself.
fn link_target(path: &Path) -> PathBuf {
    let mut target = path.to_path_buf();
    for _ in 0..32 {
        match fs::read_link(&target) {
            Ok(next) => {
                target = match target.parent() {
                    Some(parent) => parent.join(next),
                    None => next,
                };
            }
            Err(_) => break,
        }
    }
    target
}

/// Atomically replaces (or creates) the regular file `target`: a new file
/// gets the usual mode (0666 less the umask), a replaced one keeps its own.
fn replace(
    target: &Path,
    permissions: Option<fs::Permissions>,
    overwrite: bool,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".scalectl-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.tempfile_in(dir).map_err(|e| {
        format!(
            "cannot create a file in {}: {}",
            path_name(dir),
            io_reason(&e)
        )
    })?;
    let cannot_write = |e: &std::io::Error| format!("cannot write: {}", io_reason(e));
    {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, file.as_file_mut());
        write(&mut buffered)
            .and_then(|()| buffered.flush())
            .map_err(|e| cannot_write(&e))?;
    }
    if let Some(permissions) = permissions {
        file.as_file()
            .set_permissions(permissions)
            .map_err(|e| cannot_write(&e))?;
    }
    if overwrite {
        file.persist(target).map_err(|e| cannot_write(&e.error))?;
    } else {
        file.persist_noclobber(target).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                "already exists; use --force to overwrite it".to_owned()
            } else {
                cannot_write(&e.error)
            }
        })?;
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(metadata: &fs::Metadata, other: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(other).is_ok_and(|o| o.dev() == metadata.dev() && o.ino() == metadata.ino())
}

#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, _: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_refuses_to_clobber_and_overwrites_when_forced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.yaml");
        write_atomic(&path, "one\n", false).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "one\n");
        let error = write_atomic(&path, "two\n", false).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("already exists; use --force to overwrite it")
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "one\n");
        write_atomic(&path, "three\n", true).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "three\n");
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = write_atomic(&dir.path().join("no/such/dir/x"), "x", false).unwrap_err();
        assert!(
            error.to_string().contains("cannot create a file in"),
            "{error}"
        );
    }

    #[test]
    fn an_input_of_the_run_is_never_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("f.yaml");
        fs::write(&input, "users: 1\n").unwrap();
        let alias = dir.path().join(".").join("f.yaml");
        let error = write_output(&alias, true, &[&input], |out| out.write_all(b"x")).unwrap_err();
        assert!(error.to_string().contains("is also an input"), "{error}");
        assert_eq!(fs::read_to_string(&input).unwrap(), "users: 1\n");
    }

    #[cfg(unix)]
    #[test]
    fn links_devices_and_modes_are_respected() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let dir = tempfile::tempdir().unwrap();
        // A symbolic link: its target is replaced, the link stays a link.
        let target = dir.path().join("target.json");
        fs::write(&target, "old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("link.json");
        symlink(&target, &link).unwrap();
        write_atomic(&link, "new", true).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o644,
            "a replaced file keeps its mode"
        );
        // A dangling link: the file it names is created.
        let dangling = dir.path().join("dangling.json");
        symlink(dir.path().join("made.json"), &dangling).unwrap();
        write_atomic(&dangling, "made", false).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("made.json")).unwrap(),
            "made"
        );
        // A new file is not 0600: it gets 0666 less the umask (at least readable by its owner and group).
        let fresh = dir.path().join("fresh.txt");
        write_atomic(&fresh, "x", false).unwrap();
        let mode = fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode, 0o600, "mode {mode:o}");
        // A device is written to, never replaced.
        write_atomic(Path::new("/dev/null"), "discarded", true).unwrap();
        assert!(!fs::metadata("/dev/null").unwrap().is_file());
    }
}
