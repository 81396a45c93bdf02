//! Golden tests: the full pipeline on every sample, compared with the
//! expected report and JSON committed beside it
//! (`samples/*/expected-analysis.{txt,json}`; every sample directory must
//! have them). `UPDATE_GOLDEN=1 cargo test --test golden` rewrites them and
//! then fails, listing what it rewrote (review the diff, run again); under
//! CI (`CI` set) it refuses.

mod common;

use std::path::Path;
use std::process::Command;

/// Runs `args` in `dir` and compares standard output with the golden file
/// `expected`; with `UPDATE_GOLDEN` rewrites it instead, returning its
/// name when it changed.
fn check(dir: &Path, args: &[&str], expected: &str) -> Option<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_meetgraph")).current_dir(dir).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(common::expected_exit(dir)), "{}", String::from_utf8_lossy(&out.stderr));
    let got = String::from_utf8(out.stdout).unwrap();
    assert!(!got.is_empty(), "{}: {args:?} printed nothing", dir.display());
    let path = dir.join(expected);
    if common::updating_goldens() {
        return common::rewrite_golden(&path, &got);
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
    if got != want {
        let diff = line_diff(&want, &got);
        panic!(
            "{} differs ({} vs {} lines; - missing, + added):\n{}",
            path.display(),
            want.lines().count(),
            got.lines().count(),
            diff.join("\n")
        );
    }
    None
}

/// The lines missing from `got` (`-`) and added to it (`+`), with line
/// numbers of the expected file, from a longest common subsequence; at most
/// 40 lines.
fn line_diff(want: &str, got: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    // lcs[i][j]: length of the LCS of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while (i < a.len() || j < b.len()) && out.len() < 40 {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("{:>5} + {}", i + 1, b[j]));
            j += 1;
        } else {
            out.push(format!("{:>5} - {}", i + 1, a[i]));
            i += 1;
        }
    }
    out
}

#[test]
fn line_diff_reports_added_and_missing_lines() {
    let d = line_diff("a\nb\nc\nd\n", "a\nc\nx\nd\n");
    assert_eq!(d, vec!["    2 - b", "    4 + x"]);
    assert!(line_diff("same\n", "same\n").is_empty());
}

#[test]
fn every_sample_matches_its_golden_analysis() {
    let dirs = common::sample_dirs();
    let mut rewritten = Vec::new();
    for dir in &dirs {
        let caps = common::captures_in(dir);
        let mut args = vec!["analyze"];
        args.extend(caps.iter().map(String::as_str));
        rewritten.extend(check(dir, &args, "expected-analysis.txt"));
        let mut jargs = args.clone();
        jargs.extend(["--json", "-"]);
        rewritten.extend(check(dir, &jargs, "expected-analysis.json"));
    }
    common::fail_if_rewritten(&rewritten);
}
