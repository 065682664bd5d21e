//! Writing output files without losing anything: a regular file is replaced
//! atomically (a temporary file in the same directory, renamed into place),
//! so that an interrupted run never leaves half a file; a symbolic link has
//! its target replaced, not the link, but only when that target is in the
//! link's own directory tree or the working directory's (a link committed to
//! a repository cannot aim scalectl's output at a file elsewhere); a replaced
//! file keeps its mode less any execute bit; a device, FIFO or socket is
//! written to, never replaced; and a file that is one of the run's inputs is
//! refused before anything is written.
//!
//! The new file is not flushed to disk before the rename (no `fsync`): what
//! the rename guards against is a run that stops half-way, and every file
//! scalectl writes is made again by running it again. Syncing cost a
//! 10,000-report JSON run about a tenth of its time.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::Error;
use crate::escape::path_name;
use crate::source::io_reason;

/// The temporary files being written, to remove when a signal ends the run
/// before they are renamed into place.
static TEMPORARY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every temporary file still being written: called when SIGINT,
/// SIGTERM or SIGHUP ends the run, so that none is left behind.
pub fn remove_temporary_files() {
    let paths = TEMPORARY
        .lock()
        .map(|mut paths| std::mem::take(&mut *paths))
        .unwrap_or_default();
    for path in paths {
        let _ = fs::remove_file(path);
    }
}

/// Keeps `path` in [`TEMPORARY`] while it lives.
struct Registered(PathBuf);

impl Registered {
    fn new(path: &Path) -> Self {
        if let Ok(mut paths) = TEMPORARY.lock() {
            paths.push(path.to_path_buf());
        }
        Self(path.to_path_buf())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut paths) = TEMPORARY.lock() {
            paths.retain(|p| *p != self.0);
        }
    }
}

/// What a renderer writes to. A regular file can also leave room for a part
/// known only at the end, such as a head that sums up what follows it.
pub trait Output: Write {
    /// Leaves the next `len` bytes for [`Output::fill_room`]: false when this
    /// output cannot, as a pipe cannot.
    fn leave_room(&mut self, len: u64) -> io::Result<bool> {
        let _ = len;
        Ok(false)
    }

    /// Writes `part` into the room [`Output::leave_room`] left, moving what
    /// was written after it when `part` is longer or shorter than the room.
    fn fill_room(&mut self, part: &[u8]) -> io::Result<()> {
        let _ = part;
        Err(io::Error::other("no room was left"))
    }
}

impl<W: Write> Output for io::BufWriter<W> {}
impl Output for Vec<u8> {}
impl Output for io::Sink {}

/// A regular file written through a buffer, from its start.
struct FileOutput<'f> {
    buffered: io::BufWriter<&'f mut fs::File>,
    /// The room left by [`Output::leave_room`]: where it starts, and its length.
    room: Option<(u64, u64)>,
}

impl Write for FileOutput<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffered.write(bytes)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buffered.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.buffered.flush()
    }
}

impl Output for FileOutput<'_> {
    fn leave_room(&mut self, len: u64) -> io::Result<bool> {
        if self.room.is_some() {
            return Ok(false);
        }
        self.buffered.flush()?;
        let file = self.buffered.get_mut();
        let at = file.stream_position()?;
        file.seek(SeekFrom::Start(at + len))?;
        self.room = Some((at, len));
        Ok(true)
    }

    fn fill_room(&mut self, part: &[u8]) -> io::Result<()> {
        let Some((at, len)) = self.room.take() else {
            return Err(io::Error::other("no room was left"));
        };
        self.buffered.flush()?;
        let file = self.buffered.get_mut();
        let mut end = file.stream_position()?;
        let fits = part.len() as u64;
        if fits != len {
            move_bytes(file, at + len..end, at + fits)?;
            end = end - len + fits;
            file.set_len(end)?;
        }
        file.seek(SeekFrom::Start(at))?;
        file.write_all(part)?;
        file.seek(SeekFrom::Start(end))?;
        Ok(())
    }
}

