//! The timeline chart (SVG or PNG). Only draws what `analysis::timeline`
//! computed: the window (by default the activity with a margin), a thin
//! strip of the whole capture above it, the number of separate clusters,
//! one lane per node with its markers and introductions, the merge chain
//! numbered as in the report, wall-clock ticks, and a legend beside the
//! plot drawn with the plot's own glyphs (`chart_legend`).
//!
//! The picture is laid out once as a [`Scene`] (`chart_scene`): SVG gets
//! real `<text>` with a monospace font stack, PNG is rasterised from the
//! same scene with the embedded DejaVu Sans Mono (`chart_png`), so no
//! system font library is needed and the same input gives the same bytes.
//! Elements the browser test measures carry ids: `plot-area`, `legend`,
//! `overview-window`, `merge-N`, and `x-tick` groups with `data-ts-us`.

use crate::analysis::timeline::{ChainStep, Timeline};
use crate::output::chart_axis::{clock, seconds, ticks};
pub use crate::output::chart_error::ChartError;
use crate::output::chart_glyphs::{CHAIN_COLOR, ENCRYPTED_COLOR, SMALL_SIZE, TEXT_SIZE, note_tag};
use crate::output::chart_legend::{Drawn, LEGEND_TEXT_X, StepLine, legend};
use crate::output::chart_plot::{Frame, XMap, body};
use crate::output::chart_png;
use crate::output::chart_scene::{Anchor, Color, Item, Paint, Placer, Scene, text_width, wrap};
use crate::output::printable::printable;
use crate::time::format_utc_us;
use std::path::Path;

/// Style constants.
const WIDTH: u32 = 1600;
const MARGIN: f64 = 16.0;
const TITLE_SIZE: f64 = 19.0;
const SUBTITLE_SIZE: f64 = 13.0;
/// Notes listed under the chart at most; the report has them all.
const MAX_NOTES: usize = 24;
const TICK_SIZE: f64 = 13.0;
const LANE_HEIGHT: f64 = 34.0;
const OVERVIEW_HEIGHT: f64 = 26.0;
const COUNT_HEIGHT: f64 = 66.0;
const LEGEND_WIDTH: f64 = 340.0;
const LEGEND_MAX_WIDTH: f64 = 470.0;
const LEGEND_GAP: f64 = 28.0;
/// Lane labels longer than this (hostile addresses) are cut with `…`.
const MAX_LABEL_CHARS: usize = 44;
const GRID_COLOR: Color = Color(225, 225, 225);
const AXIS_COLOR: Color = Color(90, 90, 90);
const COUNT_COLOR: Color = Color(31, 80, 180);
const WINDOW_COLOR: Color = Color(31, 119, 180);

fn clip(s: &str) -> String {
    let s = printable(s);
    if s.chars().count() <= MAX_LABEL_CHARS {
        return s.into_owned();
    }
    s.chars().take(MAX_LABEL_CHARS - 1).chain(std::iter::once('…')).collect()
}

/// Merge-chain steps in the window, in step order, for the legend.
fn step_lines(t: &Timeline) -> Vec<StepLine> {
    let mut v: Vec<(ChainStep, StepLine)> = t
        .arrows
        .iter()
        .filter_map(|a| {
            let step = a.step?;
            let who =
                |lane: usize| t.lanes.get(lane).and_then(|l| l.node).map(|n| clip(&n.short())).unwrap_or_default();
            let text = format!("{} {} {}→{}", clock(a.ts_us, 3), a.via, who(a.from_lane), who(a.to_lane));
            Some((step, StepLine { step: step.to_string(), text }))
        })
        .collect();
    v.sort_by_key(|a| a.0);
    v.into_iter().map(|(_, s)| s).collect()
}

