//! Live capture's documented flags through the binary (`--features live`,
//! as root, in network namespaces of this test; README "Install",
//! "meetgraph watch"): `-c`, `-s`, `-B` and libpcap's drops (the "N packets
//! captured, M dropped" line and the metrics), `-w` with `-C`/`-W` (a ring
//! keeps the newest files), several `-i` read as one capture and saved in
//! the order read, `analyze -i` with every output, `nodes -i`.
//!
//! Every capture here gives an explicit `-f`, so what is captured is what
//! the test sends. Nothing waits on a guess: meetgraph is signalled once
//! its packet socket is open, and libpcap's drops are made certain by
//! stopping the reader (SIGSTOP) while a burst fills its buffer.
#![cfg(feature = "live")]

mod common;

use common::lab::{Netns, stop_with, udp_burst, wait_capturing, wait_output};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The sequence numbers of the UDP test datagrams in a saved capture, in
/// file order (Ethernet, IPv4, UDP to port 9999).
fn sequence(path: &std::path::Path) -> Vec<u32> {
    common::read_all(path)
        .iter()
        .filter(|p| p.data.len() >= 46 && p.data[23] == 17 && p.data[36..38] == [0x27, 0x0f])
        .map(|p| u32::from_be_bytes([p.data[42], p.data[43], p.data[44], p.data[45]]))
        .collect()
}

#[test]
fn count_and_snaplen() {
    let ns = Netns::new("mgpc");
    let saved = ns.dir.join("s.pcapng");
    // -s 200: packets saved cut at 200 bytes, their length kept.
    let s = ns.spawn_meetgraph(&[
        "dump",
        "-i",
        "lo",
        "-f",
        "udp port 9999",
        "-q",
        "-s",
        "200",
        "-w",
        saved.to_str().unwrap(),
    ]);
    wait_capturing(s.id());
    udp_burst(&ns, 20, 1000);
    let (out, _) = stop_with(s, "-INT");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pkts = common::read_all(&saved);
    assert_eq!(pkts.len(), 20);
    assert!(pkts.iter().all(|p| p.data.len() == 200 && p.orig_len == 1042), "caplen 200 of 1042");
    // -c 50: stops by itself after 50 packets of a burst of 200.
    let c = ns.spawn_meetgraph(&["dump", "-i", "lo", "-f", "udp port 9999", "-q", "--stats", "-c", "50"]);
    wait_capturing(c.id());
    udp_burst(&ns, 200, 100);
    let out = wait_output(c, Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(0), "-c 50 did not end by itself: {}", text(&out.stderr));
    let stats = text(&out.stdout);
    let packets = stats.lines().find(|l| l.starts_with("packets")).unwrap_or_else(|| panic!("{stats}"));
    assert_eq!(packets.split_whitespace().nth(1), Some("50"), "{stats}");
}

/// The last line of `watch`'s stderr: "N packets captured, M dropped by
/// libpcap" as numbers.
fn captured_dropped(stderr: &str) -> (u64, u64) {
    let line = stderr.lines().last().unwrap_or_default();
    let n: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert!(line.ends_with("dropped by libpcap") && n.len() == 2, "{stderr:?}");
    (n[0], n[1])
}

/// `meetgraph_libpcap_drops` from the metrics endpoint inside `ns`.
fn scraped_drops(ns: &Netns, port: u16) -> Option<u64> {
    let out = ns.cmd("curl").args(["-s", &format!("http://127.0.0.1:{port}/metrics")]).output().unwrap();
    text(&out.stdout).lines().find_map(|l| l.strip_prefix("meetgraph_libpcap_drops ")?.parse().ok())
}

/// A burst of 5000 datagrams of 1000 bytes while `watch` is stopped
/// (SIGSTOP): with `-B 64` (KiB) libpcap's buffer overflows, with `-B
/// 65536` it holds them all. Two cluster nodes gossip meanwhile, so the
/// watch keeps looking (and refreshing its metrics). Returns the drops the
/// metrics showed after the burst, and the final line's numbers.
fn burst_while_stopped(ns: &Netns, buffer_kib: &str, port: u16) -> (u64, (u64, u64)) {
    let metrics = format!("127.0.0.1:{port}");
    let w = ns.spawn_meetgraph(&[
        "watch",
        "-i",
        "lo",
        "-f",
        "udp port 9999 or tcp",
        // Whole bus messages (2 KB here), a small frame each in
        // libpcap's ring.
        "-s",
        "4096",
        "-B",
        buffer_kib,
        "--metrics",
        &metrics,
    ]);
    wait_capturing(w.id());
    let pid = w.id().to_string();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    udp_burst(ns, 5000, 1000);
    assert!(Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    // Looks happen every 0.25 s of capture time: wait for one after the
    // burst was read.
    let t = std::time::Instant::now();
    let mut seen = None;
    while t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(300));
        seen = scraped_drops(ns, port);
        if seen.is_some_and(|d| d > 0) || (buffer_kib != "64" && t.elapsed() > Duration::from_secs(2)) {
            break;
        }
    }
    let (out, _) = stop_with(w, "-INT");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    (seen.expect("metrics served libpcap_drops"), captured_dropped(&text(&out.stderr)))
}

