//! Issue 26 items 4, 6 and 7 on every sample found by listing `samples/`
//! (`common::samples_with_captures` asserts a minimum count): the report's first
//! screen (50 rows of a 160-column terminal) holds the story and every
//! merge chain; damage and introductions are in time order; failures are
//! told with times (silent since → FAIL → elections → promotion, how long
//! the slots went unserved) and the Nodes section shows the failed master
//! and the promoted replica; a TLS burst counts connections (SYNs), not
//! stream directions.

mod common;

use common::{expected_exit, is_encrypted_sample, read_all, samples_dir, samples_with_captures};
use std::path::PathBuf;
use std::process::Command;

const ROWS: usize = 50;
const COLUMNS: usize = 160;

fn report(name: &str, files: &[PathBuf]) -> String {
    let dir = samples_dir().join(name);
    let out = Command::new(env!("CARGO_BIN_EXE_meetgraph")).arg("analyze").args(files).output().unwrap();
    assert_eq!(out.status.code(), Some(expected_exit(&dir)), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Terminal rows a line takes.
fn rows(line: &str) -> usize {
    line.chars().count().div_ceil(COLUMNS).max(1)
}

/// The lines of one `== Heading` section (up to the next blank line).
fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    text.lines().skip_while(|l| !l.starts_with(heading)).skip(1).take_while(|l| !l.is_empty()).collect()
}

/// The UTC timestamps that start the lines.
fn times(lines: &[&str]) -> Vec<String> {
    lines.iter().filter_map(|l| l.split_whitespace().next()).filter(|t| t.ends_with('Z')).map(str::to_string).collect()
}

#[test]
fn the_first_screen_holds_the_story_and_every_merge_chain() {
    let mut merges = 0;
    for (name, files) in samples_with_captures() {
        let text = report(&name, &files);
        let lines: Vec<&str> = text.lines().collect();
        // The last line that must be on the first screen: the end of the
        // story, or of the last merge chain.
        let story_end = lines
            .iter()
            .position(|l| l.starts_with("== What happened"))
            .map(|i| i + lines.iter().skip(i).position(|l| l.is_empty()).unwrap_or(0));
        let chain_end = lines.iter().rposition(|l| {
            l.starts_with("  ") && l.trim_start().split('.').next().is_some_and(|n| n.parse::<u32>().is_ok())
        });
        merges += lines.iter().filter(|l| l.starts_with("== Merge at")).count();
        let last = [story_end, chain_end].into_iter().flatten().max().unwrap();
        let used: usize = lines.iter().take(last + 1).map(|l| rows(l)).sum();
        assert!(used <= ROWS, "{name}: the story and the merge chain take {used} rows of {COLUMNS} columns (> {ROWS})");
    }
    assert!(merges >= 20, "only {merges} merges checked");
}

#[test]
fn damage_and_introductions_are_in_time_order() {
    let mut checked = 0;
    for (name, files) in samples_with_captures() {
        let text = report(&name, &files);
        for heading in ["== Damage", "== Introductions"] {
            let t = times(&section(&text, heading));
            let mut sorted = t.clone();
            sorted.sort();
            assert_eq!(t, sorted, "{name}: {heading} not in time order");
            checked += t.len();
        }
    }
    assert!(checked > 500, "only {checked} lines checked");
}

#[test]
fn failures_are_told_with_times_and_the_nodes_show_the_change() {
    let mut told = 0;
    for (name, files) in samples_with_captures() {
        let truth = std::fs::read_to_string(samples_dir().join(&name).join("truth.json")).unwrap_or_default();
        let Some(at) = truth.find("\"failover\": {") else { continue };
        let port = |key: &str| {
            let rest = &truth[at..];
            let i = rest.find(key).unwrap() + key.len();
            rest[i..].split('"').nth(1).unwrap().to_string()
        };
        let (failed, promoted) = (port("\"failed\":"), port("\"promoted\":"));
        let text = report(&name, &files);
        let story = section(&text, "== What happened");
        let fail = story
            .iter()
            .find(|l| l.starts_with("FAIL:") && l.contains(&format!(":{failed}@")))
            .unwrap_or_else(|| panic!("{name}: no failure story for {failed}:\n{}", story.join("\n")));
        for part in ["silent since ", " → FAIL ", "FAILOVER_AUTH_REQUEST", " promoted ", " unserved "] {
            assert!(fail.contains(part), "{name}: `{part}` missing from {fail}");
        }
        assert!(fail.contains(&format!(":{promoted}@")), "{name}: {promoted} not named in {fail}");
        // The times run forward.
        let clocks: Vec<&str> = fail
            .split_whitespace()
            .filter(|w| w.len() == 12 && w.as_bytes().get(2) == Some(&b':') && w.as_bytes().get(8) == Some(&b'.'))
            .collect();
        let mut sorted = clocks.clone();
        sorted.sort();
        assert!(clocks.len() >= 4 && clocks == sorted, "{name}: times out of order in {fail}");
        let nodes = section(&text, "== Nodes");
        let line = |p: &str| *nodes.iter().find(|l| !l.starts_with(' ') && l.contains(&format!(":{p}@"))).unwrap();
        assert!(line(&failed).contains("master→failed") && line(&failed).contains("→- "), "{name}: {}", line(&failed));
        assert!(line(&promoted).contains("replica→master"), "{name}: {}", line(&promoted));
        // A replica serves no slots.
        for l in nodes.iter().filter(|l| !l.starts_with(' ') && l.contains("→replica slots")) {
            assert!(l.contains("→- epoch"), "{name}: a replica with slots: {l}");
        }
        told += 1;
    }
    assert!(told >= 3, "only {told} failover samples");
}

/// Connections opened to `ports` (SYN without ACK), read from the packets.
fn syns(files: &[PathBuf], ports: &[u16]) -> usize {
    let mut n = 0;
    for f in files {
        for p in read_all(f) {
            let ip = match p.link {
                1 => p.data.get(14..),
                113 => p.data.get(16..),
                276 => p.data.get(20..),
                101 | 228 => p.data.get(0..),
                other => panic!("link type {other}"),
            };
            let Some(ip) = ip.filter(|ip| ip.first().is_some_and(|b| b >> 4 == 4)) else { continue };
            let Some(tcp) = ip.get(usize::from(ip[0] & 0xf) * 4..).filter(|_| ip.get(9) == Some(&6)) else { continue };
            let (Some(d), Some(fl)) = (tcp.get(2..4), tcp.get(13)) else { continue };
            if ports.contains(&u16::from_be_bytes([d[0], d[1]])) && fl & 0x12 == 0x02 {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn tls_coverage_counts_connections() {
    let mut checked = 0;
    for (name, files) in samples_with_captures() {
        if !is_encrypted_sample(&samples_dir().join(&name)) {
            continue;
        }
        let mut out = Command::new(env!("CARGO_BIN_EXE_meetgraph"));
        let out = out.args(["analyze", "--json", "-"]).args(&files).output().unwrap();
        let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let flows = a["coverage"]["encrypted"].as_array().unwrap();
        for f in flows.iter().filter(|f| !f["likely_bus"].is_null()) {
            let server = f["server"].as_str().unwrap();
            let port: u16 = server.rsplit(':').next().unwrap().parse().unwrap();
            assert_eq!(f["connections"].as_u64().unwrap() as usize, syns(&files, &[port]), "{name}: {server}");
            checked += 1;
        }
        let text = report(&name, &files);
        let burst = text.lines().find(|l| l.starts_with("ENCRYPTED:") && l.contains("new bus connection(s)")).unwrap();
        assert!(burst.contains("the first ") && burst.contains(" → "), "{name}: {burst}");
        for b in a["coverage"]["bursts"].as_array().unwrap() {
            assert!(b["connections"].as_u64().unwrap() >= 4 && b["first"].as_str().is_some_and(|f| f.contains(" → ")));
        }
    }
    assert!(checked >= 6, "only {checked} bus ports checked");
}