/// The whole-capture strip: activity bars, merges, the window drawn.
fn overview(t: &Timeline, x0: f64, x1: f64, label_x: f64, y: f64) -> Vec<Item> {
    let o = &t.overview;
    let full = XMap { x0, x1, t0: o.first_us, t1: o.last_us };
    let h = OVERVIEW_HEIGHT;
    let mut items = vec![
        Item::rect(x0, y, x1 - x0, h, Paint::outlined(Color(246, 246, 246), Color(190, 190, 190), 1.0)),
        Item::text(label_x, y + h / 2.0 + 4.5, "whole capture", SMALL_SIZE, Anchor::End),
    ];
    let max = o.activity.iter().copied().max().unwrap_or(0).max(1) as f64;
    let bw = (x1 - x0) / o.activity.len().max(1) as f64;
    for (k, &n) in o.activity.iter().enumerate().filter(|(_, n)| **n > 0) {
        let bh = ((n as f64 / max).sqrt() * (h - 4.0)).max(2.0);
        items.push(Item::rect(
            x0 + k as f64 * bw,
            y + h - 2.0 - bh,
            bw.max(1.0),
            bh,
            Paint::fill(Color(120, 120, 120)),
        ));
    }
    for &m in &o.merges_us {
        items.push(Item::line(full.x(m), y, full.x(m), y + h, Paint::stroke(CHAIN_COLOR, 2.0)));
    }
    let (wx0, wx1) = (full.x(t.t0_us), full.x(t.t1_us).max(full.x(t.t0_us) + 2.0));
    items.push(Item::group(
        vec![("id", "overview-window".into())],
        vec![Item::rect(
            wx0,
            y - 2.0,
            wx1 - wx0,
            h + 4.0,
            Paint::outlined(WINDOW_COLOR, WINDOW_COLOR, 2.0).alpha(0.25),
        )],
    ));
    let (ts, decimals) = ticks(o.first_us, o.last_us, ((x1 - x0) / 130.0) as usize);
    for tick in ts {
        let (x, label) = (full.x(tick), clock(tick, decimals));
        let half = text_width(&label, 11.5) / 2.0;
        items.push(Item::line(x, y + h, x, y + h + 4.0, Paint::stroke(AXIS_COLOR, 1.0)));
        if x - half >= x0 - 4.0 && x + half <= x1 + 4.0 {
            items.push(Item::text(x, y + h + 16.0, label, 11.5, Anchor::Middle));
        }
    }
    items
}

/// The upper panel: separate clusters over time, or, when no node could
/// be read, the bursts of new encrypted connections.
fn upper_panel(t: &Timeline, map: &XMap, top: f64) -> (Vec<Item>, Vec<&'static str>) {
    let (x0, x1) = (map.x0, map.x1);
    let mut plot = Vec::new();
    let (max, name): (usize, Vec<&'static str>) = if t.cluster_count.is_empty() {
        let max = t.bursts.iter().map(|b| b.connections as usize).max().unwrap_or(1).max(1);
        (max, vec!["new TLS", "connections"])
    } else {
        (t.cluster_count.iter().map(|c| c.1).max().unwrap_or(1).max(1), vec!["clusters"])
    };
    let cy = |c: usize| top + COUNT_HEIGHT - 8.0 - (COUNT_HEIGHT - 18.0) * c as f64 / max as f64;
    let shown: Vec<usize> = if max <= 4 { (0..=max).collect() } else { vec![0, max / 2, max] };
    for &c in &shown {
        plot.push(Item::line(x0, cy(c), x1, cy(c), Paint::stroke(GRID_COLOR, 1.0)));
        plot.push(Item::text(x0 - 6.0, cy(c) + 4.5, c.to_string(), TICK_SIZE, Anchor::End));
    }
    if t.cluster_count.is_empty() {
        for b in &t.bursts {
            let (xa, xb) = (map.xc(b.from_us), map.xc(b.to_us).max(map.xc(b.from_us) + 4.0));
            let y = cy(b.connections as usize);
            plot.push(Item::group(
                vec![("class", "burst".into()), ("data-kind", "burst".into())],
                vec![
                    Item::Title(format!("{} new encrypted connections to {} bus ports", b.connections, b.servers)),
                    Item::rect(xa, y, xb - xa, cy(0) - y, Paint::fill(ENCRYPTED_COLOR)),
                ],
            ));
        }
    } else {
        let mut count_line: Vec<(f64, f64)> = Vec::new();
        for &(ts, c) in &t.cluster_count {
            if let Some(&(_, prev)) = count_line.last() {
                count_line.push((map.x(ts), prev));
            }
            count_line.push((map.x(ts), cy(c)));
        }
        plot.push(Item::Path { pts: count_line, paint: Paint::stroke(COUNT_COLOR, 2.5) });
    }
    (plot, name)
}

