//! The lanes of the timeline chart: each lane's colour band and lifeline,
//! the shaded spans (unserved slots, a cloned id's flapping address,
//! encrypted traffic), the connectors between lanes (same id, reused
//! address, promotion), introductions, merges, markers, the merge chain's
//! step badges on their arrows and the notes' letter tags beside their
//! marks. Labels are placed by a [`Placer`]: none covers another, a
//! marker or a badge, and none leaves the plot.

use crate::analysis::timeline::{JoinKind, LaneKind, SpanKind, Timeline};
use crate::output::chart_glyphs::{
    ARROW_COLOR, CHAIN_COLOR, SMALL_SIZE, arrowhead, badge_r, group_color, heard_paint, join_kind_name, join_paint,
    marker_glyph, marker_half, note_tag, span_kind_name, span_paint, step_badge, tag_size, zigzag,
};
use crate::output::chart_scene::{Anchor, Color, Item, Paint, Placer, Rect, text_box, text_width};
use std::collections::BTreeSet;

/// Horizontal geometry: where the window maps to pixels.
pub struct XMap {
    pub x0: f64,
    pub x1: f64,
    pub t0: i64,
    pub t1: i64,
}

impl XMap {
    pub fn x(&self, ts: i64) -> f64 {
        let span = (self.t1 - self.t0).max(1) as f64;
        self.x0 + (ts - self.t0) as f64 / span * (self.x1 - self.x0)
    }

    /// `x` of `ts`, held inside the plot.
    pub fn xc(&self, ts: i64) -> f64 {
        self.x(ts).clamp(self.x0, self.x1)
    }
}

/// Where the lanes are.
pub struct Frame {
    pub map: XMap,
    /// Top of the upper panel (tags may rise into it).
    pub panel_top: f64,
    pub lanes_top: f64,
    pub lane_h: f64,
    pub bottom: f64,
}

impl Frame {
    pub fn lane_y(&self, i: usize) -> f64 {
        self.lanes_top + self.lane_h * (i as f64 + 0.5)
    }
}

/// Markers closer than this on a lane are moved apart vertically, by
/// these offsets in turn.
const DODGE_PX: f64 = 9.0;
const DODGE_Y: [f64; 4] = [0.0, -9.0, 9.0, -4.5];

/// The plot's items, and the `data-kind` of everything drawn (for the
/// legend).
pub struct Body {
    pub items: Vec<Item>,
    pub drawn: BTreeSet<String>,
}

fn kind_group(class: &str, kind: &str, items: Vec<Item>) -> Item {
    Item::group(vec![("class", class.into()), ("data-kind", kind.into())], items)
}

/// A label's box placed beside `(x, y)`: right, left, above, below, in
/// turn, farther out each round.
fn label_candidates(x: f64, y: f64, text: &str, size: f64) -> Vec<(f64, f64, Rect)> {
    let w = text_width(text, size);
    let mut out = Vec::new();
    for k in 0..4 {
        let d = 6.0 + 14.0 * k as f64;
        for (lx, ly) in
            [(x + d, y + 4.0), (x - d - w, y + 4.0), (x + 4.0, y - d), (x + 4.0, y + d + 10.0), (x - w - 4.0, y - d)]
        {
            out.push((lx, ly, text_box(lx, ly, text, size, Anchor::Start)));
        }
    }
    out
}

/// Places a text label near `(x, y)`; `None` when no free place.
fn place_label(placer: &mut Placer, x: f64, y: f64, text: &str, color: Color, class: &str) -> Option<Item> {
    let (lx, ly, _) = label_candidates(x, y, text, SMALL_SIZE).into_iter().find(|c| placer.free(c.2))?;
    let r = text_box(lx, ly, text, SMALL_SIZE, Anchor::Start);
    placer.take((r.0 - 2.0, r.1 - 1.0, r.2 + 2.0, r.3 + 1.0));
    Some(Item::group(
        vec![("class", class.into())],
        vec![
            Item::rect(r.0 - 2.0, r.1 - 1.0, r.2 - r.0 + 4.0, r.3 - r.1 + 2.0, Paint::fill(Color::WHITE).alpha(0.85)),
            Item::Text { x: lx, y: ly, text: text.into(), size: SMALL_SIZE, color, anchor: Anchor::Start, bold: false },
        ],
    ))
}

