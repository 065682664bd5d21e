//! The floor a fleet run is measured against: the same directory walk and
//! the same threads as `scalectl assess DIR`, reading every report and
//! nothing else (no parsing, no assessment, no output).
//!
//!     cargo run --release --example walk-read -- DIR...

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

fn main() {
    let dirs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let none = scalectl::fleet::globs(&[]).unwrap_or_default();
    let inputs = scalectl::fleet::expand(&dirs, &none);
    let bytes: usize = scalectl::parallel::map_ordered(&inputs, 64, |input| {
        input
            .as_ref()
            .ok()
            .and_then(|path| read(path).ok())
            .map_or(0, |bytes| bytes.len())
    })
    .into_iter()
    .sum();
    println!("{} files, {bytes} bytes", inputs.len());
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
