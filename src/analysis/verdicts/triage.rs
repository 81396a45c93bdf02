//! Signal before noise: each finding's phase (setup, incident, recovery) and
//! severity (incident, warning, info), and the damage: what the incident
//! changed, not what cluster creation did.
//!
//! The incident begins at the first of: the first introduction of a merge
//! chain, or a finding that only an incident produces (an address that
//! means different nodes, an answer by another node than the one expected,
//! a node declared FAIL, short-lived connections flapping). Recovery begins
//! with the first failover after that.

use crate::analysis::model::{DialKind, Finding, FindingKind, Merge, Phase, RoleChange, Severity, SlotMove};

/// Kinds only an incident produces.
fn is_trigger(kind: FindingKind) -> bool {
    match kind {
        FindingKind::AddressCollision
        | FindingKind::AddressReuse
        | FindingKind::IdConflict
        | FindingKind::SenderMismatch
        | FindingKind::NodeFailed
        | FindingKind::HandshakeFlapping => true,
        FindingKind::NatRewrite
        | FindingKind::SlotConflict
        | FindingKind::RoleChange
        | FindingKind::EpochCollision
        | FindingKind::EpochBump
        | FindingKind::Failover
        | FindingKind::UpdateMessage => false,
    }
}

/// Kinds that belong to recovery once a failover happened.
fn heals(kind: FindingKind) -> bool {
    match kind {
        FindingKind::Failover
        | FindingKind::RoleChange
        | FindingKind::EpochBump
        | FindingKind::EpochCollision
        | FindingKind::SlotConflict
        | FindingKind::UpdateMessage => true,
        FindingKind::AddressCollision
        | FindingKind::AddressReuse
        | FindingKind::IdConflict
        | FindingKind::SenderMismatch
        | FindingKind::NodeFailed
        | FindingKind::HandshakeFlapping
        | FindingKind::NatRewrite => false,
    }
}

/// When the incident and its recovery began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phases {
    pub incident_us: Option<i64>,
    pub recovery_us: Option<i64>,
}

impl Phases {
    pub fn of(findings: &[Finding], merges: &[Merge]) -> Phases {
        let chains = merges.iter().map(|m| m.chain.iter().map(|i| i.ts_us).min().unwrap_or(m.ts_us));
        let triggers = findings.iter().filter(|f| is_trigger(f.kind)).map(|f| f.ts_us);
        let incident_us = chains.chain(triggers).min();
        let recovery_us = incident_us.and_then(|start| {
            findings.iter().filter(|f| f.kind == FindingKind::Failover && f.ts_us >= start).map(|f| f.ts_us).min()
        });
        Phases { incident_us, recovery_us }
    }

    /// The phase of something of `kind` at `ts`.
    pub fn at(&self, ts: i64, kind: FindingKind) -> Phase {
        match (self.incident_us, self.recovery_us) {
            (None, _) => Phase::Setup,
            (Some(start), _) if ts < start => Phase::Setup,
            (_, Some(rec)) if ts >= rec && heals(kind) => Phase::Recovery,
            _ => Phase::Incident,
        }
    }
}

fn severity(f: &Finding) -> Severity {
    match (f.kind, f.phase) {
        (
            FindingKind::AddressCollision
            | FindingKind::AddressReuse
            | FindingKind::IdConflict
            | FindingKind::NodeFailed,
            _,
        ) => Severity::Incident,
        (FindingKind::SenderMismatch, _)
            if matches!(f.dial, Some(DialKind::BlindMeet | DialKind::AdoptedAfterPing)) =>
        {
            Severity::Incident
        }
        (FindingKind::SenderMismatch | FindingKind::HandshakeFlapping | FindingKind::NatRewrite, _) => {
            Severity::Warning
        }
        (FindingKind::Failover, Phase::Incident | Phase::Recovery) => Severity::Warning,
        (FindingKind::RoleChange | FindingKind::SlotConflict, Phase::Incident) => Severity::Warning,
        (FindingKind::Failover | FindingKind::RoleChange | FindingKind::SlotConflict, _) => Severity::Info,
        (FindingKind::EpochCollision | FindingKind::EpochBump | FindingKind::UpdateMessage, _) => Severity::Info,
    }
}

/// Sets every finding's phase and severity.
pub fn classify(findings: &mut [Finding], phases: &Phases) {
    for f in findings {
        f.phase = phases.at(f.ts_us, f.kind);
        f.severity = severity(f);
    }
}

/// Role changes and slot moves with their phase; those of the setup
/// dropped (they are still `role_change` findings).
pub fn damage(
    role_changes: &[RoleChange],
    slot_moves: &[SlotMove],
    phases: &Phases,
) -> (Vec<RoleChange>, Vec<SlotMove>) {
    let roles = role_changes
        .iter()
        .map(|r| RoleChange { phase: phases.at(r.ts_us, FindingKind::RoleChange), ..r.clone() })
        .filter(|r| r.phase != Phase::Setup)
        .collect();
    let slots = slot_moves
        .iter()
        .map(|m| SlotMove { phase: phases.at(m.ts_us, FindingKind::RoleChange), ..m.clone() })
        .filter(|m| m.phase != Phase::Setup)
        .collect();
    (roles, slots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::NodeId;

    fn f(kind: FindingKind, ts: i64) -> Finding {
        Finding::about(kind, ts, vec![NodeId([b'a'; 40])], String::new(), vec![])
    }

    #[test]
    fn bootstrap_of_a_fresh_cluster_is_setup_info() {
        let mut v =
            vec![f(FindingKind::EpochCollision, 1), f(FindingKind::EpochBump, 2), f(FindingKind::RoleChange, 3)];
        let p = Phases::of(&v, &[]);
        classify(&mut v, &p);
        assert!(v.iter().all(|x| x.phase == Phase::Setup && x.severity == Severity::Info), "{v:?}");
    }

    #[test]
    fn failure_then_failover_is_incident_then_recovery() {
        let mut v = vec![
            f(FindingKind::RoleChange, 1),
            f(FindingKind::NodeFailed, 10),
            f(FindingKind::Failover, 12),
            f(FindingKind::RoleChange, 12),
            f(FindingKind::EpochBump, 13),
        ];
        let p = Phases::of(&v, &[]);
        assert_eq!(p, Phases { incident_us: Some(10), recovery_us: Some(12) });
        classify(&mut v, &p);
        let got: Vec<(Phase, Severity)> = v.iter().map(|x| (x.phase, x.severity)).collect();
        assert_eq!(
            got,
            vec![
                (Phase::Setup, Severity::Info),
                (Phase::Incident, Severity::Incident),
                (Phase::Recovery, Severity::Warning),
                (Phase::Recovery, Severity::Info),
                (Phase::Recovery, Severity::Info),
            ]
        );
    }

    #[test]
    fn setup_role_changes_are_not_damage() {
        let rc = |ts| RoleChange {
            ts_us: ts,
            node: NodeId([b'a'; 40]),
            from: crate::analysis::model::Role::Master,
            to: crate::analysis::model::Role::Replica,
            replicaof: None,
            evidence: vec![],
            phase: Phase::Incident,
        };
        let p = Phases { incident_us: Some(5), recovery_us: None };
        let (roles, _) = damage(&[rc(1), rc(7)], &[], &p);
        assert_eq!(roles.iter().map(|r| r.ts_us).collect::<Vec<_>>(), vec![7]);
    }
}
