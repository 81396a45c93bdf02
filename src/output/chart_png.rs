//! Rasterises a [`Scene`] into PNG bytes: shapes through plotters' bitmap
//! backend, text with the embedded DejaVu Sans Mono through ab_glyph, each
//! glyph placed at its pen position plus its own bearing (plotters' text
//! path drops the bearing, which spaced `127.0.0.1` as `1 27. 0. 0. 1`).

use crate::output::chart_scene::{Anchor, Color, Item, Paint, Scene, text_width};
use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use plotters::prelude::{BitMapBackend, DrawingBackend, RGBAColor, ShapeStyle};

/// The embedded font (DejaVu Sans Mono, `assets/`): no system font library.
pub const FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSansMono.ttf");

type Backend<'a> = BitMapBackend<'a>;

fn style(c: Color, opacity: f64, filled: bool, width: f64) -> ShapeStyle {
    ShapeStyle { color: RGBAColor(c.0, c.1, c.2, opacity), filled, stroke_width: width.round().max(1.0) as u32 }
}

fn px(v: f64) -> i32 {
    v.round() as i32
}

/// Splits a segment into dashes.
fn dashes(a: (f64, f64), b: (f64, f64), dash: f64, gap: f64) -> Vec<((f64, f64), (f64, f64))> {
    let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
    if len < 0.5 || dash <= 0.0 {
        return vec![(a, b)];
    }
    let (ux, uy) = ((b.0 - a.0) / len, (b.1 - a.1) / len);
    let mut out = Vec::new();
    let mut s = 0.0;
    while s < len {
        let e = (s + dash).min(len);
        out.push(((a.0 + ux * s, a.1 + uy * s), (a.0 + ux * e, a.1 + uy * e)));
        s = e + gap;
    }
    out
}

struct Painter<'f> {
    font: FontRef<'f>,
    /// Pixels per em → ab_glyph's scale (which is the ascent-to-descent height).
    em_to_scale: f32,
}

impl Painter<'_> {
    fn stroke_segments<DB: DrawingBackend>(db: &mut DB, pts: &[(f64, f64)], p: &Paint) -> Result<(), String> {
        let Some(c) = p.stroke else { return Ok(()) };
        let st = style(c, p.opacity, false, p.width);
        for w in pts.windows(2) {
            let segs = match p.dash {
                Some((d, g)) => dashes(w[0], w[1], d, g),
                None => vec![(w[0], w[1])],
            };
            for (a, b) in segs {
                db.draw_line((px(a.0), px(a.1)), (px(b.0), px(b.1)), &st).map_err(msg)?;
            }
        }
        Ok(())
    }

    fn item<DB: DrawingBackend>(&self, db: &mut DB, item: &Item) -> Result<(), String> {
        match item {
            Item::Rect { x, y, w, h, paint } => {
                let (a, b) = ((px(*x), px(*y)), (px(x + w), px(y + h)));
                if let Some(c) = paint.fill {
                    db.draw_rect(a, b, &style(c, paint.opacity, true, 1.0), true).map_err(msg)?;
                }
                let corners = [(*x, *y), (x + w, *y), (x + w, y + h), (*x, y + h), (*x, *y)];
                Self::stroke_segments(db, &corners, paint)?;
            }
            Item::Line { x1, y1, x2, y2, paint } => Self::stroke_segments(db, &[(*x1, *y1), (*x2, *y2)], paint)?,
            Item::Path { pts, paint } => Self::stroke_segments(db, pts, paint)?,
            Item::Polygon { pts, paint } => {
                if let Some(c) = paint.fill {
                    let v: Vec<(i32, i32)> = pts.iter().map(|p| (px(p.0), px(p.1))).collect();
                    db.fill_polygon(v, &style(c, paint.opacity, true, 1.0)).map_err(msg)?;
                }
                let mut closed = pts.clone();
                closed.extend(pts.first().copied());
                Self::stroke_segments(db, &closed, paint)?;
            }
            Item::Circle { cx, cy, r, paint } => {
                let c = (px(*cx), px(*cy));
                if let Some(f) = paint.fill {
                    db.draw_circle(c, r.round() as u32, &style(f, paint.opacity, true, 1.0), true).map_err(msg)?;
                }
                if let Some(s) = paint.stroke {
                    // A ring of 1-pixel circles as wide as the stroke.
                    let (lo, hi) = ((r - paint.width / 2.0).max(0.0), r + paint.width / 2.0);
                    let mut rr = lo;
                    while rr <= hi + 0.01 {
                        db.draw_circle(c, rr.round() as u32, &style(s, paint.opacity, false, 1.0), false)
                            .map_err(msg)?;
                        rr += 0.5;
                    }
                }
            }
            Item::Text { x, y, text, size, color, anchor, bold } => {
                let start = match anchor {
                    Anchor::Start => *x,
                    Anchor::Middle => x - text_width(text, *size) / 2.0,
                    Anchor::End => x - text_width(text, *size),
                };
                self.text(db, start, *y, text, *size, *color)?;
                if *bold {
                    self.text(db, start + 0.6, *y, text, *size, *color)?;
                }
            }
            Item::Title(_) => {}
            Item::Group { items, .. } => {
                for i in items {
                    self.item(db, i)?;
                }
            }
        }
        Ok(())
    }

    /// Draws `text` with its baseline at `y`, starting at `x`.
    fn text<DB: DrawingBackend>(
        &self,
        db: &mut DB,
        x: f64,
        y: f64,
        text: &str,
        size: f64,
        color: Color,
    ) -> Result<(), String> {
        let scale = PxScale::from(size as f32 * self.em_to_scale);
        let scaled = self.font.as_scaled(scale);
        let mut pen = x as f32;
        let mut prev: Option<GlyphId> = None;
        for ch in text.chars() {
            let id = self.font.glyph_id(ch);
            if let Some(p) = prev {
                pen += scaled.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(scale, point(pen, y as f32));
            if let Some(outline) = self.font.outline_glyph(glyph) {
                let b = outline.px_bounds();
                let mut pixels = Vec::new();
                outline.draw(|gx, gy, cov| pixels.push((gx, gy, cov)));
                for (gx, gy, cov) in pixels {
                    if cov <= 0.0 {
                        continue;
                    }
                    let at = (b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32);
                    let c = RGBAColor(color.0, color.1, color.2, f64::from(cov.min(1.0)));
                    db.draw_pixel(at, plotters::style::Color::to_backend_color(&c)).map_err(msg)?;
                }
            }
            pen += scaled.h_advance(id);
        }
        Ok(())
    }
}

