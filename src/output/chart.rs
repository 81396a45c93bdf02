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
use crate::output::chart_legend::{
    ARROW_COLOR, BADGE_R, CHAIN_COLOR, LEGEND_TEXT_X, SMALL_SIZE, StepLine, TEXT_SIZE, arrowhead, group_color, legend,
    marker_glyph, step_badge,
};
use crate::output::chart_png;
use crate::output::chart_scene::{Anchor, Color, Item, Paint, Scene, text_width};
use crate::output::printable::printable;
use crate::time::format_utc_us;
use std::path::Path;

/// Style constants.
const WIDTH: u32 = 1600;
const MARGIN: f64 = 16.0;
const TITLE_SIZE: f64 = 19.0;
const TICK_SIZE: f64 = 13.0;
const LANE_HEIGHT: f64 = 34.0;
const OVERVIEW_TOP: f64 = 52.0;
const OVERVIEW_HEIGHT: f64 = 26.0;
const COUNT_HEIGHT: f64 = 66.0;
const LEGEND_WIDTH: f64 = 340.0;
const LEGEND_MAX_WIDTH: f64 = 470.0;
const LEGEND_GAP: f64 = 28.0;
/// Markers closer than this on a lane are moved apart vertically, by
/// these offsets in turn.
const DODGE_PX: f64 = 9.0;
const DODGE_Y: [f64; 4] = [0.0, -9.0, 9.0, -4.5];
/// Lane labels longer than this (hostile addresses) are cut with `…`.
const MAX_LABEL_CHARS: usize = 44;
const GRID_COLOR: Color = Color(225, 225, 225);
const AXIS_COLOR: Color = Color(90, 90, 90);
const COUNT_COLOR: Color = Color(31, 80, 180);
const WINDOW_COLOR: Color = Color(31, 119, 180);

/// Why a chart could not be made.
#[derive(Debug)]
pub enum ChartError {
    /// The chart file cannot be written.
    Write { path: std::path::PathBuf, source: std::io::Error },
    /// Drawing failed (the backend's error, as text).
    Draw(String),
    /// The file name asks for a format the chart is not drawn in.
    Format(std::path::PathBuf),
}

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChartError::Write { path, source } => write!(f, "cannot write {}: {source}", path.display()),
            ChartError::Draw(what) => write!(f, "cannot draw the chart: {what}"),
            ChartError::Format(path) => {
                write!(f, "--chart {}: unsupported format; use .svg or .png (or - for SVG on stdout)", path.display())
            }
        }
    }
}

impl std::error::Error for ChartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ChartError::Write { source, .. } => Some(source),
            ChartError::Draw(_) | ChartError::Format(_) => None,
        }
    }
}

fn clip(s: &str) -> String {
    let s = printable(s);
    if s.chars().count() <= MAX_LABEL_CHARS {
        return s.into_owned();
    }
    s.chars().take(MAX_LABEL_CHARS - 1).chain(std::iter::once('…')).collect()
}

/// Horizontal geometry: where the window and the capture map to pixels.
struct XMap {
    x0: f64,
    x1: f64,
    t0: i64,
    t1: i64,
}

impl XMap {
    fn x(&self, ts: i64) -> f64 {
        let span = (self.t1 - self.t0).max(1) as f64;
        self.x0 + (ts - self.t0) as f64 / span * (self.x1 - self.x0)
    }
}

/// Merge-chain steps in the window, in step order, for the legend.
fn step_lines(t: &Timeline) -> Vec<StepLine> {
    let mut v: Vec<(ChainStep, StepLine)> = t
        .arrows
        .iter()
        .filter_map(|a| {
            let step = a.step?;
            let who = |lane: usize| t.lanes.get(lane).map(|l| clip(&l.node.short())).unwrap_or_default();
            let text = format!("{} {} {}→{}", clock(a.ts_us, 3), a.via, who(a.from_lane), who(a.to_lane));
            Some((step, StepLine { step: step.to_string(), text }))
        })
        .collect();
    v.sort_by_key(|a| a.0);
    v.into_iter().map(|(_, s)| s).collect()
}

