//! Charts and reports: golden timeline data for every sample; the default
//! window is the activity; the SVG is XML with one lane label per node;
//! rendered in headless Chromium, the legend sits beside the plot, shows
//! the plot's own glyphs, and the window holds the merge and starts at most
//! [`MAX_LEAD_US`] before the first incident event; the PNG has the
//! requested size and is not blank; DOT and Mermaid carry the merge chain;
//! the HTML report loads in headless Chromium, shows the chart and the
//! findings, and fetches nothing.

mod common;

use common::browser::{chromium_dom, measured};
use common::{analyze_dir, samples_dir};
use meetgraph::analysis::timeline::{Timeline, build_timeline};
use meetgraph::analysis::{Analysis, FindingKind, Phase};
use meetgraph::output::chart::{chart_size, render_svg, write_chart};
use meetgraph::output::dot::{write_dot, write_mermaid};
use meetgraph::output::html::write_html;

fn incident() -> (Analysis, Timeline) {
    sample("redis-3.0.7-docker-bridge")
}

fn sample(name: &str) -> (Analysis, Timeline) {
    let a = analyze_dir(&samples_dir().join(name));
    let t = build_timeline(&a, None, None);
    (a, t)
}

/// The default window starts at most this long before the first incident
/// event (10 s).
const MAX_LEAD_US: i64 = 10_000_000;

/// The first event of the incident: the first step of a merge chain or
/// the first finding outside the setup phase.
fn first_incident_us(a: &Analysis) -> i64 {
    let chain = a.merges.iter().flat_map(|m| m.chain.iter().map(|i| i.ts_us));
    let findings = a.findings.iter().filter(|f| f.phase != Phase::Setup).map(|f| f.ts_us);
    chain.chain(findings).min().expect("an incident")
}

/// What the browser measured of a chart (boxes are left, top, right,
/// bottom in CSS pixels).
#[derive(serde::Deserialize, Debug)]
struct Measured {
    svg: [f64; 4],
    plot: [f64; 4],
    legend: [f64; 4],
    labels: Vec<[f64; 4]>,
    /// (ts_us, x) of each time tick.
    ticks: Vec<(f64, f64)>,
    /// (ts_us, x) of each merge line.
    merges: Vec<(f64, f64)>,
    /// Kind → (shape, signature) of the legend's glyphs and the plot's markers.
    legend_glyphs: Vec<(String, String, String)>,
    markers: Vec<(String, String, String)>,
}

/// Inlines `svg` in a page whose script measures it and writes the result
/// as JSON into `<pre id="result">`.
fn measure_svg(svg: &str, name: &str) -> Measured {
    const SCRIPT: &str = r#"
const box = e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
const mid = e => { const b = e.getBoundingClientRect(); return (b.left + b.right) / 2; };
const sig = g => { const b = g.getBBox();
  return [...g.children].filter(c => c.tagName !== 'title').map(c => [c.tagName, c.getAttribute('fill'), c.getAttribute('stroke'),
    c.getAttribute('stroke-width')].join(',')).join(';') + '|' + Math.round(b.width) + 'x' + Math.round(b.height); };
const glyphs = sel => [...document.querySelectorAll(sel)].map(g => [g.dataset.kind, g.dataset.shape, sig(g)]);
const r = {
  svg: box(document.querySelector('svg')),
  plot: box(document.getElementById('plot-area')),
  legend: box(document.getElementById('legend')),
  labels: [...document.querySelectorAll('#plot > text')].map(box),
  ticks: [...document.querySelectorAll('.x-tick')].map(e => [Number(e.dataset.tsUs), mid(e.querySelector('line'))]),
  merges: [...document.querySelectorAll('.merge')].map(e => [Number(e.dataset.tsUs), mid(e.querySelector('line'))]),
  legend_glyphs: glyphs('.legend-glyph'),
  markers: glyphs('.marker'),
};
document.getElementById('result').textContent = JSON.stringify(r);
"#;
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>body{{margin:0}}</style></head><body>{svg}<pre id=\"result\"></pre><script>{SCRIPT}</script></body></html>"
    );
    measured(&chromium_dom(&page, name, 1700))
}

