//! `completions SHELL` and `man` (generated from the flags' definitions)
//! and `dissector` (the Wireshark Lua dissector compiled in).

use crate::app::emit::write_stdout;
use crate::cli::Cli;
use clap::CommandFactory;
use meetgraph::error::{Error, Status};

/// Shell completions on standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<Status, Error> {
    write_stdout(|w| {
        clap_complete::generate(shell, &mut Cli::command(), "meetgraph", w);
        Ok(())
    })?;
    Ok(Status::Ok)
}

/// The manual page (roff) on standard output: meetgraph(1), or one
/// command's page.
pub fn man(command: Option<&str>) -> Result<Status, Error> {
    write_stdout(|w| super::man::render(w, command))?;
    Ok(Status::Ok)
}

/// The Wireshark Lua dissector (`wireshark/rcmb.lua`) on standard output.
pub fn dissector() -> Result<Status, Error> {
    write_stdout(|w| w.write_all(meetgraph::output::dissector::LUA.as_bytes()))?;
    Ok(Status::Ok)
}
