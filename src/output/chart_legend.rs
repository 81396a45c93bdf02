//! The chart's legend: what the plot shows (each legend entry and each
//! drawn element carries the same `data-kind`, and only kinds drawn are
//! listed), drawn with the plot's own glyphs (`chart_glyphs`), the lane
//! colours, then the merge chain's steps. Long text wraps.

use crate::analysis::timeline::{JoinKind, LaneKind, MARKER_KINDS, SpanKind, Timeline};
use crate::output::chart_glyphs::{
    CHAIN_COLOR, ENCRYPTED_COLOR, SMALL_SIZE, TEXT_SIZE, arrowhead, group_color, heard_paint, join_kind_name,
    join_paint, line_sample, marker_glyph, marker_text, note_tag, span_kind_name, span_paint, step_badge, zigzag,
};
use crate::output::chart_scene::{Anchor, Color, Item, Paint, text_width, wrap};

const ROW: f64 = 23.0;
/// A wrapped legend line below the first.
const WRAP_ROW: f64 = 16.0;
const PAD: f64 = 12.0;
const GLYPH_X: f64 = 22.0;
/// Where legend text starts, from the legend's left edge.
pub const LEGEND_TEXT_X: f64 = 44.0;
/// Steps listed in the legend at most; the report has them all.
const MAX_STEPS: usize = 14;

/// A merge-chain step as listed in the legend: time, mechanism, from → to.
pub struct StepLine {
    pub step: String,
    pub text: String,
}

/// The kinds of everything drawn (markers, lines, spans, connectors,
/// tags), for the legend.
pub struct Drawn {
    pub kinds: std::collections::BTreeSet<String>,
}

/// Characters of legend text that fit in `width`.
pub fn legend_chars(width: f64) -> usize {
    ((width - LEGEND_TEXT_X - PAD) / text_width("x", SMALL_SIZE)).floor() as usize
}