fn intersects(a: [f64; 4], b: [f64; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// Checks a chart as drawn: legend beside the plot and inside the picture,
/// lane labels left of the plot, legend glyphs equal to the markers.
/// Returns the window shown, read back from the tick positions.
fn check_layout(m: &Measured) -> (f64, f64) {
    assert!(!intersects(m.legend, m.plot), "legend {:?} overlaps the plot {:?}", m.legend, m.plot);
    assert!(m.legend[0] >= m.plot[2] && m.legend[2] <= m.svg[2] + 0.5, "legend right of the plot, inside: {m:?}");
    for l in &m.labels {
        assert!(l[0] >= m.svg[0] - 0.5 && l[2] <= m.svg[2] + 0.5, "text {l:?} cut off by the picture");
        assert!(!intersects(*l, m.legend), "text {l:?} under the legend");
    }
    assert!(!m.legend_glyphs.is_empty());
    for (kind, shape, sig) in &m.legend_glyphs {
        let drawn: Vec<_> = m.markers.iter().filter(|x| &x.0 == kind).collect();
        assert!(!drawn.is_empty(), "legend shows {kind}, the plot has none");
        for d in drawn {
            assert_eq!((&d.1, &d.2), (shape, sig), "{kind}: the marker drawn is not the legend's glyph");
        }
    }
    for (kind, ..) in &m.markers {
        assert!(m.legend_glyphs.iter().any(|g| &g.0 == kind), "{kind} drawn but not in the legend");
    }
    let shapes: std::collections::BTreeSet<_> = m.legend_glyphs.iter().map(|g| &g.1).collect();
    assert_eq!(shapes.len(), m.legend_glyphs.len(), "two legend entries share a glyph: {:?}", m.legend_glyphs);
    // The window at the plot's edges, from the ticks' positions.
    assert!(m.ticks.len() >= 3, "ticks: {:?}", m.ticks);
    let ((t0, x0), (t1, x1)) = (m.ticks[0], m.ticks[m.ticks.len() - 1]);
    let per_px = (t1 - t0) / (x1 - x0);
    (t0 - (x0 - m.plot[0]) * per_px, t0 + (m.plot[2] - x0) * per_px)
}

#[test]
fn incident_chart_in_chromium_shows_the_activity_with_the_legend_beside_it() {
    let (a, t) = incident();
    let m = measure_svg(&render_svg(&t).unwrap(), "chart-incident");
    let (start, end) = check_layout(&m);
    let first = first_incident_us(&a) as f64;
    assert!(
        start <= first && first - start <= MAX_LEAD_US as f64,
        "window starts {} s before the first incident event",
        (first - start) / 1e6
    );
    let merge = a.merges[0].ts_us as f64;
    assert!(start < merge && merge < end, "merge inside the window");
    assert_eq!(m.merges.len(), 1);
    assert!(m.merges[0].1 > m.plot[0] && m.merges[0].1 < m.plot[2], "merge line inside the plot: {m:?}");
    assert!((m.merges[0].0 - merge).abs() < 1.0);
    // The quiet end of the capture is not the picture.
    let capture = (t.overview.last_us - t.overview.first_us) as f64;
    assert!(end - start < capture / 2.0, "window {} s of a {} s capture", (end - start) / 1e6, capture / 1e6);
}

#[test]
fn failover_chart_in_chromium_shows_fail_and_promotion() {
    let (a, t) = sample("redis-7.0-failover");
    let m = measure_svg(&render_svg(&t).unwrap(), "chart-failover");
    let (start, end) = check_layout(&m);
    let first = first_incident_us(&a) as f64;
    assert!(start <= first && first - start <= MAX_LEAD_US as f64);
    for kind in ["fail", "failover"] {
        assert!(m.markers.iter().any(|x| x.0 == kind), "{kind} marker drawn");
    }
    let promoted = a.findings.iter().find(|f| f.kind == FindingKind::Failover).unwrap().ts_us as f64;
    assert!(start < promoted && promoted < end);
}

#[test]
fn default_window_is_the_activity_and_steps_are_numbered() {
    let (a, t) = incident();
    let first = first_incident_us(&a);
    assert!(t.t0_us <= first && first - t.t0_us <= MAX_LEAD_US);
    assert!(t.t1_us >= a.merges[0].ts_us && t.t1_us < t.overview.last_us);
    assert_eq!(t.overview.activity.len(), meetgraph::analysis::timeline::OVERVIEW_BUCKETS);
    assert_eq!(t.overview.merges_us, vec![a.merges[0].ts_us]);
    let mut steps: Vec<String> = t.arrows.iter().filter_map(|x| x.step).map(|s| s.to_string()).collect();
    steps.sort();
    let want: Vec<String> = (1..=a.merges[0].chain.len()).map(|k| k.to_string()).collect();
    assert_eq!(steps, want, "every chain step numbered once, as in the report");
    // An explicit window wins.
    let w = build_timeline(&a, Some(t.overview.first_us), None);
    assert_eq!((w.t0_us, w.t1_us), (t.overview.first_us, t.overview.last_us));
}

#[test]
fn timeline_data_matches_golden_for_every_sample() {
    let mut rewritten = Vec::new();
    for dir in common::sample_dirs() {
        let a = analyze_dir(&dir);
        let t = build_timeline(&a, None, None);
        // A lane per node (a cloned id: one per instance; TLS ports too).
        assert_eq!(t.node_lanes().count(), a.nodes.len(), "{}", dir.display());
        for c in &a.id_conflicts {
            let lanes = t.lanes.iter().filter(|l| l.node == Some(c.node)).count();
            assert_eq!(lanes, c.instances.len(), "{}: a lane per instance of {}", dir.display(), c.node);
        }
        let got = serde_json::to_string_pretty(&t).unwrap() + "\n";
        let path = dir.join("expected-timeline.json");
        if common::updating_goldens() {
            rewritten.extend(common::rewrite_golden(&path, &got));
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
        assert!(got == want, "{} differs; rerun with UPDATE_GOLDEN=1 and review", path.display());
    }
    common::fail_if_rewritten(&rewritten);
}

#[test]
fn incident_timeline_tells_the_story() {
    let (a, t) = incident();
    // Two coloured starting clusters plus c (none).
    assert_eq!(t.groups, vec!["A".to_string(), "B".to_string(), "none".to_string()]);
    assert_eq!(t.merges.len(), 1);
    assert!(t.arrows.iter().filter(|x| x.in_chain).count() >= 3);
    for kind in ["meet_sent", "meet_received", "answered_by_other", "role_change"] {
        assert!(t.markers.iter().any(|m| m.kind.as_str() == kind), "no {kind} marker");
    }
    assert_eq!(t.cluster_count.first().map(|c| c.1), Some(2));
    assert_eq!(t.cluster_count.last().map(|c| c.1), Some(1));
    // A window keeps only what is inside it.
    let w = build_timeline(&a, Some(a.merges[0].ts_us + 1), None);
    assert!(w.merges.is_empty() && w.markers.iter().all(|m| m.ts_us > a.merges[0].ts_us));
}

#[test]
fn svg_is_xml_with_one_lane_per_node_and_is_reproducible() {
    let (_, t) = incident();
    let svg = render_svg(&t).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("SVG parses as XML");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(|s| s.trim().to_string())
        .collect();
    for lane in &t.lanes {
        assert_eq!(texts.iter().filter(|x| **x == lane.label).count(), 1, "lane label {:?}", lane.label);
    }
    assert_eq!(render_svg(&t).unwrap(), svg, "same input, same bytes");
}

#[test]
fn png_has_the_requested_size_and_is_not_blank() {
    let (_, t) = incident();
    let path = std::env::temp_dir().join(format!("meetgraph-chart-{}.png", std::process::id()));
    write_chart(&path, &t).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), chart_size(&t));
    let px = info.color_type.samples();
    let mut colors = std::collections::BTreeSet::new();
    for p in buf[..info.buffer_size()].chunks(px) {
        colors.insert(p.to_vec());
        if colors.len() > 50 {
            break;
        }
    }
    assert!(colors.len() > 50, "blank chart: {} colours", colors.len());
    let _ = std::fs::remove_file(&path);
}

#[test]
fn dot_and_mermaid_highlight_the_merge_chain() {
    let (a, t) = incident();
    let mut dot = Vec::new();
    write_dot(&mut dot, &a, &t).unwrap();
    let dot = String::from_utf8(dot).unwrap();
    assert!(dot.starts_with("digraph introductions {") && dot.trim_end().ends_with('}'));
    let chain_edges = dot.lines().filter(|l| l.contains("penwidth=3")).count();
    assert_eq!(chain_edges, a.merges[0].chain.len());
    assert!(dot.contains("\"7a07e695\" -> \"64258262\""), "a1's gossip reaches b1");
    let mut mm = Vec::new();
    write_mermaid(&mut mm, &a, &t).unwrap();
    let mm = String::from_utf8(mm).unwrap();
    assert!(
        mm.starts_with("---\ntitle: \"Who introduced whom") && mm.contains("\ngraph LR\n") && mm.contains("linkStyle"),
        "{mm}"
    );
    // Edges carry the time of day and what was introduced.
    assert!(mm.contains("|\"18:49:34.052 meet\"|") && mm.contains("gossip: 23d64118"), "{mm}");
    assert!(dot.contains("label=\"18:49:34.052 meet\""), "{dot}");
}

#[test]
fn html_report_loads_offline_in_headless_chromium() {
    let (a, t) = incident();
    let mut html = Vec::new();
    write_html(&mut html, &a, &t).unwrap();
    let html = String::from_utf8(html).unwrap();
    // Nothing to fetch: no src/href attributes, a CSP that forbids fetches.
    assert!(!html.contains(" src=") && !html.contains(" href="));
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    let dom = chromium_dom(&html, "html", 1280);
    assert!(dom.contains("<svg"), "chart not in the DOM");
    assert!(dom.contains("id=\"findings\""));
    assert!(dom.matches("address_collision").count() >= 1);
    assert!(dom.contains("h1.pcap.gz#"), "evidence frames shown");
}

#[test]
fn unwritable_outputs_are_named_with_the_reason_and_exit_2() {
    let dir = samples_dir().join("redis-7.0-loopback-merge");
    for flag in ["--chart", "--dot", "--html", "--json"] {
        for name in ["/nonexistent/x.png", "/nonexistent/x.svg"] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_meetgraph"))
                .current_dir(&dir)
                .args(["analyze", "lo.pcap.gz", flag, name])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{flag} {name}: {err}");
            assert_eq!(err.trim(), format!("meetgraph: cannot write {name}: No such file or directory (os error 2)"));
        }
    }
}

