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
        // `fail?` on this line is compared (and listed as open) by
        // nodes_matches_every_samples_server_tables.
        let line = |text: &str| text.lines().find(|l| l.starts_with(node)).map(|l| l.replace(",fail?", ""));
        assert_eq!(line(&ours), line(&server), "{sample}");
        assert!(line(&ours).is_some_and(|l| l.contains(" :0") && l.contains("noaddr")), "{sample}");
    }
}

/// Two servers sharing one id (a copied nodes.conf): `--as ID@IP:PORT`
/// prints each one's own table (its own address on the `myself` line),
/// `--as IP:PORT` finds the same, `--as ID` alone warns and names both,
/// and a port neither served is an error.
#[test]
fn each_server_of_a_cloned_id_has_its_own_table() {
    let dir = samples_dir().join("redis-7.0-cloned-identity");
    let run = |who: &str| {
        Command::new(env!("CARGO_BIN_EXE_meetgraph"))
            .current_dir(&dir)
            .args(["nodes", "--as", who, "lo.pcap.gz"])
            .output()
            .unwrap()
    };
    let myself = |out: &std::process::Output| {
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        parse(&text).into_values().find(|l| l.flags.contains("myself")).map(|l| l.address)
    };
    for (who, address) in [
        ("436c307f@127.0.0.1:7002", "127.0.0.1:7002@17002"),
        ("436c307f@127.0.0.1:7005", "127.0.0.1:7005@17005"),
        ("127.0.0.1:7002", "127.0.0.1:7002@17002"),
        ("127.0.0.1:17005", "127.0.0.1:7005@17005"),
    ] {
        let out = run(who);
        assert!(out.status.success(), "{who}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(myself(&out).as_deref(), Some(address), "{who}");
    }
    let alone = run("436c307f");
    assert!(alone.status.success());
    let warning = String::from_utf8_lossy(&alone.stderr);
    assert!(warning.contains("7002@17002") && warning.contains("7005@17005"), "{warning}");
    let wrong = run("436c307f@127.0.0.1:7999");
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("7005@17005"));
}

/// One server table of a sample and the moment it was printed.
struct Table {
    file: String,
    text: String,
    /// Where the moment came from: the reply in the capture, the lab's own
    /// clock (`# t_ms=` of a timeline), or the table's newest stamp.
    timed_by: &'static str,
    at_ms: i64,
    /// The moment `nodes` is asked for (µs): `at_ms`, or the captures'
    /// end when that is sooner.
    at_us: i64,
    /// The reply's own time (µs), when the capture holds it: a field
    /// equal to meetgraph's there is right too (a PING sent, a PONG taken
    /// or a connect begun in the turn that computed the table may or may
    /// not be in it; README, "What a capture cannot show").
    reply_us: Option<i64>,
}

/// The tables of one directory (`nodes-*.txt`; a timeline file holds one
/// table per `# t_ms=` block), each timed: by the packet that carried the
/// reply to `CLUSTER NODES` when the capture holds the data port, else by
/// the lab's clock, else by the newest ping/pong stamp the table itself
/// holds (the table was printed after it, and before any later PING or
/// PONG of that node). Tables with no stamp at all, or printed after the
/// captures ended (the capture cannot know what came later), are left
/// out and counted.
fn server_tables(dir: &Path) -> (Vec<Table>, usize, usize) {
    let mut texts = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("nodes-") && n.ends_with(".txt"))
        .collect();
    files.sort();
    for f in &files {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        if !text.starts_with("# t_ms=") {
            texts.push((f.clone(), text, None));
            continue;
        }
        for block in text.split("# t_ms=").filter(|b| !b.trim().is_empty()) {
            let (t, body) = block.split_once('\n').unwrap_or((block, ""));
            if !body.trim().is_empty() {
                texts.push((format!("{f}@{}", t.trim()), body.to_string(), t.trim().parse::<i64>().ok()));
            }
        }
    }
    let (replies, last_us) = reply_times(dir, texts.iter().map(|(_, t, _)| t.as_str()));
    let (mut out, mut untimed, mut after_end) = (Vec::new(), 0, 0);
    for ((file, text, lab_ms), reply) in texts.into_iter().zip(replies) {
        let newest = parse(&text).values().flat_map(|l| [l.ping_sent, l.pong_recv]).filter(|t| t % 1000 != 0).max();
        let (timed_by, at_ms) = match (reply, lab_ms, newest) {
            (Some(us), _, _) => ("reply", us / 1000),
            (None, Some(ms), _) => ("lab clock", ms),
            (None, None, Some(ms)) => ("newest stamp", ms + 1),
            (None, None, None) => {
                untimed += 1;
                continue;
            }
        };
        if at_ms * 1000 > last_us + TIME_TOLERANCE_MS * 1000 {
            after_end += 1;
            continue;
        }
        // Within the bound after the last packet: the capture's end.
        let at_us = (at_ms * 1000).min(last_us);
        // The server made the table in the event-loop turn that ended
        // with the reply: between the reply's millisecond and the reply.
        let reply_us = reply.map(|us| us.min(last_us));
        out.push(Table { file, text, timed_by, at_ms, at_us, reply_us });
    }
    (out, untimed, after_end)
}

