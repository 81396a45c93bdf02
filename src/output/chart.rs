//! The timeline chart (SVG or PNG) with plotters. Only draws what
//! `analysis::timeline` computed. The font is embedded (DejaVu Sans Mono,
//! `assets/`), so no system font library is needed and the same input gives
//! the same bytes on every machine.

use crate::analysis::timeline::{MARKER_KINDS, MarkerKind, Timeline};
use crate::output::printable::printable;
use crate::time::format_utc_us;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// Style constants.
const WIDTH: u32 = 1600;
const LANE_HEIGHT: u32 = 26;
const COUNT_PANEL: u32 = 150;
const MARGINS: u32 = 190;
const LABEL_AREA: u32 = 330;
const FONT: &str = "sans-serif";
const FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSansMono.ttf");
/// Cluster colours (start clusters), then grey for "none".
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
];
const NONE_COLOR: RGBColor = RGBColor(120, 120, 120);
const CHAIN_COLOR: RGBColor = RGBColor(214, 39, 40);

/// Why a chart could not be made.
#[derive(Debug)]
pub enum ChartError {
    /// The chart file cannot be written.
    Write { path: std::path::PathBuf, source: std::io::Error },
    /// plotters failed while drawing (its error, as text: it is generic
    /// over the backend and not `'static`).
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

fn err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TTF committed with the source; a failure
        // here would show as missing text, never as a panic.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
}

fn group_color(t: &Timeline, g: usize) -> RGBColor {
    if t.none_group == Some(g) { NONE_COLOR } else { PALETTE[g % PALETTE.len()] }
}

fn marker_style(kind: &str) -> (RGBColor, u32) {
    match kind {
        "first_contact" => (RGBColor(150, 150, 150), 3),
        "meet_sent" => (RGBColor(0, 0, 0), 6),
        "meet_received" => (RGBColor(90, 90, 90), 5),
        "answered_by_other" => (CHAIN_COLOR, 7),
        "fail" => (RGBColor(0, 0, 0), 7),
        "failover" => (RGBColor(227, 119, 194), 7),
        "role_change" => (RGBColor(188, 189, 34), 6),
        _ => (RGBColor(23, 190, 207), 4),
    }
}

/// Picture size for a timeline.
pub fn chart_size(t: &Timeline) -> (u32, u32) {
    (WIDTH, COUNT_PANEL + MARGINS + LANE_HEIGHT * (t.lanes.len().max(1) as u32))
}

