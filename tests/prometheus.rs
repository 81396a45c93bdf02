//! The Prometheus alerting rules shipped for `watch --metrics`
//! (deploy/prometheus/meetgraph.rules.yml): `promtool check rules`, then
//! `promtool test rules` fed with the agent's own exposition of sample
//! captures (a merge, an address collision, an id conflict, a quiet
//! cluster), libpcap drops and an agent that stops answering.

mod common;

use common::{file_inputs, sample_captures, samples_dir};
use meetgraph::analysis::alerts::alerts;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const RULES: &str = "deploy/prometheus/meetgraph.rules.yml";

/// The agent's exposition after reading `sample` (all its captures), as
/// `watch --metrics` serves it on a live capture with the auto filter.
fn exposition(sample: &str) -> String {
    let files: Vec<PathBuf> =
        sample_captures().into_iter().filter(|p| p.parent() == Some(samples_dir().join(sample).as_path())).collect();
    assert!(!files.is_empty(), "{sample}");
    let (mut inputs, cfg) = file_inputs(&files);
    let a = meetgraph::run::analyze(&mut inputs, cfg);
    let mut by_kind = BTreeMap::new();
    for x in alerts(&a) {
        *by_kind.entry(x.kind).or_insert(0u64) += 1;
    }
    let mut text = meetgraph::output::metrics::exposition(&a, &by_kind, Some(0));
    text += &meetgraph::output::metrics::filter_exposition(3, "17000-17002", 0, 4);
    text += &meetgraph::output::metrics::interfaces_exposition(&[("eth0".into(), true, 0)]);
    text
}

/// The exposition's samples as promtool input series of `instance`:
/// absent for the first 5 minutes (the agent starts), then constant.
fn series(text: &str, instance: &str, out: &mut String) {
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').unwrap();
        let labels = format!("instance=\"{instance}\",job=\"meetgraph\"");
        let s = match name.split_once('{') {
            Some((n, rest)) => format!("{n}{{{labels},{rest}"),
            None => format!("{name}{{{labels}}}"),
        };
        let values = if name == "meetgraph_libpcap_drops" { "_x4 0x10".to_string() } else { format!("_x4 {value}x10") };
        let _ = writeln!(out, "      - series: '{s}'\n        values: '{values}'");
    }
    let _ = writeln!(out, "      - series: 'up{{instance=\"{instance}\",job=\"meetgraph\"}}'\n        values: '1x15'");
}

/// The annotations of `alert` in the rules file, for `instance` (and the
/// interface `eth0`).
fn annotations(alert: &str, instance: &str) -> String {
    let rules = std::fs::read_to_string(RULES).unwrap();
    let block = rules.split("- alert: ").find(|b| b.starts_with(&format!("{alert}\n"))).unwrap();
    let mut out = String::new();
    for key in ["summary", "description"] {
        if let Some(l) = block.lines().find(|l| l.trim_start().starts_with(&format!("{key}: "))) {
            let v = l.trim_start()[key.len() + 2..]
                .replace("{{ $labels.instance }}", instance)
                .replace("{{ $labels.interface }}", "eth0");
            let _ = writeln!(out, "              {key}: {v}");
        }
    }
    out
}

/// An expected alert at `at`.
fn expect(out: &mut String, at: &str, alert: &str, labels: &[(&str, &str)], instance: &str) {
    let _ = writeln!(out, "      - eval_time: {at}\n        alertname: {alert}\n        exp_alerts:");
    let ls: Vec<String> = labels.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let _ = writeln!(out, "          - exp_labels: {{{}}}", ls.join(", "));
    let _ = write!(out, "            exp_annotations:\n{}", annotations(alert, instance));
}

fn nothing(out: &mut String, at: &str, alert: &str) {
    let _ = writeln!(out, "      - eval_time: {at}\n        alertname: {alert}\n        exp_alerts: []");
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool").args(args).output().expect("promtool (package prometheus) is installed");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn the_rules_are_valid() {
    let text = promtool(&["check", "rules", RULES]);
    assert!(text.contains("SUCCESS: 7 rules found"), "{text}");
}

