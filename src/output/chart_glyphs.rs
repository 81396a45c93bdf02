//! The chart's glyphs, one function each: markers (no two kinds share a
//! shape), arrowheads, step badges, note tags, and the paint of spans,
//! connectors and lifelines. The plot and the legend both draw with
//! these, so the legend shows exactly the glyphs the plot uses.

use crate::analysis::timeline::{JoinKind, LaneKind, MarkerKind, SpanKind, Timeline};
use crate::output::chart_scene::{Anchor, Color, Item, Paint, text_width};

/// Starting-cluster colours, then grey for "none".
pub const PALETTE: [Color; 6] = [
    Color(31, 119, 180),
    Color(255, 127, 14),
    Color(44, 160, 44),
    Color(148, 103, 189),
    Color(140, 86, 75),
    Color(23, 190, 207),
];
pub const NONE_COLOR: Color = Color(150, 150, 150);
pub const ENCRYPTED_COLOR: Color = Color(214, 160, 30);
pub const CHAIN_COLOR: Color = Color(214, 39, 40);
pub const ARROW_COLOR: Color = Color(150, 150, 150);
pub const PROMOTION_COLOR: Color = Color(200, 60, 170);
pub const CONFLICT_COLOR: Color = Color(117, 56, 178);
pub const TAG_COLOR: Color = Color(50, 50, 50);
pub const TEXT_SIZE: f64 = 14.0;
pub const SMALL_SIZE: f64 = 12.5;
pub const TAG_SIZE: f64 = 11.5;
pub const BADGE_R: f64 = 10.0;

/// Colour of a lane group.
pub fn group_color(t: &Timeline, g: usize) -> Color {
    if t.none_group == Some(g) {
        NONE_COLOR
    } else if t.lanes.iter().any(|l| l.group == g && l.kind == LaneKind::Encrypted) {
        ENCRYPTED_COLOR
    } else {
        PALETTE[g % PALETTE.len()]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Ring,
    Square,
    HollowSquare,
    TriangleUp,
    Star,
    Hexagon,
    HollowDiamond,
    Bar,
    Cross,
    RingCross,
    Diamond,
    TriangleDown,
    Plus,
    Dot,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Ring => "ring",
            Shape::Square => "square",
            Shape::HollowSquare => "hollow-square",
            Shape::TriangleUp => "triangle-up",
            Shape::Star => "star",
            Shape::Hexagon => "hexagon",
            Shape::HollowDiamond => "hollow-diamond",
            Shape::Bar => "bar",
            Shape::Cross => "cross",
            Shape::RingCross => "ring-cross",
            Shape::Diamond => "diamond",
            Shape::TriangleDown => "triangle-down",
            Shape::Plus => "plus",
            Shape::Dot => "dot",
        }
    }
}

/// Shape, colour, half-size and legend text of each marker kind: no two
/// kinds share a shape.
fn marker_style(kind: MarkerKind) -> (Shape, Color, f64, &'static str) {
    match kind {
        MarkerKind::FirstContact => (Shape::Ring, Color(110, 110, 110), 4.0, "first message seen"),
        MarkerKind::MeetSent => (Shape::Square, Color(0, 0, 0), 5.0, "MEET sent"),
        MarkerKind::MeetReceived => (Shape::HollowSquare, Color(0, 0, 0), 5.0, "MEET received"),
        MarkerKind::AnsweredByOther => (Shape::TriangleUp, CHAIN_COLOR, 7.5, "answered by a different node"),
        MarkerKind::Collision => (Shape::Star, Color(230, 85, 13), 8.0, "address answered by two nodes"),
        MarkerKind::IdConflict => (Shape::Hexagon, CONFLICT_COLOR, 7.5, "id claimed by two instances"),
        MarkerKind::AddressReuse => (Shape::HollowDiamond, CHAIN_COLOR, 7.5, "address reused by another node"),
        MarkerKind::LastHeard => (Shape::Bar, Color(0, 0, 0), 8.0, "last message (then silent)"),
        MarkerKind::Fail => (Shape::Cross, Color(0, 0, 0), 6.5, "FAIL (node declared failed)"),
        MarkerKind::FailReported => (Shape::RingCross, Color(90, 90, 90), 6.0, "sent the first FAIL"),
        MarkerKind::Failover => (Shape::Diamond, PROMOTION_COLOR, 7.5, "failover (replica promoted)"),
        MarkerKind::RoleChange => (Shape::TriangleDown, Color(140, 140, 0), 6.5, "role change"),
        MarkerKind::SlotChange => (Shape::Plus, Color(0, 140, 160), 6.0, "slot ownership change"),
        MarkerKind::NewConnections => (Shape::Dot, Color(190, 110, 0), 5.5, "new encrypted connections"),
    }
}

