//! The floor a fleet run is measured against: the same directory walk and
//! the same threads as `scalectl assess DIR`, reading every report and
//! nothing else (no parsing, no assessment, no output).
//!
//!     cargo run --release --example walk-read -- DIR...

use std::path::PathBuf;

fn main() {
    let dirs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let none = scalectl::fleet::globs(&[]).unwrap_or_default();
    let inputs = scalectl::fleet::expand(&dirs, &none);
    let bytes: usize = scalectl::parallel::map_ordered(&inputs, 64, |input| {
        input
            .as_ref()
            .ok()
            .and_then(|path| std::fs::read(path).ok())
            .map_or(0, |bytes| bytes.len())
    })
    .into_iter()
    .sum();
    println!("{} files, {bytes} bytes", inputs.len());
}