/// The whole-capture strip: activity bars, merges, the window drawn.
fn overview(t: &Timeline, x0: f64, x1: f64, label_x: f64) -> Vec<Item> {
    let o = &t.overview;
    let full = XMap { x0, x1, t0: o.first_us, t1: o.last_us };
    let (y, h) = (OVERVIEW_TOP, OVERVIEW_HEIGHT);
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

/// The chart as a scene.
pub fn chart_scene(t: &Timeline) -> Scene {
    let labels: Vec<String> = t.lanes.iter().map(|l| clip(&l.label)).collect();
    let label_w = labels
        .iter()
        .map(|l| text_width(l, TEXT_SIZE))
        .chain([text_width("whole capture", SMALL_SIZE), text_width("clusters 00", TEXT_SIZE)])
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
    let count_top = OVERVIEW_TOP + OVERVIEW_HEIGHT + 34.0;
    let lanes_top = count_top + COUNT_HEIGHT + 12.0;
    let n = t.lanes.len();
    let plot_bottom = lanes_top + LANE_HEIGHT * n.max(1) as f64;
    let lane_y = |i: usize| lanes_top + LANE_HEIGHT * (i as f64 + 0.5);
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
    items.push(Item::group(vec![("id", "overview".into())], overview(t, x0, x1, label_x)));

    // The plot frame, then vertical grid lines at the ticks.
    let mut plot = vec![Item::rect(x0, count_top, x1 - x0, plot_bottom - count_top, Paint::stroke(AXIS_COLOR, 1.0))];
    let (tick_times, decimals) =
        ticks(t.t0_us, t.t1_us, ((x1 - x0) / (text_width("00:00:00.000", TICK_SIZE) + 28.0)) as usize);
    for &tick in &tick_times {
        let x = map.x(tick);
        plot.push(Item::line(x, count_top, x, plot_bottom, Paint::stroke(GRID_COLOR, 1.0)));
    }

    // Upper panel: separate clusters over time.
    let max_count = t.cluster_count.iter().map(|c| c.1).max().unwrap_or(1).max(1);
    let cy = |c: usize| count_top + COUNT_HEIGHT - 8.0 - (COUNT_HEIGHT - 18.0) * c as f64 / max_count as f64;
    for c in 0..=max_count {
        plot.push(Item::line(x0, cy(c), x1, cy(c), Paint::stroke(GRID_COLOR, 1.0)));
        plot.push(Item::text(x0 - 6.0, cy(c) + 4.5, c.to_string(), TICK_SIZE, Anchor::End));
    }
    let label_x_count = x0 - 12.0 - text_width(&max_count.to_string(), TICK_SIZE);
    plot.push(Item::text(label_x_count, count_top + COUNT_HEIGHT / 2.0 + 5.0, "clusters", TEXT_SIZE, Anchor::End));
    let mut count_line: Vec<(f64, f64)> = Vec::new();
    for &(ts, c) in &t.cluster_count {
        if let Some(&(_, prev)) = count_line.last() {
            count_line.push((map.x(ts), prev));
        }
        count_line.push((map.x(ts), cy(c)));
    }
    plot.push(Item::Path { pts: count_line, paint: Paint::stroke(COUNT_COLOR, 2.5) });
    plot.push(Item::line(x0, lanes_top - 6.0, x1, lanes_top - 6.0, Paint::stroke(Color(200, 200, 200), 1.0)));

    // Lanes coloured by starting cluster, labelled at the left.
    for (i, l) in t.lanes.iter().enumerate() {
        let y = lanes_top + LANE_HEIGHT * i as f64;
        plot.push(Item::rect(
            x0,
            y + 2.0,
            x1 - x0,
            LANE_HEIGHT - 4.0,
            Paint::fill(group_color(t, l.group)).alpha(0.13),
        ));
        plot.push(Item::text(label_x, lane_y(i) + 5.0, labels[i].clone(), TEXT_SIZE, Anchor::End));
    }

    // Introductions: grey, the merge chain bold red on top.
    for chain in [false, true] {
        let (c, w, head) = if chain { (CHAIN_COLOR, 3.0, 6.0) } else { (ARROW_COLOR, 1.5, 4.0) };
        for a in t.arrows.iter().filter(|a| a.in_chain == chain && a.from_lane != a.to_lane) {
            let (x, y0, y1) = (map.x(a.ts_us), lane_y(a.from_lane), lane_y(a.to_lane));
            let dir = if y1 > y0 { 1.0 } else { -1.0 };
            let shape = vec![
                Item::line(x, y0, x, y1 - dir * head * 1.5, Paint::stroke(c, w)),
                arrowhead(x, y1, 0.0, dir, head, c),
            ];
            let class = if chain { "chain-arrow" } else { "arrow" };
            plot.push(Item::group(vec![("class", class.into())], shape));
        }
    }

    // Merges: a dashed line through both panels, labelled at the top.
    for (k, m) in t.merges.iter().enumerate() {
        let x = map.x(m.ts_us);
        let label = clip(&m.label);
        let lw = text_width(&label, SMALL_SIZE) + 8.0;
        let lx = if x + 6.0 + lw <= x1 { x + 4.0 } else { x - 4.0 - lw };
        plot.push(Item::group(
            vec![("id", format!("merge-{}", k + 1)), ("class", "merge".into()), ("data-ts-us", m.ts_us.to_string())],
            vec![
                Item::line(x, count_top, x, plot_bottom, Paint::stroke(CHAIN_COLOR, 2.0).dashed(7.0, 4.0)),
                Item::rect(lx, count_top + 3.0, lw, 18.0, Paint::fill(Color::WHITE).alpha(0.9)),
                Item::Text {
                    x: lx + 4.0,
                    y: count_top + 16.0,
                    text: label,
                    size: SMALL_SIZE,
                    color: CHAIN_COLOR,
                    anchor: Anchor::Start,
                    bold: true,
                },
            ],
        ));
    }

    // Markers; one drawn within a few pixels of another on its lane is
    // moved up or down (never sideways: x is its time).
    let mut last_on_lane: Vec<(f64, usize)> = vec![(f64::NEG_INFINITY, 0); n];
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
        plot.push(marker_glyph(m.kind, x, lane_y(m.lane) + dy, "marker"));
    }

    // Step badges beside each chain arrow, nudged right until they do not
    // cover another badge.
    let mut placed: Vec<(f64, f64)> = Vec::new();
    let mut chain: Vec<_> = t.arrows.iter().filter_map(|a| Some((a.step?, a))).collect();
    chain.sort_by_key(|a| a.0);
    for (step, a) in chain {
        let y = (lane_y(a.from_lane) + lane_y(a.to_lane)) / 2.0;
        let mut x = map.x(a.ts_us) + BADGE_R + 5.0;
        while placed
            .iter()
            .any(|&(px, py)| (px - x).abs() < 2.0 * BADGE_R + 3.0 && (py - y).abs() < 2.0 * BADGE_R + 3.0)
        {
            x += 2.0 * BADGE_R + 4.0;
        }
        placed.push((x, y));
        plot.push(step_badge(&step.to_string(), x, y, "chain-step"));
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

    let (legend, legend_h) = legend(t, &steps, x1 + LEGEND_GAP, OVERVIEW_TOP, legend_w);
    items.push(legend);
    let height = (plot_bottom + 52.0).max(OVERVIEW_TOP + legend_h + MARGIN).ceil() as u32;
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
