//! `meetgraph nodes --as X --at T` against the servers' own `CLUSTER NODES`
//! taken at known times in the lab (`samples/*-nodes-exact`, made by
//! `tests/lab/nodes_exact.sh`: before and after a merge, after a failover,
//! after a node failed). Every snapshot in `truth.json` is compared field
//! by field, line by line (matched by node id):
//!
//! - exact: the set of ids, `ip:port@cport[,hostname]`, flags, master,
//!   configEpoch, link state, slots; except that `fail?` may show up to
//!   [`FAIL_LAG_MS`] late (the node timeout is not on the wire);
//! - `ping_sent` / `pong_recv`: 0 must be 0; otherwise within
//!   [`TIME_TOLERANCE_MS`] (the server stamps them when it sends or
//!   processes a packet, the capture when the packet crosses `lo`); a
//!   whole second on either side came from gossip (the viewer's own, or
//!   what peers said), which gives the time to the second: within 999 ms.
//!   On loopback a refused reconnect sets `ping_sent` without any packet
//!   the capture can tie to the viewer; the viewer's gossip then gives the
//!   second.

mod common;

use common::samples_dir;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// How far a ping/pong time may be from the server's (ms).
const TIME_TOLERANCE_MS: i64 = 50;

/// How late `fail?` may show (ms): the viewer gossips it with its next
/// PING.
const FAIL_LAG_MS: i64 = 1000;

/// One `CLUSTER NODES` line, split into its fields.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    id: String,
    address: String,
    flags: String,
    master: String,
    ping_sent: i64,
    pong_recv: i64,
    epoch: String,
    link: String,
    slots: String,
}

fn parse(text: &str) -> BTreeMap<String, Line> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert!(f.len() >= 8, "short CLUSTER NODES line {l:?}");
            let line = Line {
                id: f[0].into(),
                address: f[1].into(),
                flags: f[2].into(),
                master: f[3].into(),
                ping_sent: f[4].parse().unwrap(),
                pong_recv: f[5].parse().unwrap(),
                epoch: f[6].into(),
                link: f[7].into(),
                slots: f[8..].join(" "),
            };
            (line.id.clone(), line)
        })
        .collect()
}

/// The one flag a capture shows late: `fail?` is set when a PING has
/// waited longer than the node timeout (not on the wire), and the capture
/// shows it in the viewer's next gossip, or once the PING has waited
/// longer than the shortest such delay seen so far. Accepted while the
/// server's PING is younger than the node timeout plus [`FAIL_LAG_MS`].
fn fail_lag(s: &Line, o: &Line, at_ms: i64, timeout_ms: i64) -> bool {
    s.flags.replace(",fail?", "") == o.flags && s.ping_sent != 0 && at_ms - s.ping_sent < timeout_ms + FAIL_LAG_MS
}

/// Field-by-field differences between the server's lines and meetgraph's.
fn differences(
    server: &BTreeMap<String, Line>,
    ours: &BTreeMap<String, Line>,
    at_ms: i64,
    timeout_ms: i64,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (id, s) in server {
        let Some(o) = ours.get(id) else {
            out.push(("id", format!("{id} missing")));
            continue;
        };
        for (field, a, b) in [
            ("address", &s.address, &o.address),
            ("master", &s.master, &o.master),
            ("config_epoch", &s.epoch, &o.epoch),
            ("link", &s.link, &o.link),
            ("slots", &s.slots, &o.slots),
        ] {
            if a != b {
                out.push((field, format!("{}: server {a:?}, meetgraph {b:?}", &id[..8])));
            }
        }
        if s.flags != o.flags && !fail_lag(s, o, at_ms, timeout_ms) {
            out.push(("flags", format!("{}: server {:?}, meetgraph {:?}", &id[..8], s.flags, o.flags)));
        }
        for (field, a, b) in [("ping_sent", s.ping_sent, o.ping_sent), ("pong_recv", s.pong_recv, o.pong_recv)] {
            // A whole second came from gossip: known to the second.
            let tolerance = if a % 1000 == 0 || b % 1000 == 0 { 999 } else { TIME_TOLERANCE_MS };
            if (a == 0) != (b == 0) || (a - b).abs() > tolerance {
                out.push((field, format!("{}: server {a}, meetgraph {b} ({:+} ms)", &id[..8], b - a)));
            }
        }
    }
    for id in ours.keys().filter(|id| !server.contains_key(*id)) {
        out.push(("id", format!("{id} extra")));
    }
    out
}

