//! `docs/generations.md` is the README's claim of the server generations
//! proven on real captures. Every sample is a row, and every row is what
//! the program and the servers say today: the server version from the
//! sample's truth, the servers' own verdict (their `CLUSTER NODES` at the
//! end), meetgraph's verdict (`analyze --json` run here, with the merge's
//! sides named as in the truth) and the warnings and incidents it finds;
//! "yes" only where meetgraph agrees with the servers. The README's list of
//! generations is the samples' servers.

mod common;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The version a truth's `server` names: `redis_version:7.0.15`,
/// `valkey_version:9.1.2` or `Redis server v=3.0.7 sha=…`.
fn version(server: &str) -> &str {
    let v = server
        .split_whitespace()
        .find_map(|w| w.strip_prefix("v="))
        .or_else(|| server.rsplit_once(':').map(|(_, v)| v))
        .unwrap_or_default();
    assert!(v.chars().next().is_some_and(|c| c.is_ascii_digit()), "no version in {server:?}");
    v
}

/// The servers' verdict: a node of one cluster listing a node of the
/// other as a trusted member (no handshake, noaddr or fail flag) at the
/// end means the clusters merged (`None`: no `nodes-after-*.txt`).
fn servers_merged(dir: &Path, truth: &Value) -> Option<bool> {
    let nodes = truth["nodes"].as_object().unwrap();
    let cluster_of =
        |id: &str| nodes.values().find(|n| n["id"] == id).and_then(|n| n["cluster"].as_str()).filter(|c| *c != "none");
    let (mut seen, mut merged) = (0, false);
    for name in common::sorted_names(dir) {
        if !(name.starts_with("nodes-after-") && name.ends_with(".txt")) {
            continue;
        }
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        let lines: Vec<Vec<&str>> =
            text.lines().map(|l| l.split_whitespace().collect()).filter(|l: &Vec<&str>| l.len() > 2).collect();
        let Some(me) = lines.iter().find(|l| l[2].contains("myself")) else { continue };
        seen += 1;
        let mine = cluster_of(me[0]);
        for l in &lines {
            let other = cluster_of(l[0]);
            let trusted = !l[2].split(',').any(|f| ["handshake", "noaddr", "fail"].contains(&f));
            merged |= mine.is_some() && other.is_some() && mine != other && trusted;
        }
    }
    (seen > 0).then_some(merged)
}

/// meetgraph's verdict and the kinds of its warning and incident findings,
/// from `analyze --json` on the sample's captures.
fn meetgraph_says(dir: &Path, truth: &Value) -> (String, String, bool, bool) {
    let caps = common::captures_in(dir);
    let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .current_dir(dir)
        .arg("analyze")
        .args(&caps)
        .args(["--json", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(common::expected_exit(dir)), "{}", String::from_utf8_lossy(&out.stderr));
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: BTreeSet<&str> = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    let names = truth["nodes"].as_object().unwrap();
    let name_of = |id: &str| {
        names.iter().find(|(_, n)| n["id"] == id).map(|(k, _)| k.clone()).unwrap_or_else(|| id[..8].to_string())
    };
    let merged = !a["merges"].as_array().unwrap().is_empty();
    let complete = a["coverage"]["complete"].as_bool().unwrap();
    let verdict = if merged {
        let sides: Vec<String> = a["merges"][0]["sides"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let mut v: Vec<String> = s.as_array().unwrap().iter().map(|x| name_of(x.as_str().unwrap())).collect();
                v.sort();
                format!("{{{}}}", v.join(" "))
            })
            .collect();
        format!("merged {}", sides.join(" vs "))
    } else if !complete {
        let limit = a["coverage"]["limits"][0].as_str().unwrap();
        format!("cannot tell: {}", limit.split(':').next().unwrap())
    } else {
        "no merge".to_string()
    };
    (verdict, kinds.into_iter().collect::<Vec<_>>().join(", "), merged, complete)
}