#[test]
fn buffer_size_sets_what_libpcap_holds_and_drops_are_told() {
    let ns = Netns::with_cluster("mgpb", 7500);
    let (metrics, (captured, dropped)) = burst_while_stopped(&ns, "64", 9475);
    assert!(dropped > 0 && captured < 5000, "-B 64: {captured} captured, {dropped} dropped");
    assert!(metrics > 0 && metrics <= dropped, "metrics {metrics}, line {dropped}");
    let (metrics, (captured, dropped)) = burst_while_stopped(&ns, "65536", 9476);
    assert_eq!((metrics, dropped), (0, 0), "-B 65536 holds the burst");
    assert!(captured >= 5000, "{captured}");
}

#[test]
fn rotation_and_a_ring_keep_the_newest_packets() {
    let ns = Netns::new("mgpr");
    for ring in [None, Some("3")] {
        let base = ns.dir.join(format!("ring-{}.pcapng", ring.unwrap_or("all")));
        let mut args = vec!["dump", "-i", "lo", "-f", "udp port 9999", "-q", "-s", "1500", "-B", "65536"];
        args.extend(["-w", base.to_str().unwrap(), "-C", "1"]);
        if let Some(n) = ring {
            args.extend(["-W", n]);
        }
        let d = ns.spawn_meetgraph(&args);
        wait_capturing(d.id());
        // About 5.2 MB of pcapng: five rotations at 1 MB.
        udp_burst(&ns, 5000, 1000);
        std::thread::sleep(Duration::from_millis(500));
        let (out, _) = stop_with(d, "-INT");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let files: Vec<std::path::PathBuf> = (0..10)
            .map(|i| if i == 0 { base.clone() } else { format!("{}{i}", base.display()).into() })
            .filter(|p| p.exists())
            .collect();
        let seqs: Vec<Vec<u32>> = files.iter().map(|f| sequence(f)).collect();
        for (f, s) in files.iter().zip(&seqs) {
            assert!(s.windows(2).all(|w| w[1] == w[0] + 1), "{}: packets in order, none missing", f.display());
        }
        // Oldest first.
        let mut ordered: Vec<&Vec<u32>> = seqs.iter().filter(|s| !s.is_empty()).collect();
        ordered.sort_by_key(|s| s[0]);
        let all: Vec<u32> = ordered.into_iter().flatten().copied().collect();
        assert!(all.windows(2).all(|w| w[1] == w[0] + 1), "the files follow each other");
        assert_eq!(all.last(), Some(&4999), "the newest packet is kept");
        match ring {
            None => {
                assert!(files.len() >= 5, "{files:?}");
                assert_eq!(all.len(), 5000, "without -W every packet is kept");
            }
            Some(n) => {
                assert_eq!(files.len(), n.parse::<usize>().unwrap(), "{files:?}");
                assert!(all.len() < 5000 && all[0] > 0, "the oldest packets were overwritten: {}", all.len());
            }
        }
    }
}

/// Two namespaces joined by a veth pair: `a` holds nodes 7600 and 7601
/// (met over its loopback) and 7602 is in `b` (met over the veth), so the
/// bus crosses both of `a`'s interfaces.
#[test]
fn several_interfaces_are_one_capture_saved_in_the_order_read() {
    let a = Netns::new("mgpa");
    let b = Netns::new("mgpv");
    let (va, vb) = (format!("va{}", std::process::id() % 100_000), format!("vb{}", std::process::id() % 100_000));
    a.run(&["ip", "link", "add", &va, "type", "veth", "peer", "name", &vb]);
    a.run(&["ip", "link", "set", &vb, "netns", &b.name]);
    a.run(&["ip", "addr", "add", "10.77.0.1/24", "dev", &va]);
    a.run(&["ip", "link", "set", &va, "up"]);
    b.run(&["ip", "addr", "add", "10.77.0.2/24", "dev", &vb]);
    b.run(&["ip", "link", "set", &vb, "up"]);
    a.redis(7600);
    a.redis(7601);
    b.redis(7602);
    let saved = a.dir.join("both.pcapng");
    let args = ["dump", "-i", "lo", "-i", &va, "-f", "tcp", "--format", "jsonl", "-w", saved.to_str().unwrap()];
    let d = a.spawn_meetgraph(&args);
    wait_capturing(d.id());
    a.meet(7600, "127.0.0.1", 7601);
    a.meet(7600, "10.77.0.2", 7602);
    std::thread::sleep(Duration::from_millis(1500));
    let (out, _) = stop_with(d, "-TERM");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let messages = |jsonl: &str| -> Vec<(u64, String, String, String)> {
        jsonl
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["record"] == "message")
            .map(|v| {
                let s = |k: &str| v[k].as_str().unwrap().to_string();
                (v["frame"].as_u64().unwrap(), s("type"), s("src"), s("dst"))
            })
            .collect()
    };
    let live = messages(&text(&out.stdout));
    assert!(live.iter().any(|m| m.2.starts_with("127.0.0.1:")), "bus on lo");
    assert!(live.iter().any(|m| m.2.starts_with("10.77.0.")), "bus on {va}");
    let name = format!("iface:lo+iface:{va}");
    assert!(text(&out.stdout).lines().all(|l| !l.contains("\"capture\"") || l.contains(&name)), "one capture, {name}");
    // The saved file, read back, numbers the same messages with the same
    // frames: packets were saved in the order they were read.
    let again =
        Command::new(env!("CARGO_BIN_EXE_meetgraph")).args(["dump", "--format", "jsonl"]).arg(&saved).output().unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(messages(&text(&again.stdout)), live);
}