fn msg<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Draws `scene` on any plotters backend.
fn paint<DB: DrawingBackend>(db: &mut DB, scene: &Scene) -> Result<(), String> {
    let font = FontRef::try_from_slice(FONT_BYTES).map_err(|e| format!("embedded font: {e}"))?;
    let em_to_scale = font.height_unscaled() / font.units_per_em().unwrap_or(2048.0);
    let painter = Painter { font, em_to_scale };
    let white = style(Color::WHITE, 1.0, true, 1.0);
    db.draw_rect((0, 0), (scene.width as i32, scene.height as i32), &white, true).map_err(msg)?;
    for i in &scene.items {
        painter.item(db, i)?;
    }
    db.present().map_err(msg)
}

/// The PNG file of `scene`, in memory (image's encoder with its defaults,
/// as plotters' bitmap backend writes a file: the same bytes).
pub fn encode_png(scene: &Scene) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    let rgb = render_rgb(scene)?;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&rgb, scene.width, scene.height, image::ColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Renders `scene` into an RGB buffer (3 bytes a pixel, row by row).
pub fn render_rgb(scene: &Scene) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; scene.width as usize * scene.height as usize * 3];
    {
        let mut db: Backend = BitMapBackend::with_buffer(&mut buf, (scene.width, scene.height));
        paint(&mut db, scene)?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advance_constant_is_the_embedded_fonts() {
        let font = FontRef::try_from_slice(FONT_BYTES).unwrap();
        let upem = font.units_per_em().unwrap();
        for ch in ['1', '.', 'W', ':', ' '] {
            let adv = font.h_advance_unscaled(font.glyph_id(ch)) / upem;
            assert!((f64::from(adv) - crate::output::chart_scene::ADVANCE_EM).abs() < 1e-6, "{ch}");
        }
    }

    /// Ink columns of a rendered string: gaps between glyph cells are even
    /// (the `1 27. 0. 0. 1` bug left wide gaps after narrow glyphs).
    #[test]
    fn digits_and_dots_are_evenly_spaced() {
        let size = 20.0;
        let text = "1.1.1.1";
        let scene = Scene {
            width: 200,
            height: 40,
            attrs: vec![],
            items: vec![Item::text(10.0, 30.0, text, size, Anchor::Start)],
        };
        let rgb = render_rgb(&scene).unwrap();
        let inked = |x: usize| (0..40).any(|y| rgb[(y * 200 + x) * 3] < 128);
        // The centre of ink of each glyph cell is at the cell's centre.
        let cell = size * crate::output::chart_scene::ADVANCE_EM;
        for k in 0..text.len() {
            let (lo, hi) = ((10.0 + k as f64 * cell) as usize, (10.0 + (k + 1) as f64 * cell) as usize);
            let xs: Vec<usize> = (lo..hi).filter(|&x| inked(x)).collect();
            assert!(!xs.is_empty(), "glyph {k} has ink");
            let centre = (xs[0] + xs[xs.len() - 1]) as f64 / 2.0;
            let want = 10.0 + (k as f64 + 0.5) * cell;
            assert!((centre - want).abs() < 2.5, "glyph {k} centred at {centre}, cell centre {want}");
        }
    }
}
