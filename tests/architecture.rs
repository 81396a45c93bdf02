//! The layering rules of `src/lib.rs`, checked on the source: no file
//! imports a file that imports it (directly or through others), the
//! analysis never imports the outputs, the pipeline or the capture layer,
//! and no analysis file grows past the size a newcomer can read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, by module path (`analysis::trackers::nodes`).
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                walk(&p, &format!("{prefix}{name}::"), out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let m = match name.as_str() {
                    "mod" => prefix.trim_end_matches("::").to_string(),
                    "lib" | "main" if prefix.is_empty() => continue,
                    _ => format!("{prefix}{name}"),
                };
                out.insert(m, p);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "", &mut out);
    out
}

/// Code without comments, string literals and `#[cfg(test)]` modules (tests
/// may reach anywhere).
fn code_of(src: &str) -> String {
    let src = match src.find("#[cfg(test)]") {
        Some(i) => &src[..i],
        None => src,
    };
    let mut out = String::new();
    for line in src.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// The module paths one file refers to, resolved to files of `mods`.
fn deps(module: &str, is_mod_rs: bool, code: &str, mods: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    // The module `super` means from this file.
    let parent: Vec<&str> = {
        let mut p: Vec<&str> = module.split("::").collect();
        if !is_mod_rs {
            p.pop();
        }
        p
    };
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    for (kw, base) in [("crate::", Vec::new()), ("super::", parent.clone())] {
        let mut from = 0;
        while let Some(i) = code[from..].find(kw) {
            let start = from + i + kw.len();
            from = start;
            if i > 0 && (bytes[from - kw.len() - 1].is_ascii_alphanumeric() || bytes[from - kw.len() - 1] == b'_') {
                continue;
            }
            // The path: identifiers separated by `::`, then maybe `{a, b::c}`.
            let rest = &code[start..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            let head: Vec<String> = rest[..end].split("::").filter(|s| !s.is_empty()).map(str::to_string).collect();
            let mut paths: Vec<Vec<String>> = Vec::new();
            if rest[end..].starts_with('{') {
                let close = rest[end..].find('}').map_or(rest.len(), |c| end + c);
                for part in rest[end + 1..close].split(',') {
                    let part = part.trim();
                    let mut p = head.clone();
                    p.extend(part.split("::").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
                    paths.push(p);
                }
            } else {
                paths.push(head);
            }
            for p in paths {
                let mut full: Vec<String> = base.iter().map(|s| s.to_string()).collect();
                full.extend(p);
                // The longest prefix that is a file.
                for n in (1..=full.len()).rev() {
                    let m = full[..n].join("::");
                    if mods.contains_key(&m) {
                        if m != module {
                            out.insert(m);
                        }
                        break;
                    }
                }
            }
        }
    }
    // `pub use child::...` in a mod.rs depends on the child.
    if is_mod_rs {
        for line in code.lines() {
            let l = line.trim();
            if let Some(rest) = l.strip_prefix("pub use ").or_else(|| l.strip_prefix("use ")) {
                let first = rest.split("::").next().unwrap_or("").trim_matches(|c| c == '{' || c == ' ');
                let m = format!("{module}::{first}");
                if mods.contains_key(&m) {
                    out.insert(m);
                }
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules();
    mods.iter()
        .map(|(m, p)| {
            let code = code_of(&std::fs::read_to_string(p).unwrap());
            let is_mod = p.file_name().is_some_and(|f| f == "mod.rs");
            (m.clone(), deps(m, is_mod, &code, &mods))
        })
        .collect()
}

/// A cycle through `start`, if any (depth-first).
fn cycle(g: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn dfs(
        g: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        cur: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for d in g.get(cur).into_iter().flatten() {
            if d == start {
                return true;
            }
            if seen.insert(d.clone()) {
                path.push(d.clone());
                if dfs(g, start, d, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    dfs(g, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn no_file_imports_a_file_that_imports_it() {
    let g = graph();
    assert!(g.len() > 30, "found only {} modules", g.len());
    let cycles: Vec<String> = g.keys().filter_map(|m| cycle(&g, m)).map(|c| c.join(" → ")).collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn analysis_stays_below_the_outputs() {
    let g = graph();
    for (m, ds) in g.iter().filter(|(m, _)| m.starts_with("analysis")) {
        for d in ds {
            let top = d.split("::").next().unwrap();
            assert!(
                ["analysis", "events", "clusterbus", "decode", "time"].contains(&top),
                "{m} imports {d}: the analysis may import only events, clusterbus, decode and time"
            );
        }
    }
}

#[test]
fn analysis_files_stay_readable() {
    for (m, p) in modules().iter().filter(|(m, _)| m.starts_with("analysis")) {
        let n = std::fs::read_to_string(p).unwrap().lines().count();
        assert!(n <= 420, "{m} has {n} lines: split it by what it knows");
    }
}

#[test]
fn the_checker_sees_a_cycle() {
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    g.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(cycle(&g, "a"), Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(cycle(&g, "c"), None);
    let mods = modules();
    let d =
        deps("analysis::trackers::nodes", false, &code_of("use super::roles::{Roles, X};\nuse crate::time::f;"), &mods);
    assert_eq!(d, BTreeSet::from(["analysis::trackers::roles".to_string(), "time".to_string()]));
}
