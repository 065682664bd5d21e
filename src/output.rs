//! Writing output files atomically: a temporary file in the same directory,
//! renamed into place, so that an interrupted run never leaves half a file.

use std::io::Write;
use std::path::Path;

use crate::error::Error;
use crate::escape::path_name;
use crate::source::io_reason;

/// Writes `text` to `path` atomically. Without `overwrite`, an existing file
/// is an error and is left untouched.
pub fn write_atomic(path: &Path, text: &str, overwrite: bool) -> Result<(), Error> {
    write_atomic_with(path, overwrite, |out| out.write_all(text.as_bytes()))
}

/// Writes what `write` produces to `path` atomically, through a buffer.
pub fn write_atomic_with(
    path: &Path,
    overwrite: bool,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    let fail = |message: String| Error::Output {
        path: path_name(path),
        message,
    };
    if !overwrite && path.exists() {
        return Err(fail("already exists; use --force to overwrite it".into()));
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
        fail(format!(
            "cannot create a file in {}: {}",
            dir.display(),
            io_reason(&e)
        ))
    })?;
    {
        let mut buffered = std::io::BufWriter::new(file.as_file_mut());
        write(&mut buffered)
            .and_then(|()| buffered.flush())
            .map_err(|e| fail(format!("cannot write: {}", io_reason(&e))))?;
    }
    file.as_file()
        .sync_all()
        .map_err(|e| fail(format!("cannot write: {}", io_reason(&e))))?;
    if overwrite {
        file.persist(path)
            .map_err(|e| fail(format!("cannot write: {}", io_reason(&e.error))))?;
    } else {
        file.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                fail("already exists; use --force to overwrite it".into())
            } else {
                fail(format!("cannot write: {}", io_reason(&e.error)))
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_refuses_to_clobber_and_overwrites_when_forced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.yaml");
        write_atomic(&path, "one\n", false).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n");
        let error = write_atomic(&path, "two\n", false).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("already exists; use --force to overwrite it")
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n");
        write_atomic(&path, "three\n", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
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
}