/// For each table, the capture time (µs) of the first packet whose
/// payload holds the start of it (the reply on the data port), if any;
/// and the time of the captures' last packet (µs).
fn reply_times<'a>(dir: &Path, tables: impl Iterator<Item = &'a str>) -> (Vec<Option<i64>>, i64) {
    // The reply's first bytes: its first line (with its stamps) and more,
    // as far as one segment surely holds.
    let needles: Vec<&[u8]> = tables.map(|t| &t.as_bytes()[..t.len().min(600)]).collect();
    let mut found: Vec<Option<i64>> = vec![None; needles.len()];
    let mut last = i64::MIN;
    for cap in captures_of(dir) {
        let mut file = meetgraph::capture::CaptureFile::open(&cap).unwrap();
        while file.advance().unwrap_or(false) {
            let Some(p) = file.current() else { break };
            last = last.max(p.ts_us);
            // A reply's text starts a line: after the RESP length's "\r\n".
            for (i, _) in p.data.iter().enumerate().filter(|(_, b)| **b == b'\n') {
                let rest = &p.data[i + 1..];
                for (n, needle) in needles.iter().enumerate() {
                    if rest.starts_with(needle) && found[n].is_none_or(|t| p.ts_us < t) {
                        found[n] = Some(p.ts_us);
                    }
                }
            }
        }
    }
    (found, last)
}

/// The server a timeline (`nodes-timeline-P.txt`: one node's line every
/// few seconds) was taken from: `myself` of `nodes-after-P.txt`.
fn timeline_viewer(dir: &Path, file: &str) -> Option<String> {
    let port = file.strip_prefix("nodes-timeline-")?.split(".txt").next()?;
    let after = std::fs::read_to_string(dir.join(format!("nodes-after-{port}.txt"))).ok()?;
    myself(&parse(&after))
}

/// The server that printed a table, as `--as ID@IP:PORT` (its id and the
/// address it printed for itself: two servers may share one id).
fn myself(table: &BTreeMap<String, Line>) -> Option<String> {
    let me = table.values().find(|l| l.flags.contains("myself"))?;
    Some(format!("{}@{}", me.id, me.address.split('@').next().unwrap_or_default()))
}

fn captures_of(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut caps: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".pcap.gz"))
        .collect();
    caps.sort();
    caps
}

/// `meetgraph nodes` (or the binary named by `MEETGRAPH_NODES_BIN`, to
/// measure another build) as `viewer` at `at_us`, on every capture of `dir`.
/// `None` when the capture has not shown the viewer by then.
fn nodes_of(dir: &Path, viewer: &str, at_us: i64, version: Option<&str>) -> Option<String> {
    let bin = std::env::var("MEETGRAPH_NODES_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_meetgraph").into());
    let mut cmd = Command::new(bin);
    cmd.args(["nodes", "--as", viewer, "--at", &at_us.to_string()]).args(captures_of(dir));
    if let Some(v) = version {
        cmd.args(["--server-version", v]);
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && err.contains("seen before that time") {
        return None;
    }
    assert!(out.status.success(), "{}: {err}", dir.display());
    Some(String::from_utf8(out.stdout).unwrap())
}