fn secs(t: &Timeline, ts: i64) -> f64 {
    (ts - t.t0_us) as f64 / 1e6
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, t: &Timeline) -> Result<(), ChartError> {
    register_font();
    root.fill(&WHITE).map_err(err)?;
    let span = secs(t, t.t1_us).max(0.001);
    let (_, h) = root.dim_in_pixel();
    let (top, bottom) = root.split_vertically(COUNT_PANEL.min(h / 2));

    // Upper panel: number of separate clusters.
    let max_count = t.cluster_count.iter().map(|c| c.1).max().unwrap_or(1).max(1);
    let mut upper = ChartBuilder::on(&top)
        .caption(format!("meetgraph timeline — t = 0 at {}", format_utc_us(t.t0_us)), (FONT, 18))
        .margin(8)
        .x_label_area_size(0)
        .y_label_area_size(LABEL_AREA)
        .build_cartesian_2d(0f64..span, 0f64..(max_count as f64 + 0.5))
        .map_err(err)?;
    upper
        .configure_mesh()
        .disable_x_mesh()
        .y_desc("clusters")
        .y_labels(max_count + 1)
        .y_label_formatter(&|v| format!("{}", v.round() as i64))
        .label_style((FONT, 12))
        .draw()
        .map_err(err)?;
    let mut steps: Vec<(f64, f64)> = Vec::new();
    for (i, &(ts, c)) in t.cluster_count.iter().enumerate() {
        if i > 0 {
            steps.push((secs(t, ts), steps.last().map_or(c as f64, |p| p.1)));
        }
        steps.push((secs(t, ts), c as f64));
    }
    upper.draw_series(LineSeries::new(steps, BLUE.stroke_width(2))).map_err(err)?;

    // Lanes.
    let n = t.lanes.len().max(1);
    let labels: Vec<String> = t.lanes.iter().map(|l| printable(&l.label).into_owned()).collect();
    let mut chart = ChartBuilder::on(&bottom)
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(LABEL_AREA)
        .build_cartesian_2d(0f64..span, -0.5f64..(n as f64 - 0.5))
        .map_err(err)?;
    let fmt = |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 0.01 && i >= 0.0 {
            labels.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&fmt)
        .x_desc("seconds")
        .label_style((FONT, 12))
        .draw()
        .map_err(err)?;
    // Lane bands coloured by starting cluster.
    chart
        .draw_series(t.lanes.iter().enumerate().map(|(i, l)| {
            let c = group_color(t, l.group);
            Rectangle::new([(0.0, i as f64 - 0.45), (span, i as f64 + 0.45)], c.mix(0.12).filled())
        }))
        .map_err(err)?;
    // Introductions: thin grey, merge chain bold red, arrowhead at learner.
    for chain in [false, true] {
        let style = if chain { CHAIN_COLOR.stroke_width(3) } else { RGBColor(170, 170, 170).stroke_width(1) };
        for a in t.arrows.iter().filter(|a| a.in_chain == chain) {
            let x = secs(t, a.ts_us);
            chart
                .draw_series(LineSeries::new(vec![(x, a.from_lane as f64), (x, a.to_lane as f64)], style))
                .map_err(err)?;
            let head = if chain { CHAIN_COLOR.filled() } else { RGBColor(170, 170, 170).filled() };
            chart
                .draw_series(std::iter::once(TriangleMarker::new(
                    (x, a.to_lane as f64),
                    if chain { 7 } else { 4 },
                    head,
                )))
                .map_err(err)?;
        }
    }
    // Merge lines.
    for m in &t.merges {
        let x = secs(t, m.ts_us);
        chart
            .draw_series(DashedLineSeries::new(vec![(x, -0.5), (x, n as f64 - 0.5)], 8, 5, CHAIN_COLOR.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                printable(&m.label).into_owned(),
                (x, n as f64 - 0.6),
                (FONT, 14).into_font().color(&CHAIN_COLOR),
            )))
            .map_err(err)?;
    }
    // Markers, one legend entry per kind present.
    for kind in MARKER_KINDS.map(MarkerKind::as_str) {
        let pts: Vec<(f64, f64)> =
            t.markers.iter().filter(|m| m.kind.as_str() == kind).map(|m| (secs(t, m.ts_us), m.lane as f64)).collect();
        if pts.is_empty() {
            continue;
        }
        let (color, size) = marker_style(kind);
        let series = match kind {
            "fail" => chart.draw_series(pts.into_iter().map(|p| Cross::new(p, size, color.stroke_width(3)))),
            "answered_by_other" | "failover" => {
                chart.draw_series(pts.into_iter().map(|p| TriangleMarker::new(p, size, color.filled())))
            }
            _ => chart.draw_series(pts.into_iter().map(|p| Circle::new(p, size, color.filled()))),
        }
        .map_err(err)?;
        series.label(kind.replace('_', " ")).legend(move |(x, y)| Circle::new((x, y), 5, color.filled()));
    }
    chart
        .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
        .map_err(err)?
        .label("merge chain")
        .legend(|(x, y)| PathElement::new(vec![(x - 8, y), (x + 8, y)], CHAIN_COLOR.stroke_width(3)));
    for (g, name) in t.groups.iter().enumerate() {
        let c = group_color(t, g);
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(err)?
            .label(format!("cluster {}", printable(name)))
            .legend(move |(x, y)| Rectangle::new([(x - 8, y - 5), (x + 8, y + 5)], c.mix(0.5).filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 12))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Renders the timeline as an SVG document.
pub fn render_svg(t: &Timeline) -> Result<String, ChartError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, chart_size(t)).into_drawing_area();
        draw(&root, t)?;
    }
    Ok(out)
}

/// Writes the chart to `path`: `.png` gives a bitmap, anything else SVG.
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

pub fn write_chart(path: &Path, t: &Timeline) -> Result<(), ChartError> {
    let png = chart_format(path).ok_or_else(|| ChartError::Format(path.to_path_buf()))?;
    let write_err = |source| ChartError::Write { path: path.to_path_buf(), source };
    if path.as_os_str() == "-" {
        use std::io::Write;
        let svg = render_svg(t)?;
        return std::io::stdout().lock().write_all(svg.as_bytes()).map_err(write_err);
    }
    if png {
        // plotters opens the file only after drawing and reports a failure
        // as a nested backend error: try the file first.
        std::fs::File::create(path).map_err(write_err)?;
        let root = BitMapBackend::new(path, chart_size(t)).into_drawing_area();
        draw(&root, t)
    } else {
        let svg = render_svg(t)?;
        std::fs::write(path, svg).map_err(write_err)
    }
}
