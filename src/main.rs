use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

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
