//! Inputs given twice: an identical copy of a capture (under another name)
//! is read once, with a warning, and the analysis is the same as without it.

mod common;

use common::samples_dir;
use std::process::Command;

#[test]
fn an_identical_copy_of_a_capture_does_not_change_the_analysis() {
    let dir = samples_dir().join("redis-3.0.7-docker-bridge");
    let tmp = std::env::temp_dir().join(format!("meetgraph-inputs-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let copy = tmp.join("h1-again.pcap.gz");
    std::fs::copy(dir.join("h1.pcap.gz"), &copy).unwrap();
    let run = |extra: &[&std::path::Path]| {
        let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
            .current_dir(&dir)
            .args(["analyze", "dc.pcap.gz", "h1.pcap.gz", "h2.pcap.gz"])
            .args(extra)
            .args(["--json", "-"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (alone, quiet) = run(&[]);
    let (twice, warned) = run(&[&copy]);
    assert!(quiet.is_empty(), "{quiet}");
    assert!(warned.contains("h1-again.pcap.gz: an identical copy of h1.pcap.gz; read once"), "{warned}");
    assert_eq!(alone, twice);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Times the report prints can be pasted back: `+6.923s`, a time of day,
/// RFC 3339 with any offset; an inverted window is an error.
#[test]
fn times_from_the_report_and_any_offset_are_accepted() {
    let dir = samples_dir().join("redis-3.0.7-docker-bridge");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_meetgraph")).current_dir(&dir).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let caps = ["dc.pcap.gz", "h1.pcap.gz", "h2.pcap.gz"];
    let nodes_at = |at: &str| {
        let mut a = vec!["nodes", "--as", "64258262", "--at", at];
        a.extend(caps);
        let (code, out, err) = run(&a);
        assert_eq!(code, Some(0), "{at}: {err}");
        out.lines().next().unwrap_or_default().to_string()
    };
    // The report's +0s is the first message, 18:49:27.723271.
    assert_eq!(nodes_at("+6.9s"), "# what 64258262 believed at 2026-11-24T18:49:34.623271Z");
    assert_eq!(nodes_at("2026-11-24T20:49:33.4+02:00"), nodes_at("2026-11-24T18:49:33.4Z"));
    assert_eq!(nodes_at("18:49:33.4"), nodes_at("2026-11-24T18:49:33.4Z"));
    let mut a = vec!["analyze", "--since", "+7s", "--until", "+6s"];
    a.extend(caps);
    let (code, _, err) = run(&a);
    assert_eq!(code, Some(2));
    assert!(err.contains("is after --until"), "{err}");
    let (code, _, err) = run(&["analyze", "--since", "yesterday", "dc.pcap.gz"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("+6.923s after the first message"), "{err}");
}