#[test]
fn the_rules_fire_on_the_agents_own_metrics() {
    // (sample, the event kind it must show, the alert that follows).
    let cases = [
        ("redis-7.0-loopback-merge", "merge", "MeetgraphClusterMerge"),
        ("redis-7.0-docker-bridge", "address_collision", "MeetgraphAddressCollision"),
        ("redis-7.0-cloned-identity", "id_conflict", "MeetgraphIdConflict"),
    ];
    let dir = std::env::temp_dir().join(format!("meetgraph-prom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rules = std::fs::canonicalize(RULES).unwrap();
    let mut t = format!("rule_files: [{}]\nevaluation_interval: 1m\ntests:\n", rules.display());
    for (sample, kind, alert) in cases {
        let text = exposition(sample);
        assert!(text.contains(&format!("meetgraph_events_total{{kind=\"{kind}\"}} ")), "{sample}: {text}");
        t += "  - interval: 1m\n    input_series:\n";
        series(&text, "h1", &mut t);
        t += "    alert_rule_test:\n";
        // Before the agent saw it: nothing; after: the alert, for 10 min.
        nothing(&mut t, "3m", alert);
        expect(
            &mut t,
            "7m",
            alert,
            &[("severity", "critical"), ("kind", kind), ("instance", "h1"), ("job", "meetgraph")],
            "h1",
        );
        nothing(&mut t, "16m", alert);
        nothing(&mut t, "7m", "MeetgraphCaptureDrops");
        nothing(&mut t, "7m", "MeetgraphAgentDown");
        nothing(&mut t, "7m", "MeetgraphInterfaceDown");
    }
    // A quiet cluster: no alert at all; then drops and the agent gone.
    let quiet = exposition("redis-7.0-failover");
    for kind in ["merge", "address_collision", "id_conflict"] {
        assert!(!quiet.contains(&format!("kind=\"{kind}\"")), "{quiet}");
    }
    t += "  - interval: 1m\n    input_series:\n";
    let mut s = String::new();
    series(&quiet, "h2", &mut s);
    let s =
        s.replace("values: '_x4 0x10'", "values: '_x4 0x3 0+250x6'").replace("values: '1x15'", "values: '1x10 0x5'");
    // Its interface goes down at 7m (and stays down; the alert waits 1m).
    let up = "interface=\"eth0\"}'\n        values: '_x4 1x10'";
    assert!(s.contains(up), "{s}");
    let s = s.replace(up, "interface=\"eth0\"}'\n        values: '_x4 1x2 0x8'");
    t += &s;
    t += "    alert_rule_test:\n";
    for alert in ["MeetgraphClusterMerge", "MeetgraphAddressCollision", "MeetgraphIdConflict", "MeetgraphCaptureDrops"]
    {
        nothing(&mut t, "7m", alert);
    }
    expect(
        &mut t,
        "10m",
        "MeetgraphCaptureDrops",
        &[("severity", "warning"), ("instance", "h2"), ("job", "meetgraph")],
        "h2",
    );
    nothing(&mut t, "7m", "MeetgraphInterfaceDown");
    expect(
        &mut t,
        "10m",
        "MeetgraphInterfaceDown",
        &[("severity", "warning"), ("interface", "eth0"), ("instance", "h2"), ("job", "meetgraph")],
        "h2",
    );
    nothing(&mut t, "11m", "MeetgraphAgentDown");
    expect(
        &mut t,
        "13m",
        "MeetgraphAgentDown",
        &[("severity", "warning"), ("instance", "h2"), ("job", "meetgraph")],
        "h2",
    );
    let path = dir.join("meetgraph.test.yml");
    std::fs::write(&path, &t).unwrap();
    let out = promtool(&["test", "rules", path.to_str().unwrap()]);
    assert!(out.contains("SUCCESS"), "{out}\n{t}");
    std::fs::remove_dir_all(Path::new(&dir)).unwrap();
}

/// Every `meetgraph_*` metric the rules and the Grafana dashboard
/// (deploy/grafana/meetgraph.json) query is one the agent exports.
#[test]
fn the_rules_and_the_dashboard_query_what_the_agent_exports() {
    let text = exposition("redis-7.0-loopback-merge");
    let exported: std::collections::BTreeSet<&str> =
        text.lines().filter(|l| !l.starts_with('#')).map(|l| l.split(['{', ' ']).next().unwrap()).collect();
    let dashboard = std::fs::read_to_string("deploy/grafana/meetgraph.json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    assert!(v["panels"].as_array().is_some_and(|p| p.len() >= 6));
    let rules = std::fs::read_to_string(RULES).unwrap();
    let mut named = 0;
    for source in [&dashboard, &rules] {
        for (i, _) in source.match_indices("meetgraph_") {
            let name: String = source[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            assert!(exported.contains(name.as_str()), "{name} is not exported: {exported:?}");
            named += 1;
        }
    }
    assert!(named >= 15, "{named}");
}