#[test]
fn html_report_puts_the_incident_first_wraps_cells_and_draws_the_graph() {
    let (a, t) = incident();
    let mut html = Vec::new();
    write_html(&mut html, &a, &t).unwrap();
    let html = String::from_utf8(html).unwrap();
    // Incident first, then the collapsible rest.
    let pos = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} missing"));
    assert!(pos("id=\"story\"") < pos("id=\"incident-findings\""));
    assert!(pos("id=\"incident-findings\"") < pos("id=\"chain-1\""));
    assert!(pos("id=\"chain-1\"") < pos("id=\"chart\"") && pos("id=\"chart\"") < pos("id=\"intro-graph\""));
    for id in ["all-findings", "introductions", "nodes", "connections", "captures"] {
        assert!(pos(&format!("<details id=\"{id}\">")) > pos("id=\"intro-graph\""), "{id} collapsible, after");
    }
    // No empty section: this capture has no anomalies, so no such section.
    assert!(a.anomalies.is_empty() && !html.contains("<details id=\"anomalies\">"));
    assert!(html.contains("h1.pcap.gz#226"), "chain evidence frames");
    // Measured in Chromium at a laptop's width (the report's CSP forbids
    // scripts, so the test page drops it and adds one).
    const SCRIPT: &str = r#"