fn nodes_at(dir: &Path, id: &str, at_us: i64, version: Option<&str>) -> String {
    let at = at_us.to_string();
    let mut args = vec!["nodes", "--as", id, "--at", &at, "lo.pcap.gz"];
    if let Some(v) = version {
        args.extend(["--server-version", v]);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_meetgraph")).current_dir(dir).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Every `*-nodes-exact` sample: each snapshot of each server.
#[test]
fn nodes_matches_the_servers_cluster_nodes_field_by_field() {
    let mut dirs: Vec<_> = std::fs::read_dir(samples_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().ends_with("-nodes-exact")))
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 3, "expected the nodes-exact samples of three generations");
    let mut report = Vec::new();
    let mut compared = 0;
    for dir in &dirs {
        let truth: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        // Redis 4.0 to 6.2 look alike on the wire: name the version there.
        let server = truth["server"].as_str().unwrap();
        let version = server.strip_prefix("redis_version:").filter(|v| v.as_bytes()[0] < b'6');
        for snap in truth["snapshots"].as_array().unwrap() {
            let port = snap["port"].as_str().unwrap();
            let id = truth["nodes"][port]["id"].as_str().unwrap();
            let server = parse(&std::fs::read_to_string(dir.join(snap["file"].as_str().unwrap())).unwrap());
            let at_us = snap["after_ms"].as_i64().unwrap() * 1000;
            let ours = parse(&nodes_at(dir, id, at_us, version));
            compared += server.len();
            let timeout_ms = truth["node_timeout_ms"].as_i64().unwrap();
            for (field, what) in differences(&server, &ours, at_us / 1000, timeout_ms) {
                report.push(format!("{name} {} {port}: {field}: {what}", snap["label"].as_str().unwrap()));
            }
        }
    }
    assert!(compared > 60, "only {compared} lines compared");
    assert!(report.is_empty(), "{} differences in {compared} lines:\n{}", report.len(), report.join("\n"));
}

#[test]
fn a_wrong_field_is_a_difference() {
    let server = parse("aaaa5678 127.0.0.1:7000@17000 myself,master - 0 1001 1 connected 0-5460\n");
    let mut ours = server.clone();
    assert!(differences(&server, &ours, 2000, 2000).is_empty());
    ours.get_mut("aaaa5678").unwrap().flags = "myself,master,migrate_to".into();
    ours.get_mut("aaaa5678").unwrap().pong_recv = 1101;
    let d: Vec<_> = differences(&server, &ours, 2000, 2000).into_iter().map(|(f, _)| f).collect();
    assert_eq!(d, vec!["flags", "pong_recv"]);
}

/// Issue 12: after the docker-bridge merge the server printed the node
/// whose PINGs came through the NAT as `:0 … noaddr … disconnected`; so
/// does `nodes`, byte for byte (Redis 3.0.7 and 4.0.14, a1's view at the
/// end of the captures, when the servers' links were down).
#[test]
fn the_nat_victim_is_noaddr_as_the_server_printed_it() {
    for (sample, viewer, node) in
        [("redis-3.0.7-docker-bridge", "7a07e695", "6447c1b4"), ("redis-4.0.14-docker-bridge", "c6017f33", "4851ae87")]
    {
        let dir = samples_dir().join(sample);
        let caps = ["dc.pcap.gz", "h1.pcap.gz", "h2.pcap.gz"];
        let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
            .current_dir(&dir)
            .args(["nodes", "--as", viewer])
            .args(caps)
            .output()
            .unwrap();
        let ours = String::from_utf8(out.stdout).unwrap();
        let server = std::fs::read_to_string(dir.join("nodes-after-a1.txt")).unwrap();
        let line = |text: &str| text.lines().find(|l| l.starts_with(node)).map(str::to_string);
        assert_eq!(line(&ours), line(&server), "{sample}");
        assert!(line(&ours).is_some_and(|l| l.contains(" :0") && l.contains("noaddr")), "{sample}");
    }
}
