//! Roles over time: each node's role debounced across connections (its messages
//! travel on several links and can arrive out of order, so a new role counts
//! once two headers in a row say so), the `role_change`, `failover` and
//! `epoch_bump` findings, and the role changes of the damage.

use super::retention::{Kept, KeptFindings, Timed};
use crate::analysis::model::{Evidence, Finding, FindingKind, NodeId, Phase, Role, RoleChange};

/// A role and, for a replica, its master.
pub type RoleOf = (Role, Option<NodeId>);

/// A committed role change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: RoleOf,
    pub to: RoleOf,
    /// When the first header with the new role was seen.
    pub ts: i64,
    pub frame: u64,
    /// The configEpoch before the first header with the new role.
    pub cfg_before: u64,
}

impl Transition {
    /// A replica that became a master: the master it replicated, if known.
    pub fn promoted_from(&self) -> Option<Option<NodeId>> {
        (self.from.0 == Role::Replica && self.to.0 == Role::Master).then_some(self.from.1)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Debounce {
    committed: Option<RoleOf>,
    /// (role, first ts, frame, configEpoch before it).
    pending: Option<(RoleOf, i64, u64, u64)>,
}

/// What one header of a node says, for role tracking.
pub struct RoleHeader {
    pub ts: i64,
    pub frame: u64,
    pub role: RoleOf,
}

/// Debounced roles and their changes.
#[derive(Clone, Debug, Default)]
pub struct Roles {
    debounce: rustc_hash::FxHashMap<NodeId, Debounce>,
    changes: Kept<RoleChange>,
}

impl Timed for RoleChange {
    fn ts(&self) -> i64 {
        self.ts_us
    }
}

impl Roles {
    /// Feeds one header; `prev_cfg` is the node's configEpoch before it.
    pub fn observe(&mut self, node: NodeId, h: &RoleHeader, prev_cfg: u64) -> Option<Transition> {
        let d = self.debounce.entry(node).or_default();
        match d.committed {
            None => d.committed = Some(h.role),
            Some(c) if c == h.role => d.pending = None,
            Some(c) => match d.pending {
                Some((p, pts, pframe, pcfg)) if p == h.role => {
                    d.committed = Some(h.role);
                    d.pending = None;
                    return Some(Transition { from: c, to: h.role, ts: pts, frame: pframe, cfg_before: pcfg });
                }
                _ => d.pending = Some((h.role, h.ts, h.frame, prev_cfg)),
            },
        }
        None
    }

    /// The committed role is master.
    pub fn is_master(&self, node: &NodeId) -> bool {
        self.debounce.get(node).and_then(|d| d.committed).is_some_and(|(r, _)| r == Role::Master)
    }

    /// Records a committed change: `role_change`, and `failover` when a
    /// replica took a new configEpoch. `failed` tells whether a node had
    /// been declared FAIL.
    pub fn record(
        &mut self,
        node: NodeId,
        t: &Transition,
        config_epoch: u64,
        evd: Evidence,
        failed: impl Fn(NodeId) -> bool,
        findings: &mut KeptFindings,
    ) {
        let ((from, from_of), (to, to_of)) = (t.from, t.to);
        let summary = match &to_of {
            Some(r) => format!("{} {from} → {to} of {}", node.short(), r.short()),
            None => format!("{} {from} → {to}", node.short()),
        };
        let nodes = std::iter::once(node).chain(to_of).collect();
        findings.push(Finding::about(FindingKind::RoleChange, t.ts, nodes, summary, vec![evd.clone()]));
        if t.promoted_from().is_some() && config_epoch > t.cfg_before {
            let summary = match from_of {
                Some(om) if failed(om) => format!(
                    "{} promoted to master (configEpoch {config_epoch}) replacing failed {}",
                    node.short(),
                    om.short()
                ),
                Some(om) => format!(
                    "{} promoted to master (configEpoch {config_epoch}), was replica of {} (manual or forced failover?)",
                    node.short(),
                    om.short()
                ),
                None => format!("{} promoted to master (configEpoch {config_epoch})", node.short()),
            };
            let nodes = std::iter::once(node).chain(from_of).collect();
            findings.push(Finding::about(FindingKind::Failover, t.ts, nodes, summary, vec![evd.clone()]));
        }
        self.changes.push(RoleChange {
            ts_us: t.ts,
            node,
            from,
            to,
            replicaof: to_of,
            evidence: vec![evd],
            phase: Phase::Incident,
        });
    }

    /// Bounded to `max` changes kept (the first and the latest).
    pub fn bounded(max: usize) -> Self {
        Roles { changes: Kept::new(max), ..Roles::default() }
    }

    pub fn changes(&self) -> &Kept<RoleChange> {
        &self.changes
    }
}

/// A master that stayed a master and raised its configEpoch.
pub fn epoch_bump(node: NodeId, ts: i64, from: u64, to: u64, evd: Evidence) -> Finding {
    Finding::about(
        FindingKind::EpochBump,
        ts,
        vec![node],
        format!("{} configEpoch {from} → {to}", node.short()),
        vec![evd],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(ts: i64, role: Role) -> RoleHeader {
        RoleHeader { ts, frame: ts as u64, role: (role, None) }
    }

    #[test]
    fn one_stray_header_does_not_change_a_role() {
        let n = NodeId([b'a'; 40]);
        let mut r = Roles::default();
        assert_eq!(r.observe(n, &hdr(1, Role::Master), 0), None);
        assert_eq!(r.observe(n, &hdr(2, Role::Replica), 0), None);
        assert_eq!(r.observe(n, &hdr(3, Role::Master), 0), None);
        assert!(r.is_master(&n));
    }

    #[test]
    fn two_headers_in_a_row_commit_dated_at_the_first() {
        let n = NodeId([b'a'; 40]);
        let mut r = Roles::default();
        r.observe(n, &hdr(1, Role::Replica), 0);
        assert_eq!(r.observe(n, &hdr(2, Role::Master), 5), None);
        let t = r.observe(n, &hdr(3, Role::Master), 6).expect("committed");
        assert_eq!((t.ts, t.cfg_before, t.promoted_from()), (2, 5, Some(None)));
        assert!(r.is_master(&n));
    }
}
