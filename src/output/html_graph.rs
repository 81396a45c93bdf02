//! The introduction graph (who introduced whom: MEET, gossip, answered
//! addresses; the edges of `--dot`/`--mermaid`) drawn in-process as SVG
//! for the HTML report: no Graphviz, no script. Layout: nodes on a circle
//! in lane order (grouped by starting cluster, then first seen), so the
//! same analysis always gives the same picture and no edge runs through a
//! node; each direction between two nodes is one curve, bent to its own
//! side, labelled with time, mechanism and the node introduced, where the
//! label covers no node box and no other label.

use crate::analysis::timeline::Timeline;
use crate::analysis::{Analysis, NodeId};
use crate::output::chart_glyphs::{ARROW_COLOR, CHAIN_COLOR, arrowhead, group_color};
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

/// A box (left, top, right, bottom).
type Rect = (f64, f64, f64, f64);

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Where along an edge's curve its label may sit, tried in turn.
const LABEL_AT: [f64; 9] = [0.38, 0.3, 0.46, 0.22, 0.54, 0.62, 0.14, 0.7, 0.5];
/// Offsets across the curve tried at each place.
const LABEL_SHIFT: [f64; 5] = [0.0, 14.0, -14.0, 28.0, -28.0];

/// One directed edge between two node boxes: its labels joined.
struct Directed {
    from: usize,
    to: usize,
    labels: Vec<String>,
    chain: bool,
}

/// The introduction graph of `a` as a scene: nodes on an ellipse; each
/// edge's label placed where it covers no node and no other label (the
/// ellipse grows until every label finds such a place).
pub fn graph_scene(a: &Analysis, t: &Timeline) -> Scene {
    let best: BTreeMap<NodeId, String> = a.nodes.iter().map(|n| (n.id, n.best_address.to_string())).collect();
    let nodes: Vec<(usize, NodeId)> = t.node_lanes().map(|(i, _, n)| (i, n)).collect();
    let lines: Vec<(String, String)> = nodes
        .iter()
        .map(|(_, n)| {
            (printable(&n.short()).into_owned(), printable(best.get(n).map_or("", String::as_str)).into_owned())
        })
        .collect();
    let index: BTreeMap<NodeId, usize> = nodes.iter().enumerate().map(|(k, (_, n))| (*n, k)).collect();
    // One curve per direction between two nodes; its labels joined.
    let mut directed: BTreeMap<(usize, usize), Directed> = BTreeMap::new();
    for e in edges(a) {
        if let (Some(&f), Some(&g)) = (index.get(&e.from), index.get(&e.to))
            && f != g
        {
            let d = directed.entry((f, g)).or_insert(Directed { from: f, to: g, labels: Vec::new(), chain: false });
            // A chain introduction is the one its edge is labelled with.
            let at = if e.chain && !d.chain { 0 } else { d.labels.len() };
            d.labels.insert(at, printable(&e.label).into_owned());
            d.chain |= e.chain;
        }
    }
    let directed: Vec<Directed> = directed.into_values().collect();
    let mut grow = 1.0;
    loop {
        let (scene, all_placed) = layout(t, &nodes, &lines, &directed, grow);
        if all_placed || grow > 3.0 {
            return scene;
        }
        grow *= 1.25;
    }
}

