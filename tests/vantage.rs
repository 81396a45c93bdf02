//! The captures people actually have (issue 9), made from real captures
//! of real servers: the same incident read whole, rotated into many files,
//! merged into one file, with one host's clock shifted by −30 s or +2 h,
//! started late, from some hosts only, or from the victim host alone. The
//! clusters before the merge, the merge sides, its time (within 2 s on the
//! reference clock) and its chain must come out the same, and what was
//! inferred must say so.

mod common;

use common::samples_dir;
use meetgraph::analysis::{Analysis, NodeId, Via};
use meetgraph::capture::{CaptureFile, LinkType, PcapngWriter, RawPacket};
use meetgraph::pipeline::PipelineConfig;
use meetgraph::vantage::{Method, Source, plan};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Clone)]
struct Pkt {
    ts: i64,
    link: u16,
    orig: u32,
    data: Vec<u8>,
}

fn read(path: &Path) -> Vec<Pkt> {
    let mut f = CaptureFile::open(path).unwrap();
    let mut out = Vec::new();
    while f.advance().unwrap() {
        let p = f.current().unwrap();
        out.push(Pkt { ts: p.ts_us, link: p.link.0, orig: p.orig_len, data: p.data.to_vec() });
    }
    out
}

/// A pcapng file of `pkts` (the library's own writer, as `-w` uses).
fn write_pcapng(path: &Path, pkts: &[Pkt]) {
    let mut w = PcapngWriter::new(std::io::BufWriter::new(std::fs::File::create(path).unwrap())).unwrap();
    for p in pkts {
        let raw = RawPacket { ts_us: p.ts, frame: 0, link: LinkType(p.link), orig_len: p.orig, data: &p.data };
        w.write(&raw).unwrap();
    }
    w.flush().unwrap();
}

fn analyze(paths: &[PathBuf]) -> (Analysis, meetgraph::vantage::Plan) {
    let sources: Vec<Source> = paths
        .iter()
        .map(|p| Source { name: p.file_name().unwrap().to_string_lossy().into(), path: p.clone(), named: false })
        .collect();
    let cfg = PipelineConfig::default();
    let plan = plan(&sources, None, &cfg).unwrap();
    let (mut inputs, acfg) = meetgraph::run::open_plan(&plan, &cfg, &Default::default(), &Default::default()).unwrap();
    (meetgraph::run::analyze(&mut inputs, acfg), plan)
}

fn id(t: &Value, name: &str) -> NodeId {
    NodeId::from_str_exact(t["nodes"][name]["id"].as_str().unwrap()).unwrap()
}

fn cluster_of(t: &Value, c: &str) -> BTreeSet<NodeId> {
    let nodes = t["nodes"].as_object().unwrap();
    nodes.keys().filter(|k| nodes[*k]["cluster"] == c).map(|k| id(t, k)).collect()
}

/// What must not change with the way the incident was captured.
#[derive(Debug, PartialEq)]
struct Verdict {
    clusters: BTreeSet<BTreeSet<NodeId>>,
    sides: BTreeSet<BTreeSet<NodeId>>,
    chain: Vec<(Via, NodeId, NodeId)>,
}

fn verdict(a: &Analysis) -> Verdict {
    let m = a.merges.first().expect("a merge");
    Verdict {
        clusters: a.clusters.iter().map(|c| c.nodes.iter().copied().collect()).collect(),
        sides: m.sides.iter().map(|s| s.iter().copied().collect()).collect(),
        chain: m.chain.iter().map(|i| (i.via, i.learner, i.node)).collect(),
    }
}

struct Incident {
    dir: PathBuf,
    truth: Value,
    tmp: PathBuf,
}

