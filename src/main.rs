use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

/// A fleet run allocates and frees a few kilobytes per report on every
/// core; mimalloc keeps that memory in its thread caches where the system
/// allocator returns it to the kernel and faults it back in.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// On SIGINT, SIGTERM or SIGHUP: remove the temporary files of outputs
/// being written, then end as the signal would (128 + its number).
#[cfg(unix)]
fn clean_up_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            scalectl::output::remove_temporary_files();
            std::process::exit(128 + signal);
        }
    });
}

fn main() -> ExitCode {
    #[cfg(unix)]
    clean_up_on_signals();
    let cli = scalectl::cli::Cli::parse();
    let color = scalectl::app::use_color(cli.color, std::io::stderr().is_terminal());
    match scalectl::app::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(error) => {
            let message = format!("{:#}", anyhow::Error::from(error));
            // A closed standard error is no reason to panic: the exit code
            // still says what happened.
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}: {}",
                scalectl::app::error_prefix(color),
                scalectl::escape::text(&message)
            );
            ExitCode::from(scalectl::gate::Outcome::InputError.code())
        }
    }
}
