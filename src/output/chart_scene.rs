//! A tiny retained drawing: rectangles, lines, polygons, circles and text
//! in pixel coordinates, grouped with `id`/`class`/`data-*` attributes.
//! The chart and the HTML introduction graph lay themselves out once as a
//! [`Scene`]; [`Scene::to_svg`] writes it as SVG (real `<text>`, laid out
//! by the viewer's monospace font) and `chart_png` rasterises the same
//! scene, so both formats show the same geometry.

use crate::output::printable::xml_escape;
use std::fmt::Write as _;

/// Advance width of every glyph of the embedded DejaVu Sans Mono, in em
/// (1233 / 2048 font units); other monospace fonts are within a few
/// percent, so text measured here fits in a browser too.
pub const ADVANCE_EM: f64 = 1233.0 / 2048.0;
/// SVG font stack: the embedded font first, then common monospace fonts.
pub const FONT_FAMILY: &str = "'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace";

/// Width in pixels of `text` at `size` px.
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * ADVANCE_EM
}

/// A box: left, top, right, bottom.
pub type Rect = (f64, f64, f64, f64);

/// The two boxes share some area.
pub fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// The box of a line of text at `size` whose baseline is at `y`.
pub fn text_box(x: f64, y: f64, text: &str, size: f64, anchor: Anchor) -> Rect {
    let w = text_width(text, size);
    let left = match anchor {
        Anchor::Start => x,
        Anchor::Middle => x - w / 2.0,
        Anchor::End => x - w,
    };
    (left, y - size * 0.95, left + w, y + size * 0.3)
}

/// Places boxes where they cover no box placed before, within an area.
#[derive(Clone, Debug, Default)]
pub struct Placer {
    taken: Vec<Rect>,
    /// Boxes must lie inside this (`None`: anywhere).
    pub area: Option<Rect>,
}

impl Placer {
    pub fn new(area: Rect) -> Placer {
        Placer { taken: Vec::new(), area: Some(area) }
    }

    /// `r` is inside the area and covers nothing placed.
    pub fn free(&self, r: Rect) -> bool {
        let inside = self.area.is_none_or(|a| r.0 >= a.0 && r.1 >= a.1 && r.2 <= a.2 && r.3 <= a.3);
        inside && !self.taken.iter().any(|t| overlaps(*t, r))
    }

    /// Marks `r` as used.
    pub fn take(&mut self, r: Rect) {
        self.taken.push(r);
    }

    /// The first free box of `candidates`, marked as used.
    pub fn place(&mut self, candidates: impl IntoIterator<Item = Rect>) -> Option<Rect> {
        let r = candidates.into_iter().find(|r| self.free(*r))?;
        self.take(r);
        Some(r)
    }
}

