//! The chart's glyphs and its legend. Every marker, arrowhead and step
//! badge is drawn by one function here, and the legend calls the same
//! function: the legend shows exactly the glyphs the plot uses.

use crate::analysis::timeline::{MARKER_KINDS, MarkerKind, Timeline};
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
pub const CHAIN_COLOR: Color = Color(214, 39, 40);
pub const ARROW_COLOR: Color = Color(150, 150, 150);
pub const TEXT_SIZE: f64 = 14.0;
pub const SMALL_SIZE: f64 = 12.5;
const ROW: f64 = 23.0;
const PAD: f64 = 12.0;
const GLYPH_X: f64 = 22.0;
/// Where legend text starts, from the legend's left edge.
pub const LEGEND_TEXT_X: f64 = 44.0;
/// Steps listed in the legend at most; the report has them all.
const MAX_STEPS: usize = 14;
pub const BADGE_R: f64 = 10.0;

/// Colour of a lane group.
pub fn group_color(t: &Timeline, g: usize) -> Color {
    if t.none_group == Some(g) { NONE_COLOR } else { PALETTE[g % PALETTE.len()] }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Ring,
    Square,
    HollowSquare,
    TriangleUp,
    TriangleDown,
    Cross,
    Diamond,
    Plus,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Ring => "ring",
            Shape::Square => "square",
            Shape::HollowSquare => "hollow-square",
            Shape::TriangleUp => "triangle-up",
            Shape::TriangleDown => "triangle-down",
            Shape::Cross => "cross",
            Shape::Diamond => "diamond",
            Shape::Plus => "plus",
        }
    }
}

/// Shape, colour, half-size and legend text of each marker kind: no two
/// kinds share a shape.
fn marker_style(kind: MarkerKind) -> (Shape, Color, f64, &'static str) {
    match kind {
        MarkerKind::FirstContact => (Shape::Ring, Color(110, 110, 110), 4.0, "first contact"),
        MarkerKind::MeetSent => (Shape::Square, Color(0, 0, 0), 5.0, "MEET sent"),
        MarkerKind::MeetReceived => (Shape::HollowSquare, Color(0, 0, 0), 5.0, "MEET received"),
        MarkerKind::AnsweredByOther => (Shape::TriangleUp, CHAIN_COLOR, 7.5, "answered by a different node"),
        MarkerKind::Fail => (Shape::Cross, Color(0, 0, 0), 6.5, "FAIL (node declared failed)"),
        MarkerKind::Failover => (Shape::Diamond, Color(200, 60, 170), 7.5, "failover (replica promoted)"),
        MarkerKind::RoleChange => (Shape::TriangleDown, Color(140, 140, 0), 6.5, "role change"),
        MarkerKind::SlotChange => (Shape::Plus, Color(0, 140, 160), 6.0, "slot ownership change"),
    }
}