/// What the legend says of a marker kind.
pub fn marker_text(kind: MarkerKind) -> &'static str {
    marker_style(kind).3
}

/// Half the width and height of a marker kind's glyph.
pub fn marker_half(kind: MarkerKind) -> f64 {
    marker_style(kind).2 + 1.5
}

/// The glyph of a marker kind centred on `(x, y)`, as a group carrying
/// `class` and the kind and shape names.
pub fn marker_glyph(kind: MarkerKind, x: f64, y: f64, class: &str) -> Item {
    let (shape, c, s, _) = marker_style(kind);
    let poly = |pts: Vec<(f64, f64)>, paint| vec![Item::Polygon { pts, paint }];
    let items = match shape {
        Shape::Ring => vec![Item::Circle { cx: x, cy: y, r: s, paint: Paint::outlined(Color::WHITE, c, 2.0) }],
        Shape::Square => vec![Item::rect(x - s, y - s, 2.0 * s, 2.0 * s, Paint::fill(c))],
        Shape::HollowSquare => vec![Item::rect(x - s, y - s, 2.0 * s, 2.0 * s, Paint::outlined(Color::WHITE, c, 2.0))],
        Shape::TriangleUp => poly(vec![(x, y - s), (x + s, y + s * 0.8), (x - s, y + s * 0.8)], Paint::fill(c)),
        Shape::TriangleDown => poly(vec![(x, y + s), (x + s, y - s * 0.8), (x - s, y - s * 0.8)], Paint::fill(c)),
        Shape::Star => {
            let pts = (0..10)
                .map(|k| {
                    let r = if k % 2 == 0 { s } else { s * 0.45 };
                    let a = -std::f64::consts::FRAC_PI_2 + k as f64 * std::f64::consts::PI / 5.0;
                    (x + r * a.cos(), y + r * a.sin())
                })
                .collect();
            poly(pts, Paint::fill(c))
        }
        Shape::Hexagon => {
            let pts = (0..6)
                .map(|k| {
                    let a = k as f64 * std::f64::consts::PI / 3.0;
                    (x + s * a.cos(), y + s * a.sin())
                })
                .collect();
            poly(pts, Paint::fill(c))
        }
        Shape::Diamond => poly(vec![(x, y - s), (x + s, y), (x, y + s), (x - s, y)], Paint::fill(c)),
        Shape::HollowDiamond => {
            poly(vec![(x, y - s), (x + s, y), (x, y + s), (x - s, y)], Paint::outlined(Color::WHITE, c, 2.5))
        }
        Shape::Bar => vec![Item::rect(x - 2.0, y - s, 4.0, 2.0 * s, Paint::fill(c))],
        Shape::Cross => vec![
            Item::line(x - s, y - s, x + s, y + s, Paint::stroke(c, 3.0)),
            Item::line(x - s, y + s, x + s, y - s, Paint::stroke(c, 3.0)),
        ],
        Shape::RingCross => {
            let d = s * 0.55;
            vec![
                Item::Circle { cx: x, cy: y, r: s, paint: Paint::outlined(Color::WHITE, c, 1.5) },
                Item::line(x - d, y - d, x + d, y + d, Paint::stroke(c, 1.5)),
                Item::line(x - d, y + d, x + d, y - d, Paint::stroke(c, 1.5)),
            ]
        }
        Shape::Plus => vec![
            Item::line(x - s, y, x + s, y, Paint::stroke(c, 3.0)),
            Item::line(x, y - s, x, y + s, Paint::stroke(c, 3.0)),
        ],
        Shape::Dot => vec![Item::Circle { cx: x, cy: y, r: s, paint: Paint::fill(c) }],
    };
    Item::group(
        vec![("class", class.into()), ("data-kind", kind.as_str().into()), ("data-shape", shape.name().into())],
        items,
    )
}

/// An arrowhead whose tip is at `(x, y)`, pointing along `(dx, dy)` (a
/// unit vector).
pub fn arrowhead(x: f64, y: f64, dx: f64, dy: f64, size: f64, c: Color) -> Item {
    let (bx, by) = (x - dx * size * 1.6, y - dy * size * 1.6);
    let (nx, ny) = (-dy * size, dx * size);
    Item::Polygon { pts: vec![(x, y), (bx + nx, by + ny), (bx - nx, by - ny)], paint: Paint::fill(c) }
}

