use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = scalectl::cli::Cli::parse();
    match scalectl::app::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(error) => {
            let message = format!("{:#}", anyhow::Error::from(error));
            eprintln!("error: {}", scalectl::escape::text(&message));
            ExitCode::from(scalectl::gate::Outcome::InputError.code())
        }
    }
}