/// The glyph of a marker kind centred on `(x, y)`, as a group carrying
/// `class` and the kind and shape names.
pub fn marker_glyph(kind: MarkerKind, x: f64, y: f64, class: &str) -> Item {
    let (shape, c, s, _) = marker_style(kind);
    let items = match shape {
        Shape::Ring => vec![Item::Circle { cx: x, cy: y, r: s, paint: Paint::outlined(Color::WHITE, c, 2.0) }],
        Shape::Square => vec![Item::rect(x - s, y - s, 2.0 * s, 2.0 * s, Paint::fill(c))],
        Shape::HollowSquare => vec![Item::rect(x - s, y - s, 2.0 * s, 2.0 * s, Paint::outlined(Color::WHITE, c, 2.0))],
        Shape::TriangleUp => {
            vec![Item::Polygon {
                pts: vec![(x, y - s), (x + s, y + s * 0.8), (x - s, y + s * 0.8)],
                paint: Paint::fill(c),
            }]
        }
        Shape::TriangleDown => {
            vec![Item::Polygon {
                pts: vec![(x, y + s), (x + s, y - s * 0.8), (x - s, y - s * 0.8)],
                paint: Paint::fill(c),
            }]
        }
        Shape::Cross => vec![
            Item::line(x - s, y - s, x + s, y + s, Paint::stroke(c, 3.0)),
            Item::line(x - s, y + s, x + s, y - s, Paint::stroke(c, 3.0)),
        ],
        Shape::Diamond => {
            vec![Item::Polygon { pts: vec![(x, y - s), (x + s, y), (x, y + s), (x - s, y)], paint: Paint::fill(c) }]
        }
        Shape::Plus => vec![
            Item::line(x - s, y, x + s, y, Paint::stroke(c, 3.0)),
            Item::line(x, y - s, x, y + s, Paint::stroke(c, 3.0)),
        ],
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

/// A numbered merge-chain step badge centred on `(x, y)`.
pub fn step_badge(step: &str, x: f64, y: f64, class: &str) -> Item {
    let r = BADGE_R.max(text_width(step, 12.0) / 2.0 + 3.0);
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

/// One introduction line sample (horizontal, arrow to the right).
fn line_sample(x: f64, y: f64, chain: bool) -> Vec<Item> {
    let (c, w, head) = if chain { (CHAIN_COLOR, 3.0, 6.0) } else { (ARROW_COLOR, 1.5, 4.0) };
    vec![Item::line(x - 12.0, y, x + 8.0, y, Paint::stroke(c, w)), arrowhead(x + 14.0, y, 1.0, 0.0, head, c)]
}

/// A merge-chain step as listed in the legend: time, mechanism, from → to.
pub struct StepLine {
    pub step: String,
    pub text: String,
}

/// The legend, laid out from `(x, y)` within `width`: marker kinds
/// present, lines, starting clusters, then the merge chain's steps.
/// Returns the group and its height.
pub fn legend(t: &Timeline, steps: &[StepLine], x: f64, y: f64, width: f64) -> (Item, f64) {
    let mut items = Vec::new();
    let mut row = y + PAD + 14.0;
    let title = |items: &mut Vec<Item>, row: &mut f64, text: &str| {
        items.push(Item::Text {
            x: x + PAD,
            y: *row,
            text: text.into(),
            size: TEXT_SIZE,
            color: Color::BLACK,
            anchor: Anchor::Start,
            bold: true,
        });
        *row += ROW;
    };
    let entry = |items: &mut Vec<Item>, row: &mut f64, kind: &str, glyph: Vec<Item>, text: &str| {
        let mut g = glyph;
        g.push(Item::text(x + LEGEND_TEXT_X, *row + 5.0, text, SMALL_SIZE, Anchor::Start));
        items.push(Item::group(vec![("class", "legend-entry".into()), ("data-kind", kind.into())], g));
        *row += ROW;
    };
    title(&mut items, &mut row, "Legend");
    for kind in MARKER_KINDS {
        if t.markers.iter().any(|m| m.kind == kind) {
            let glyph = marker_glyph(kind, x + GLYPH_X, row, "legend-glyph");
            entry(&mut items, &mut row, kind.as_str(), vec![glyph], marker_style(kind).3);
        }
    }
    if t.arrows.iter().any(|a| !a.in_chain) {
        let glyph = line_sample(x + GLYPH_X, row, false);
        entry(&mut items, &mut row, "introduction", glyph, "introduction: introducer → learner");
    }
    if t.arrows.iter().any(|a| a.in_chain) {
        let glyph = line_sample(x + GLYPH_X, row, true);
        entry(&mut items, &mut row, "chain", glyph, "introduction in the merge chain");
    }
    if !t.merges.is_empty() {
        let glyph = vec![Item::line(
            x + GLYPH_X,
            row - 9.0,
            x + GLYPH_X,
            row + 9.0,
            Paint::stroke(CHAIN_COLOR, 2.0).dashed(5.0, 3.0),
        )];
        entry(&mut items, &mut row, "merge", glyph, "merge: two clusters became one");
    }
    for (g, name) in t.groups.iter().enumerate() {
        let swatch =
            vec![Item::rect(x + GLYPH_X - 9.0, row - 7.0, 18.0, 14.0, Paint::fill(group_color(t, g)).alpha(0.45))];
        let text = if t.none_group == Some(g) {
            "in no cluster at the start".to_string()
        } else {
            format!("started in cluster {name}")
        };
        entry(&mut items, &mut row, "cluster", swatch, &text);
    }
    if items.len() == 1 {
        let note = "no bus message decoded: see the report's limits";
        items.push(Item::text(x + PAD, row + 5.0, note, SMALL_SIZE, Anchor::Start));
        row += ROW;
    }
    if !steps.is_empty() {
        row += 6.0;
        title(&mut items, &mut row, "Merge chain (as in the report)");
        for s in steps.iter().take(MAX_STEPS) {
            let badge = step_badge(&s.step, x + GLYPH_X, row, "legend-step");
            entry(&mut items, &mut row, "step", vec![badge], &s.text);
        }
        if steps.len() > MAX_STEPS {
            let more = format!("… {} more steps: see the report", steps.len() - MAX_STEPS);
            items.push(Item::text(x + LEGEND_TEXT_X, row + 5.0, more, SMALL_SIZE, Anchor::Start));
            row += ROW;
        }
    }
    let height = row - y - ROW + PAD + 10.0;
    let mut all = vec![Item::rect(x, y, width, height, Paint::outlined(Color::WHITE, Color(170, 170, 170), 1.0))];
    all.extend(items);
    (Item::group(vec![("id", "legend".into())], all), height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_shape() {
        let shapes: std::collections::BTreeSet<&str> = MARKER_KINDS.iter().map(|k| marker_style(*k).0.name()).collect();
        assert_eq!(shapes.len(), MARKER_KINDS.len());
    }
}