/// Radius of a step badge.
pub fn badge_r(step: &str) -> f64 {
    BADGE_R.max(text_width(step, 12.0) / 2.0 + 3.0)
}

/// A numbered merge-chain step badge centred on `(x, y)`.
pub fn step_badge(step: &str, x: f64, y: f64, class: &str) -> Item {
    let r = badge_r(step);
    Item::group(
        vec![("class", class.into()), ("data-step", step.into())],
        vec![
            Item::Circle { cx: x, cy: y, r, paint: Paint::outlined(Color::WHITE, CHAIN_COLOR, 2.0) },
            Item::Text {
                x,
                y: y + 4.3,
                text: step.into(),
                size: 12.0,
                color: CHAIN_COLOR,
                anchor: Anchor::Middle,
                bold: true,
            },
        ],
    )
}

/// Width and height of a note's tag.
pub fn tag_size(tag: &str) -> (f64, f64) {
    (text_width(tag, TAG_SIZE) + 8.0, 16.0)
}

/// A note's letter tag with its top-left corner at `(x, y)`.
pub fn note_tag(tag: &str, x: f64, y: f64, class: &str) -> Item {
    let (w, h) = tag_size(tag);
    Item::group(
        vec![("class", class.into()), ("data-kind", "note".into()), ("data-tag", tag.into())],
        vec![
            Item::rect(x, y, w, h, Paint::fill(TAG_COLOR)),
            Item::Text {
                x: x + w / 2.0,
                y: y + h - 4.0,
                text: tag.into(),
                size: TAG_SIZE,
                color: Color::WHITE,
                anchor: Anchor::Middle,
                bold: true,
            },
        ],
    )
}

/// The paint of a span kind (the unserved shading, the flapping zigzag,
/// encrypted traffic).
pub fn span_paint(kind: SpanKind) -> Paint {
    match kind {
        SpanKind::Unserved => Paint::outlined(Color(230, 60, 60), Color(200, 30, 30), 1.0).alpha(0.25),
        SpanKind::Flapping => Paint::stroke(CONFLICT_COLOR, 1.2).alpha(0.75),
        SpanKind::Encrypted => Paint::fill(ENCRYPTED_COLOR).alpha(0.8),
    }
}

/// The paint of a connector between lanes.
pub fn join_paint(kind: JoinKind) -> Paint {
    match kind {
        JoinKind::SameId => Paint::stroke(CONFLICT_COLOR, 2.5),
        JoinKind::ReusedAddress => Paint::stroke(CHAIN_COLOR, 2.5).dashed(6.0, 4.0),
        JoinKind::Promotion => Paint::stroke(PROMOTION_COLOR, 2.5),
    }
}

/// The lifeline of a lane: its node heard from first to last message.
pub fn heard_paint(c: Color) -> Paint {
    Paint::stroke(c, 2.0).alpha(0.55)
}

/// The `data-kind` of a span and of a connector.
pub fn span_kind_name(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Unserved => "unserved",
        SpanKind::Flapping => "flapping",
        SpanKind::Encrypted => "encrypted",
    }
}

pub fn join_kind_name(kind: JoinKind) -> &'static str {
    match kind {
        JoinKind::SameId => "same_id",
        JoinKind::ReusedAddress => "reused_address",
        JoinKind::Promotion => "promotion",
    }
}

/// A zigzag from `x0` to `x1` between `ya` and `yb` with `teeth` points.
pub fn zigzag(x0: f64, x1: f64, ya: f64, yb: f64, teeth: usize) -> Vec<(f64, f64)> {
    let n = teeth.max(2);
    (0..=n).map(|k| (x0 + (x1 - x0) * k as f64 / n as f64, if k % 2 == 0 { ya } else { yb })).collect()
}

/// One introduction line sample (horizontal, arrow to the right).
pub fn line_sample(x: f64, y: f64, chain: bool) -> Vec<Item> {
    let (c, w, head) = if chain { (CHAIN_COLOR, 3.0, 6.0) } else { (ARROW_COLOR, 1.5, 4.0) };
    vec![Item::line(x - 12.0, y, x + 8.0, y, Paint::stroke(c, w)), arrowhead(x + 14.0, y, 1.0, 0.0, head, c)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::timeline::MARKER_KINDS;

    #[test]
    fn every_kind_has_its_own_shape() {
        let shapes: std::collections::BTreeSet<&str> = MARKER_KINDS.iter().map(|k| marker_style(*k).0.name()).collect();
        assert_eq!(shapes.len(), MARKER_KINDS.len());
    }
}
