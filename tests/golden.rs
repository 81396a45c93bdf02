//! Golden tests: the full pipeline on every sample, compared with the
//! expected report and JSON committed beside it
//! (`samples/*/expected-analysis.{txt,json}`). `UPDATE_GOLDEN=1 cargo test
//! --test golden` rewrites them; review the diff.

mod common;

use common::samples_dir;
use std::path::Path;
use std::process::Command;

fn check(dir: &Path, args: &[&str], expected: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_meetgraph")).current_dir(dir).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let got = String::from_utf8(out.stdout).unwrap();
    let path = dir.join(expected);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
    if got != want {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(5)
            .map(|(i, (a, b))| format!("line {}:\n- {a}\n+ {b}", i + 1))
            .collect();
        panic!(
            "{} differs ({} vs {} lines):\n{}",
            path.display(),
            want.lines().count(),
            got.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn every_sample_matches_its_golden_analysis() {
    let mut n = 0;
    for entry in std::fs::read_dir(samples_dir()).unwrap().flatten() {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let mut caps: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|f| f.file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".pcap.gz") || f.ends_with(".pcapng.gz") || f.ends_with(".pcap"))
            .collect();
        if caps.is_empty() {
            continue;
        }
        caps.sort();
        let mut args = vec!["analyze"];
        args.extend(caps.iter().map(String::as_str));
        check(&dir, &args, "expected-analysis.txt");
        let mut jargs = args.clone();
        jargs.extend(["--json", "-"]);
        check(&dir, &jargs, "expected-analysis.json");
        n += 1;
    }
    assert!(n >= 4);
}