/// The version to name with `--server-version` (Redis 3.2 to 5.0 look
/// like 6.x on the wire; 3.0 has its own layout), from truth.json.
fn wire_alike_version(dir: &Path) -> Option<String> {
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).ok()?).ok()?;
    let v = truth["server"].as_str()?.strip_prefix("redis_version:")?;
    let mut parts = v.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    (major < "6" && !(major == "3" && minor == "0")).then(|| format!("{major}.{minor}"))
}

/// What the lab gave the servers as node timeout when truth.json does not
/// say: the largest any lab script uses (for the `fail?` lag only).
const LAB_NODE_TIMEOUT_MS: i64 = 5000;

/// The differences known and explained (README, "What a capture cannot
/// show"), as `sample file id8 field`: a difference not listed fails the
/// test, and so does a listed one that no longer occurs.
const KNOWN: &[&str] = &[
    // One event-loop turn (README, "What a capture cannot show"): the
    // peers of a cloned id reconnect every few ms; the server computed
    // the table while processing the request, in a state between the
    // reply's millisecond and the reply (both are compared): a PING sent
    // but its PONG, already in the capture, not yet taken; an address
    // move processed before a PONG the capture shows first.
    "redis-7.0-cloned-identity nodes-timeline-7001.txt@1795580408090 ping_sent 436c307f",
    "redis-7.0-cloned-identity nodes-timeline-7001.txt@1795580408090 pong_recv 436c307f",
    "valkey-9.1-cloned-identity nodes-timeline-7001.txt@1795580518927 ping_sent 4d511268",
    // Partial vantage (h1's bridge and uplink only): a2, a3 and a4 live
    // on h2, and their traffic to each other never leaves h2 (claims,
    // epochs and links are not in any gossip that crosses h1).
    "redis-7.0-overlay-reuse nodes-after-a2.txt config_epoch 1718e0d7",
    "redis-7.0-overlay-reuse nodes-after-a2.txt config_epoch 3886e479",
    "redis-7.0-overlay-reuse nodes-after-a2.txt link 1718e0d7",
    "redis-7.0-overlay-reuse nodes-after-a2.txt pong_recv 1718e0d7",
    "redis-7.0-overlay-reuse nodes-after-a2.txt slots 3886e479",
    "redis-7.0-overlay-reuse nodes-after-a4.txt link f9f58a6d",
    "redis-7.0-overlay-reuse nodes-after-a4.txt pong_recv f9f58a6d",
    "redis-7.0-overlay-reuse nodes-after-a4.txt slots f9f58a6d",
    // Timed by the newest stamp only (no reply in the capture): the
    // server printed later than that stamp (the lab polled until it
    // showed `fail`; gossip of a later second; a PONG after the captures
    // end, within the 50 ms the test allows).
    "redis-4.0.14-address-reuse nodes-failed-a1.txt flags 64f43bdf",
    "redis-7.0-overlay-reuse nodes-failed-a1.txt flags 3886e479",
    "redis-4.0.14-address-reuse-merge nodes-after-a4.txt pong_recv 09f7f104",
    "redis-4.0.14-address-reuse-merge nodes-after-a4.txt pong_recv aee8d25e",
    "redis-7.0-docker-bridge nodes-before-d.txt pong_recv 1ef6b1ff",
    // A refused reconnect (the old 7003 killed) set ping_sent with no
    // packet; the node turned noaddr before any gossip dated it.
    "redis-7.0-forget-reuse nodes-after-7002.txt ping_sent 6cb78bc5",
    // Two nodes at one address (6447c1b4 moved onto 64258262's by PINGs
    // through the NAT): which node a1's dial there was for is decided by
    // which had no link in the server's cron; open.
    "redis-3.0.7-docker-bridge nodes-after-a1.txt pong_recv 64258262",
];

