//! The live agent in production (`--features live`, as root; issue 28
//! item 3): `-Z USER` drops to USER once the interface is open, on every
//! live command, keeping only CAP_NET_RAW and CAP_NET_ADMIN, and the
//! capture, the auto filter (re-installed as it learns, after the drop)
//! and the metrics go on; an interface set down and up, then deleted and
//! created again, is told as an outage and a resumption while `watch`
//! keeps its analysis and still tells a MEET made afterwards. Real Redis
//! 7.0 servers in network namespaces (tests/common/lab.rs); fails loudly.
#![cfg(feature = "live")]

mod common;

use common::lab::{Netns, stop_with, wait_capturing};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `id -u nobody`, `id -g nobody`.
fn nobody() -> (String, String) {
    let id = |flag: &str| text(&Command::new("id").args([flag, "nobody"]).output().unwrap().stdout).trim().to_string();
    (id("-u"), id("-g"))
}

/// The `Uid:`, `Gid:`, `Groups:` and `CapEff:` lines of `/proc/PID/status`,
/// their values.
fn credentials(pid: u32) -> [String; 4] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    ["Uid:", "Gid:", "Groups:", "CapEff:"].map(|k| {
        let line = status.lines().find(|l| l.starts_with(k)).unwrap_or_default();
        line[k.len()..].split_whitespace().collect::<Vec<_>>().join(" ")
    })
}

/// The metrics served on `port` inside `ns`.
fn scrape(ns: &Netns, port: u16) -> String {
    let out = ns.cmd("curl").args(["-s", &format!("http://127.0.0.1:{port}/metrics")]).output().unwrap();
    text(&out.stdout)
}

/// The value of the first sample of `metric` (with its labels, if given).
fn sample(metrics: &str, metric: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let rest = l.strip_prefix(metric)?;
        let value = if rest.starts_with('{') { rest.split_once("} ")?.1 } else { rest.strip_prefix(' ')? };
        value.trim().parse().ok()
    })
}

/// Every live command with `-Z nobody` and no filter given (the auto
/// filter): once capturing, the process is nobody (uid, gid, no other
/// group) with CAP_NET_ADMIN and CAP_NET_RAW only (0x3000); a MEET made
/// then is read whole by each; `watch`'s metrics are served, with the bus
/// ports the filter learned (a program installed after the drop: a failed
/// install ends the capture with an error).
#[test]
fn every_live_command_runs_as_the_user_after_open() {
    let ns = Netns::new("mgzu");
    ns.redis(7900);
    ns.redis(7901);
    let id = ns.node_id(7900);
    let metrics_port = 7990;
    let metrics = format!("127.0.0.1:{metrics_port}");
    let z = ["-Z", "nobody"];
    let commands: Vec<(&str, Vec<&str>)> = vec![
        ("dump", [&["dump", "-i", "lo", "--format", "jsonl"][..], &z].concat()),
        ("analyze", [&["analyze", "-i", "lo", "--json", "-"][..], &z].concat()),
        ("nodes", [&["nodes", "-i", "lo", "--as", &id][..], &z].concat()),
        ("watch", [&["watch", "-i", "lo", "--json-events", "-", "--metrics", &metrics][..], &z].concat()),
    ];
    let children: Vec<_> = commands.iter().map(|(_, args)| ns.spawn_meetgraph(args)).collect();
    let mut creds = Vec::new();
    for c in &children {
        wait_capturing(c.id());
        creds.push(credentials(c.id()));
    }
    ns.meet(7900, "127.0.0.1", 7901);
    std::thread::sleep(Duration::from_millis(1500));
    let served = scrape(&ns, metrics_port);
    let server = ns.cli("7900", &["cluster", "nodes"]);
    let outs: Vec<_> = children.into_iter().map(|c| stop_with(c, "-INT").0).collect();
    drop(ns);

    let (uid, gid) = nobody();
    for ((name, _), cred) in commands.iter().zip(&creds) {
        assert_eq!(cred[0], [uid.as_str(); 4].join(" "), "{name}: {cred:?}");
        assert_eq!(cred[1], [gid.as_str(); 4].join(" "), "{name}: {cred:?}");
        assert_eq!(cred[2], gid, "{name}: {cred:?}");
        assert_eq!(cred[3], "0000000000003000", "{name}: CAP_NET_ADMIN and CAP_NET_RAW only: {cred:?}");
    }
    for ((name, _), out) in commands.iter().zip(&outs) {
        assert!(matches!(out.status.code(), Some(0)), "{name}: {:?} {}", out.status, text(&out.stderr));
    }
    let dump = text(&outs[0].stdout);
    let types: Vec<Value> = dump
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["record"] == "message")
        .map(|v| v["type"].clone())
        .collect();
    assert!(types.contains(&"meet".into()) && types.contains(&"pong".into()), "{types:?}");
    let analysis: Value = serde_json::from_str(&text(&outs[1].stdout)).unwrap();
    assert_eq!(analysis["nodes"].as_array().unwrap().len(), 2, "{}", analysis["story"]);
    assert!(analysis["introductions"].as_array().unwrap().iter().any(|i| i["via"] == "operator_meet"));
    let table = text(&outs[2].stdout);
    assert_eq!(table.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count(), 2, "{table}\n{server}");
    let events = text(&outs[3].stdout);
    assert!(events.lines().any(|l| l.contains("\"kind\":\"join\"")), "{events}");
    assert!(sample(&served, "meetgraph_bus_messages").is_some_and(|n| n > 0.0), "{served}");
    assert!(sample(&served, "meetgraph_filter_ports").is_some_and(|n| n >= 2.0), "{served}");
    assert_eq!(sample(&served, "meetgraph_interface_up{interface=\"lo\"}"), Some(1.0), "{served}");
}

