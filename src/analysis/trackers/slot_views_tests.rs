use super::*;

#[test]
fn ranges_merge_consecutive_slots() {
    assert_eq!(ranges_of(&[1, 2, 3, 7, 9, 10]), vec![(1, 3), (7, 7), (9, 10)]);
}

fn id(c: u8) -> NodeId {
    NodeId([c; 40])
}

fn at(ts: i64) -> Seen {
    Seen { ts, evidence: Evidence { capture: "c", frame: ts as u64 } }
}

type Told = (i64, Vec<(u16, u16)>, NodeId, Option<NodeId>);

fn moves(v: &SlotViews) -> Vec<Told> {
    v.moves().iter().map(|m| (m.ts_us, m.slots.clone(), m.from.unwrap(), m.to)).collect()
}

#[test]
fn a_foreign_master_takes_a_dead_masters_slots_in_its_clusters_view() {
    // Cluster A: a1 (0-99, epoch 1) and a dead a3 (100-199, epoch 0);
    // cluster B's b3 serves 100-199 with epoch 4. After the merge a1
    // hears b3: in a1's view 100-199 change from a3 to b3; in b3's
    // own view nothing changes.
    let (a1, a3, b3) = (id(b'1'), id(b'3'), id(b'b'));
    let mut v = SlotViews::default();
    v.own(a1, 1, &[(0, 99)], &at(1), |_| None);
    v.claim(a1, a3, 0, &[(100, 199)], &at(2));
    v.own(b3, 4, &[(100, 199)], &at(3), |_| None);
    assert!(moves(&v).is_empty(), "first servers are no move");
    v.claim(a1, b3, 4, &[(100, 199)], &at(10));
    // Every member of A sees it: one move.
    v.claim(id(b'2'), a3, 0, &[(100, 199)], &at(4));
    v.claim(id(b'2'), b3, 4, &[(100, 199)], &at(11));
    assert_eq!(moves(&v), vec![(10, vec![(100, 199)], a3, Some(b3))]);
}

#[test]
fn slots_changing_hands_back_and_forth_are_each_a_move_once() {
    // x and y collide; y wins with 2, x bumps to 3 and wins back, y
    // bumps to 4 and keeps them. A view seeing it late repeats nothing.
    let (x, y) = (id(b'x'), id(b'y'));
    let mut v = SlotViews::default();
    for (w, t0) in [(id(b'v'), 0), (id(b'w'), 100)] {
        v.claim(w, x, 1, &[(0, 9)], &at(t0 + 1));
        v.claim(w, y, 2, &[(0, 9)], &at(t0 + 2));
        v.claim(w, x, 3, &[(0, 9)], &at(t0 + 3));
        v.claim(w, y, 4, &[(0, 9)], &at(t0 + 4));
    }
    let got: Vec<_> = moves(&v).into_iter().map(|(t, _, f, to)| (t, f, to)).collect();
    assert_eq!(got, vec![(2, x, Some(y)), (3, y, Some(x)), (4, x, Some(y))]);
}

#[test]
fn equal_or_smaller_epochs_do_not_move_a_slot() {
    let (a, b) = (id(b'a'), id(b'b'));
    let mut v = SlotViews::default();
    v.claim(id(b'v'), a, 2, &[(0, 9)], &at(1));
    v.claim(id(b'v'), b, 2, &[(0, 9)], &at(2));
    v.claim(id(b'v'), b, 1, &[(0, 9)], &at(3));
    assert!(moves(&v).is_empty());
}

#[test]
fn a_master_turned_replica_hands_its_slots_to_the_next_server() {
    let (x, y, w) = (id(b'x'), id(b'y'), id(b'w'));
    let mut v = SlotViews::default();
    v.claim(w, x, 1, &[(0, 9)], &at(1));
    v.replica(w, x, &at(2));
    assert!(moves(&v).is_empty(), "no server yet: nothing told");
    // y claims with a smaller epoch: unserved slots go to any claimant.
    v.claim(w, y, 0, &[(0, 9)], &at(3));
    assert_eq!(moves(&v), vec![(3, vec![(0, 9)], x, Some(y))]);
}

#[test]
fn a_slot_set_holds_exactly_the_slots_of_its_ranges() {
    let ranges = [(0, 0), (5, 63), (64, 64), (100, 300), (16320, 16383), (900, 800), (16000, 20000)];
    let set = SlotSet::of(&ranges);
    for s in 0..SLOTS + 2 {
        let want = s < SLOTS && contains(&ranges, s);
        assert_eq!(set.contains(s), want, "slot {s}");
    }
}

#[test]
fn a_changed_claim_frees_the_slots_it_left_wherever_they_are() {
    // x's slots at both ends of the table (the scan stops only once
    // every slot x served was met); it keeps 0-4 and leaves the rest,
    // which go to y even with a smaller epoch.
    let (x, y, w) = (id(b'x'), id(b'y'), id(b'w'));
    let mut v = SlotViews::default();
    v.claim(w, x, 2, &[(0, 9), (70, 70), (16380, 16383)], &at(1));
    v.claim(w, x, 2, &[(0, 4)], &at(2));
    v.claim(w, y, 1, &[(0, 16383)], &at(3));
    assert_eq!(moves(&v), vec![(3, vec![(5, 9), (70, 70), (16380, 16383)], x, Some(y))]);
}

#[test]
fn a_promoted_replica_takes_its_masters_slots_in_its_own_view() {
    let (m, r) = (id(b'm'), id(b'r'));
    let mut v = SlotViews::default();
    // As a replica, r's header carries its master's claim.
    v.claim(r, m, 3, &[(10923, 16383)], &at(1));
    v.own(r, 6, &[(10923, 16383)], &at(5), |_| None);
    assert_eq!(moves(&v), vec![(5, vec![(10923, 16383)], m, Some(r))]);
}

/// Counts kept over a span read as a full table of counts would: slots
/// counted after, before and far from the span, and never counted.
#[test]
fn slot_counts_match_a_full_table() {
    let mut span = SlotCounts::default();
    let mut full = vec![0u8; SLOTS];
    for &s in &[500usize, 501, 500, 499, 16383, 0, 500, 7000, 0] {
        let n = span.at(s);
        *n = n.saturating_add(1);
        full[s] += 1;
    }
    for (s, want) in full.iter().enumerate() {
        assert_eq!(*span.at(s), *want, "slot {s}");
    }
    assert_eq!(*SlotCounts::default().at(42), 0);
}