/// The notes under the chart: tag, time, text (wrapped to `width`).
fn notes_list(t: &Timeline, x: f64, y: f64, width: f64) -> (Item, f64) {
    let mut items = vec![Item::Text {
        x,
        y: y + 14.0,
        text: "Incident findings (as in the report; their marks carry the same letter)".into(),
        size: TEXT_SIZE,
        color: Color::BLACK,
        anchor: Anchor::Start,
        bold: true,
    }];
    let mut row = y + 24.0;
    let text_x = x + 40.0 + text_width("00:00:00.000 ", SMALL_SIZE);
    let chars = ((x + width - text_x) / text_width("x", SMALL_SIZE)).floor() as usize;
    for n in t.notes.iter().take(MAX_NOTES) {
        let mut g = vec![
            note_tag(&n.tag, x, row, "note-list-tag"),
            Item::text(x + 40.0, row + 12.0, clock(n.ts_us, 3), SMALL_SIZE, Anchor::Start),
        ];
        let lines = wrap(&printable(&n.text), chars);
        for (k, l) in lines.iter().enumerate() {
            g.push(Item::text(text_x, row + 12.0 + k as f64 * 17.0, l.clone(), SMALL_SIZE, Anchor::Start));
        }
        items.push(Item::group(vec![("class", "note".into()), ("data-tag", n.tag.clone())], g));
        row += 17.0 * lines.len() as f64 + 5.0;
    }
    if t.notes.len() > MAX_NOTES {
        let more = format!("… {} more: see the report", t.notes.len() - MAX_NOTES);
        items.push(Item::text(x + 40.0, row + 12.0, more, SMALL_SIZE, Anchor::Start));
        row += 22.0;
    }
    (Item::group(vec![("id", "notes".into())], items), row - y)
}

