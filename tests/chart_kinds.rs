//! Charts of every incident kind, drawn and measured in headless Chromium
//! (issue 29): cloned ids, failovers, encrypted buses and address reuse,
//! on several server versions. For each: the default window holds every
//! finding the chart lists; the chart's own text (lanes and labels, not
//! the list under it) names what those findings name; no text is cut off
//! by the picture or overlaps another; the legend shows exactly the kinds
//! the plot draws. Also for windows asked with --since/--until (narrow and
//! whole capture). The HTML report's graph: no edge label over a node or
//! over another label.

mod common;

use common::browser::{Box4, chromium_dom, measured, overlap};
use common::samples_dir;
use meetgraph::analysis::timeline::{Timeline, build_timeline};
use meetgraph::analysis::{Analysis, FindingKind, Severity};
use meetgraph::output::chart::render_svg;
use meetgraph::output::html::write_html;
use std::collections::BTreeSet;

/// One sample per incident kind and server version.
const SAMPLES: [&str; 13] = [
    "redis-7.0-cloned-identity",
    "redis-4.0.14-cloned-identity",
    "valkey-9.1-cloned-identity",
    "redis-7.0-failover",
    "valkey-9.1-failover",
    "redis-3.0.7-loopback-failover",
    "redis-7.0-tls-bus",
    "redis-7.2-tls-bus",
    "redis-7.0-address-reuse",
    "redis-4.0.14-address-reuse",
    "redis-7.0-forget-reuse",
    "valkey-9.1-forget-reuse",
    "redis-7.0-overlay-reuse",
];

fn analyze(name: &str) -> Analysis {
    common::analyze_dir(&samples_dir().join(name))
}

/// What the browser measured of one chart.
#[derive(serde::Deserialize, Debug)]
struct Chart {
    svg: Box4,
    plot: Box4,
    legend: Box4,
    /// Every text: (its box, its text, whether it is in the list of notes
    /// or the title lines above the plot).
    texts: Vec<(Box4, String, bool)>,
    /// Kinds of the legend's entries, and of what the plot draws.
    legend_kinds: Vec<String>,
    drawn_kinds: Vec<String>,
}

/// Measures every chart of `svgs` in one Chromium page.
fn measure(svgs: &[String], name: &str) -> Vec<Chart> {
    const SCRIPT: &str = r#"
const box = e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
const r = [...document.querySelectorAll('body > div > svg')].map(svg => {
  const legend = svg.querySelector('#legend');
  const aside = t => !!t.closest('#notes') || t.parentNode === svg || !!t.closest('#window');
  const kinds = sel => [...new Set([...svg.querySelectorAll(sel)].map(e => e.dataset.kind))];
  return {
    svg: box(svg), plot: box(svg.querySelector('#plot-area')), legend: box(legend),
    texts: [...svg.querySelectorAll('text')].filter(t => t.textContent.trim()).map(t => [box(t), t.textContent, aside(t)]),
    legend_kinds: kinds('#legend .legend-entry'),
    drawn_kinds: [...new Set([...svg.querySelectorAll('[data-kind]')]
      .filter(e => !e.closest('#legend') && !e.closest('#notes')).map(e => e.dataset.kind))],
  };
});
document.getElementById('result').textContent = JSON.stringify(r);
"#;
    let body: String = svgs.iter().map(|s| format!("<div>{s}</div>")).collect();
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>body{{margin:0}} div{{margin:0 0 20px 0}}</style></head><body>{body}<pre id=\"result\"></pre><script>{SCRIPT}</script></body></html>"
    );
    let charts: Vec<Chart> = measured(&chromium_dom(&page, name, 1700));
    assert_eq!(charts.len(), svgs.len());
    charts
}

/// Nothing cut off, nothing over anything else, the legend beside the
/// plot and showing what the plot draws, nothing more.
fn check_drawn(c: &Chart, what: &str) {
    assert!(!overlap(c.legend, c.plot, 0.0), "{what}: legend over the plot");
    for (k, (b, text, _)) in c.texts.iter().enumerate() {
        assert!(
            b[0] >= c.svg[0] - 0.5 && b[2] <= c.svg[2] + 0.5 && b[1] >= c.svg[1] - 0.5 && b[3] <= c.svg[3] + 0.5,
            "{what}: {text:?} {b:?} cut off by the picture {:?}",
            c.svg
        );
        for (o, other, _) in &c.texts[..k] {
            assert!(!overlap(*b, *o, 1.0), "{what}: {text:?} {b:?} overlaps {other:?} {o:?}");
        }
    }
    let legend: BTreeSet<&String> = c.legend_kinds.iter().collect();
    let drawn: BTreeSet<&String> = c.drawn_kinds.iter().collect();
    for k in &legend {
        assert!(drawn.contains(k), "{what}: the legend shows {k}, the plot has none ({drawn:?})");
    }
    for k in &drawn {
        assert!(legend.contains(k), "{what}: {k} drawn but not in the legend ({legend:?})");
    }
}

/// The words the chart's own text (lanes, labels: not the notes under it)
/// must hold for the findings it lists.
fn names_wanted(a: &Analysis) -> Vec<String> {
    let mut want = Vec::new();
    for f in &a.findings {
        if f.severity != Severity::Incident && f.kind != FindingKind::Failover {
            continue;
        }
        want.extend(f.nodes.iter().map(|n| n.short().into_owned()));
        match f.kind {
            // The clone's address, the reused address.
            FindingKind::IdConflict | FindingKind::AddressReuse => want.extend(f.addresses.iter().cloned()),
            _ => {}
        }
    }
    for c in &a.id_conflicts {
        want.extend(c.instances.iter().map(|i| i.address.to_string()));
    }
    // The encrypted connections: each bus port.
    for b in &a.coverage.bursts {
        want.extend(b.servers.iter().cloned());
    }
    want.sort();
    want.dedup();
    want
}

