use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// A fleet run allocates and frees a few kilobytes per report on every
/// core; mimalloc keeps that memory in its thread caches where the system
/// allocator returns it to the kernel and faults it back in.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = scalectl::cli::Cli::parse();
    let color = scalectl::app::use_color(cli.color, std::io::stderr().is_terminal());
    match scalectl::app::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(error) => {
            let message = format!("{:#}", anyhow::Error::from(error));
            eprintln!(
                "{}: {}",
                scalectl::app::error_prefix(color),
                scalectl::escape::text(&message)
            );
            ExitCode::from(scalectl::gate::Outcome::InputError.code())
        }
    }
}
