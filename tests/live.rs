//! Live capture (`--features live`): real Redis servers in a private
//! network namespace, `meetgraph dump -i lo` running inside it while the
//! operator MEETs two nodes. Needs root, iproute2, redis-cli and
//! /usr/bin/redis-server (`.ci/run` installs them); fails loudly.
#![cfg(feature = "live")]

use std::process::{Command, Stdio};
use std::time::Duration;

/// The tests that time how soon `watch` tells take turns: on two cores,
/// two labs at once would measure each other.
static TIMED: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn ns(name: &str, args: &[&str]) -> std::process::Output {
    Command::new("ip").args(["netns", "exec", name]).args(args).output().expect("ip netns exec")
}

/// A namespace with its loopback up and Redis 7.0 cluster nodes in it.
struct Lab {
    name: String,
    dir: std::path::PathBuf,
}

impl Lab {
    /// Creates the namespace and starts one empty cluster node per port.
    fn new(prefix: &str, ports: &[&str]) -> Lab {
        let name = format!("{prefix}-{}", std::process::id());
        assert!(Command::new("ip").args(["netns", "add", &name]).status().unwrap().success(), "needs root");
        let _ = ns(&name, &["ip", "link", "set", "lo", "up"]);
        let dir = std::env::temp_dir().join(&name);
        for port in ports {
            let d = dir.join(port);
            std::fs::create_dir_all(&d).unwrap();
            let conf = d.join("nodes.conf");
            let args = [
                "/usr/bin/redis-server",
                "--port",
                port,
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                conf.to_str().unwrap(),
                "--dir",
                d.to_str().unwrap(),
                "--daemonize",
                "yes",
                "--save",
                "",
            ];
            let out = ns(&name, &args);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(500));
        Lab { name, dir }
    }

