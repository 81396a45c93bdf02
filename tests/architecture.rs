//! The layering rules of `src/lib.rs`, checked on the source: no file
//! imports a file that imports it (directly or through others), the
//! analysis never imports the outputs, the pipeline or the capture layer,
//! its rooms import each other in one direction only (trackers never a
//! verdict, a view or a node table; verdicts never a view; views only the
//! model), and no file under `src/` grows past the size a newcomer can
//! read.

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

/// Where a file's own code ends: at its `#[cfg(test)] mod …` (tests may
/// reach anywhere). A `#[cfg(test)]` on anything else (a test-only method)
/// is code like the rest.
fn test_module_start(src: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = src[from..].find("#[cfg(test)]") {
        let at = from + i;
        let rest = src[at + "#[cfg(test)]".len()..].trim_start();
        if rest.starts_with("mod ") || rest.starts_with("pub mod ") || rest.starts_with("pub(crate) mod ") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Code without comments, string literals and the `#[cfg(test)]` module.
fn code_of(src: &str) -> String {
    let src = match test_module_start(src) {
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
            // `pub(in crate::x)` names who may see an item: not an import.
            if code[..from - kw.len()].ends_with("(in ") {
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
    // `pub use child::...` in a mod.rs depends on the child (whatever the
    // visibility: `pub(super) use`, `pub(in crate::x) use`).
    if is_mod_rs {
        for line in code.lines() {
            let l = line.trim();
            let l = l.strip_prefix("pub(").and_then(|r| r.split_once(") ")).map_or(l, |(_, r)| r);
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

/// The rooms of the analysis and the rooms each may import (itself
/// included). Whatever is not listed (the facade `analysis`, `analyzer`)
/// may import any room.
const ROOMS: [(&str, &[&str]); 6] = [
    ("analysis::model", &["analysis::model"]),
    ("analysis::config", &["analysis::config", "analysis::model"]),
    ("analysis::trackers", &["analysis::trackers", "analysis::config", "analysis::model"]),
    ("analysis::node_tables", &["analysis::node_tables", "analysis::trackers", "analysis::config", "analysis::model"]),
    ("analysis::verdicts", &["analysis::verdicts", "analysis::trackers", "analysis::config", "analysis::model"]),
    ("analysis::views", &["analysis::views", "analysis::model"]),
];

/// `m` is `room` or a file in it.
fn in_room(m: &str, room: &str) -> bool {
    m == room || m.strip_prefix(room).is_some_and(|r| r.starts_with("::"))
}

/// Every import of one analysis room by another that [`ROOMS`] forbids.
fn room_violations(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for (m, ds) in g {
        let Some((room, may)) = ROOMS.iter().find(|(r, _)| in_room(m, r)) else { continue };
        for d in ds.iter().filter(|d| in_room(d, "analysis")) {
            if !may.iter().any(|r| in_room(d, r)) {
                out.push(format!("{m} imports {d}: {room} may import only {}", may.join(", ")));
            }
        }
    }
    out
}

#[test]
fn analysis_rooms_import_one_way() {
    let g = graph();
    for (room, _) in ROOMS {
        assert!(g.keys().any(|m| in_room(m, room)), "no module {room}: update ROOMS");
    }
    let v = room_violations(&g);
    assert!(v.is_empty(), "imports against the flow of the analysis:\n{}", v.join("\n"));
}

#[test]
fn every_file_stays_readable() {
    for (m, p) in modules().iter() {
        let n = std::fs::read_to_string(p).unwrap().lines().count();
        assert!(n <= 450, "{m} has {n} lines: split it by what it knows");
    }
}

#[test]
fn the_checker_sees_an_import_against_the_flow() {
    let mut g = BTreeMap::new();
    let dep = |d: &str| BTreeSet::from([d.to_string()]);
    g.insert("analysis::trackers::nodes".to_string(), dep("analysis::verdicts::story"));
    g.insert("analysis::views::alerts".to_string(), dep("analysis::trackers::nodes"));
    g.insert("analysis::verdicts::story".to_string(), dep("analysis::model::kinds"));
    g.insert("analysis::node_tables::view".to_string(), dep("analysis::trackers::nodes"));
    let v = room_violations(&g);
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v[0].starts_with("analysis::trackers::nodes imports analysis::verdicts::story"), "{v:?}");
    assert!(v[1].starts_with("analysis::views::alerts imports analysis::trackers::nodes"), "{v:?}");
}

#[test]
fn a_test_only_method_does_not_hide_the_code_after_it() {
    let src = "use a::b;\n#[cfg(test)]\nfn only_in_tests() {}\nuse crate::output::x;\n#[cfg(test)]\nmod tests {\n    use crate::capture::y;\n}\n";
    let code = code_of(src);
    assert!(code.contains("crate::output::x"), "{code}");
    assert!(!code.contains("crate::capture::y"), "{code}");
    // A visibility is not an import.
    let d = deps("analysis::model::x", false, &code_of("pub(in crate::analysis) fn f() {}"), &modules());
    assert!(d.is_empty(), "{d:?}");
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
    // A re-export in a mod.rs, whatever its visibility, depends on the child.
    let d = deps("decode::decap", true, &code_of("mod found;\npub(super) use found::{Carried, Found};"), &mods);
    assert_eq!(d, BTreeSet::from(["decode::decap::found".to_string()]));
}
