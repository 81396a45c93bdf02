//! `watch --interval` and colour (README "meetgraph watch"), on a replayed
//! capture, so what is checked does not depend on timing: capture time
//! drives the looks.
//!
//! - `--interval`: a merge is told at the first look that shows it, other
//!   events at the second. The loopback merge's joins come 3 s before its
//!   merge: with looks every 0.25 s they are told first; with one look
//!   every 5 s, the first look (5 s in) sees joins and merge together and
//!   tells the merge alone, the joins at the next.
//! - Colour: incidents in red and warnings in yellow on a terminal (a pty
//!   from `script`), none with `NO_COLOR` set (non-empty) or when piped;
//!   the report of `analyze` the same way.

mod common;

use std::process::Command;

fn sample() -> std::path::PathBuf {
    common::samples_dir().join("redis-7.0-loopback-merge/lo.pcap.gz")
}

/// Kinds of the events `watch` tells, in the order told.
fn told(interval: Option<&str>) -> Vec<String> {
    let mut c = Command::new(env!("CARGO_BIN_EXE_meetgraph"));
    c.args(["watch", "--json-events", "-"]).arg(sample());
    if let Some(i) = interval {
        c.args(["--interval", i]);
    }
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn interval_sets_when_events_are_told() {
    let default = told(None);
    let quarter = told(Some("0.25"));
    let five = told(Some("5"));
    assert_eq!(default, quarter, "0.25 s is the default");
    let pos = |v: &[String], k: &str| v.iter().position(|x| x == k).unwrap_or_else(|| panic!("no {k} in {v:?}"));
    let joins = default.iter().filter(|k| *k == "join").count();
    assert_eq!(joins, 4, "{default:?}");
    assert!(pos(&default, "merge") > pos(&default, "join"), "every 0.25 s: the joins first: {default:?}");
    assert_eq!(five[0], "merge", "every 5 s: the merge at the first look, alone: {five:?}");
    // The same events either way.
    let (mut a, mut b) = (default.clone(), five.clone());
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let bad = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .args(["watch", "--interval", "0"])
        .arg(sample())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "a zero interval is refused: {}", String::from_utf8_lossy(&bad.stderr));
}

/// Standard output of `args` run on a pty (`script`), with `NO_COLOR` as
/// given.
fn on_a_terminal(args: &str, no_color: Option<&str>) -> String {
    let bin = env!("CARGO_BIN_EXE_meetgraph");
    let mut c = Command::new("script");
    c.args(["-qec", &format!("{bin} {args} 2>/dev/null"), "/dev/null"]);
    c.env_remove("NO_COLOR");
    if let Some(v) = no_color {
        c.env("NO_COLOR", v);
    }
    let o = c.output().expect("script (util-linux) runs a command on a pty");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[33m";

#[test]
fn colour_on_a_terminal_unless_no_color_or_piped() {
    let args = format!("watch --no-progress {}", sample().display());
    let tty = on_a_terminal(&args, None);
    // The severity and kind of each line, coloured.
    assert!(tty.contains(&format!("Z  {RED}INCIDENT  merge\x1b[0m  ")), "incidents in red: {tty:?}");
    assert!(tty.contains(&format!("Z  {YELLOW}warning   slot_conflict\x1b[0m  ")), "warnings in yellow");
    // An empty NO_COLOR does not count (no-color.org).
    assert!(on_a_terminal(&args, Some("")).contains(RED));
    let plain = on_a_terminal(&args, Some("1"));
    assert!(plain.contains("INCIDENT  merge") && !plain.contains('\x1b'), "NO_COLOR: {plain:?}");
    let piped = Command::new(env!("CARGO_BIN_EXE_meetgraph")).args(["watch"]).arg(sample()).output().unwrap();
    let piped = String::from_utf8(piped.stdout).unwrap();
    assert!(piped.contains("INCIDENT  merge") && !piped.contains('\x1b'));
    // The same text without the escapes.
    assert_eq!(
        tty.replace("\r\n", "\n").replace(RED, "").replace(YELLOW, "").replace("\x1b[2m", "").replace("\x1b[0m", ""),
        piped
    );
    // analyze's report: headings and verdicts marked on a terminal only.
    let report = format!("analyze --no-progress {}", sample().display());
    assert!(on_a_terminal(&report, None).contains("\x1b["), "the report in colour on a terminal");
    assert!(!on_a_terminal(&report, Some("1")).contains('\x1b'));
}