    /// Kills everything in the namespace and removes it.
    fn teardown(&self) {
        let pids = Command::new("ip").args(["netns", "pids", &self.name]).output().unwrap();
        for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn live_dump_on_an_interface_sees_the_meet() {
    let lab = Lab::new("mglive", &["7100", "7101"]);
    let name = lab.name.clone();
    let saved = std::env::temp_dir().join(format!("{name}.pcapng"));
    let dump = Command::new("ip")
        .args(["netns", "exec", &name, env!("CARGO_BIN_EXE_meetgraph"), "dump", "-i", "lo", "--duration", "4"])
        .args(["--filter", "tcp", "--format", "jsonl", "--stats", "-w"])
        .arg(&saved)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let meet = ns(&name, &["redis-cli", "-p", "7100", "cluster", "meet", "127.0.0.1", "7101"]);
    let out = dump.wait_with_output().unwrap();
    // Tear down before asserting.
    lab.teardown();

    assert_eq!(String::from_utf8_lossy(&meet.stdout).trim(), "OK");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let types: Vec<&str> =
        lines.iter().filter(|v| v["record"] == "message").filter_map(|v| v["type"].as_str()).collect();
    assert!(types.contains(&"meet") && types.contains(&"pong"), "{types:?}");
    assert!(lines.iter().any(|v| v["record"] == "command" && v["args"][1] == "meet"));
    let stats = lines.iter().find(|v| v["record"] == "stats").expect("stats");
    assert_eq!(stats["total"]["anomalies"], serde_json::json!({}));
    assert!(lines.iter().all(|v| v["capture"].as_str().is_none_or(|c| c == "iface:lo")));
    // -w saved what was captured: reading it back gives the same messages.
    let again =
        Command::new(env!("CARGO_BIN_EXE_meetgraph")).args(["dump", "--format", "jsonl"]).arg(&saved).output().unwrap();
    let _ = std::fs::remove_file(&saved);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    let saved_types: Vec<String> = String::from_utf8_lossy(&again.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["record"] == "message")
        .filter_map(|v| v["type"].as_str().map(String::from))
        .collect();
    assert_eq!(saved_types, types, "the saved file holds every message");
}

/// Live commands stop within a second of SIGINT, SIGTERM or the end of
/// `--duration`, on an idle interface too (issue 11 item 6).
#[test]
fn live_commands_stop_promptly_on_an_idle_interface() {
    use std::time::{Duration, Instant};
    let ns_name = format!("mgidle{}", std::process::id());
    assert!(std::process::Command::new("ip").args(["netns", "add", &ns_name]).status().unwrap().success());
    ns(&ns_name, &["ip", "link", "set", "lo", "up"]);
    let bin = env!("CARGO_BIN_EXE_meetgraph");
    let run = |args: &[&str]| {
        let mut c = std::process::Command::new("ip");
        c.args(["netns", "exec", &ns_name, bin]).args(args);
        c
    };
    for cmd in [&["dump", "-i", "lo", "--duration", "1"][..], &["watch", "-i", "lo", "--duration", "1"]] {
        let t = Instant::now();
        let out = run(cmd).output().unwrap();
        // 3: nothing of the bus was seen (the verdict rests on no evidence).
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{cmd:?}: {:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(t.elapsed() < Duration::from_secs(2), "{cmd:?} took {:?}", t.elapsed());
    }
    for sig in ["-INT", "-TERM"] {
        for cmd in [&["watch", "-i", "lo"][..], &["analyze", "-i", "lo"]] {
            let mut child = run(cmd).stdout(std::process::Stdio::null()).spawn().unwrap();
            std::thread::sleep(Duration::from_millis(700));
            // The meetgraph process inside the namespace.
            let pids = std::process::Command::new("ip").args(["netns", "pids", &ns_name]).output().unwrap();
            for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
                let _ = std::process::Command::new("kill").args([sig, pid]).status();
            }
            let t = Instant::now();
            let mut done = false;
            while t.elapsed() < Duration::from_secs(2) {
                if child.try_wait().unwrap().is_some() {
                    done = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(done, "{cmd:?} did not stop within 2 s of {sig}");
        }
    }
    // Several -i read as one capture, and stop together; the auto filter
    // keeps the 6 ping packets (no bus) in the kernel, --no-auto-filter
    // does not (a new veth's IPv6 reports, behind a hop-by-hop header,
    // pass whole).
    ns(&ns_name, &["ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
    ns(&ns_name, &["ip", "link", "set", "d0", "up"]);
    ns(&ns_name, &["ip", "link", "set", "d1", "up"]);
    for (extra, least, most) in [(&["--no-auto-filter"][..], 6, u64::MAX), (&[][..], 0, 3)] {
        let t = Instant::now();
        let mut args = vec!["dump", "-q", "--stats", "-i", "lo", "-i", "d0", "--duration", "2"];
        args.extend_from_slice(extra);
        let both = run(&args).stdout(std::process::Stdio::piped()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        ns(&ns_name, &["ping", "-c", "3", "-i", "0.2", "127.0.0.1"]);
        let out = both.wait_with_output().unwrap();
        assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("iface:lo+iface:d0"), "{text}");
        let packets: u64 = text
            .lines()
            .find(|l| l.starts_with("packets"))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap()
            .parse()
            .unwrap();
        assert!((least..=most).contains(&packets), "{extra:?}: {text}");
    }
    // -Z: the capture runs as that user once the interface is open.
    let mut child = run(&["watch", "-i", "lo", "--duration", "2", "-Z", "nobody"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let pids = std::process::Command::new("ip").args(["netns", "pids", &ns_name]).output().unwrap();
    let uids: Vec<String> = String::from_utf8_lossy(&pids.stdout)
        .split_whitespace()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter(|s| s.lines().any(|l| l.starts_with("Name:") && l.contains("meetgraph")))
        .filter_map(|s| s.lines().find(|l| l.starts_with("Uid:")).map(String::from))
        .collect();
    let st = child.wait().unwrap();
    let _ = std::process::Command::new("ip").args(["netns", "del", &ns_name]).status();
    assert!(matches!(st.code(), Some(0 | 3)), "{st:?}");
    assert_eq!(uids.len(), 1, "{uids:?}");
    let nobody =
        String::from_utf8(std::process::Command::new("id").args(["-u", "nobody"]).output().unwrap().stdout).unwrap();
    assert!(uids[0].split_whitespace().nth(1) == Some(nobody.trim()), "{uids:?} vs {nobody}");
}

/// `watch -i` on a namespace's loopback while the operator merges two
/// healthy one-master clusters of real servers: the merge event, with its
/// chain, is told within 2 s of the MEET (issue 11).
#[test]
fn watch_tells_a_live_merge_within_two_seconds() {
    let _turn = TIMED.lock().unwrap_or_else(|e| e.into_inner());
    use std::io::BufRead;
    use std::time::Instant;
    let lab = Lab::new("mgwatch", &["7200", "7201"]);
    let name = lab.name.clone();
    for port in ["7200", "7201"] {
        let out = ns(&name, &["redis-cli", "-p", port, "cluster", "addslotsrange", "0", "16383"]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    }
    std::thread::sleep(Duration::from_millis(1500));
    let saved = std::env::temp_dir().join(format!("{name}.pcapng"));
    let mut watch = Command::new("ip")
        .args(["netns", "exec", &name, env!("CARGO_BIN_EXE_meetgraph"), "watch", "-i", "lo", "--json-events", "-"])
        .arg("-w")
        .arg(&saved)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for l in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            lines.push((Instant::now(), l));
        }
        lines
    });
    std::thread::sleep(Duration::from_millis(1500));
    let meet_at = Instant::now();
    let meet = ns(&name, &["redis-cli", "-p", "7200", "cluster", "meet", "127.0.0.1", "7201"]);
    std::thread::sleep(Duration::from_millis(4000));
    // SIGTERM ends the watch; the saved file must be whole.
    let pids = Command::new("ip").args(["netns", "pids", &name]).output().unwrap();
    let mg: Vec<String> = String::from_utf8_lossy(&pids.stdout)
        .split_whitespace()
        .filter(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "meetgraph"))
        .map(String::from)
        .collect();
    assert_eq!(mg.len(), 1, "{mg:?}");
    let _ = Command::new("kill").args(["-TERM", &mg[0]]).status();
    let status = watch.wait().unwrap();
    let lines = reader.join().unwrap();
    lab.teardown();

    assert_eq!(String::from_utf8_lossy(&meet.stdout).trim(), "OK");
    let (at, line) = lines.iter().find(|(_, l)| l.contains("\"kind\":\"merge\"")).expect("a merge event");
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert!(!v["chain"].as_array().unwrap().is_empty(), "{v}");
    let delay = at.duration_since(meet_at);
    eprintln!("merge told {delay:?} after the MEET");
    assert!(delay < Duration::from_secs(2), "merge told {delay:?} after the MEET");
    assert!(matches!(status.code(), Some(0 | 3)), "{status:?}");
    // The saved capture, replayed, tells the same events.
    let replay = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .args(["watch", "--json-events", "-"])
        .arg(&saved)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&saved);
    assert!(matches!(replay.status.code(), Some(0 | 3)), "{}", String::from_utf8_lossy(&replay.stderr));
    let events = |lines: Vec<String>| {
        let mut v: Vec<(i64, String)> = lines
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| (v["ts_us"].as_i64().unwrap(), v["kind"].as_str().unwrap().to_string()))
            .collect();
        v.sort();
        v
    };
    let live = events(lines.iter().map(|(_, l)| l.clone()).collect());
    let again = events(String::from_utf8_lossy(&replay.stdout).lines().map(String::from).collect());
    assert_eq!(live, again);
}

/// `watch -i any` on one host of the docker-bridge near miss
/// (tests/lab/docker_bridge.sh, Redis 7.0: the servers do not merge) warns
/// of the address collision within 2 s of the colliding handshake: the
/// line arrives at most 2 s (wall clock) after the capture time of the
/// packet that completed the evidence (issue 11).
#[test]
fn watch_warns_of_a_docker_bridge_near_miss_within_two_seconds() {
    let _turn = TIMED.lock().unwrap_or_else(|e| e.into_inner());
    // Real servers on a 2-core machine: the alert's kind and delay depend
    // on when each node happens to speak (see below). A second run of the
    // lab is allowed when the first misses; both missing fails.
    let first = std::panic::catch_unwind(|| docker_bridge_near_miss(1));
    if let Err(e) = first {
        let why = e.downcast_ref::<String>().cloned().unwrap_or_default();
        eprintln!("first run missed, running the lab again: {why}");
        docker_bridge_near_miss(2);
    }
}

fn docker_bridge_near_miss(attempt: u32) {
    let out = std::env::temp_dir().join(format!("mgwatch-bridge-{}-{attempt}", std::process::id()));
    let run = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/docker_bridge.sh"))
        .arg("/usr/bin/redis-server")
        .arg(&out)
        .env("WATCH", env!("CARGO_BIN_EXE_meetgraph"))
        .env("AFTER_MEET_S", "8")
        .output()
        .unwrap();
    let lines = std::fs::read_to_string(out.join("watch-h2.tsv")).unwrap_or_default();
    let err = std::fs::read_to_string(out.join("watch-h2.err")).unwrap_or_default();
    let truth = std::fs::read_to_string(out.join("truth.json")).unwrap_or_default();
    // Capture time of every message frame of what watch saw.
    let dump =
        Command::new(env!("CARGO_BIN_EXE_meetgraph")).arg("dump").arg(out.join("watch-h2.pcapng")).output().unwrap();
    let frame_ms: std::collections::BTreeMap<u64, i64> = String::from_utf8_lossy(&dump.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let ts = w.next()?;
            let frame = w.next()?.rsplit_once('#')?.1.parse().ok()?;
            let t = meetgraph::time::parse_utc_us(ts)? / 1000;
            Some((frame, t))
        })
        .collect();
    let _ = std::fs::remove_dir_all(&out);
    assert!(run.status.success(), "lab failed: {}", String::from_utf8_lossy(&run.stderr));
    let truth: serde_json::Value = serde_json::from_str(&truth).unwrap();
    let meet_ms = truth["meet_ms"].as_i64().unwrap();
    let collisions: Vec<(i64, serde_json::Value)> = lines
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(ms, json)| (ms.parse().unwrap(), serde_json::from_str(json).unwrap()))
        // A live look sees only the seconds after the handshake: when the
        // first owner has not spoken from this vantage since, the same
        // near miss is told as an address_reuse (first owner silent,
        // another node answering there), which analyze of the whole
        // capture revises to a collision. Either is the alert for the
        // colliding address (about one run in four is told as reuse).
        .filter(|(_, v): &(i64, serde_json::Value)| {
            (v["kind"] == "address_collision" || v["kind"] == "address_reuse")
                && v["addresses"].as_array().is_some_and(|a| !a.is_empty())
        })
        .collect();
    let (arrived_ms, v) =
        collisions.first().unwrap_or_else(|| panic!("no address_collision or address_reuse told:\n{lines}\n{err}"));
    // The collision is known once its last piece of evidence is captured
    // (the colliding handshake, or the news it contradicts).
    let evidence_ms = v["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| frame_ms.get(&e["frame"].as_u64()?).copied())
        .max()
        .unwrap_or_else(|| panic!("evidence frames not in the saved capture: {v}"));
    eprintln!(
        "address_collision told {} ms after its evidence, {} ms after the MEET: {}",
        arrived_ms - evidence_ms,
        arrived_ms - meet_ms,
        v["summary"]
    );
    assert!(v["ts_us"].as_i64().unwrap() / 1000 >= meet_ms, "{v}");
    assert!(arrived_ms - evidence_ms < 2000, "told {} ms after the evidence: {v}", arrived_ms - evidence_ms);
    // The near miss is a warning, not a merge: Redis 7.0 keeps X and Y apart.
    assert_eq!(truth["merged"], false);
    // The collision involves c, the idle container whose bridge or NAT
    // address means another node elsewhere.
    let c = truth["nodes"]["c"]["id"].as_str().unwrap();
    assert!(v["nodes"].as_array().unwrap().iter().any(|n| n == c), "c = {c}: {v}");
}
