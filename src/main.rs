//! The `meetgraph` binary: parse flags, run, print an error once, exit with
//! the documented status.

mod app;
mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { app::EXIT_USAGE } else { 0 };
            // Help and version go to stdout; a closed pipe there is not an
            // error worth reporting.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match app::run(cli) {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => {
            app::warn(&e);
            ExitCode::from(e.exit_code())
        }
    }
}
