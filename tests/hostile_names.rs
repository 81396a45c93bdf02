//! Node names from the wire are not always UTF-8: a real capture whose node
//! ids hold invalid and split multi-byte sequences goes through `analyze`
//! with every output and through `nodes` without a panic, and the ids stay
//! visible (escaped losslessly, `\xNN`) in what is printed.

mod common;

use common::samples_dir;
use flate2::read::GzDecoder;
use std::io::Read;
use std::process::Command;

/// Replaces every occurrence of `from` with `to` (same length).
fn replace_all(data: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= data.len() {
        if &data[i..i + from.len()] == from {
            data[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

#[test]
fn invalid_utf8_node_names_reach_every_output_without_a_panic() {
    let dir = samples_dir().join("redis-7.0-loopback-merge");
    let mut pcap = Vec::new();
    GzDecoder::new(std::fs::File::open(dir.join("lo.pcap.gz")).unwrap()).read_to_end(&mut pcap).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected-analysis.json")).unwrap()).unwrap();
    let ids: Vec<String> =
        json["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect();
    assert!(ids.len() >= 4);
    // Node 0: invalid bytes inside the short id; node 1: a two-byte
    // character split by the 8-byte short id; node 2: a lone continuation
    // byte and a NUL-free control character at the start.
    let patches: [(usize, &[u8]); 3] = [(0, &[0xff, 0xfe, 0xc3]), (1, "é".as_bytes()), (2, &[0x80, 0x1b])];
    let at = [5, 7, 0];
    for (k, (node, bytes)) in patches.iter().enumerate() {
        let mut to = ids[*node].clone().into_bytes();
        to[at[k]..at[k] + bytes.len()].copy_from_slice(bytes);
        let n = replace_all(&mut pcap, ids[*node].as_bytes(), &to);
        assert!(n > 10, "node {node} occurs {n} times");
    }
    let tmp = std::env::temp_dir().join(format!("meetgraph-hostile-names-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let cap = tmp.join("lo.pcap");
    std::fs::write(&cap, &pcap).unwrap();
    let bin = env!("CARGO_BIN_EXE_meetgraph");
    let out = Command::new(bin)
        .current_dir(&tmp)
        .args(["analyze", "lo.pcap", "--json", "a.json", "--chart", "c.svg", "--dot", "g.dot"])
        .args(["--mermaid", "g.mmd", "--html", "r.html"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A panic would exit 70 ("internal error", the panic hook); nothing
    // else is said on a sound capture.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let report = String::from_utf8(out.stdout).expect("the report is UTF-8");
    assert!(report.contains("MERGE at"), "the incident is still found:\n{report}");
    assert!(report.contains("\\xff\\xfe\\xc3"), "invalid bytes are shown escaped, losslessly:\n{report}");
    assert!(!report.contains('\u{fffd}'), "nothing is replaced:\n{report}");
    let a: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tmp.join("a.json")).unwrap()).unwrap();
    let names: Vec<&str> = a["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert!(names.iter().any(|n| n.contains('é')), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("\\x80\\x1b")), "escaped in the JSON too: {names:?}");
    for f in ["c.svg", "g.dot", "g.mmd", "r.html"] {
        let text = std::fs::read_to_string(tmp.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(!text.is_empty(), "{f} is empty");
    }
    roxmltree::Document::parse(&std::fs::read_to_string(tmp.join("c.svg")).unwrap()).expect("the chart is valid XML");
    // `nodes` for every node, including the patched ones, by their full id
    // (escaped as the JSON gives it): its own line, `myself`, names it.
    assert_eq!(names.len(), ids.len());
    for n in &names {
        let out = Command::new(bin).current_dir(&tmp).args(["nodes", "--as", n, "lo.pcap"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "nodes --as {n}: {stderr}");
        let table = String::from_utf8(out.stdout).expect("nodes prints UTF-8");
        let me: Vec<&str> =
            table.lines().filter(|l| l.split(' ').nth(2).is_some_and(|f| f.contains("myself"))).collect();
        assert_eq!(me.len(), 1, "nodes --as {n}: one myself line:\n{table}");
        assert!(me[0].starts_with(&format!("{n} ")), "nodes --as {n}:\n{table}");
        assert!(table.lines().count() >= ids.len(), "nodes --as {n}: every node listed:\n{table}");
        assert!(!table.contains('\u{fffd}'), "{table}");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
