//! Inputs given twice: a copy of a capture (under another name, gzipped or
//! decompressed) is read once, with a warning, and the analysis is the
//! same as without it. Times: the report's own forms are accepted; times
//! outside the captures are an error naming their span (`nodes --at`, a
//! chart window wholly outside) or cut with a warning (a window past an
//! edge). `nodes --as` takes an address.

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
    assert!(warned.contains("h1-again.pcap.gz: the same capture as h1.pcap.gz; read once"), "{warned}");
    assert_eq!(alone, twice);
    // The same capture decompressed is the same capture.
    let plain = tmp.join("h1.pcap");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(dir.join("h1.pcap.gz")).unwrap()),
        &mut bytes,
    )
    .unwrap();
    std::fs::write(&plain, &bytes).unwrap();
    let (again, warned) = run(&[&plain]);
    assert!(warned.contains("h1.pcap: the same capture as h1.pcap.gz; read once"), "{warned}");
    assert_eq!(alone, again, "nothing counted twice (no nat_rewrite doubled, no +0 s clock)");
    // A different capture of the same size is not a copy.
    let mut other = bytes.clone();
    if let Some(b) = other.get_mut(200) {
        *b ^= 0xff;
    }
    std::fs::write(&plain, &other).unwrap();
    let (_, warned) = run(&[&plain]);
    assert!(!warned.contains("the same capture"), "{warned}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The binary run in `dir`: exit status, stdout, stderr.
fn run_in(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_meetgraph")).current_dir(dir).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Times outside the captures: `nodes --at` an error naming their span; a
/// chart window wholly outside an error, one past an edge cut with a
/// warning. `nodes --as IP:PORT` finds the node that answered there, and
/// lists them when two answered at once.
#[test]
fn times_outside_the_captures_and_addresses_as_nodes() {
    let dir = samples_dir().join("redis-3.0.7-docker-bridge");
    let run = |args: &[&str]| run_in(&dir, args);
    let (code, _, err) = run(&["nodes", "--as", "64258262", "--at", "+1000s", "h1.pcap.gz"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("after the captures end; they span 2026-11-24T"), "{err}");
    let (code, _, err) = run(&["nodes", "--as", "64258262", "--at", "10:00", "h1.pcap.gz"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("before the captures begin"), "{err}");
    let (code, _, err) = run(&["analyze", "--until", "10:00", "--chart", "/dev/null", "h1.pcap.gz"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--until 2026-11-24T10:00:00.000000Z: no capture there; the captures span"), "{err}");
    let svg = std::env::temp_dir().join(format!("meetgraph-window-{}.svg", std::process::id()));
    let svg_arg = svg.to_string_lossy().into_owned();
    let (code, _, err) = run(&["analyze", "--since", "10:00", "--chart", &svg_arg, "h1.pcap.gz"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("--since 2026-11-24T10:00:00.000000Z: before the captures begin; the chart starts at"),
        "{err}"
    );
    let _ = std::fs::remove_file(&svg);
    // An address: the node that answered there.
    let (code, out, err) = run(&["nodes", "--as", "10.100.1.100:7000", "h1.pcap.gz"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("# what 7a07e695 believed at"), "{out}");
    let (code, out, _) = run(&["nodes", "--as", "10.100.1.100:17000", "h1.pcap.gz"]);
    assert!(code == Some(0) && out.starts_with("# what 7a07e695"), "the bus port works too");
    // Two nodes answered at c's bridge address at once: both listed.
    let (code, _, err) =
        run(&["nodes", "--as", "172.17.0.55:7000", "--at", "18:49:40", "dc.pcap.gz", "h1.pcap.gz", "h2.pcap.gz"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("answered by 2 nodes") && err.contains("23d64118") && err.contains("6447c1b4"), "{err}");
    let (code, _, err) = run(&["nodes", "--as", "192.0.2.1:7000", "h1.pcap.gz"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no node seen at 192.0.2.1:7000; nodes seen: "), "{err}");
}

/// Times the report prints can be pasted back: `+6.923s`, a time of day,
/// RFC 3339 with any offset; an inverted window is an error.
#[test]
fn times_from_the_report_and_any_offset_are_accepted() {
    let dir = samples_dir().join("redis-3.0.7-docker-bridge");
    let run = |args: &[&str]| run_in(&dir, args);
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
