//! The floor a fleet run is measured against: the same directory walk and
//! the same threads as `scalectl assess DIR`, reading every report and
//! nothing else (no parsing, no assessment, no output).
//!
//!     cargo run --release --example walk-read -- DIR...
//!
//! With `--write BYTES OUT`, it also writes BYTES bytes to OUT, a share
//! after each report in the reports' order, through the same 1 MiB buffer
//! and atomic rename as scalectl: the floor of a format whose output is
//! that large (JSON's is about 5 KB a report).
//!
//!     cargo run --release --example walk-read -- --write 51551392 out.bin DIR...

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

fn main() {
    let mut args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let write = if args.first().is_some_and(|a| a.as_os_str() == "--write") && args.len() >= 3 {
        let bytes: usize = args[1]
            .to_str()
            .and_then(|b| b.parse().ok())
            .expect("--write BYTES OUT: BYTES is a whole number");
        let out = args[2].clone();
        args.drain(..3);
        Some((bytes, out))
    } else {
        None
    };
    let none = scalectl::fleet::globs(&[]).unwrap_or_default();
    let inputs = scalectl::fleet::expand(&args, &none, &mut scalectl::fleet::Skipped::default());
    let read_one = |input: &Result<PathBuf, _>| {
        input
            .as_ref()
            .ok()
            .and_then(|path| read(path).ok())
            .map_or(0, |bytes| bytes.len())
    };
    let Some((total, out)) = write else {
        let bytes: usize = scalectl::parallel::map_ordered(&inputs, 64, read_one)
            .into_iter()
            .sum();
        println!("{} files, {bytes} bytes", inputs.len());
        return;
    };
    let share = total / inputs.len().max(1);
    let last = total - share * inputs.len().saturating_sub(1);
    let count = inputs.len();
    let fill = vec![b' '; share.max(last).min(1 << 16)];
    let (mut done, mut read_bytes) = (0, 0);
    scalectl::output::write_output(&out, true, &[], |file| {
        scalectl::parallel::for_each_ordered(&inputs, 1024, read_one, |read| {
            read_bytes += read;
            done += 1;
            let mut size = if done == count { last } else { share };
            while size > 0 {
                let part = size.min(fill.len());
                file.write_all(&fill[..part])?;
                size -= part;
            }
            Ok(())
        })
    })
    .expect("cannot write the output");
    println!("{count} files, {read_bytes} bytes, {total} bytes written");
}

/// Reads a file with the system calls scalectl makes: open, fstat, one read
/// of one byte more than the size (more only if the file is not done).
fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let size = usize::try_from(file.metadata()?.len()).unwrap_or(usize::MAX);
    let mut bytes = vec![0; size + 1];
    let read = file.read(&mut bytes)?;
    bytes.truncate(read);
    if read != size {
        file.read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}