/// The chart as a scene.
pub fn chart_scene(t: &Timeline) -> Scene {
    let labels: Vec<String> = t.lanes.iter().map(|l| clip(&l.label)).collect();
    let label_w = labels
        .iter()
        .map(|l| text_width(l, TEXT_SIZE))
        .chain([text_width("whole capture", SMALL_SIZE), text_width("connections 000", TEXT_SIZE)])
        .fold(0.0, f64::max);
    let x0 = (MARGIN + label_w + 14.0).round();
    let steps = step_lines(t);
    let legend_w = steps
        .iter()
        .map(|s| LEGEND_TEXT_X + text_width(&s.text, SMALL_SIZE) + 14.0)
        .fold(LEGEND_WIDTH, f64::max)
        .min(LEGEND_MAX_WIDTH)
        .ceil();
    let x1 = f64::from(WIDTH) - MARGIN - legend_w - LEGEND_GAP;
    let label_x = x0 - 10.0;
    let map = XMap { x0, x1, t0: t.t0_us, t1: t.t1_us };
    let mut items = Vec::new();

    let date = format_utc_us(t.t0_us).get(..10).unwrap_or_default().to_string();
    let title = format!(
        "meetgraph timeline — {date}, {} to {} UTC ({} of a {} capture)",
        clock(t.t0_us, 1),
        clock(t.t1_us, 1),
        seconds(t.t1_us - t.t0_us),
        seconds(t.overview.last_us - t.overview.first_us)
    );
    items.push(Item::Text {
        x: MARGIN,
        y: 30.0,
        text: title,
        size: TITLE_SIZE,
        color: Color::BLACK,
        anchor: Anchor::Start,
        bold: true,
    });
    let sub_chars = ((f64::from(WIDTH) - 2.0 * MARGIN) / text_width("x", SUBTITLE_SIZE)).floor() as usize;
    let sub = wrap(&printable(&t.window.text), sub_chars);
    let mut window_text = Vec::new();
    for (k, l) in sub.iter().enumerate() {
        window_text.push(Item::text(MARGIN, 52.0 + 17.0 * k as f64, l.clone(), SUBTITLE_SIZE, Anchor::Start));
    }
    items.push(Item::group(vec![("id", "window".into())], window_text));
    let overview_top = 52.0 + 17.0 * sub.len() as f64 + 8.0;
    items.push(Item::group(vec![("id", "overview".into())], overview(t, x0, x1, label_x, overview_top)));

    let count_top = overview_top + OVERVIEW_HEIGHT + 34.0;
    let lanes_top = count_top + COUNT_HEIGHT + 12.0;
    let n = t.lanes.len();
    let plot_bottom = lanes_top + LANE_HEIGHT * n.max(1) as f64;

    // The plot frame, then vertical grid lines at the ticks.
    let mut plot = vec![Item::rect(x0, count_top, x1 - x0, plot_bottom - count_top, Paint::stroke(AXIS_COLOR, 1.0))];
    let (tick_times, decimals) =
        ticks(t.t0_us, t.t1_us, ((x1 - x0) / (text_width("00:00:00.000", TICK_SIZE) + 28.0)) as usize);
    for &tick in &tick_times {
        let x = map.x(tick);
        plot.push(Item::line(x, count_top, x, plot_bottom, Paint::stroke(GRID_COLOR, 1.0)));
    }
    let (panel, name) = upper_panel(t, &map, count_top);
    plot.extend(panel);
    let name_x = x0 - 12.0 - text_width("000", TICK_SIZE);
    let name_y = count_top + COUNT_HEIGHT / 2.0 + 5.0 - 8.0 * (name.len() - 1) as f64;
    for (k, part) in name.iter().enumerate() {
        plot.push(Item::text(name_x, name_y + 16.0 * k as f64, *part, TEXT_SIZE, Anchor::End));
    }
    plot.push(Item::line(x0, lanes_top - 6.0, x1, lanes_top - 6.0, Paint::stroke(Color(200, 200, 200), 1.0)));
    for (i, label) in labels.iter().enumerate() {
        let y = lanes_top + LANE_HEIGHT * (i as f64 + 0.5);
        plot.push(Item::text(label_x, y + 5.0, label.clone(), TEXT_SIZE, Anchor::End));
    }

    // Merges: a dashed line through both panels, labelled at the top
    // (stacked when two labels would meet).
    let mut placer = Placer::new((x0 + 1.0, count_top + 1.0, x1 - 1.0, plot_bottom - 1.0));
    for (k, m) in t.merges.iter().enumerate() {
        let x = map.x(m.ts_us);
        let label = clip(&m.label);
        let lw = text_width(&label, SMALL_SIZE) + 8.0;
        let spots = (0..4).flat_map(|row| {
            let y = count_top + 3.0 + 20.0 * row as f64;
            [(x + 4.0, y), (x - 4.0 - lw, y)]
        });
        let (lx, ly) = spots
            .map(|(lx, ly)| (lx, ly, (lx, ly, lx + lw, ly + 18.0)))
            .find(|c| placer.free(c.2))
            .map_or((x + 4.0, count_top + 3.0), |c| (c.0, c.1));
        placer.take((lx, ly, lx + lw, ly + 18.0));
        plot.push(Item::group(
            vec![("id", format!("merge-{}", k + 1)), ("class", "merge".into()), ("data-ts-us", m.ts_us.to_string())],
            vec![
                Item::line(x, count_top, x, plot_bottom, Paint::stroke(CHAIN_COLOR, 2.0).dashed(7.0, 4.0)),
                Item::rect(lx, ly, lw, 18.0, Paint::fill(Color::WHITE).alpha(0.9)),
                Item::Text {
                    x: lx + 4.0,
                    y: ly + 13.0,
                    text: label,
                    size: SMALL_SIZE,
                    color: CHAIN_COLOR,
                    anchor: Anchor::Start,
                    bold: true,
                },
            ],
        ));
    }
    let frame = Frame {
        map: XMap { x0, x1, t0: t.t0_us, t1: t.t1_us },
        panel_top: count_top,
        lanes_top,
        lane_h: LANE_HEIGHT,
        bottom: plot_bottom,
    };
    let body = body(t, &frame, &mut placer);
    plot.extend(body.items);
    let mut drawn = body.drawn;
    if t.cluster_count.is_empty() && !t.bursts.is_empty() {
        drawn.insert("burst".to_string());
    }

    // Time axis: wall-clock ticks under the lanes.
    for &tick in &tick_times {
        let x = map.x(tick);
        plot.push(Item::group(
            vec![("class", "x-tick".into()), ("data-ts-us", tick.to_string())],
            vec![
                Item::line(x, plot_bottom, x, plot_bottom + 5.0, Paint::stroke(AXIS_COLOR, 1.0)),
                Item::text(x, plot_bottom + 20.0, clock(tick, decimals), TICK_SIZE, Anchor::Middle),
            ],
        ));
    }
    plot.push(Item::text(
        (x0 + x1) / 2.0,
        plot_bottom + 42.0,
        format!("time of day, UTC ({date})"),
        TEXT_SIZE,
        Anchor::Middle,
    ));
    items.push(Item::group(
        vec![("id", "plot".into())],
        std::iter::once(Item::group(
            vec![("id", "plot-area".into()), ("data-t0-us", t.t0_us.to_string()), ("data-t1-us", t.t1_us.to_string())],
            vec![Item::rect(x0, count_top, x1 - x0, plot_bottom - count_top, Paint::fill(Color::WHITE).alpha(0.0))],
        ))
        .chain(plot)
        .collect(),
    ));
    let mut bottom = plot_bottom + 52.0;
    if !t.notes.is_empty() {
        let (notes, h) = notes_list(t, MARGIN, plot_bottom + 58.0, x1 - MARGIN);
        items.push(notes);
        bottom = plot_bottom + 58.0 + h + 8.0;
    }

    let (legend, legend_h) = legend(t, &Drawn { kinds: drawn }, &steps, x1 + LEGEND_GAP, overview_top, legend_w);
    items.push(legend);
    let height = bottom.max(overview_top + legend_h + MARGIN).ceil() as u32;
    Scene {
        width: WIDTH,
        height,
        attrs: vec![
            ("id", "meetgraph-timeline".into()),
            ("data-t0-us", t.t0_us.to_string()),
            ("data-t1-us", t.t1_us.to_string()),
        ],
        items,
    }
}

