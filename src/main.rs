//! The `meetgraph` binary: parse flags, run, print an error once, exit with
//! the documented status.

mod app;
mod cli;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc (vendored C, no system library; transparent huge pages off, so
/// a small heap stays small): events are allocated on the reading threads
/// and freed on the analysing one, which glibc's malloc serialises on the
/// reader's arena lock (twice the CPU of the one-thread run; with mimalloc
/// the two-thread run is the faster one). Its version 2: freed pages go
/// back to the system after 10 ms (version 3 keeps them a second: a
/// 100-node capture peaked at 65 MB with it, 62 MB with version 2).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status after a bug (a panic): distinct from every documented one.
const EXIT_BUG: i32 = 70;

fn main() -> ExitCode {
    // The last line of defence, not the fix: one line instead of a panic
    // message and backtrace, and a status scripts can tell apart.
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("meetgraph: internal error{at} (a bug: please report it with the capture)");
        std::process::exit(EXIT_BUG);
    }));
    // Tests reach the hook through this (tests/analyze_flags.rs): a panic
    // on a thread of its own, as a reading thread's would be.
    if std::env::var_os("MEETGRAPH_TEST_PANIC").is_some() {
        let _ = std::thread::spawn(|| panic!("MEETGRAPH_TEST_PANIC")).join();
    }
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