/// Two namespaces joined by a veth pair (`mgva` in A, `mgvb` in B).
struct TwoHosts {
    a: Netns,
    b: Netns,
}

const A_IP: &str = "10.66.0.1";
const B_IP: &str = "10.66.0.2";

impl TwoHosts {
    fn new() -> TwoHosts {
        let two = TwoHosts { a: Netns::new("mgoa"), b: Netns::new("mgob") };
        two.link();
        two
    }

    /// The veth pair, addressed and up (again after a deletion).
    fn link(&self) {
        self.a.run(&["ip", "link", "add", "mgva", "type", "veth", "peer", "name", "mgvb", "netns", &self.b.name]);
        self.a.run(&["ip", "addr", "add", &format!("{A_IP}/24"), "dev", "mgva"]);
        self.b.run(&["ip", "addr", "add", &format!("{B_IP}/24"), "dev", "mgvb"]);
        self.a.run(&["ip", "link", "set", "mgva", "up"]);
        self.b.run(&["ip", "link", "set", "mgvb", "up"]);
    }
}

/// The JSON events read so far from a running `watch --json-events -`.
type Events = std::sync::Arc<std::sync::Mutex<Vec<Value>>>;

/// Waits (up to `limit`) for an event `pred` accepts among those from
/// index `from`; its index.
fn wait_event(events: &Events, from: usize, limit: Duration, pred: impl Fn(&Value) -> bool) -> Option<usize> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(i) = events.lock().unwrap().iter().skip(from).position(&pred) {
            return Some(from + i);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// `watch -i mgva -Z nobody` on host A while A's node meets B's first
/// node across the veth; the veth set down 3 s then up (the same handle
/// reads again), then deleted and created again (a new interface of the
/// same name: opened again, as nobody, with the capabilities kept); then
/// A's node meets B's second node. Each outage is told (stderr, event,
/// metrics) and so is each resumption, and the MEET after them is told as
/// a join of the new node; nothing told before is withdrawn.
#[test]
fn watch_survives_an_interface_going_down_and_coming_back() {
    use std::io::BufRead;
    let hosts = TwoHosts::new();
    let (a, b) = (&hosts.a, &hosts.b);
    a.redis(7300);
    b.redis(7300);
    b.redis(7301);
    let new_node = b.node_id(7301);
    let metrics_port = 7390;
    let metrics = format!("127.0.0.1:{metrics_port}");
    let mut watch =
        a.spawn_meetgraph(&["watch", "-i", "mgva", "--json-events", "-", "--metrics", &metrics, "-Z", "nobody"]);
    let stdout = watch.stdout.take().unwrap();
    let events: Events = Default::default();
    let sink = events.clone();
    let reader = std::thread::spawn(move || {
        for l in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(serde_json::from_str(&l).unwrap_or(Value::String(l)));
        }
    });
    wait_capturing(watch.id());
    a.meet(7300, B_IP, 7300);
    let kind = |k: &'static str| move |v: &Value| v["kind"] == k;
    let joined = wait_event(&events, 0, Duration::from_secs(5), kind("join"));

    // Set down, then up: the same handle.
    a.run(&["ip", "link", "set", "mgva", "down"]);
    let down1 = wait_event(&events, 0, Duration::from_secs(3), kind("interface_down"));
    let down_metrics = scrape(a, metrics_port);
    std::thread::sleep(Duration::from_secs(3));
    a.run(&["ip", "link", "set", "mgva", "up"]);
    let up1 = wait_event(&events, 0, Duration::from_secs(5), kind("interface_up"));

    // Deleted, and created again a second later.
    a.run(&["ip", "link", "del", "mgva"]);
    let down2 = wait_event(&events, up1.unwrap_or(0) + 1, Duration::from_secs(3), kind("interface_down"));
    std::thread::sleep(Duration::from_secs(1));
    hosts.link();
    let up2 = wait_event(&events, down2.unwrap_or(0) + 1, Duration::from_secs(8), kind("interface_up"));

    // The bus after the outages: a MEET told as a join of the new node.
    let up_to = up2.unwrap_or(0);
    a.meet(7300, B_IP, 7301);
    let joined_after = wait_event(&events, up_to + 1, Duration::from_secs(8), |v| {
        v["kind"] == "join" && v["nodes"].as_array().is_some_and(|n| n.iter().any(|x| x == new_node.as_str()))
    });
    let after_metrics = scrape(a, metrics_port);
    let creds = credentials(watch.id());
    let (out, _) = stop_with(watch, "-TERM");
    reader.join().unwrap();
    drop(hosts);

    let all = events.lock().unwrap().clone();
    let shown = || all.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("\n");
    let stderr = text(&out.stderr);
    assert!(joined.is_some(), "no join before the outages:\n{}", shown());
    let (down1, up1, down2, up2) = (down1.unwrap(), up1.unwrap(), down2.unwrap(), up2.unwrap());
    assert!(down1 < up1 && up1 < down2 && down2 < up2, "{}\n{stderr}", shown());
    assert_eq!(all[down1]["interface"], "mgva");
    assert_eq!(all[down1]["severity"], "warning");
    assert!(all[down1]["summary"].as_str().unwrap().contains("set down"), "{}", all[down1]);
    assert!(all[up1]["summary"].as_str().unwrap().contains("same handle"), "{}", all[up1]);
    assert!(all[down2]["summary"].as_str().unwrap().contains("deleted"), "{}", all[down2]);
    assert!(all[up2]["summary"].as_str().unwrap().contains("opened again"), "{}", all[up2]);
    let joined_after =
        joined_after.unwrap_or_else(|| panic!("no join of {new_node} after the interface came back:\n{}", shown()));
    // The analysis was kept: the cluster it joined is the one met before.
    let summary = all[joined_after]["summary"].as_str().unwrap();
    assert!(summary.contains("joined a cluster of 2"), "{summary}");
    assert!(!shown().contains("withdrawn"), "{}", shown());
    // Said on stderr too, as it happened.
    for line in ["the interface went down (set down), outage 1", "outage 2", "capture resumed after"] {
        assert!(stderr.contains(line), "{line:?} not in {stderr}");
    }
    assert_eq!(sample(&down_metrics, "meetgraph_interface_up{interface=\"mgva\"}"), Some(0.0), "{down_metrics}");
    assert_eq!(sample(&down_metrics, "meetgraph_interface_outages_total{interface=\"mgva\"}"), Some(1.0));
    assert_eq!(sample(&after_metrics, "meetgraph_interface_up{interface=\"mgva\"}"), Some(1.0), "{after_metrics}");
    assert_eq!(sample(&after_metrics, "meetgraph_interface_outages_total{interface=\"mgva\"}"), Some(2.0));
    // The interface events are counted with the others.
    assert_eq!(sample(&after_metrics, "meetgraph_events_total{kind=\"interface_down\"}"), Some(2.0), "{after_metrics}");
    assert_eq!(sample(&after_metrics, "meetgraph_events_total{kind=\"interface_up\"}"), Some(2.0), "{after_metrics}");
    // Still nobody, with the two capabilities, after opening it again.
    let (uid, _) = nobody();
    assert_eq!(creds[0], [uid.as_str(); 4].join(" "), "{creds:?}");
    assert_eq!(creds[3], "0000000000003000", "{creds:?}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// Where `-Z` cannot keep CAP_NET_RAW (here: `PR_SET_KEEPCAPS` locked
/// off by `setpriv`), it says so at the start; an interface set down and
/// up is still read again (the same handle needs no privilege), and a
/// deleted one, created again, is told as not opened again, with why,
/// while the run goes on to its `--duration`.
#[test]
fn without_the_capabilities_a_deleted_interface_is_told_lost() {
    let ns = Netns::new("mgzl");
    let link = || {
        ns.run(&["ip", "link", "add", "mgla", "type", "veth", "peer", "name", "mglb"]);
        ns.run(&["ip", "link", "set", "mgla", "up"]);
        ns.run(&["ip", "link", "set", "mglb", "up"]);
    };
    link();
    let dump = ns
        .cmd("setpriv")
        .args(["--securebits", "+keep_caps_locked", env!("CARGO_BIN_EXE_meetgraph")])
        .args(["dump", "-i", "mgla", "-q", "--duration", "7", "-Z", "nobody"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_capturing(dump.id());
    ns.run(&["ip", "link", "set", "mgla", "down"]);
    std::thread::sleep(Duration::from_millis(1500));
    ns.run(&["ip", "link", "set", "mgla", "up"]);
    std::thread::sleep(Duration::from_millis(1500));
    ns.run(&["ip", "link", "del", "mgla"]);
    std::thread::sleep(Duration::from_millis(500));
    link();
    let out = common::lab::wait_output(dump, Duration::from_secs(10));
    drop(ns);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let want = [
        "-Z nobody: CAP_NET_RAW not kept",
        "the interface went down (set down), outage 1",
        "capture resumed after",
        "the interface went down (deleted",
        "still down, cannot open it again",
    ];
    assert_eq!(lines.len(), want.len(), "{stderr}");
    for (line, w) in lines.iter().zip(want) {
        assert!(line.contains(w), "{w:?} not in {line:?}:\n{stderr}");
    }
    assert!(lines[1].contains("iface:mgla") && lines[4].contains("Operation not permitted"), "{stderr}");
    // Said for what the process can do now: not `setcap`, a restart.
    assert!(lines[4].contains("no longer holds CAP_NET_RAW") && !lines[4].contains("setcap"), "{stderr}");
}
