//! The README's examples are real (issue 12 item 8): every command it shows
//! on a shipped sample runs, and the output lines it shows are printed.

mod common;

use common::samples_dir;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(samples_dir().join("../README.md")).unwrap()
}

/// Example commands (indented code, continuation lines joined) that read
/// a shipped sample.
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let Some(code) = line.strip_prefix("    ") else {
            cur.clear();
            continue;
        };
        let code = code.trim();
        if cur.is_empty() && !(code.starts_with("meetgraph ") || code.starts_with("cargo run --release -- ")) {
            continue;
        }
        cur.push_str(code.trim_end_matches('\\'));
        cur.push(' ');
        if !code.ends_with('\\') {
            if cur.contains("samples/") {
                out.push(cur.trim().to_string());
            }
            cur.clear();
        }
    }
    out
}

fn run(cmd: &str) -> std::process::Output {
    let tmp = std::env::temp_dir().join(format!("meetgraph-readme-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let root = samples_dir().join("..").canonicalize().unwrap();
    let cmd = cmd
        .replacen("cargo run --release -- ", "meetgraph ", 1)
        .replace("samples/", &format!("{}/samples/", root.display()));
    let bin = env!("CARGO_BIN_EXE_meetgraph");
    let cmd = cmd.replacen("meetgraph ", &format!("{bin} "), 1);
    Command::new("sh").arg("-c").arg(&cmd).current_dir(&tmp).output().unwrap()
}

#[test]
fn every_example_on_a_sample_runs() {
    let cmds = commands(&readme());
    assert!(cmds.len() >= 4, "{cmds:?}");
    for c in &cmds {
        let out = run(c);
        // 0, as the README's "Exit status" says for inputs read whole; 3
        // only for a sample whose bus is encrypted.
        // `audit`'s example is cut before a merge its hazard then allowed:
        // exit 3, naming it ("Exit status 3 when any hazard is found").
        if c.replacen("cargo run --release -- ", "meetgraph ", 1).starts_with("meetgraph audit") {
            assert_eq!(out.status.code(), Some(3), "{c}: {:?}", out.status);
            assert!(String::from_utf8_lossy(&out.stdout).contains("never_forgotten"), "{c}: no hazard named");
            continue;
        }
        let want = c
            .split("samples/")
            .skip(1)
            .filter_map(|rest| rest.split('/').next())
            .map(|name| common::expected_exit(&samples_dir().join(name)))
            .max()
            .unwrap_or_else(|| panic!("{c}: names no sample"));
        assert_eq!(out.status.code(), Some(want), "{c}: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        assert!(!out.stdout.is_empty() || c.contains("--json-events"), "{c}: no output");
    }
}

#[test]
fn the_dump_line_shown_is_real_output() {
    let text = readme();
    let shown: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .filter(|l| l.starts_with("2026-") && l.contains(" MEET "))
        .collect();
    assert!(!shown.is_empty());
    let out = run("meetgraph dump samples/redis-3.0.7-docker-bridge/h1.pcap.gz");
    let printed = String::from_utf8(out.stdout).unwrap();
    for l in shown {
        assert!(printed.lines().any(|p| p == l), "README shows a dump line meetgraph does not print: {l}");
    }
}

/// What the README says CI runs is in `.ci/run`: the test command it
/// shows, the default build's lints and tests, and every fuzz target of
/// `fuzz/Cargo.toml` (a target added there and not run fails this).
#[test]
fn ci_runs_what_the_readme_says() {
    let root = samples_dir().join("..");
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    let lines: Vec<&str> = ci.lines().map(str::trim).filter(|l| !l.starts_with('#')).collect();
    let readme = readme();
    let documented = readme.lines().find(|l| l.trim_start().starts_with("cargo test --release")).unwrap().trim();
    for want in [
        documented,
        "cargo test --release --all-targets",
        "cargo clippy --all-targets -- -D warnings",
        "cargo clippy --all-targets --all-features -- -D warnings",
    ] {
        assert!(lines.contains(&want), ".ci/run does not run `{want}`");
    }
    let manifest = std::fs::read_to_string(root.join("fuzz/Cargo.toml")).unwrap();
    let targets: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "meetgraph-fuzz")
        .collect();
    let looped = lines.iter().find(|l| l.starts_with("for t in ")).expect("the fuzz loop");
    assert!(targets.len() >= 5, "{targets:?}");
    assert_eq!(std::fs::read_dir(root.join("fuzz/fuzz_targets")).unwrap().count(), targets.len());
    for t in &targets {
        assert!(
            looped.split_whitespace().any(|w| w.trim_end_matches(';') == *t),
            "fuzz target {t} is not run by .ci/run"
        );
    }
}
