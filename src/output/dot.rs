//! The introduction graph as Graphviz DOT and as Mermaid (for Markdown
//! postmortems): who introduced whom, each edge labelled with its time of
//! day (UTC, the date in the graph's title), the mechanism and the node it
//! introduced (the one gossiped, and who answered when another did); merge
//! chain highlighted, nodes coloured by starting cluster.

use crate::analysis::incident::hms;
use crate::analysis::timeline::Timeline;
use crate::analysis::{Analysis, NodeId, Via};
use crate::output::printable::printable;
use crate::time::format_utc_us;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

const COLORS: [&str; 6] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf"];

fn esc(s: &str) -> String {
    printable(s).replace('\\', "\\\\").replace('"', "\\\"")
}

/// One edge of the introduction graph.
pub(crate) struct Edge {
    pub from: NodeId,
    pub to: NodeId,
    /// `HH:MM:SS.mmm mechanism: introduced node`.
    pub label: String,
    pub chain: bool,
}

/// Edges of the introduction graph, in the order of the introductions:
/// from the introducer (the node itself for a MEET) to the learner.
pub(crate) fn edges(a: &Analysis) -> Vec<Edge> {
    let chain: BTreeSet<(NodeId, NodeId)> =
        a.merges.iter().flat_map(|m| m.chain.iter().map(|i| (i.learner, i.node))).collect();
    let mut out = Vec::new();
    for i in &a.introductions {
        if i.via.is_hearsay() {
            continue;
        }
        let from = i.introducer.unwrap_or(i.node);
        let what = match (i.via, i.answered_by_other()) {
            (Via::Gossip | Via::MeetGossip, Some((w, n))) => format!(": {} ({} answered)", n.short(), w.short()),
            (Via::Gossip | Via::MeetGossip, None) => format!(": {}", i.node.short()),
            _ if i.node != from => format!(": {}", i.node.short()),
            _ => String::new(),
        };
        out.push(Edge {
            from,
            to: i.learner,
            label: format!("{} {}{what}", hms(i.ts_us), i.via),
            chain: chain.contains(&(i.learner, i.node)),
        });
    }
    out
}

/// The graph's title: what it shows, and the date its times are on.
fn title(a: &Analysis) -> String {
    let date = a.t0_us().map(|t| format_utc_us(t).get(..10).unwrap_or_default().to_string()).unwrap_or_default();
    format!("Who introduced whom, {date} (times of day UTC; edge: introducer → learner, mechanism: node introduced)")
}

/// Writes the DOT graph.
pub fn write_dot(w: &mut dyn Write, a: &Analysis, t: &Timeline) -> io::Result<()> {
    let best: BTreeMap<NodeId, String> = a.nodes.iter().map(|n| (n.id, n.best_address.to_string())).collect();
    writeln!(w, "digraph introductions {{")?;
    writeln!(w, "  rankdir=LR;")?;
    writeln!(w, "  label=\"{}\"; labelloc=t;", esc(&title(a)))?;
    writeln!(w, "  node [shape=box, style=filled, fontname=\"monospace\"];")?;
    for (_, l, node) in t.node_lanes() {
        let color = if t.none_group == Some(l.group) { "#bbbbbb" } else { COLORS[l.group % COLORS.len()] };
        let label = format!("{}\\n{}", esc(&node.short()), esc(best.get(&node).map_or("", String::as_str)));
        writeln!(w, "  \"{}\" [label=\"{label}\", fillcolor=\"{color}80\"];", esc(&node.short()))?;
    }
    for e in edges(a) {
        let style = if e.chain { ", color=\"#d62728\", penwidth=3" } else { ", color=\"#999999\"" };
        let (from, to) = (esc(&e.from.short()), esc(&e.to.short()));
        writeln!(w, "  \"{from}\" -> \"{to}\" [label=\"{}\"{style}];", esc(&e.label))?;
    }
    writeln!(w, "}}")
}

/// A Mermaid node id: the short id when it is plain (always, for real
/// hex ids), else its bytes in hex (ids from the wire can hold anything).
fn mermaid_id(id: &NodeId) -> String {
    let s = id.short();
    if s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        s.into_owned()
    } else {
        id.0[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Writes a Mermaid flowchart of the same graph.
pub fn write_mermaid(w: &mut dyn Write, a: &Analysis, t: &Timeline) -> io::Result<()> {
    writeln!(w, "---\ntitle: \"{}\"\n---", title(a).replace('"', "'"))?;
    writeln!(w, "graph LR")?;
    for (_, l, node) in t.node_lanes() {
        writeln!(w, "  n{}[\"{}\"]", mermaid_id(&node), printable(&l.label).replace('"', "'"))?;
    }
    let mut chain_links = Vec::new();
    for (k, e) in edges(a).into_iter().enumerate() {
        let label = printable(&e.label).replace('"', "'");
        writeln!(w, "  n{} -->|\"{label}\"| n{}", mermaid_id(&e.from), mermaid_id(&e.to))?;
        if e.chain {
            chain_links.push(k.to_string());
        }
    }
    if !chain_links.is_empty() {
        writeln!(w, "  linkStyle {} stroke:#d62728,stroke-width:3px", chain_links.join(","))?;
    }
    Ok(())
}
