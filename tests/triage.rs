//! Signal before noise, checked against what the lab did (truth.json): on
//! every sample, findings before the operator's first action are setup /
//! info, the damage holds nothing from before it, no finding is dated
//! before it when it needs the action, and the first screen of the report
//! holds the story and every incident-level finding.

mod common;

use meetgraph::analysis::{Phase, Severity};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn analyze(dir: &Path, extra: &[&str]) -> (String, serde_json::Value) {
    let caps = common::captures_in(dir);
    let run = |more: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
            .current_dir(dir)
            .arg("analyze")
            .args(&caps)
            .args(more)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(common::expected_exit(dir)), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let report = run(extra);
    let json = serde_json::from_str(&run(&["--json", "-"])).unwrap();
    (report, json)
}

/// Time (µs) of the operator's first action that starts the incident.
fn first_action_us(truth: &Value) -> Option<i64> {
    truth["events"]
        .as_array()?
        .iter()
        .find(|e| e["what"].as_str().is_some_and(|w| w.starts_with("operator:")))
        .and_then(|e| e["t_ms"].as_i64())
        .map(|ms| ms * 1000)
}

#[test]
fn before_the_operator_acted_everything_is_setup_and_nothing_is_damage() {
    let mut checked = 0;
    for dir in common::sample_dirs() {
        let truth: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
        let Some(action) = first_action_us(&truth) else { continue };
        let (_, a) = analyze(&dir, &[]);
        let a = serde_json_to_analysis(a);
        for f in &a.findings {
            let bootstrap = ["epoch_collision", "epoch_bump", "role_change", "slot_conflict", "update_message"];
            if f.ts_us < action {
                assert_eq!(f.phase, Phase::Setup, "{}: {f:?}", dir.display());
                if bootstrap.contains(&f.kind.as_str()) {
                    assert_eq!(f.severity, Severity::Info, "{}: {f:?}", dir.display());
                }
            }
            if f.severity == Severity::Incident {
                assert!(f.ts_us >= action, "{}: incident finding before the action: {f:?}", dir.display());
            }
        }
        for r in &a.damage.role_changes {
            assert!(r.ts_us >= action, "{}: setup step listed as damage: {r:?}", dir.display());
        }
        for m in &a.damage.slot_moves {
            assert!(m.ts_us >= action, "{}: setup slot move listed as damage: {m:?}", dir.display());
        }
        checked += 1;
    }
    // Every sample whose truth records an operator's action was checked.
    let with_action = common::sample_dirs()
        .iter()
        .filter(|d| std::fs::read_to_string(d.join("truth.json")).unwrap().contains("\"what\": \"operator:"))
        .count();
    assert!(checked == with_action && checked >= 1, "{checked} of {with_action} samples with an operator action");
}

/// The fields this test reads, from the JSON (the model is serialise-only).
struct Lite {
    findings: Vec<LiteFinding>,
    damage: LiteDamage,
}
#[derive(Debug)]
struct LiteFinding {
    ts_us: i64,
    phase: Phase,
    severity: Severity,
    kind: String,
}
#[derive(Debug)]
struct LiteChange {
    ts_us: i64,
}
struct LiteDamage {
    role_changes: Vec<LiteChange>,
    slot_moves: Vec<LiteChange>,
}

fn serde_json_to_analysis(v: Value) -> Lite {
    let phase = |s: &str| *Phase::ALL.iter().find(|p| p.as_str() == s).unwrap_or_else(|| panic!("phase {s}"));
    let sev = |s: &str| *Severity::ALL.iter().find(|p| p.as_str() == s).unwrap_or_else(|| panic!("severity {s}"));
    let changes = |k: &str| {
        v["damage"][k].as_array().unwrap().iter().map(|x| LiteChange { ts_us: x["ts_us"].as_i64().unwrap() }).collect()
    };
    Lite {
        findings: v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| LiteFinding {
                ts_us: f["ts_us"].as_i64().unwrap(),
                phase: phase(f["phase"].as_str().unwrap()),
                severity: sev(f["severity"].as_str().unwrap()),
                kind: f["kind"].as_str().unwrap().to_string(),
            })
            .collect(),
        damage: LiteDamage { role_changes: changes("role_changes"), slot_moves: changes("slot_moves") },
    }
}

#[test]
fn the_first_screen_holds_the_story_and_the_incident_findings() {
    let dirs = common::sample_dirs();
    let (mut checked, mut with_incidents) = (0, 0);
    for dir in &dirs {
        let (report, json) = analyze(dir, &[]);
        let first: Vec<&str> = report.lines().take(25).collect();
        let story = json["story"].as_array().unwrap();
        assert!(!story.is_empty(), "{}: no story", dir.display());
        for s in story {
            let s = s.as_str().unwrap();
            assert!(first.contains(&s), "{}: story line not on the first screen: {s}", dir.display());
        }
        let a = serde_json_to_analysis(json.clone());
        // --all lists every finding with its severity and phase.
        let (all, _) = analyze(dir, &["--all"]);
        let tagged = all
            .lines()
            .filter(|l| Severity::ALL.iter().any(|s| Phase::ALL.iter().any(|p| l.ends_with(&format!("  [{s}/{p}]")))))
            .count();
        assert!(tagged >= a.findings.len(), "{}: --all lists {tagged} of {}", dir.display(), a.findings.len());
        checked += 1;
        let incident: Vec<&LiteFinding> = a.findings.iter().filter(|f| f.severity == Severity::Incident).collect();
        // The section's lines on the first screen: its heading with the
        // count, a line per finding shown, then "… and N more".
        let heading = format!("== Incident findings ({})", incident.len());
        let section: Vec<&str> = match first.iter().position(|l| *l == heading) {
            Some(at) => first[at + 1..].iter().take_while(|l| !l.is_empty()).copied().collect(),
            None => {
                assert!(
                    incident.is_empty(),
                    "{}: no {heading:?} on the first screen:\n{}",
                    dir.display(),
                    first.join("\n")
                );
                continue;
            }
        };
        let more: usize = section
            .iter()
            .find_map(|l| l.strip_prefix("… and ")?.strip_suffix(" more (--all lists them)")?.parse().ok())
            .unwrap_or(0);
        let listed: Vec<&&str> = section.iter().filter(|l| !l.starts_with("… and ")).collect();
        for l in &listed {
            assert!(
                incident.iter().any(|f| l.contains(&format!("  {}: ", f.kind))),
                "{}: not an incident finding: {l}",
                dir.display()
            );
        }
        assert!(!listed.is_empty(), "{}: {} incident findings, none listed", dir.display(), incident.len());
        // A sender_mismatch folded into the collision it is one handshake
        // with is a `handshake(s) through it` entry of that line.
        let counted: usize = listed
            .iter()
            .map(|l| 1 + l.split_once("handshake(s) through it: ").map_or(0, |(_, h)| h.matches(" answered").count()))
            .sum();
        assert_eq!(
            counted + more,
            incident.len(),
            "{}: listed and counted vs incident findings:\n{}",
            dir.display(),
            first.join("\n")
        );
        with_incidents += 1;
    }
    assert_eq!(checked, dirs.len());
    assert!(with_incidents >= 1, "no sample has an incident finding");
}