impl Incident {
    fn new(sample: &str) -> Self {
        let dir = samples_dir().join(sample);
        let truth = serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let k = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = std::env::temp_dir().join(format!("meetgraph-vantage-{}-{k}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        Incident { dir, truth, tmp }
    }
    fn capture(&self, host: &str) -> PathBuf {
        self.dir.join(format!("{host}.pcap.gz"))
    }
    fn write(&self, name: &str, pkts: &[Pkt]) -> PathBuf {
        let p = self.tmp.join(name);
        write_pcapng(&p, pkts);
        p
    }
    fn done(self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
    fn meet_us(&self) -> i64 {
        self.truth["meet_ms"].as_i64().unwrap() * 1000
    }
    /// X (with the node that was in no cluster, which joined X first) and Y.
    fn check_truth(&self, a: &Analysis, what: &str) {
        let x = cluster_of(&self.truth, "X");
        let y = cluster_of(&self.truth, "Y");
        let clusters: BTreeSet<BTreeSet<NodeId>> =
            a.clusters.iter().map(|c| c.nodes.iter().copied().collect()).collect();
        assert_eq!(clusters, BTreeSet::from([x.clone(), y.clone()]), "{what}: clusters before the merge");
        let m = a.merges.first().unwrap_or_else(|| panic!("{what}: no merge"));
        let mut x_side = x.clone();
        x_side.insert(id(&self.truth, "c"));
        let sides: BTreeSet<BTreeSet<NodeId>> = m.sides.iter().map(|s| s.iter().copied().collect()).collect();
        assert_eq!(sides, BTreeSet::from([x_side, y]), "{what}: merge sides");
        assert!(
            (m.ts_us - self.meet_us()).abs() < 2_000_000,
            "{what}: merge at {} vs operator {}",
            m.ts_us,
            self.meet_us()
        );
        let first = m.chain.first().unwrap();
        let c = id(&self.truth, "c");
        assert!(first.learner == c || first.node == c, "{what}: chain starts at patient zero: {:?}", m.chain);
    }
}

const INCIDENTS: [&str; 2] = ["redis-3.0.7-docker-bridge", "redis-4.0.14-docker-bridge"];

#[test]
fn rotated_merged_and_shifted_captures_tell_the_same_story() {
    for sample in INCIDENTS {
        let inc = Incident::new(sample);
        let whole = [inc.capture("h1"), inc.capture("h2"), inc.capture("dc")];
        let (base, _) = analyze(&whole);
        inc.check_truth(&base, &format!("{sample} whole"));
        let want = verdict(&base);
        let merge_ts = base.merges[0].ts_us;

        // h1 rotated every 200 packets (as `editcap -c 200` or `tcpdump -C`).
        let h1 = read(&whole[0]);
        let mut pieces: Vec<PathBuf> =
            h1.chunks(200).enumerate().map(|(i, c)| inc.write(&format!("h1_{i:05}.pcapng"), c)).collect();
        pieces.reverse(); // given in any order
        let mut files = pieces.clone();
        files.extend_from_slice(&whole[1..]);
        let (rot, p) = analyze(&files);
        assert_eq!(p.vantages.len(), 3, "{sample}: the pieces are one vantage");
        assert_eq!(p.vantages[0].name, "h1");
        assert_eq!(verdict(&rot), want, "{sample}: rotated");
        assert_eq!(rot.findings.len(), base.findings.len(), "{sample}: rotated findings");
        assert!(rot.merges[0].chain.iter().flat_map(|i| &i.evidence).any(|e| e.capture.starts_with("h1_")));

        // One host's clock off by −30 s and by +2 h.
        for shift in [-30_000_000i64, 7_200_000_000] {
            let h2: Vec<Pkt> = read(&whole[1]).into_iter().map(|p| Pkt { ts: p.ts + shift, ..p }).collect();
            let h2 = inc.write("h2-shifted.pcapng", &h2);
            let (a, p) = analyze(&[whole[0].clone(), h2, whole[2].clone()]);
            let al = &p.vantages[1].alignment;
            assert!(al.applied && (al.offset_us - shift).abs() < 1000, "{sample} {shift}: {al:?}");
            assert_eq!(verdict(&a), want, "{sample}: h2 shifted by {shift} µs");
            assert!((a.merges[0].ts_us - merge_ts).abs() < 2_000_000);
            assert_eq!(a.captures[1].clock.as_ref().unwrap().method, Method::SharedMessages);
        }

        // Everything in one file (as `mergecap`).
        let mut all: Vec<Pkt> = whole.iter().flat_map(|p| read(p)).collect();
        all.sort_by_key(|p| p.ts);
        let (one, _) = analyze(&[inc.write("merged.pcapng", &all)]);
        assert_eq!(verdict(&one), want, "{sample}: one mergecap'd file");
        inc.done();
    }
}

#[test]
fn some_hosts_only_started_late_still_finds_both_clusters() {
    for sample in INCIDENTS {
        let inc = Incident::new(sample);
        // Started 3 s before the operator's MEET, after both clusters were
        // healthy; the LAN (where Y's own links ran) was not captured.
        let start = inc.meet_us() - 3_000_000;
        let late = |h: &str| {
            let p: Vec<Pkt> = read(&inc.capture(h)).into_iter().filter(|p| p.ts >= start).collect();
            inc.write(&format!("{h}-late.pcapng"), &p)
        };
        let (a, _) = analyze(&[late("h1"), late("h2")]);
        inc.check_truth(&a, &format!("{sample} h1+h2 late"));
        let y = a.clusters.iter().find(|c| c.nodes.contains(&id(&inc.truth, "d"))).unwrap();
        let inferred: BTreeSet<NodeId> = y.inferred.iter().map(|i| i.node).collect();
        assert_eq!(inferred, cluster_of(&inc.truth, "Y"), "{sample}: Y's links were never captured: inferred");
        let x = a.clusters.iter().find(|c| c.nodes.contains(&id(&inc.truth, "a1"))).unwrap();
        assert!(x.inferred.is_empty(), "{sample}: X's links were captured: {:?}", x.inferred);
        assert!(y.inferred.iter().all(|i| !i.evidence.is_empty()));

        // The victim host alone: patient zero joined X just before the
        // merge and is not a member of X before it.
        let (a, _) = analyze(&[inc.capture("h2")]);
        inc.check_truth(&a, &format!("{sample} h2 only"));
        inc.done();
    }
}

#[test]
fn without_shared_messages_the_nodes_clocks_align_the_captures() {
    let inc = Incident::new("redis-3.0.7-docker-bridge");
    // Y's own traffic from the LAN capture only (no message in common with
    // h1), two hours ahead.
    let y: BTreeSet<String> = ["d", "e", "f"].iter().map(|n| inc.truth["nodes"][n]["where"].to_string()).collect();
    assert_eq!(y.len(), 3);
    let dc = read(&inc.capture("dc"));
    let h1 = read(&inc.capture("h1"));
    let lan_only: Vec<Pkt> = dc
        .into_iter()
        .filter(|p| {
            // IPv4 over Ethernet, both ends in Y's macvlan network 10.222/16.
            p.data.len() > 34 && p.data[12..14] == [8, 0] && p.data[26..28] == [10, 222] && p.data[30..32] == [10, 222]
        })
        .map(|p| Pkt { ts: p.ts + 7_200_000_000, ..p })
        .collect();
    assert!(lan_only.len() > 100);
    let (a, p) = analyze(&[inc.write("h1.pcapng", &h1), inc.write("y.pcapng", &lan_only)]);
    let al = &p.vantages[1].alignment;
    assert_eq!(al.method, Method::NodeClock, "{al:?}");
    assert!(al.applied && (al.offset_us - 7_200_000_000).abs() <= 2_000_000, "{al:?}");
    let m = a.merges.first().expect("a merge");
    assert!((m.ts_us - inc.meet_us()).abs() < 2_000_000);
    // h1 never saw the handshake between b1 and d (on h2): the merge is
    // dated by its first evidence and says so.
    assert!(!m.observed, "{m:?}");
    inc.done();
}

/// What must not change for a near miss (Redis ≥ 5.0.10/6.0.5 and Valkey
/// do not merge in the docker-bridge incident): the clusters, and the
/// first address collision (where, and when within 2 s).
#[derive(Debug, PartialEq)]
struct NearMiss {
    clusters: BTreeSet<BTreeSet<NodeId>>,
    merges: usize,
    collision: String,
}

fn near_miss(a: &Analysis) -> (NearMiss, i64) {
    let first = a
        .findings
        .iter()
        .filter(|f| f.kind == meetgraph::analysis::FindingKind::AddressCollision)
        .min_by_key(|f| f.first_ts_us)
        .expect("an address collision");
    let v = NearMiss {
        clusters: a.clusters.iter().map(|c| c.nodes.iter().copied().collect()).collect(),
        merges: a.merges.len(),
        collision: first.addresses.join(","),
    };
    (v, first.first_ts_us)
}

#[test]
fn near_misses_of_newer_servers_read_the_same_from_any_capture() {
    for sample in ["redis-7.0-docker-bridge", "valkey-9.1-docker-bridge"] {
        let inc = Incident::new(sample);
        let whole = [inc.capture("h1"), inc.capture("h2"), inc.capture("dc")];
        let (base, _) = analyze(&whole);
        let (want, at) = near_miss(&base);
        let truth = BTreeSet::from([cluster_of(&inc.truth, "X"), cluster_of(&inc.truth, "Y")]);
        assert_eq!(want.clusters, truth, "{sample}");
        assert_eq!(want.merges, 0, "{sample}");
        let same = |a: &Analysis, what: &str| {
            let (v, t) = near_miss(a);
            assert_eq!(v, want, "{sample}: {what}");
            assert!((t - at).abs() < 2_000_000, "{sample}: {what}: collision at {t} vs {at}");
        };
        let h1 = read(&whole[0]);
        let mut files: Vec<PathBuf> =
            h1.chunks(150).enumerate().map(|(i, c)| inc.write(&format!("h1-{i:03}.pcapng"), c)).collect();
        files.extend_from_slice(&whole[1..]);
        same(&analyze(&files).0, "rotated");
        for shift in [-30_000_000i64, 7_200_000_000] {
            let h2: Vec<Pkt> = read(&whole[1]).into_iter().map(|p| Pkt { ts: p.ts + shift, ..p }).collect();
            let h2 = inc.write("h2-shifted.pcapng", &h2);
            same(&analyze(&[whole[0].clone(), h2, whole[2].clone()]).0, &format!("h2 shifted {shift} µs"));
        }
        let mut all: Vec<Pkt> = whole.iter().flat_map(|p| read(p)).collect();
        all.sort_by_key(|p| p.ts);
        same(&analyze(&[inc.write("merged.pcapng", &all)]).0, "mergecap");
        // Late, from the hosts only: both clusters still found, Y's members
        // inferred (their links ran on the LAN).
        let start = inc.meet_us() - 3_000_000;
        let late = |h: &str| {
            let p: Vec<Pkt> = read(&inc.capture(h)).into_iter().filter(|p| p.ts >= start).collect();
            inc.write(&format!("{h}-late.pcapng"), &p)
        };
        let (a, _) = analyze(&[late("h1"), late("h2")]);
        // Every cluster found is (part of) a real one; a node the late
        // capture never shows (no message from or about it) cannot be in it.
        assert_eq!(a.clusters.len(), 2, "{sample}: late, hosts only: {:?}", a.clusters);
        for c in &a.clusters {
            let found: BTreeSet<NodeId> = c.nodes.iter().copied().collect();
            assert!(truth.iter().any(|t| found.is_subset(t) && found.len() >= 2), "{sample}: {found:?}");
        }
        assert!(
            a.clusters.iter().any(|c| c.nodes.iter().copied().collect::<BTreeSet<_>>() == cluster_of(&inc.truth, "X"))
        );
        let y = a.clusters.iter().find(|c| c.nodes.contains(&id(&inc.truth, "d"))).unwrap();
        assert!(!y.inferred.is_empty(), "{sample}: Y inferred");
        assert!(a.merges.is_empty(), "{sample}: late: {:?}", a.merges);
        inc.done();
    }
}

/// Three hosts' captures without the LAN (where cluster Y's own links ran):
/// Redis 7.0 and Valkey 9.1 merge through an idle node's two operator MEETs
/// (`tests/lab/multihost_merge.sh`). Y is found, inferred; the merge and
/// its sides are those of the servers' truth.
#[test]
fn multihost_merges_from_the_hosts_captures_only() {
    for sample in ["redis-7.0-multihost-merge", "valkey-9.1-multihost-merge"] {
        let inc = Incident::new(sample);
        let (whole, _) = analyze(&[inc.capture("h1"), inc.capture("h2"), inc.capture("h3"), inc.capture("dc")]);
        let (hosts, _) = analyze(&[inc.capture("h1"), inc.capture("h2"), inc.capture("h3")]);
        let x = cluster_of(&inc.truth, "X");
        let y = cluster_of(&inc.truth, "Y");
        for (a, what) in [(&whole, "all captures"), (&hosts, "hosts only")] {
            let clusters: BTreeSet<BTreeSet<NodeId>> =
                a.clusters.iter().map(|c| c.nodes.iter().copied().collect()).collect();
            assert_eq!(clusters, BTreeSet::from([x.clone(), y.clone()]), "{sample} {what}");
            let m = a.merges.first().unwrap_or_else(|| panic!("{sample} {what}: no merge"));
            let mut x_side = x.clone();
            x_side.insert(id(&inc.truth, "c"));
            let sides: BTreeSet<BTreeSet<NodeId>> = m.sides.iter().map(|s| s.iter().copied().collect()).collect();
            assert_eq!(sides, BTreeSet::from([x_side, y.clone()]), "{sample} {what}");
            let events = inc.truth["events"].as_array().unwrap();
            let last_meet =
                events.iter().rev().find(|e| e["what"].as_str().is_some_and(|w| w.contains("MEET"))).unwrap();
            let meet = last_meet["t_ms"].as_i64().unwrap() * 1000;
            assert!((m.ts_us - meet).abs() < 2_000_000, "{sample} {what}: merge {} vs MEET {meet}", m.ts_us);
        }
        let yc = hosts.clusters.iter().find(|c| c.nodes.contains(&id(&inc.truth, "y1"))).unwrap();
        assert!(!yc.inferred.is_empty(), "{sample}: Y's links were not captured");
        let yw = whole.clusters.iter().find(|c| c.nodes.contains(&id(&inc.truth, "y1"))).unwrap();
        assert!(yw.inferred.is_empty(), "{sample}: with the LAN capture Y's links were seen");
        inc.done();
    }
}
