//! The binary's side: the command line made into one validated
//! [`Config`], then one dispatch to the command that runs it. Commands
//! return `Result<Status, Error>`; `main` prints an error once and maps it
//! to the documented exit status (README "Exit status"): 0 every input
//! read; 1 an input was damaged (truncated or corrupt; what was readable
//! before the damage was still processed); 2 an input could not be opened
//! or is not a capture, a flag is invalid, an output cannot be written
//! (the metrics endpoint included), or privileges cannot be dropped; 3
//! (`analyze`, `watch`) the verdict rests on incomplete evidence (an
//! encrypted bus, the snaplen, no bus at all). Warnings that do not stop a
//! command go through [`warn`].
//!
//! | file | holds |
//! |---|---|
//! | `config.rs` | [`Config`]: every flag checked and turned into the layers' settings |
//! | `inputs.rs` | what a command reads, opened: copies read once, vantages, live capture, names; damage told |
//! | `live.rs` | live capture: `-i`, Ctrl-C and SIGTERM, `-w`, `-D`; libpcap's drop counter, interface outages said |
//! | `privileges.rs` | `-Z`: the user, group, and capabilities kept for a live capture |
//! | `progress.rs` | the progress bar, fed by the run's byte counter |
//! | `metrics.rs` | the Prometheus endpoint of `watch --metrics` |
//! | `emit.rs` | where an output goes: a file, or standard output for `-` |
//! | `messages.rs` | [`warn`] |
//! | `annotate.rs` | `analyze --annotate`: the files read again, every packet written to one commented pcapng |
//! | `cmd/` | one file per subcommand |

mod annotate;
mod cmd;
mod config;
mod emit;
mod inputs;
mod live;
mod messages;
mod metrics;
mod privileges;
mod progress;

pub use config::{Config, EXIT_USAGE};
pub use messages::warn;

use crate::cli::Cli;
use meetgraph::error::{Error, Status};

/// Checks the flags, then runs the command.
pub fn run(cli: Cli) -> Result<Status, Error> {
    let r = match Config::from_cli(cli)? {
        Config::ListInterfaces => live::list_interfaces(),
        Config::Completions(shell) => cmd::docs::completions(shell),
        Config::Man(command) => cmd::docs::man(command.as_deref()),
        Config::Dissector => cmd::docs::dissector(),
        Config::Dump(input, dump) => cmd::dump::run(&input, &dump),
        Config::Analyze(input, analyze) => cmd::analyze::run(&input, &analyze),
        Config::Nodes(input, nodes) => cmd::nodes::run(&input, &nodes),
        Config::Watch(input, watch) => cmd::watch::run(&input, &watch),
        Config::Events(input) => cmd::events::run(&input),
        Config::Audit(input, audit) => cmd::audit::run(&input, &audit),
    };
    match r {
        // `meetgraph … | head`: the reader left; nothing failed.
        Err(e) if e.is_broken_pipe() => Ok(Status::Ok),
        r => r,
    }
}