/// Picture size for a timeline.
pub fn chart_size(t: &Timeline) -> (u32, u32) {
    let s = chart_scene(t);
    (s.width, s.height)
}

/// Renders the timeline as an SVG document.
pub fn render_svg(t: &Timeline) -> Result<String, ChartError> {
    Ok(chart_scene(t).to_svg())
}

/// The format a chart file name asks for: `Some(true)` PNG, `Some(false)`
/// SVG (`.svg`, no extension, or `-`), `None` anything else.
pub fn chart_format(path: &Path) -> Option<bool> {
    match path.extension().map(|e| e.to_ascii_lowercase()) {
        None => Some(false),
        Some(e) if e == "png" => Some(true),
        Some(e) if e == "svg" => Some(false),
        Some(_) => None,
    }
}

/// The chart file's bytes in the format `path` names: `.png` a bitmap,
/// `.svg` (or no extension, or `-` for stdout) SVG. Nothing is written:
/// where the bytes go is the caller's (the binary writes whole files).
pub fn render_chart(path: &Path, t: &Timeline) -> Result<Vec<u8>, ChartError> {
    let png = chart_format(path).ok_or_else(|| ChartError::Format(path.to_path_buf()))?;
    if png && path.as_os_str() != "-" {
        chart_png::encode_png(&chart_scene(t)).map_err(ChartError::Draw)
    } else {
        render_svg(t).map(String::into_bytes)
    }
}

/// Writes the chart to `path` (see [`render_chart`]; `-` is stdout).
pub fn write_chart(path: &Path, t: &Timeline) -> Result<(), ChartError> {
    use std::io::Write;
    let bytes = render_chart(path, t)?;
    let write_err = |source| ChartError::Write { path: path.to_path_buf(), source };
    if path.as_os_str() == "-" {
        return std::io::stdout().lock().write_all(&bytes).map_err(write_err);
    }
    std::fs::write(path, bytes).map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_are_cut() {
        assert_eq!(clip("short"), "short");
        let long = "x".repeat(100);
        assert_eq!(clip(&long).chars().count(), MAX_LABEL_CHARS);
    }
}