#[test]
fn analyze_and_nodes_on_a_live_interface() {
    let ns = Netns::new("mgpn");
    ns.redis(7700);
    ns.redis(7701);
    let id = ns.node_id(7700);
    let out = |f: &str| ns.dir.join(f).to_str().unwrap().to_string();
    let (json, html, svg, dot, mmd) = (out("a.json"), out("r.html"), out("c.svg"), out("g.dot"), out("g.mmd"));
    let a = ns.spawn_meetgraph(&[
        "analyze",
        "-i",
        "lo",
        "-f",
        "tcp",
        "--json",
        &json,
        "--html",
        &html,
        "--chart",
        &svg,
        "--dot",
        &dot,
        "--mermaid",
        &mmd,
    ]);
    let n = ns.spawn_meetgraph(&["nodes", "-i", "lo", "-f", "tcp", "--as", &id]);
    wait_capturing(a.id());
    wait_capturing(n.id());
    ns.meet(7700, "127.0.0.1", 7701);
    std::thread::sleep(Duration::from_millis(2500));
    let server = ns.cli("7700", &["cluster", "nodes"]);
    let (report, _) = stop_with(a, "-INT");
    let (table, _) = stop_with(n, "-TERM");
    assert_eq!(report.status.code(), Some(0), "{}", text(&report.stderr));
    assert!(text(&report.stdout).contains("== What happened"));
    let j: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(j["nodes"].as_array().unwrap().len(), 2, "{}", j["story"]);
    assert!(
        j["introductions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["via"] == "operator_meet" && i["learner"] == id.as_str())
    );
    assert_eq!(j["captures"][0]["vantage"], "iface:lo");
    assert!(std::fs::read_to_string(&html).unwrap().starts_with("<!DOCTYPE html>"));
    roxmltree::Document::parse(&std::fs::read_to_string(&svg).unwrap()).expect("the chart is XML");
    assert!(std::fs::read_to_string(&dot).unwrap().starts_with("digraph"));
    assert!(std::fs::read_to_string(&mmd).unwrap().lines().any(|l| l == "graph LR"));
    // nodes: what 7700 believed at the end, as the server printed it (id,
    // address, flags, master, link state).
    assert_eq!(table.status.code(), Some(0), "{}", text(&table.stderr));
    let fields = |t: &str| -> Vec<Vec<String>> {
        let mut v: Vec<Vec<String>> = t
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                [0, 1, 2, 3, 7].iter().map(|&i| w[i].to_string()).collect()
            })
            .collect();
        v.sort();
        v
    };
    let ours = fields(&text(&table.stdout));
    assert_eq!(ours.len(), 2, "{}", text(&table.stdout));
    assert_eq!(ours, fields(&server), "meetgraph:\n{}\nserver:\n{server}", text(&table.stdout));
}

/// On a terminal a live `watch` keeps a status line on stderr (libpcap's
/// drops, messages, bus flows, nodes, clusters, merges), rewritten in
/// place, then the "captured, dropped" line; piped, only the latter.
#[test]
fn status_line_on_a_terminal_only() {
    let ns = Netns::with_cluster("mgps", 7800);
    let bin = env!("CARGO_BIN_EXE_meetgraph");
    let args = "watch -i lo -f tcp --duration 3";
    // stderr on script's pty, stdout (the events) away.
    let tty = ns.cmd("script").args(["-qec", &format!("{bin} {args} >/dev/null"), "/dev/null"]).output().unwrap();
    assert_eq!(tty.status.code(), Some(0), "{}", text(&tty.stdout));
    let shown = text(&tty.stdout);
    let status: Vec<&str> = shown.split('\r').filter(|s| s.contains("libpcap drops,")).collect();
    assert!(status.len() >= 2, "a status line rewritten at each look: {shown:?}");
    let last = status.last().unwrap();
    let n: Vec<u64> = last.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
    // drops, messages, bus flows, nodes, clusters before, merges.
    assert_eq!(n.len(), 6, "{last:?}");
    assert!(n[0] == 0 && n[1] > 0 && n[2] > 0 && n[3] == 2, "{last:?}");
    assert!(shown.contains("packets captured, 0 dropped by libpcap"), "{shown:?}");
    let piped = wait_output(ns.spawn_meetgraph(&args.split(' ').collect::<Vec<_>>()), Duration::from_secs(10));
    assert_eq!(piped.status.code(), Some(0), "{}", text(&piped.stderr));
    let err = text(&piped.stderr);
    assert!(!err.contains("libpcap drops,") && !err.contains('\r'), "{err:?}");
    captured_dropped(&err);
}