#[test]
fn the_generations_table_is_what_meetgraph_and_the_servers_say() {
    let root = common::samples_dir().join("..");
    let doc = std::fs::read_to_string(root.join("docs/generations.md")).unwrap();
    let rows: Vec<Vec<&str>> = doc
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| capture"))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    let dirs = common::sample_dirs();
    let mut samples = BTreeSet::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let t: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
        let server = t["server"].as_str().unwrap_or_else(|| panic!("{name}: truth.json has no server"));
        let row = rows.iter().find(|r| r[0] == name).unwrap_or_else(|| panic!("{name} is not in docs/generations.md"));
        assert_eq!(row.len(), 6, "{row:?}");
        assert!(row[1].contains(version(server)), "{name}: table says {:?}, truth {server:?}", row[1]);
        let servers = servers_merged(dir, &t);
        let said = match servers {
            Some(true) => "merged",
            Some(false) => "not merged",
            None => "?",
        };
        assert_eq!(row[2], said, "{name}: the servers' CLUSTER NODES");
        let (verdict, kinds, merged, complete) = meetgraph_says(dir, &t);
        assert_eq!(row[3], verdict, "{name}: meetgraph's verdict");
        assert_eq!(row[4], kinds, "{name}: warnings and incidents");
        if complete || merged {
            assert_eq!(servers, Some(merged), "{name}: meetgraph and the servers disagree");
            assert_eq!(row[5], "yes", "{name}");
        } else {
            assert!(row[5].starts_with("n/a"), "{name}: {row:?}");
        }
        samples.insert(name);
    }
    assert_eq!(samples.len(), dirs.len());
    let extra: Vec<&&str> = rows.iter().map(|r| &r[0]).filter(|n| !samples.contains(**n)).collect();
    assert!(extra.is_empty(), "rows without a sample: {extra:?}");
    assert_eq!(rows.len(), dirs.len(), "one row per sample");
}

/// The README's "Proven on real captures of real servers" list is the set
/// of servers of the samples (`samples/README.md`'s server column, which
/// holds each truth's version).
#[test]
fn the_readme_lists_the_samples_servers() {
    let root = common::samples_dir().join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme.find("Proven on real captures").expect("the claim");
    // The paragraph: "… (table in …): Redis 3.0.7, 3.2.13, …; Valkey
    // 7.2.7, …." (and any sentence after the list).
    let claim = &readme[start..start + readme[start..].find("\n\n").unwrap()];
    let listed = claim[claim.find("):").unwrap() + 2..].trim().trim_end_matches('.').split(". ").next().unwrap();
    let mut claimed = BTreeSet::new();
    for part in listed.split(';') {
        let part = part.trim();
        let (server, versions) = part.split_once(' ').unwrap();
        for v in versions.split(',') {
            claimed.insert(format!("{server} {}", v.trim()));
        }
    }
    let table = std::fs::read_to_string(common::samples_dir().join("README.md")).unwrap();
    let mut have = BTreeSet::new();
    for dir in common::sample_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let row = table.lines().find(|l| l.starts_with(&format!("| `{name}` |"))).unwrap();
        let server = row.split(" | ").nth(1).unwrap();
        let t: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
        assert!(server.contains(version(t["server"].as_str().unwrap())), "{name}: {server:?} vs truth {}", t["server"]);
        // "Redis 8.0-M01 (reports 7.9.224)" is Redis 8.0-M01.
        have.insert(server.split(" (").next().unwrap().to_string());
    }
    assert_eq!(claimed, have, "README claim vs the samples' servers");
}

/// Redis 7.2 and 7.4 send the same bytes but for one rule: from 7.4 on a
/// node's gossip never names the node it is sent to (redis#13046), and
/// its table ignores gossip about itself. Every node of a sample whose
/// servers are Redis 7.4 or later is told "Redis 7.4+" from its gossip
/// alone, and no node of an earlier server (7.2, Valkey 7.2, older) is.
#[test]
fn redis_7_4_is_told_from_gossip_that_skips_its_receiver() {
    let (mut later, mut earlier) = (0, 0);
    for dir in common::decodable_sample_dirs() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let t: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
        let server = t["server"].as_str().unwrap();
        let v = version(server);
        let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        // 8.0-M01 reports 7.9.224.
        let redis_74 = server.starts_with("redis") && (major, minor) >= (7, 4);
        let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
            .current_dir(&dir)
            .arg("analyze")
            .args(common::captures_in(&dir))
            .args(["--json", "-"])
            .output()
            .unwrap();
        let a: Value = serde_json::from_slice(&out.stdout).unwrap();
        for n in a["nodes"].as_array().unwrap() {
            let told_74 = n["generation"] == "Redis 7.4+";
            // Every node whose bytes are 7.2-alike is judged.
            if n["generation"] == "Redis 7.2+ or Valkey 7.2" || told_74 {
                assert_eq!(told_74, redis_74, "{name} ({server}): {} told {}", n["id"], n["generation"]);
                if redis_74 { later += 1 } else { earlier += 1 }
            }
        }
    }
    assert!(later >= 12 && earlier >= 6, "{later} nodes of 7.4+, {earlier} of 7.2");
}
