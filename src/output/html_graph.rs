//! The introduction graph (who introduced whom: MEET, gossip, answered
//! addresses; the edges of `--dot`/`--mermaid`) drawn in-process as SVG
//! for the HTML report: no Graphviz, no script. Layout: nodes on a circle
//! in lane order (grouped by starting cluster, then first seen), so the
//! same analysis always gives the same picture and no edge runs through a
//! node; each direction between two nodes is one curve, bent to its own
//! side, labelled with time and mechanism.

use crate::analysis::timeline::Timeline;
use crate::analysis::{Analysis, NodeId};
use crate::output::chart_legend::{ARROW_COLOR, CHAIN_COLOR, arrowhead, group_color};
use crate::output::chart_scene::{Anchor, Color, Item, Paint, Scene, text_width};
use crate::output::dot::edges;
use crate::output::printable::printable;
use std::collections::BTreeMap;

const TEXT: f64 = 12.5;
const EDGE_TEXT: f64 = 11.0;
const BOX_H: f64 = 40.0;
const MARGIN: f64 = 24.0;
/// How far an edge's curve bends from the straight line.
const BEND: f64 = 26.0;
const SEGMENTS: usize = 16;
/// Where along its curve an edge is labelled: before the middle, so the
/// labels of crossing edges and of the two directions stay apart.
const LABEL_AT: f64 = 0.38;
/// The circle is an ellipse this much flatter (boxes are wide, not tall).
const SQUASH: f64 = 0.7;

/// A point on the quadratic curve `a`–`c`–`b` at `t`.
fn quad(a: (f64, f64), c: (f64, f64), b: (f64, f64), t: f64) -> (f64, f64) {
    let u = 1.0 - t;
    (u * u * a.0 + 2.0 * u * t * c.0 + t * t * b.0, u * u * a.1 + 2.0 * u * t * c.1 + t * t * b.1)
}

