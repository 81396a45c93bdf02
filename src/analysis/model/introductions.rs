//! Who learned whom: first introductions, joins and merges (with the
//! chain of introductions behind each), and the sentence that tells one
//! introduction.

use super::evidence::Evidence;
use super::kinds::Via;
use super::text::as_text_or_null;
use crate::events::{NodeAddr, NodeId};
use serde::Serialize;
use std::collections::BTreeMap;

/// How a learner came to know a node.
#[derive(Clone, Debug, Serialize)]
pub struct Introduction {
    pub ts_us: i64,
    pub learner: NodeId,
    pub node: NodeId,
    pub via: Via,
    pub introducer: Option<NodeId>,
    /// The address the learner reached or recorded.
    #[serde(serialize_with = "as_text_or_null")]
    pub address: Option<NodeAddr>,
    /// The node that actually answered at `address`.
    pub answered_by: Option<NodeId>,
    /// For `gossip`: the node id the gossip entry named (may differ from
    /// `answered_by`: the collision signature).
    pub gossip_named: Option<NodeId>,
    /// For `operator_meet`: the command as sent, when captured.
    pub command: Option<String>,
    pub evidence: Vec<Evidence>,
}

impl Introduction {
    /// A gossiped address where another node than the one named answered.
    pub fn answered_by_other(&self) -> Option<(NodeId, NodeId)> {
        match (self.answered_by, self.gossip_named) {
            (Some(w), Some(n)) if w != n => Some((w, n)),
            _ => None,
        }
    }
}

/// A node joining a cluster (or two lone nodes forming one): not a merge.
#[derive(Clone, Debug, Serialize)]
pub struct Join {
    pub ts_us: i64,
    pub node: NodeId,
    pub joined: Vec<NodeId>,
    pub introduction: usize,
}

/// Two groups that were each already a cluster start to know each other.
#[derive(Clone, Debug, Serialize)]
pub struct Merge {
    pub ts_us: i64,
    pub sides: Vec<Vec<NodeId>>,
    /// From patient zero to the joining link, in time order.
    pub chain: Vec<Introduction>,
    /// The link that fused the sides was captured. When not, `ts_us` is
    /// the first evidence that they had fused: the merge happened then at
    /// the latest.
    pub observed: bool,
}

/// Best address of each node, for sentences.
pub type BestAddresses = BTreeMap<NodeId, String>;

pub(in crate::analysis) fn who(id: &NodeId, best: &BestAddresses) -> String {
    match best.get(id) {
        Some(a) => format!("{} ({a})", id.short()),
        None => id.short().into_owned(),
    }
}

pub(in crate::analysis) fn who_opt(id: Option<&NodeId>, best: &BestAddresses) -> String {
    id.map_or_else(|| "?".into(), |x| who(x, best))
}

/// One sentence per introduction (the story's root cause, the report's
/// chains and introductions, `watch`'s joins and merges).
pub fn describe(i: &Introduction, best: &BestAddresses) -> String {
    let l = who(&i.learner, best);
    let n = who(&i.node, best);
    let addr = i.address.as_ref().map(ToString::to_string).unwrap_or_default();
    match i.via {
        Via::OperatorMeet => match &i.command {
            Some(c) => format!("operator ran `{c}` on {l}; {n} answered at {addr}"),
            None => format!(
                "{l} sent MEET to {addr} (an operator's CLUSTER MEET: nobody had gossiped that address to it); {n} answered"
            ),
        },
        Via::Meet => format!("{l} received MEET from unknown {n} and recorded it at {addr}"),
        Via::MeetGossip => {
            format!(
                "{l} added {n} at {addr} from the gossip of a MEET sent by {}",
                who_opt(i.introducer.as_ref(), best)
            )
        }
        Via::Gossip => {
            let intro = who_opt(i.introducer.as_ref(), best);
            let named = i.gossip_named.unwrap_or(i.node);
            match i.answered_by {
                Some(w) if w != named => format!(
                    "{intro} gossiped {} at {addr} to {l}; {l} dialled {addr} and {} answered — a different node",
                    named.short(),
                    who(&w, best)
                ),
                Some(_) => format!("{intro} gossiped {n} at {addr} to {l}; {l} dialled it and {n} answered"),
                None => format!("{intro} gossiped {n} at {addr} to {l}"),
            }
        }
        Via::Unobserved => format!("{l} showed it knew {n} (learned through traffic this capture does not contain)"),
        Via::Prior => format!("{l} already knew {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answered_by_other_needs_two_different_ids() {
        let (a, b) = (NodeId([b'a'; 40]), NodeId([b'b'; 40]));
        let mut i = Introduction {
            ts_us: 0,
            learner: a,
            node: b,
            via: Via::Gossip,
            introducer: None,
            address: None,
            answered_by: Some(a),
            gossip_named: Some(b),
            command: None,
            evidence: vec![],
        };
        assert_eq!(i.answered_by_other(), Some((a, b)));
        i.answered_by = Some(b);
        assert_eq!(i.answered_by_other(), None);
    }
}
