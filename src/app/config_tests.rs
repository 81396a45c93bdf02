//! `Config::from_cli`'s checks (the unit tests of `config.rs`).

use super::*;
use clap::Parser;

fn config(args: &[&str]) -> Result<Config, Error> {
    Config::from_cli(Cli::try_parse_from(std::iter::once("meetgraph").chain(args.iter().copied())).unwrap())
}

fn usage(args: &[&str]) -> String {
    match config(args) {
        Err(Error::Usage(m)) => m,
        Err(e) => panic!("{args:?}: not a usage error: {e}"),
        Ok(_) => panic!("{args:?}: accepted"),
    }
}

/// Each flag is checked before anything is opened, with a message
/// naming it.
#[test]
fn bad_flags_are_usage_errors_naming_the_flag() {
    assert_eq!(usage(&["dump", "-", "--ports", "17000-16000"]), "bad port range \"17000-16000\"");
    assert_eq!(usage(&["dump", "-", "--ports", ","]), "no ports in \",\"");
    assert_eq!(usage(&["dump", "-", "--max-message", "8"]), "--max-message must be at least 16");
    assert!(usage(&["analyze", "-", "--threads", "0"]).starts_with("--threads 0"));
    assert!(usage(&["watch", "-", "--interval", "0"]).starts_with("--interval 0"));
    assert!(usage(&["watch", "-", "--duration=-1"]).starts_with("--duration -1"));
    assert!(usage(&["nodes", "-", "--as", "x", "--server-version", "four"]).starts_with("--server-version"));
    assert!(usage(&["analyze", "-", "--since", "yesterday"]).starts_with("--since \"yesterday\""));
    assert!(usage(&["analyze", "--vantage", "=x.pcap"]).starts_with("--vantage"));
    assert!(usage(&["analyze", "--json", "-", "--dot", "-", "-"]).contains("--json and --dot"));
    assert!(usage(&["events"]).starts_with("no capture file given"));
    assert!(usage(&["dump", "-", "-w", "x.pcapng"]).starts_with("-w saves a live capture"));
    // A shell glob after --json: the first capture is never overwritten.
    let dc = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/redis-3.0.7-docker-bridge/dc.pcap.gz");
    let h1 = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/redis-3.0.7-docker-bridge/h1.pcap.gz");
    for flag in ["--json", "--html", "--dot", "--mermaid"] {
        assert!(usage(&["analyze", flag, dc, h1]).contains("that file is a packet capture"), "{flag}");
    }
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    assert!(config(&["analyze", "--json", readme, h1]).is_ok(), "an ordinary file may be overwritten");
}

/// tcpdump's habits: `-r` files first, a trailing expression is the
/// filter, `-D` wins over the rest.
#[test]
fn read_files_and_a_trailing_filter_like_tcpdump() {
    let filtered = config(&["dump", "-q", "-", "-r", "-", "tcp", "port", "1"]);
    if cfg!(feature = "live") {
        let Ok(Config::Dump(input, dump)) = filtered else { panic!("not a dump") };
        assert_eq!(input.sources.len(), 2);
        assert_eq!(input.select.filter.as_deref(), Some("tcp port 1"));
        assert!(dump.quiet && !dump.anomalies);
    } else {
        // Without libpcap a filter on files says which build it needs.
        assert!(matches!(filtered, Err(Error::Filter(meetgraph::capture::FilterError::NeedsLibpcap))));
    }
    assert!(matches!(config(&["analyze", "-D", "--threads", "0"]), Ok(Config::ListInterfaces)));
    let Ok(Config::Analyze(input, _)) = config(&["analyze", "-", "--threads", "1", "--max-events", "0"]) else {
        panic!("not an analysis")
    };
    assert_eq!((input.threads, input.bounds.max_events), (Threads::One, 2));
}