/// Where the ray from a box's centre towards `to` leaves the box.
fn exit(centre: (f64, f64), to: (f64, f64), half: (f64, f64)) -> (f64, f64) {
    let (dx, dy) = (to.0 - centre.0, to.1 - centre.1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (ux, uy) = (dx / len, dy / len);
    let d = (half.0 / ux.abs().max(1e-9)).min(half.1 / uy.abs().max(1e-9)) + 3.0;
    (centre.0 + ux * d, centre.1 + uy * d)
}

/// The introduction graph of `a` as a scene.
pub fn graph_scene(a: &Analysis, t: &Timeline) -> Scene {
    let best: BTreeMap<NodeId, String> = a.nodes.iter().map(|n| (n.id, n.best_address.to_string())).collect();
    let lines: Vec<(String, String)> = t
        .lanes
        .iter()
        .map(|l| {
            (
                printable(&l.node.short()).into_owned(),
                printable(best.get(&l.node).map_or("", String::as_str)).into_owned(),
            )
        })
        .collect();
    let box_w = lines.iter().map(|(s, b)| text_width(s, TEXT).max(text_width(b, TEXT))).fold(60.0, f64::max) + 16.0;
    let n = t.lanes.len().max(1);
    let chord = box_w.hypot(BOX_H) + 150.0;
    let r = if n == 1 { 0.0 } else { (chord / 2.0 / (std::f64::consts::PI / n as f64).sin()).max(130.0) };
    let width = (2.0 * r + box_w + 2.0 * MARGIN + 60.0).ceil();
    let height = (2.0 * r * SQUASH + BOX_H + 2.0 * MARGIN + 60.0).ceil();
    let pos: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let ang = -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            (width / 2.0 + r * ang.cos(), height / 2.0 + r * SQUASH * ang.sin())
        })
        .collect();
    let lane_of: BTreeMap<NodeId, usize> = t.lanes.iter().enumerate().map(|(i, l)| (l.node, i)).collect();
    let half = (box_w / 2.0, BOX_H / 2.0);

    // One curve per direction between two nodes; its labels joined.
    let mut directed: BTreeMap<(usize, usize), (Vec<String>, bool)> = BTreeMap::new();
    for (from, to, label, chain) in edges(a, t.overview.first_us) {
        if let (Some(&f), Some(&g)) = (lane_of.get(&from), lane_of.get(&to))
            && f != g
        {
            let e = directed.entry((f, g)).or_default();
            // A chain introduction is the one its edge is labelled with.
            let at = if chain && !e.1 { 0 } else { e.0.len() };
            e.0.insert(at, printable(&label).into_owned());
            e.1 |= chain;
        }
    }
    let mut lines_items = Vec::new();
    let mut labels = Vec::new();
    for (k, (&(f, g), (text, chain))) in directed.iter().enumerate() {
        let (p, q) = (pos[f], pos[g]);
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let len = dx.hypot(dy).max(1e-9);
        let ctrl = ((p.0 + q.0) / 2.0 - dy / len * BEND * 2.0, (p.1 + q.1) / 2.0 + dx / len * BEND * 2.0);
        let (s, e) = (exit(p, ctrl, half), exit(q, ctrl, half));
        let pts: Vec<(f64, f64)> = (0..=SEGMENTS).map(|i| quad(s, ctrl, e, i as f64 / SEGMENTS as f64)).collect();
        let (col, w, head) = if *chain { (CHAIN_COLOR, 3.0, 6.0) } else { (ARROW_COLOR, 1.4, 4.5) };
        let (tx, ty) = (e.0 - ctrl.0, e.1 - ctrl.1);
        let tl = tx.hypot(ty).max(1e-9);
        let class = if *chain { "graph-edge chain" } else { "graph-edge" };
        lines_items.push(Item::group(
            vec![("class", class.into()), ("data-from", f.to_string()), ("data-to", g.to_string())],
            vec![
                Item::Title(text.join("\n")),
                Item::Path { pts, paint: Paint::stroke(col, w) },
                arrowhead(e.0, e.1, tx / tl, ty / tl, head, col),
            ],
        ));
        let at = quad(s, ctrl, e, LABEL_AT);
        let label = match text.len() {
            1 => text[0].clone(),
            n => format!("{} (+{} more)", text[0], n - 1),
        };
        let lw = text_width(&label, EDGE_TEXT) + 6.0;
        let color = if *chain { CHAIN_COLOR } else { Color(70, 70, 70) };
        labels.push(Item::group(
            vec![("class", "graph-label".into()), ("data-edge", k.to_string())],
            vec![
                Item::rect(at.0 - lw / 2.0, at.1 - 8.0, lw, 15.0, Paint::fill(Color::WHITE).alpha(0.85)),
                Item::Text {
                    x: at.0,
                    y: at.1 + 4.0,
                    text: label,
                    size: EDGE_TEXT,
                    color,
                    anchor: Anchor::Middle,
                    bold: *chain,
                },
            ],
        ));
    }
    let mut nodes = Vec::new();
    for (i, l) in t.lanes.iter().enumerate() {
        let (x, y) = pos[i];
        let col = group_color(t, l.group);
        nodes.push(Item::group(
            vec![("class", "graph-node".into()), ("data-node", lines[i].0.clone())],
            vec![
                Item::rect(x - half.0, y - half.1, box_w, BOX_H, Paint::outlined(Color::WHITE, col, 2.0)),
                Item::rect(x - half.0, y - half.1, box_w, BOX_H, Paint::fill(col).alpha(0.25)),
                Item::Text {
                    x,
                    y: y - 3.0,
                    text: lines[i].0.clone(),
                    size: TEXT,
                    color: Color::BLACK,
                    anchor: Anchor::Middle,
                    bold: true,
                },
                Item::text(x, y + 13.0, lines[i].1.clone(), TEXT, Anchor::Middle),
            ],
        ));
    }
    let mut items = lines_items;
    items.extend(nodes);
    items.extend(labels);
    Scene { width: width as u32, height: height as u32, attrs: vec![("id", "intro-graph".into())], items }
}
