//! `docs/generations.md` is the README's claim of the server generations
//! proven on real captures: every sample with a truth is in its table with
//! the server that made it, every row agrees, and every row is a sample.

mod common;

use common::samples_dir;
use std::collections::BTreeSet;

#[test]
fn the_generations_table_covers_every_sample_and_agrees() {
    let doc = std::fs::read_to_string(samples_dir().join("../docs/generations.md")).unwrap();
    let rows: Vec<Vec<&str>> = doc
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| capture"))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    let in_table: BTreeSet<&str> = rows.iter().map(|r| r[0]).collect();
    let mut samples = BTreeSet::new();
    for e in std::fs::read_dir(samples_dir()).unwrap().flatten() {
        let truth = e.path().join("truth.json");
        if !truth.exists() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let t: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap();
        let server = t["server"].as_str().unwrap_or_default().to_string();
        let row = rows.iter().find(|r| r[0] == name).unwrap_or_else(|| panic!("{name} is not in docs/generations.md"));
        let version =
            server.rsplit([':', '=']).next().unwrap_or_default().split_whitespace().next().unwrap_or_default();
        assert!(row[1].contains(version), "{name}: table says {:?}, truth {server:?}", row[1]);
        assert!(row[5].starts_with("yes") || row[5].starts_with("n/a"), "{name}: {:?}", row);
        samples.insert(name);
    }
    let extra: Vec<&&str> = in_table.iter().filter(|n| !samples.contains(**n)).collect();
    assert!(extra.is_empty(), "rows without a sample: {extra:?}");
    assert!(samples.len() >= 30, "{}", samples.len());
}