/// Draws the lanes' contents; `placer` already holds the merge labels.
pub fn body(t: &Timeline, f: &Frame, placer: &mut Placer) -> Body {
    let map = &f.map;
    let mut items = Vec::new();
    let mut drawn = BTreeSet::new();
    let mut labels = Vec::new();

    // Lane bands and lifelines.
    for (i, l) in t.lanes.iter().enumerate() {
        let y = f.lanes_top + f.lane_h * i as f64;
        let c = group_color(t, l.group);
        let band = Item::rect(map.x0, y + 2.0, map.x1 - map.x0, f.lane_h - 4.0, Paint::fill(c).alpha(0.13));
        items.push(kind_group("lane", "cluster", vec![band]));
        if let Some((a, b)) = l.heard_us
            && l.kind != LaneKind::Encrypted
            && b >= t.t0_us
            && a <= t.t1_us
        {
            let dark = Color(c.0 / 2, c.1 / 2, c.2 / 2);
            let line = Item::line(map.xc(a), f.lane_y(i), map.xc(b), f.lane_y(i), heard_paint(dark));
            items.push(kind_group("heard", "heard", vec![line]));
            drawn.insert("heard".to_string());
        }
    }

    // Spans: shading under everything else.
    for s in &t.spans {
        let (xa, xb) = (map.xc(s.from_us), map.xc(s.to_us).max(map.xc(s.from_us) + 2.0));
        let y = f.lane_y(s.lane);
        let p = span_paint(s.kind);
        let shape = match (s.kind, s.other_lane) {
            (SpanKind::Flapping, Some(o)) => {
                let (ya, yb) = (y, f.lane_y(o));
                let (ya, yb) = if ya < yb { (ya + 5.0, yb - 5.0) } else { (ya - 5.0, yb + 5.0) };
                let teeth = (s.count as usize).min(((xb - xa) / 3.0) as usize).max(2);
                vec![Item::Path { pts: zigzag(xa, xb, ya, yb, teeth), paint: p }]
            }
            (SpanKind::Unserved, _) => {
                vec![Item::rect(xa, y - f.lane_h / 2.0 + 3.0, xb - xa, f.lane_h - 6.0, p)]
            }
            _ => vec![Item::rect(xa, y - 3.0, xb - xa, 6.0, p)],
        };
        let mut g = vec![Item::Title(s.label.clone())];
        g.extend(shape);
        items.push(kind_group("span", span_kind_name(s.kind), g));
        drawn.insert(span_kind_name(s.kind).to_string());
    }

    // Introductions: grey, the merge chain bold red on top.
    for chain in [false, true] {
        let (c, w, head) = if chain { (CHAIN_COLOR, 3.0, 6.0) } else { (ARROW_COLOR, 1.5, 4.0) };
        for a in t.arrows.iter().filter(|a| a.in_chain == chain && a.from_lane != a.to_lane) {
            let (x, y0, y1) = (map.x(a.ts_us), f.lane_y(a.from_lane), f.lane_y(a.to_lane));
            let dir = if y1 > y0 { 1.0 } else { -1.0 };
            let shape = vec![
                Item::line(x, y0, x, y1 - dir * head * 1.5, Paint::stroke(c, w)),
                arrowhead(x, y1, 0.0, dir, head, c),
            ];
            let (class, kind) = if chain { ("chain-arrow", "chain") } else { ("arrow", "introduction") };
            items.push(Item::group(vec![("class", class.into()), ("data-kind", kind.into())], shape));
            drawn.insert(kind.to_string());
        }
    }

    // Connectors between lanes.
    for j in &t.joins {
        let (xa, ya, xb, yb) = (map.xc(j.from_us), f.lane_y(j.from_lane), map.xc(j.to_us), f.lane_y(j.to_lane));
        let p = join_paint(j.kind);
        let c = p.stroke.unwrap_or(Color::BLACK);
        let shape = match j.kind {
            JoinKind::SameId => {
                vec![Item::line(xa - 2.0, ya, xa - 2.0, yb, p), Item::line(xa + 2.0, ya, xa + 2.0, yb, p)]
            }
            _ => {
                let (dx, dy) = (xb - xa, yb - ya);
                let len = dx.hypot(dy).max(1e-9);
                let (ux, uy) = (dx / len, dy / len);
                let tip = (xb - ux * 8.0, yb - uy * 8.0);
                vec![Item::line(xa, ya, tip.0 - ux * 7.0, tip.1 - uy * 7.0, p), arrowhead(tip.0, tip.1, ux, uy, 5.0, c)]
            }
        };
        let mut g = vec![Item::Title(j.label.clone())];
        g.extend(shape);
        items.push(kind_group("join", join_kind_name(j.kind), g));
        drawn.insert(join_kind_name(j.kind).to_string());
    }

    // Merges are drawn by the caller, through both panels.
    if !t.merges.is_empty() {
        drawn.insert("merge".to_string());
    }

    // Markers; one drawn within a few pixels of another on its lane is
    // moved up or down (never sideways: x is its time).
    let n = t.lanes.len();
    let mut last_on_lane: Vec<(f64, usize)> = vec![(f64::NEG_INFINITY, 0); n];
    let mut placed_markers = Vec::new();
    for m in &t.markers {
        let x = map.x(m.ts_us);
        let dy = match last_on_lane.get_mut(m.lane) {
            Some(last) => {
                let k = if x - last.0 < DODGE_PX { last.1 + 1 } else { 0 };
                *last = (if k == 0 { x } else { last.0 }, k);
                DODGE_Y[k % DODGE_Y.len()]
            }
            None => 0.0,
        };
        let y = f.lane_y(m.lane) + dy;
        // Badges may cover a marker's edge, not its centre.
        placer.take((x - 3.0, y - 3.0, x + 3.0, y + 3.0));
        placed_markers.push((m, x, y));
        let glyph = marker_glyph(m.kind, x, y, "marker");
        let glyph = match glyph {
            Item::Group { attrs, items: mut inner } => {
                inner.insert(0, Item::Title(m.label.clone()));
                Item::Group { attrs, items: inner }
            }
            other => other,
        };
        items.push(glyph);
        drawn.insert(m.kind.as_str().to_string());
    }

    // Step badges on their chain arrows: at the middle of the arrow, else
    // elsewhere along it, else beside it with a leader.
    let mut chain: Vec<_> = t.arrows.iter().filter_map(|a| Some((a.step?, a))).collect();
    chain.sort_by_key(|a| a.0);
    for (step, a) in chain {
        let label = step.to_string();
        let r = badge_r(&label);
        let x = map.x(a.ts_us);
        let (ya, yb) = (f.lane_y(a.from_lane).min(f.lane_y(a.to_lane)), f.lane_y(a.from_lane).max(f.lane_y(a.to_lane)));
        let mid = (ya + yb) / 2.0;
        let mut along = vec![mid];
        let mut d = 2.0 * r + 3.0;
        while mid - d >= ya + r || mid + d <= yb - r {
            along.extend([mid + d, mid - d].into_iter().filter(|y| *y >= ya + r && *y <= yb - r));
            d += 2.0 * r + 3.0;
        }
        let on_arrow = along.iter().map(|&y| (x, y));
        let beside = (1..8).flat_map(|k| {
            let dx = k as f64 * (2.0 * r + 4.0);
            [(x + dx, mid), (x - dx, mid)]
        });
        let spot =
            on_arrow.chain(beside).find(|&(bx, by)| placer.free((bx - r, by - r, bx + r, by + r))).unwrap_or((x, mid));
        placer.take((spot.0 - r, spot.1 - r, spot.0 + r, spot.1 + r));
        if (spot.0 - x).abs() > 0.5 {
            let edge = if spot.0 > x { spot.0 - r } else { spot.0 + r };
            items.push(Item::line(x, spot.1, edge, spot.1, Paint::stroke(CHAIN_COLOR, 1.5)));
        }
        labels.push(step_badge(&label, spot.0, spot.1, "chain-step"));
    }

    // Labels cover no marker at all.
    for (m, x, y) in &placed_markers {
        let h = marker_half(m.kind);
        placer.take((x - h, y - h, x + h, y + h));
    }

    // Notes' tags beside one of their marks.
    for (m, x, y) in &placed_markers {
        let Some(tag) = &m.note else { continue };
        let (w, h) = tag_size(tag);
        let cands: Vec<(f64, f64)> = (0..3)
            .flat_map(|k| {
                let d = 7.0 + 12.0 * k as f64;
                [
                    (x + d, y - h - d + 4.0),
                    (x - d - w, y - h - d + 4.0),
                    (x + d, y + d - 4.0),
                    (x - d - w, y + d - 4.0),
                    (x + d + 4.0, y - h / 2.0),
                    (x - d - 4.0 - w, y - h / 2.0),
                ]
            })
            .collect();
        let spot =
            cands.iter().copied().find(|&(tx, ty)| placer.free((tx - 1.0, ty - 1.0, tx + w + 1.0, ty + h + 1.0)));
        let (tx, ty) = spot.unwrap_or((x + 7.0, y - h - 3.0));
        placer.take((tx - 1.0, ty - 1.0, tx + w + 1.0, ty + h + 1.0));
        let near = (tx + w / 2.0, ty + h / 2.0);
        if (near.0 - x).hypot(near.1 - y) > 26.0 {
            items.push(Item::line(*x, *y, near.0, near.1, Paint::stroke(Color(60, 60, 60), 1.0)));
        }
        labels.push(note_tag(tag, tx, ty, "note-tag"));
        drawn.insert("note".to_string());
    }

    // Labels of connectors and spans, where they fit.
    for j in &t.joins {
        let (x, y) = (map.xc(j.to_us), (f.lane_y(j.from_lane) + f.lane_y(j.to_lane)) / 2.0);
        let c = join_paint(j.kind).stroke.unwrap_or(Color::BLACK);
        labels.extend(place_label(placer, x, y, &j.label, c, "join-label"));
    }
    for s in t.spans.iter().filter(|s| s.kind != SpanKind::Encrypted) {
        let y = match s.other_lane {
            Some(o) => (f.lane_y(s.lane) + f.lane_y(o)) / 2.0,
            None => f.lane_y(s.lane),
        };
        let (xa, xb) = (map.xc(s.from_us), map.xc(s.to_us));
        let c = if s.kind == SpanKind::Unserved { Color(170, 20, 20) } else { Color(90, 40, 140) };
        let w = text_width(&s.label, SMALL_SIZE);
        // Inside the span when it is wide enough: from its left, then on.
        let steps = ((xb - xa - w - 16.0) / 20.0).max(0.0) as usize;
        let inside: Vec<f64> =
            (0..=steps).map(|k| xa + 8.0 + 20.0 * k as f64).filter(|lx| *lx >= xa && lx + w <= xb).collect();
        let spot = inside.into_iter().find_map(|lx| {
            let r = text_box(lx, y + 4.0, &s.label, SMALL_SIZE, Anchor::Start);
            let r = (r.0 - 2.0, r.1 - 1.0, r.2 + 2.0, r.3 + 1.0);
            placer.free(r).then_some((lx, r))
        });
        match spot {
            Some((lx, r)) => {
                placer.take(r);
                let text = Item::Text {
                    x: lx,
                    y: y + 4.0,
                    text: s.label.clone(),
                    size: SMALL_SIZE,
                    color: c,
                    anchor: Anchor::Start,
                    bold: false,
                };
                // Over a zigzag the text needs its own ground; a shaded
                // span is light enough to read on.
                let ground = (s.kind == SpanKind::Flapping)
                    .then(|| Item::rect(r.0, r.1, r.2 - r.0, r.3 - r.1, Paint::fill(Color::WHITE).alpha(0.85)));
                labels.push(Item::group(
                    vec![("class", "span-label".into())],
                    ground.into_iter().chain([text]).collect(),
                ));
            }
            None => labels.extend(place_label(placer, (xa + xb - w) / 2.0 - 6.0, y, &s.label, c, "span-label")),
        }
    }
    items.extend(labels);
    Body { items, drawn }
}
