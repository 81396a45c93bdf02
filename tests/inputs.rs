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
