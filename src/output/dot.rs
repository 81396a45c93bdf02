//! The introduction graph as Graphviz DOT and as Mermaid (for Markdown
//! postmortems): who introduced whom, edges labelled with time and
//! mechanism, merge chain highlighted, nodes coloured by starting cluster.

use crate::analysis::timeline::Timeline;
use crate::analysis::{Analysis, NodeId};
use crate::output::printable::printable;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

const COLORS: [&str; 6] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf"];

fn esc(s: &str) -> String {
    printable(s).replace('\\', "\\\\").replace('"', "\\\"")
}

/// Edges of the introduction graph: (from, to, label, in chain), in time
/// order, labelled with the time after `t0_us` and the mechanism.
pub(crate) fn edges(a: &Analysis, t0_us: i64) -> Vec<(NodeId, NodeId, String, bool)> {
    let chain: BTreeSet<(NodeId, NodeId)> =
        a.merges.iter().flat_map(|m| m.chain.iter().map(|i| (i.learner, i.node))).collect();
    let mut out = Vec::new();
    for i in &a.introductions {
        if i.via.is_hearsay() {
            continue;
        }
        let from = i.introducer.unwrap_or(i.node);
        let label = format!("+{:.3}s {}", (i.ts_us - t0_us) as f64 / 1e6, i.via);
        out.push((from, i.learner, label, chain.contains(&(i.learner, i.node))));
    }
    out
}

/// Writes the DOT graph.
pub fn write_dot(w: &mut dyn Write, a: &Analysis, t: &Timeline) -> io::Result<()> {
    let best: BTreeMap<NodeId, String> = a.nodes.iter().map(|n| (n.id, n.best_address.to_string())).collect();
    writeln!(w, "digraph introductions {{")?;
    writeln!(w, "  rankdir=LR;")?;
    writeln!(w, "  node [shape=box, style=filled, fontname=\"monospace\"];")?;
    for l in &t.lanes {
        let color = if t.none_group == Some(l.group) { "#bbbbbb" } else { COLORS[l.group % COLORS.len()] };
        let label = format!("{}\\n{}", esc(&l.node.short()), esc(best.get(&l.node).map_or("", String::as_str)));
        writeln!(w, "  \"{}\" [label=\"{label}\", fillcolor=\"{color}80\"];", esc(&l.node.short()))?;
    }
    for (from, to, label, chain) in edges(a, t.overview.first_us) {
        let style = if chain { ", color=\"#d62728\", penwidth=3" } else { ", color=\"#999999\"" };
        writeln!(w, "  \"{}\" -> \"{}\" [label=\"{}\"{style}];", esc(&from.short()), esc(&to.short()), esc(&label))?;
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
    writeln!(w, "graph LR")?;
    for l in &t.lanes {
        writeln!(w, "  n{}[\"{}\"]", mermaid_id(&l.node), printable(&l.label).replace('"', "'"))?;
    }
    let mut chain_links = Vec::new();
    for (k, (from, to, label, chain)) in edges(a, t.overview.first_us).into_iter().enumerate() {
        writeln!(w, "  n{} -->|\"{}\"| n{}", mermaid_id(&from), label, mermaid_id(&to))?;
        if chain {
            chain_links.push(k.to_string());
        }
    }
    if !chain_links.is_empty() {
        writeln!(w, "  linkStyle {} stroke:#d62728,stroke-width:3px", chain_links.join(","))?;
    }
    Ok(())
}