/// The scene with the ellipse `grow` times its base size; whether every
/// label found a free place.
fn layout(
    t: &Timeline,
    nodes: &[(usize, NodeId)],
    lines: &[(String, String)],
    directed: &[Directed],
    grow: f64,
) -> (Scene, bool) {
    let box_w = lines.iter().map(|(s, b)| text_width(s, TEXT).max(text_width(b, TEXT))).fold(60.0, f64::max) + 16.0;
    let n = nodes.len().max(1);
    let chord = box_w.hypot(BOX_H) + 150.0;
    let r = if n == 1 { 0.0 } else { (chord / 2.0 / (std::f64::consts::PI / n as f64).sin()).max(130.0) * grow };
    let width = (2.0 * r + box_w + 2.0 * MARGIN + 60.0).ceil();
    let height = (2.0 * r * SQUASH + BOX_H + 2.0 * MARGIN + 60.0).ceil();
    let pos: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let ang = -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            (width / 2.0 + r * ang.cos(), height / 2.0 + r * SQUASH * ang.sin())
        })
        .collect();
    let half = (box_w / 2.0, BOX_H / 2.0);
    let mut taken: Vec<Rect> = pos[..nodes.len()]
        .iter()
        .map(|&(x, y)| (x - half.0 - 2.0, y - half.1 - 2.0, x + half.0 + 2.0, y + half.1 + 2.0))
        .collect();
    let mut all_placed = true;
    let mut lines_items = Vec::new();
    let mut labels = Vec::new();
    for (k, d) in directed.iter().enumerate() {
        let (p, q) = (pos[d.from], pos[d.to]);
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let len = dx.hypot(dy).max(1e-9);
        let ctrl = ((p.0 + q.0) / 2.0 - dy / len * BEND * 2.0, (p.1 + q.1) / 2.0 + dx / len * BEND * 2.0);
        let (s, e) = (exit(p, ctrl, half), exit(q, ctrl, half));
        let pts: Vec<(f64, f64)> = (0..=SEGMENTS).map(|i| quad(s, ctrl, e, i as f64 / SEGMENTS as f64)).collect();
        let (col, w, head) = if d.chain { (CHAIN_COLOR, 3.0, 6.0) } else { (ARROW_COLOR, 1.4, 4.5) };
        let (tx, ty) = (e.0 - ctrl.0, e.1 - ctrl.1);
        let tl = tx.hypot(ty).max(1e-9);
        let class = if d.chain { "graph-edge chain" } else { "graph-edge" };
        lines_items.push(Item::group(
            vec![("class", class.into()), ("data-from", d.from.to_string()), ("data-to", d.to.to_string())],
            vec![
                Item::Title(d.labels.join("\n")),
                Item::Path { pts, paint: Paint::stroke(col, w) },
                arrowhead(e.0, e.1, tx / tl, ty / tl, head, col),
            ],
        ));
        let label = match d.labels.len() {
            1 => d.labels[0].clone(),
            n => format!("{} (+{} more)", d.labels[0], n - 1),
        };
        let lw = text_width(&label, EDGE_TEXT) + 6.0;
        let rect_at = |c: (f64, f64)| (c.0 - lw / 2.0, c.1 - 8.0, c.0 + lw / 2.0, c.1 + 7.0);
        let inside = |r: Rect| r.0 >= 2.0 && r.1 >= 2.0 && r.2 <= width - 2.0 && r.3 <= height - 2.0;
        let (nx, ny) = (-dy / len, dx / len);
        let candidates = LABEL_AT.iter().flat_map(|&at| {
            let c = quad(s, ctrl, e, at);
            LABEL_SHIFT.iter().map(move |&sh| (c.0 + nx * sh, c.1 + ny * sh))
        });
        let mut first = None;
        let mut place = None;
        for c in candidates {
            first.get_or_insert(c);
            let r = rect_at(c);
            if inside(r) && !taken.iter().any(|t| overlaps(*t, r)) {
                place = Some(c);
                break;
            }
        }
        all_placed &= place.is_some();
        let at = place.or(first).unwrap_or(s);
        taken.push(rect_at(at));
        let color = if d.chain { CHAIN_COLOR } else { Color(70, 70, 70) };
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
                    bold: d.chain,
                },
            ],
        ));
    }
    let mut boxes = Vec::new();
    for (k, &(lane, _)) in nodes.iter().enumerate() {
        let (x, y) = pos[k];
        let col = t.lanes.get(lane).map_or(Color(150, 150, 150), |l| group_color(t, l.group));
        boxes.push(Item::group(
            vec![("class", "graph-node".into()), ("data-node", lines[k].0.clone())],
            vec![
                Item::rect(x - half.0, y - half.1, box_w, BOX_H, Paint::outlined(Color::WHITE, col, 2.0)),
                Item::rect(x - half.0, y - half.1, box_w, BOX_H, Paint::fill(col).alpha(0.25)),
                Item::Text {
                    x,
                    y: y - 3.0,
                    text: lines[k].0.clone(),
                    size: TEXT,
                    color: Color::BLACK,
                    anchor: Anchor::Middle,
                    bold: true,
                },
                Item::text(x, y + 13.0, lines[k].1.clone(), TEXT, Anchor::Middle),
            ],
        ));
    }
    let mut items = lines_items;
    items.extend(boxes);
    items.extend(labels);
    (Scene { width: width as u32, height: height as u32, attrs: vec![("id", "intro-graph".into())], items }, all_placed)
}
