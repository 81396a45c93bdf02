//! The damage rule (issue 26 item 3), checked against the servers: a slot
//! changes owner when the node that serves it changes in some node's view,
//! so on every sample that kept the servers' own `CLUSTER NODES` before
//! and after, every slot whose master differs between a table before and
//! the tables after is in the damage, moving away from the master before
//! and, last, to the master after; and no slot the damage moves ends
//! elsewhere than the servers say.

mod common;

use common::{plan_inputs, samples_dir, samples_with_captures};
use meetgraph::analysis::NodeId;
use std::collections::BTreeMap;

/// slot → master id (40 characters), from one `CLUSTER NODES` text.
fn owners(text: &str) -> BTreeMap<u16, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 9 || !f[2].contains("master") {
            continue;
        }
        for r in &f[8..] {
            if r.starts_with('[') {
                continue;
            }
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) else { continue };
            for s in a..=b {
                out.insert(s, f[0].to_string());
            }
        }
    }
    out
}

/// The tables of one stage (`before`, `after`, `after-failover`, …): the
/// file name is `nodes-STAGE-NODE.txt`.
fn stage(dir: &std::path::Path, want: &str) -> Vec<BTreeMap<u16, String>> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(dir).unwrap().flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        let Some(mid) = name.strip_prefix("nodes-").and_then(|n| n.strip_suffix(".txt")) else { continue };
        if mid.rsplit_once('-').is_some_and(|(s, _)| s == want) {
            out.push(owners(&std::fs::read_to_string(f.path()).unwrap()));
        }
    }
    out
}

#[test]
fn damage_follows_the_servers_tables() {
    let mut checked = 0;
    for (name, files) in samples_with_captures() {
        let dir = samples_dir().join(&name);
        let before = [stage(&dir, "before"), stage(&dir, "before-merge")].concat();
        let after = ["after-failover", "after"].iter().map(|s| stage(&dir, s)).find(|t| !t.is_empty());
        let (Some(after), false) = (after, before.is_empty()) else { continue };
        // The servers' final master of each slot, where they agree.
        let mut last: BTreeMap<u16, String> = BTreeMap::new();
        for s in 0..16384u16 {
            let seen: Vec<&String> = after.iter().filter_map(|t| t.get(&s)).collect();
            // A table with no owner for the slot (a forgotten master's
            // slots are unassigned) is no agreement.
            if let Some(first) = seen.first()
                && seen.len() == after.len()
                && seen.iter().all(|x| x == first)
            {
                last.insert(s, (*first).clone());
            }
        }
        let (mut i, cfg) = plan_inputs(&files);
        let a = meetgraph::run::analyze(&mut i, cfg);
        if !a.coverage.complete {
            continue;
        }
        let id = |n: &Option<NodeId>| n.map(|x| x.as_str().into_owned());
        let holds = |m: &meetgraph::analysis::SlotMove, s: u16| m.slots.iter().any(|&(x, y)| (x..=y).contains(&s));
        for t in &before {
            for (s, was) in t {
                let Some(now) = last.get(s).filter(|now| *now != was) else { continue };
                assert!(
                    a.damage.slot_moves.iter().any(|m| holds(m, *s) && id(&m.from).as_ref() == Some(was)),
                    "{name}: slot {s} left {was} (servers), not in the damage"
                );
                let to =
                    a.damage.slot_moves.iter().filter(|m| holds(m, *s)).max_by_key(|m| m.ts_us).and_then(|m| id(&m.to));
                assert_eq!(to.as_ref(), Some(now), "{name}: slot {s} ends at {now} (servers)");
                checked += 1;
            }
        }
        for m in &a.damage.slot_moves {
            for &(x, y) in &m.slots {
                for s in x..=y {
                    let to = a
                        .damage
                        .slot_moves
                        .iter()
                        .filter(|n| holds(n, s))
                        .max_by_key(|n| n.ts_us)
                        .and_then(|n| id(&n.to));
                    if let (Some(to), Some(now)) = (to, last.get(&s)) {
                        assert_eq!(&to, now, "{name}: meetgraph moves slot {s} last to {to}, the servers end at {now}");
                    }
                }
            }
        }
    }
    assert!(checked > 16384 * 10, "only {checked} slot changes checked");
}

/// "N slot(s) changed owner" counts distinct slots (a slot moved twice
/// counts once), the same number in the story and the JSON's
/// `damage.slots_changed_owner`, with the summed owner changes beside it.
#[test]
fn the_damage_counts_distinct_slots_in_story_and_json() {
    let (mut twice, mut counted) = (0, 0);
    for (name, files) in samples_with_captures() {
        let (mut i, cfg) = plan_inputs(&files);
        let a = meetgraph::run::analyze(&mut i, cfg);
        let mut distinct = std::collections::BTreeSet::new();
        let mut changes = 0u64;
        for m in a.damage.slot_moves.iter().filter(|m| m.from.is_some()) {
            changes += u64::from(m.count);
            distinct.extend(m.slots.iter().flat_map(|&(x, y)| x..=y));
        }
        assert_eq!(a.damage.slots_changed_owner as usize, distinct.len(), "{name}");
        assert_eq!(a.damage.owner_changes, changes, "{name}");
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["damage"]["slots_changed_owner"], distinct.len(), "{name}");
        let Some(story) = a.story.damage.as_deref() else { continue };
        assert!(story.contains(&format!("; {} slot(s) changed owner", distinct.len())), "{name}: {story}");
        if changes > distinct.len() as u64 {
            assert!(story.contains(&format!("({changes} owner changes")), "{name}: {story}");
            twice += 1;
        }
        counted += 1;
    }
    assert!(counted >= 20, "only {counted} samples with damage");
    assert!(twice >= 1, "no sample moves a slot twice: the distinct count is not exercised");
}