/// Moves the bytes of `file` in `from` to start at `to`, a MiB at a time,
/// in the order that never overwrites bytes still to be moved.
fn move_bytes(file: &mut fs::File, from: std::ops::Range<u64>, to: u64) -> io::Result<()> {
    const STEP: u64 = 1 << 20;
    let mut buffer = Vec::new();
    let total = from.end - from.start;
    let mut done = 0;
    while done < total {
        let step = STEP.min(total - done);
        // Forwards when moving down, backwards when moving up.
        let offset = if to < from.start {
            done
        } else {
            total - done - step
        };
        buffer.resize(usize::try_from(step).unwrap_or(usize::MAX), 0);
        file.seek(SeekFrom::Start(from.start + offset))?;
        file.read_exact(&mut buffer)?;
        file.seek(SeekFrom::Start(to + offset))?;
        file.write_all(&buffer)?;
        done += step;
    }
    Ok(())
}

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
    write: impl FnOnce(&mut dyn Output) -> std::io::Result<()>,
) -> Result<(), Error> {
    let fail = |message: String| Error::Output {
        path: path_name(path),
        message,
    };
    let cannot_write = |e: &std::io::Error| fail(format!("cannot write: {}", io_reason(e)));
    if let Some(target) = link_outside(path) {
        return Err(fail(format!(
            "is a symbolic link to {}, outside this directory tree; refusing to follow it (name the target itself to write there)",
            path_name(&target)
        )));
    }
    match fs::metadata(path) {
        Ok(metadata) => {
            if !overwrite {
                return Err(fail("already exists; use --force to overwrite it".into()));
            }
            // One look at each input, on every core for a fleet.
            let same =
                crate::parallel::map_ordered(inputs, 256, |input| same_file(&metadata, input));
            if let Some(input) = same.iter().position(|&same| same).map(|at| inputs[at]) {
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

/// Where the symbolic link at `path` leads, when it leads outside both the
/// directory tree that holds the link and the working directory's.
fn link_outside(path: &Path) -> Option<PathBuf> {
    let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return None;
    }
    let target = link_target(path);
    // The target's directory, resolved (the target itself may not exist yet).
    let resolved = fs::canonicalize(&target).ok().or_else(|| {
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty())?;
        Some(fs::canonicalize(parent).ok()?.join(target.file_name()?))
    });
    let Some(resolved) = resolved else {
        return Some(target);
    };
    let holder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let inside = [fs::canonicalize(holder).ok(), std::env::current_dir().ok()]
        .into_iter()
        .flatten()
        .any(|tree| resolved.starts_with(tree));
    (!inside).then_some(resolved)
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
    write: impl FnOnce(&mut dyn Output) -> std::io::Result<()>,
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
    let _registered = Registered::new(file.path());
    let cannot_write = |e: &std::io::Error| format!("cannot write: {}", io_reason(e));
    {
        let mut out = FileOutput {
            buffered: io::BufWriter::with_capacity(1 << 20, file.as_file_mut()),
            room: None,
        };
        write(&mut out)
            .and_then(|()| match out.room {
                Some(_) => Err(io::Error::other("the room left was never filled")),
                None => out.flush(),
            })
            .map_err(|e| cannot_write(&e))?;
    }
    if let Some(permissions) = permissions {
        // Output is text: a replaced file never keeps an execute bit.
        #[cfg(unix)]
        let permissions = {
            use std::os::unix::fs::PermissionsExt;
            fs::Permissions::from_mode(permissions.mode() & 0o7666 & !0o6000)
        };
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
    fn a_reserved_room_is_filled_whatever_the_length_of_what_fills_it() {
        let dir = tempfile::tempdir().unwrap();
        // More than one step of the move, and not a whole number of steps.
        let body: Vec<u8> = (0..2_500_000u32).map(|i| (i % 251) as u8).collect();
        for (room, part) in [(5, "12345"), (8, "abc"), (3, "abcdefgh"), (0, "x"), (4, "")] {
            let path = dir.path().join(format!("{room}-{}", part.len()));
            write_output(&path, true, &[], |out| {
                out.write_all(b"<")?;
                assert!(out.leave_room(room)?);
                assert!(!out.leave_room(1)?, "one room at a time");
                out.write_all(&body)?;
                out.fill_room(part.as_bytes())?;
                out.write_all(b">")
            })
            .unwrap();
            let written = fs::read(&path).unwrap();
            assert!(
                written == [b"<", part.as_bytes(), &body, b">"].concat(),
                "room {room}, part {part:?}"
            );
        }
        // A room never filled fails the write, and leaves nothing behind.
        let path = dir.path().join("unfilled");
        let error = write_output(&path, true, &[], |out| {
            out.leave_room(3)?;
            out.write_all(b"body")
        })
        .unwrap_err();
        assert!(error.to_string().contains("never filled"), "{error}");
        assert!(!path.exists());
        // Memory and pipes leave no room.
        assert!(!Output::leave_room(&mut Vec::new(), 1).unwrap());
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
        // An executable target loses its execute bits.
        let tool = dir.path().join("tool");
        fs::write(&tool, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
        write_atomic(&tool, "text", true).unwrap();
        assert_eq!(
            fs::metadata(&tool).unwrap().permissions().mode() & 0o777,
            0o644
        );
        // A link to somewhere outside its directory tree (and the working
        // directory's) is refused, and the target is untouched.
        let elsewhere = tempfile::tempdir().unwrap();
        let victim = elsewhere.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let sub = dir.path().join("repo");
        fs::create_dir(&sub).unwrap();
        let trap = sub.join("scalectl.sarif");
        symlink(&victim, &trap).unwrap();
        let error = write_atomic(&trap, "x", true).unwrap_err().to_string();
        assert!(error.contains("is a symbolic link to"), "{error}");
        assert!(error.contains("refusing to follow it"), "{error}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        // The same through a dangling link to a file that does not exist yet.
        let dangling_out = sub.join("new.sarif");
        symlink(elsewhere.path().join("made-elsewhere"), &dangling_out).unwrap();
        assert!(write_atomic(&dangling_out, "x", true).is_err());
        assert!(!elsewhere.path().join("made-elsewhere").exists());
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