#[test]
fn every_incident_kind_is_in_its_default_chart_and_nothing_overlaps() {
    let mut svgs = Vec::new();
    let mut cases = Vec::new();
    for name in SAMPLES {
        let a = analyze(name);
        let t = build_timeline(&a, None, None);
        assert!(!t.notes.is_empty(), "{name}: the chart lists the incident's findings");
        for n in &t.notes {
            assert!(t.t0_us <= n.ts_us && n.ts_us <= t.t1_us, "{name}: {} outside the window", n.text);
        }
        let span = t.window.incident.as_ref().unwrap_or_else(|| panic!("{name}: an incident window"));
        // Margins, unless the capture ends there.
        assert!(t.t0_us < span.first.ts_us || t.t0_us == t.overview.first_us, "{name}: a margin before the incident");
        assert!(span.last.ts_us < t.t1_us || t.t1_us == t.overview.last_us, "{name}: a margin after the incident");
        assert!(t.t0_us <= span.first.ts_us && span.last.ts_us <= t.t1_us, "{name}: the incident in the window");
        svgs.push(render_svg(&t).unwrap());
        cases.push((name, names_wanted(&a), t));
    }
    for ((name, want, t), c) in cases.iter().zip(measure(&svgs, "chart-kinds")) {
        check_drawn(&c, name);
        assert!(c.texts.len() >= 20, "{name}: texts measured: {}", c.texts.len());
        let own: String = c.texts.iter().filter(|x| !x.2).map(|x| x.1.as_str()).collect::<Vec<_>>().join("\n");
        assert!(!want.is_empty(), "{name}");
        for w in want {
            assert!(own.contains(w.as_str()), "{name}: the chart's text does not name {w}:\n{own}");
        }
        let noted = c.texts.iter().filter(|x| x.2 && x.1.len() > 3).count();
        assert!(noted >= t.notes.len(), "{name}: every note listed under the chart");
    }
}

/// Windows the CLI can ask for: a narrow one around the first finding,
/// and the whole capture. Text still fits and does not overlap.
#[test]
fn asked_windows_keep_text_inside_and_apart() {
    let mut svgs = Vec::new();
    let mut names = Vec::new();
    for name in ["redis-7.0-cloned-identity", "redis-7.0-failover", "redis-7.0-tls-bus", "redis-7.0-address-reuse"] {
        let a = analyze(name);
        let t: Timeline = build_timeline(&a, None, None);
        let first = t.notes[0].ts_us;
        for (from, to) in [
            (first - 100_000, first + 100_000),
            (first - 1_000, first + 1_000),
            (t.overview.first_us, t.overview.last_us),
        ] {
            let w = build_timeline(&a, Some(from), Some(to));
            assert_eq!((w.t0_us, w.t1_us), (from, to));
            svgs.push(render_svg(&w).unwrap());
            names.push(format!("{name} {} ms", (to - from) / 1000));
        }
    }
    for (c, what) in measure(&svgs, "chart-windows").iter().zip(&names) {
        check_drawn(c, what);
    }
}

/// The HTML report's introduction graph: every edge label clear of the
/// nodes and of the other labels, inside the graph.
#[test]
fn html_graph_labels_cover_no_node_and_no_label() {
    const SCRIPT: &str = r#"
const box = e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
const g = document.getElementById('intro-graph');
document.getElementById('result').textContent = JSON.stringify(g ? {
  graph: box(g),
  nodes: [...g.querySelectorAll('.graph-node')].map(box),
  labels: [...g.querySelectorAll('.graph-label')].map(e => [box(e), e.textContent]),
} : null);
"#;
    #[derive(serde::Deserialize, Debug)]
    struct Graph {
        graph: Box4,
        nodes: Vec<Box4>,
        labels: Vec<(Box4, String)>,
    }
    let mut drawn = 0;
    for name in
        ["redis-3.0.7-docker-bridge", "redis-7.0-address-reuse", "redis-7.0-failover", "valkey-9.1-cloned-identity"]
    {
        let a = analyze(name);
        let t = build_timeline(&a, None, None);
        let mut html = Vec::new();
        write_html(&mut html, &a, &t).unwrap();
        let html = String::from_utf8(html).unwrap();
        let csp = html.lines().find(|l| l.contains("Content-Security-Policy")).unwrap();
        let page = html
            .replace(csp, "")
            .replace("</body>", &format!("<pre id=\"result\"></pre><script>{SCRIPT}</script></body>"));
        let m: Option<Graph> = measured(&chromium_dom(&page, "html-graph", 1280));
        let Some(m) = m else {
            assert!(!html.contains("intro-graph"), "{name}");
            continue;
        };
        drawn += 1;
        for (k, (b, text)) in m.labels.iter().enumerate() {
            assert!(
                b[0] >= m.graph[0] && b[2] <= m.graph[2] && b[1] >= m.graph[1] && b[3] <= m.graph[3],
                "{name}: label {text:?} outside the graph"
            );
            for n in &m.nodes {
                assert!(!overlap(*b, *n, 0.5), "{name}: label {text:?} {b:?} over a node {n:?}");
            }
            for (o, other) in &m.labels[..k] {
                assert!(!overlap(*b, *o, 0.5), "{name}: label {text:?} over {other:?}");
            }
        }
    }
    assert!(drawn >= 3, "graphs drawn: {drawn}");
}