/// `text` cut at spaces into lines of at most `max` characters (a longer
/// word is cut where it must).
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(8);
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        loop {
            let len = line.chars().count();
            let wl = word.chars().count();
            if len > 0 && len + 1 + wl <= max {
                line.push(' ');
                line.push_str(&word);
                break;
            }
            if len == 0 && wl <= max {
                line = word;
                break;
            }
            if len > 0 {
                out.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than a line.
            let head: String = word.chars().take(max).collect();
            word = word.chars().skip(max).collect();
            out.push(head);
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// An opaque colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Color(pub u8, pub u8, pub u8);

impl Color {
    pub const WHITE: Color = Color(255, 255, 255);
    pub const BLACK: Color = Color(0, 0, 0);

    fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// How a shape is filled and stroked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paint {
    pub fill: Option<Color>,
    pub stroke: Option<Color>,
    pub width: f64,
    pub opacity: f64,
    /// Dash and gap lengths of the stroke.
    pub dash: Option<(f64, f64)>,
}

impl Paint {
    pub fn fill(c: Color) -> Paint {
        Paint { fill: Some(c), stroke: None, width: 0.0, opacity: 1.0, dash: None }
    }
    pub fn stroke(c: Color, width: f64) -> Paint {
        Paint { fill: None, stroke: Some(c), width, opacity: 1.0, dash: None }
    }
    pub fn outlined(fill: Color, stroke: Color, width: f64) -> Paint {
        Paint { fill: Some(fill), stroke: Some(stroke), width, opacity: 1.0, dash: None }
    }
    pub fn alpha(self, opacity: f64) -> Paint {
        Paint { opacity, ..self }
    }
    pub fn dashed(self, dash: f64, gap: f64) -> Paint {
        Paint { dash: Some((dash, gap)), ..self }
    }
}

/// Horizontal alignment of text at its `x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// One drawing element. Text `y` is the baseline.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        paint: Paint,
    },
    Line {
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
        paint: Paint,
    },
    /// Open polyline.
    Path {
        pts: Vec<(f64, f64)>,
        paint: Paint,
    },
    Polygon {
        pts: Vec<(f64, f64)>,
        paint: Paint,
    },
    Circle {
        cx: f64,
        cy: f64,
        r: f64,
        paint: Paint,
    },
    Text {
        x: f64,
        y: f64,
        text: String,
        size: f64,
        color: Color,
        anchor: Anchor,
        bold: bool,
    },
    /// A tooltip for the enclosing group (SVG `<title>`; not drawn).
    Title(String),
    /// Attributes are written escaped; names must be plain (`id`, `class`,
    /// `data-…`).
    Group {
        attrs: Vec<(&'static str, String)>,
        items: Vec<Item>,
    },
}

impl Item {
    pub fn text(x: f64, y: f64, text: impl Into<String>, size: f64, anchor: Anchor) -> Item {
        Item::Text { x, y, text: text.into(), size, color: Color::BLACK, anchor, bold: false }
    }
    pub fn line(x1: f64, y1: f64, x2: f64, y2: f64, paint: Paint) -> Item {
        Item::Line { x1, y1, x2, y2, paint }
    }
    pub fn rect(x: f64, y: f64, w: f64, h: f64, paint: Paint) -> Item {
        Item::Rect { x, y, w, h, paint }
    }
    pub fn group(attrs: Vec<(&'static str, String)>, items: Vec<Item>) -> Item {
        Item::Group { attrs, items }
    }
}

/// A picture of `width` × `height` pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    pub width: u32,
    pub height: u32,
    /// Attributes of the root element (`id`, `data-…`).
    pub attrs: Vec<(&'static str, String)>,
    pub items: Vec<Item>,
}

fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() { format!("{}", r as i64) } else { format!("{r:.1}") }
}

fn paint_attrs(p: &Paint) -> String {
    let mut s = String::new();
    match p.fill {
        Some(c) => {
            let _ = write!(s, " fill=\"{}\"", c.hex());
        }
        None => s.push_str(" fill=\"none\""),
    }
    if let Some(c) = p.stroke {
        let _ = write!(s, " stroke=\"{}\" stroke-width=\"{}\"", c.hex(), num(p.width));
    }
    if let Some((d, g)) = p.dash {
        let _ = write!(s, " stroke-dasharray=\"{} {}\"", num(d), num(g));
    }
    if p.opacity < 1.0 {
        let _ = write!(s, " opacity=\"{:.2}\"", p.opacity);
    }
    s
}

fn attrs(a: &[(&'static str, String)]) -> String {
    a.iter().map(|(k, v)| format!(" {k}=\"{}\"", xml_escape(v))).collect()
}

fn points(pts: &[(f64, f64)]) -> String {
    pts.iter().map(|(x, y)| format!("{},{}", num(*x), num(*y))).collect::<Vec<_>>().join(" ")
}

fn write_item(out: &mut String, item: &Item) {
    let _ = match item {
        Item::Rect { x, y, w, h, paint } => writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"{}/>",
            num(*x),
            num(*y),
            num(*w),
            num(*h),
            paint_attrs(paint)
        ),
        Item::Line { x1, y1, x2, y2, paint } => writeln!(
            out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"{}/>",
            num(*x1),
            num(*y1),
            num(*x2),
            num(*y2),
            paint_attrs(paint)
        ),
        Item::Path { pts, paint } => writeln!(out, "<polyline points=\"{}\"{}/>", points(pts), paint_attrs(paint)),
        Item::Polygon { pts, paint } => writeln!(out, "<polygon points=\"{}\"{}/>", points(pts), paint_attrs(paint)),
        Item::Circle { cx, cy, r, paint } => {
            writeln!(out, "<circle cx=\"{}\" cy=\"{}\" r=\"{}\"{}/>", num(*cx), num(*cy), num(*r), paint_attrs(paint))
        }
        Item::Text { x, y, text, size, color, anchor, bold } => {
            let anchor = match anchor {
                Anchor::Start => "",
                Anchor::Middle => " text-anchor=\"middle\"",
                Anchor::End => " text-anchor=\"end\"",
            };
            let weight = if *bold { " font-weight=\"bold\"" } else { "" };
            let fill = if *color == Color::BLACK { String::new() } else { format!(" fill=\"{}\"", color.hex()) };
            writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" font-size=\"{}\"{anchor}{weight}{fill}>{}</text>",
                num(*x),
                num(*y),
                num(*size),
                xml_escape(text)
            )
        }
        Item::Title(text) => writeln!(out, "<title>{}</title>", xml_escape(text)),
        Item::Group { attrs: a, items } => {
            let _ = writeln!(out, "<g{}>", attrs(a));
            for i in items {
                write_item(out, i);
            }
            writeln!(out, "</g>")
        }
    };
}

impl Scene {
    /// The scene as a standalone SVG document (also fit to inline in
    /// HTML): scales with its container through its `viewBox`.
    pub fn to_svg(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"{}\"{}>",
            FONT_FAMILY,
            attrs(&self.attrs),
            w = self.width,
            h = self.height
        );
        let _ = writeln!(
            out,
            "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>",
            self.width, self.height
        );
        for i in &self.items {
            write_item(&mut out, i);
        }
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_escapes_text_and_attributes() {
        let s = Scene {
            width: 10,
            height: 10,
            attrs: vec![("id", "a\"<b>".into())],
            items: vec![Item::group(
                vec![("data-x", "&'".into())],
                vec![Item::text(1.0, 2.0, "<script>&\u{1b}", 12.0, Anchor::Start)],
            )],
        };
        let svg = s.to_svg();
        assert!(svg.contains("id=\"a&quot;&lt;b&gt;\""));
        assert!(svg.contains("data-x=\"&amp;&#39;\""));
        assert!(svg.contains(">&lt;script&gt;&amp;\u{fffd}</text>"));
    }

    #[test]
    fn text_wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("a bb ccc dddd", 8), vec!["a bb ccc", "dddd"]);
        assert_eq!(wrap("x", 8), vec!["x"]);
        assert_eq!(wrap("0123456789abcdefgh yz", 8), vec!["01234567", "89abcdef", "gh yz"]);
        assert!(wrap("", 8) == vec![String::new()]);
    }

    #[test]
    fn the_placer_takes_the_first_free_box_inside_its_area() {
        let mut p = Placer::new((0.0, 0.0, 100.0, 100.0));
        assert_eq!(p.place([(10.0, 10.0, 20.0, 20.0)]), Some((10.0, 10.0, 20.0, 20.0)));
        let next = p.place([(15.0, 15.0, 25.0, 25.0), (95.0, 0.0, 105.0, 10.0), (30.0, 0.0, 40.0, 10.0)]);
        assert_eq!(next, Some((30.0, 0.0, 40.0, 10.0)), "not on the first, not outside");
        assert!(!p.free((12.0, 12.0, 14.0, 14.0)));
    }

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(3.04), "3");
        assert_eq!(num(3.25), "3.3");
        assert_eq!(num(-0.5), "-0.5");
    }
}