/// The legend, laid out from `(x, y)` within `width`: what the plot
/// shows (marker kinds, lines, spans, connectors, tags), the lane colours,
/// then the merge chain's steps. Long text wraps. Returns the group and
/// its height.
pub fn legend(t: &Timeline, drawn: &Drawn, steps: &[StepLine], x: f64, y: f64, width: f64) -> (Item, f64) {
    let chars = legend_chars(width);
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
        let lines = wrap(text, chars);
        for (k, l) in lines.iter().enumerate() {
            g.push(Item::text(
                x + LEGEND_TEXT_X,
                *row + 5.0 + k as f64 * WRAP_ROW,
                l.clone(),
                SMALL_SIZE,
                Anchor::Start,
            ));
        }
        items.push(Item::group(vec![("class", "legend-entry".into()), ("data-kind", kind.into())], g));
        *row += ROW + (lines.len() - 1) as f64 * WRAP_ROW;
    };
    let has = |k: &str| drawn.kinds.contains(k);
    title(&mut items, &mut row, "Legend");
    for kind in MARKER_KINDS {
        if has(kind.as_str()) {
            let glyph = marker_glyph(kind, x + GLYPH_X, row, "legend-glyph");
            entry(&mut items, &mut row, kind.as_str(), vec![glyph], marker_text(kind));
        }
    }
    if has("note") {
        let tag = note_tag("A", x + GLYPH_X - 7.0, row - 8.0, "legend-tag");
        entry(&mut items, &mut row, "note", vec![tag], "finding, as listed under the chart");
    }
    if has("heard") {
        let c = Color(90, 90, 90);
        let g = vec![Item::line(x + GLYPH_X - 12.0, row, x + GLYPH_X + 12.0, row, heard_paint(c))];
        entry(&mut items, &mut row, "heard", g, "heard from: first to last message");
    }
    if has("introduction") {
        let glyph = line_sample(x + GLYPH_X, row, false);
        entry(&mut items, &mut row, "introduction", glyph, "introduction: introducer → learner");
    }
    if has("chain") {
        let glyph = line_sample(x + GLYPH_X, row, true);
        entry(&mut items, &mut row, "chain", glyph, "introduction in the merge chain");
    }
    if has("merge") {
        let glyph = vec![Item::line(
            x + GLYPH_X,
            row - 9.0,
            x + GLYPH_X,
            row + 9.0,
            Paint::stroke(CHAIN_COLOR, 2.0).dashed(5.0, 3.0),
        )];
        entry(&mut items, &mut row, "merge", glyph, "merge: two clusters became one");
    }
    for (kind, text) in [
        (SpanKind::Unserved, "a failed master's slots, unserved until a replica took them"),
        (SpanKind::Flapping, "peers' view of the id's address flipping between its instances"),
        (SpanKind::Encrypted, "encrypted (TLS) connections to the bus port, first to last opened"),
    ] {
        if has(span_kind_name(kind)) {
            let p = span_paint(kind);
            let g = match kind {
                SpanKind::Flapping => vec![Item::Path {
                    pts: zigzag(x + GLYPH_X - 12.0, x + GLYPH_X + 12.0, row - 7.0, row + 7.0, 8),
                    paint: p,
                }],
                SpanKind::Encrypted => vec![Item::rect(x + GLYPH_X - 12.0, row - 3.0, 24.0, 6.0, p)],
                SpanKind::Unserved => vec![Item::rect(x + GLYPH_X - 12.0, row - 8.0, 24.0, 16.0, p)],
            };
            entry(&mut items, &mut row, span_kind_name(kind), g, text);
        }
    }
    for (kind, text) in [
        (JoinKind::SameId, "the same id: two instances"),
        (JoinKind::ReusedAddress, "an address passing to another node"),
        (JoinKind::Promotion, "replica promoted in the failed master's place"),
    ] {
        if has(join_kind_name(kind)) {
            let p = join_paint(kind);
            let c = p.stroke.unwrap_or(Color::BLACK);
            let g = match kind {
                JoinKind::SameId => vec![
                    Item::line(x + GLYPH_X - 2.0, row - 9.0, x + GLYPH_X - 2.0, row + 9.0, p),
                    Item::line(x + GLYPH_X + 2.0, row - 9.0, x + GLYPH_X + 2.0, row + 9.0, p),
                ],
                _ => vec![
                    Item::line(x + GLYPH_X - 12.0, row, x + GLYPH_X + 6.0, row, p),
                    arrowhead(x + GLYPH_X + 14.0, row, 1.0, 0.0, 5.0, c),
                ],
            };
            entry(&mut items, &mut row, join_kind_name(kind), g, text);
        }
    }
    if has("burst") {
        let g = vec![Item::rect(x + GLYPH_X - 5.0, row - 8.0, 10.0, 16.0, Paint::fill(ENCRYPTED_COLOR))];
        entry(&mut items, &mut row, "burst", g, "new encrypted bus connections (upper panel)");
    }
    for (g, name) in t.groups.iter().enumerate() {
        if !t.lanes.iter().any(|l| l.group == g) {
            continue;
        }
        let swatch =
            vec![Item::rect(x + GLYPH_X - 9.0, row - 7.0, 18.0, 14.0, Paint::fill(group_color(t, g)).alpha(0.45))];
        let encrypted = t.lanes.iter().any(|l| l.group == g && l.kind == LaneKind::Encrypted);
        let text = if encrypted {
            "bus port whose traffic is encrypted (no node id readable)".to_string()
        } else if t.none_group == Some(g) {
            "in no cluster at the start".to_string()
        } else {
            format!("started in cluster {name}")
        };
        entry(&mut items, &mut row, "cluster", swatch, &text);
    }
    if items.len() == 1 {
        for l in wrap("no bus message decoded: see the report's limits", chars + 2) {
            items.push(Item::text(x + PAD, row + 5.0, l, SMALL_SIZE, Anchor::Start));
            row += WRAP_ROW;
        }
        row += ROW - WRAP_ROW;
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
            entry(&mut items, &mut row, "more", Vec::new(), &more);
        }
    }
    let height = row - y - ROW + PAD + 10.0;
    let mut all = vec![Item::rect(x, y, width, height, Paint::outlined(Color::WHITE, Color(170, 170, 170), 1.0))];
    all.extend(items);
    (Item::group(vec![("id", "legend".into())], all), height)
}