/// Every table every sample's servers printed (`samples/*/nodes-*.txt`, and
/// the directories in `MEETGRAPH_NODES_DIRS`, colon-separated), against
/// `meetgraph nodes` as that server at that moment, field by field, with
/// the same bounds as above (ping/pong within 50 ms). Prints a table of
/// differences per sample and field (`-- --nocapture`).
#[test]
fn nodes_matches_every_samples_server_tables() {
    let mut dirs: Vec<_> = std::fs::read_dir(samples_dir()).unwrap().flatten().map(|e| e.path()).collect();
    if let Ok(extra) = std::env::var("MEETGRAPH_NODES_DIRS") {
        dirs.extend(extra.split(':').filter(|s| !s.is_empty()).map(std::path::PathBuf::from));
    }
    dirs.retain(|d| d.join("truth.json").exists() && !common::is_encrypted_sample(d));
    dirs.sort();
    assert!(dirs.len() >= 30, "only {} samples", dirs.len());
    let (mut found, mut lines, mut tables) = (Vec::new(), 0, 0);
    let mut summary = BTreeMap::<String, BTreeMap<&str, usize>>::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let version = wire_alike_version(dir);
        let truth: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
        let timeout_ms = truth["node_timeout_ms"].as_i64().unwrap_or(LAB_NODE_TIMEOUT_MS);
        let (list, untimed, after_end) = server_tables(dir);
        let row = summary.entry(name.clone()).or_default();
        *row.entry("untimed tables").or_default() += untimed;
        *row.entry("tables after the capture").or_default() += after_end;
        for t in list {
            let server = parse(&t.text);
            let Some(viewer) = myself(&server).or_else(|| timeline_viewer(dir, &t.file)) else {
                *row.entry("untimed tables").or_default() += 1;
                continue;
            };
            let Some(ours) = nodes_of(dir, &viewer, t.at_us, version.as_deref()) else {
                *row.entry("viewer not in the capture yet").or_default() += 1;
                continue;
            };
            let ours = parse(&ours);
            tables += 1;
            lines += server.len();
            *row.entry("lines").or_default() += server.len();
            *row.entry(t.timed_by).or_default() += 1;
            // A timeline block holds one line: compare that one.
            let ours = if t.file.contains('@') {
                ours.into_iter().filter(|(id, _)| server.contains_key(id)).collect()
            } else {
                ours
            };
            let at_reply = t.reply_us.and_then(|us| nodes_of(dir, &viewer, us, version.as_deref())).map(|o| parse(&o));
            let differs_at_reply = |field: &str, what: &str| {
                at_reply.as_ref().is_none_or(|o| {
                    differences(&server, o, t.at_ms, timeout_ms).iter().any(|(f, w)| *f == field && w[..8] == what[..8])
                })
            };
            for (field, what) in differences(&server, &ours, t.at_ms, timeout_ms) {
                if !differs_at_reply(field, &what) {
                    *row.entry("equal at the reply").or_default() += 1;
                    continue;
                }
                *row.entry(field).or_default() += 1;
                found.push(format!("{name} {} {field} {} [{}] {what}", t.file, &what[..8], t.timed_by));
            }
        }
    }
    println!("{:<40} tables timed by / lines / differences by field", "sample");
    for (name, row) in &summary {
        println!("{name:<40} {row:?}");
    }
    assert!(tables >= 60 && lines >= 400, "only {tables} tables, {lines} lines compared");
    let key = |f: &String| f.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
    let unexplained: Vec<_> = found.iter().filter(|f| !KNOWN.contains(&key(f).as_str())).collect();
    let gone: Vec<_> = KNOWN.iter().filter(|k| !found.iter().any(|f| key(f) == **k)).collect();
    for f in &found {
        println!("{f}");
    }
    assert!(
        unexplained.is_empty() && gone.is_empty(),
        "{} unexplained differences, {} known ones gone: {gone:?}\n{}",
        unexplained.len(),
        gone.len(),
        unexplained.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
    );
}
