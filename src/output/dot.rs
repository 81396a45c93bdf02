//! The introduction graph as Graphviz DOT and as Mermaid (for Markdown
//! postmortems): who introduced whom, edges labelled with time and
//! mechanism, merge chain highlighted, nodes coloured by starting cluster.

use crate::analysis::Analysis;
use crate::analysis::timeline::Timeline;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

const COLORS: [&str; 6] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf"];

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn short(id: &str) -> &str {
    &id[..8.min(id.len())]
}

/// Edges: (from, to, label, in chain), in time order.
fn edges(a: &Analysis, t: &Timeline) -> Vec<(String, String, String, bool)> {
    let chain: BTreeSet<(&str, &str)> =
        a.merges.iter().flat_map(|m| m.chain.iter().map(|i| (i.learner.as_str(), i.node.as_str()))).collect();
    let mut out = Vec::new();
    for i in &a.introductions {
        if i.via == "prior" || i.via == "unobserved" {
            continue;
        }
        let from = i.introducer.clone().unwrap_or_else(|| i.node.clone());
        let label = format!("+{:.3}s {}", (i.ts_us - t.t0_us) as f64 / 1e6, i.via);
        out.push((from, i.learner.clone(), label, chain.contains(&(i.learner.as_str(), i.node.as_str()))));
    }
    out
}

/// Writes the DOT graph.
pub fn write_dot(w: &mut dyn Write, a: &Analysis, t: &Timeline) -> io::Result<()> {
    let best: BTreeMap<&str, &str> = a.nodes.iter().map(|n| (n.id.as_str(), n.best_address.as_str())).collect();
    writeln!(w, "digraph introductions {{")?;
    writeln!(w, "  rankdir=LR;")?;
    writeln!(w, "  node [shape=box, style=filled, fontname=\"monospace\"];")?;
    for l in &t.lanes {
        let color =
            if t.groups.get(l.group).is_some_and(|g| g == "none") { "#bbbbbb" } else { COLORS[l.group % COLORS.len()] };
        let label = format!("{}\\n{}", short(&l.node), esc(best.get(l.node.as_str()).unwrap_or(&"")));
        writeln!(w, "  \"{}\" [label=\"{label}\", fillcolor=\"{color}80\"];", short(&l.node))?;
    }
    for (from, to, label, chain) in edges(a, t) {
        let style = if chain { ", color=\"#d62728\", penwidth=3" } else { ", color=\"#999999\"" };
        writeln!(w, "  \"{}\" -> \"{}\" [label=\"{}\"{style}];", short(&from), short(&to), esc(&label))?;
    }
    writeln!(w, "}}")
}

/// Writes a Mermaid flowchart of the same graph.
pub fn write_mermaid(w: &mut dyn Write, a: &Analysis, t: &Timeline) -> io::Result<()> {
    writeln!(w, "graph LR")?;
    for l in &t.lanes {
        writeln!(w, "  n{}[\"{}\"]", short(&l.node), l.label.replace('"', "'"))?;
    }
    let mut chain_links = Vec::new();
    for (k, (from, to, label, chain)) in edges(a, t).into_iter().enumerate() {
        writeln!(w, "  n{} -->|\"{}\"| n{}", short(&from), label, short(&to))?;
        if chain {
            chain_links.push(k.to_string());
        }
    }
    if !chain_links.is_empty() {
        writeln!(w, "  linkStyle {} stroke:#d62728,stroke-width:3px", chain_links.join(","))?;
    }
    Ok(())
}