for (const d of document.querySelectorAll('details')) d.open = true;
const cut = [...document.querySelectorAll('td,th')].filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.textContent);
const boxes = [...document.querySelectorAll('#intro-graph .graph-node')].map(g => { const b = g.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; });
const g = document.getElementById('intro-graph').getBoundingClientRect();
document.getElementById('result').textContent = JSON.stringify({
  cut, boxes, graph: [g.left, g.top, g.right, g.bottom],
  edges: document.querySelectorAll('#intro-graph .graph-edge').length,
  chain_edges: document.querySelectorAll('#intro-graph .graph-edge.chain').length,
  page: [document.documentElement.scrollWidth, window.innerWidth] });
"#;
    let csp = html.lines().find(|l| l.contains("Content-Security-Policy")).unwrap();
    let page =
        html.replace(csp, "").replace("</body>", &format!("<pre id=\"result\"></pre><script>{SCRIPT}</script></body>"));
    let dom = chromium_dom(&page, "html-layout", 1280);

    #[derive(serde::Deserialize, Debug)]
    struct Layout {
        cut: Vec<String>,
        boxes: Vec<[f64; 4]>,
        graph: [f64; 4],
        edges: usize,
        chain_edges: usize,
        page: [f64; 2],
    }
    let m: Layout = measured(&dom);
    assert!(m.cut.is_empty(), "cells cut off: {:?}", m.cut);
    assert!(m.page[0] <= m.page[1] + 1.0, "the page scrolls sideways: {:?}", m.page);
    assert_eq!(m.boxes.len(), t.lanes.len(), "one box per node");
    for (i, x) in m.boxes.iter().enumerate() {
        assert!(
            x[0] >= m.graph[0] && x[2] <= m.graph[2] && x[1] >= m.graph[1] && x[3] <= m.graph[3],
            "node {i} inside"
        );
        for y in &m.boxes[..i] {
            assert!(!intersects(*x, *y), "node boxes overlap: {x:?} {y:?}");
        }
    }
    assert!(m.edges >= 10 && m.chain_edges >= 3, "{m:?}");
}

/// The README's pictures are the current chart of the incident and of a
/// failover (`UPDATE_GOLDEN=1` redraws them; look at them before committing).
#[test]
fn docs_images_are_up_to_date() {
    let docs = samples_dir().parent().unwrap().join("docs");
    let mut rewritten = Vec::new();
    for (name, file) in
        [("redis-3.0.7-docker-bridge", "incident-3.0.7.svg"), ("redis-7.0-failover", "failover-7.0.svg")]
    {
        let (_, t) = sample(name);
        let svg = render_svg(&t).unwrap();
        let path = docs.join(file);
        if common::updating_goldens() {
            rewritten.extend(common::rewrite_golden(&path, &svg));
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
        assert!(svg == want, "{} is not the current chart; rerun with UPDATE_GOLDEN=1 and look at it", path.display());
    }
    common::fail_if_rewritten(&rewritten);
}
