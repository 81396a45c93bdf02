//! Charts and reports: golden timeline data for every sample; the SVG is
//! XML with one lane label per node; the PNG has the requested size and is
//! not blank; DOT and Mermaid carry the merge chain; the HTML report loads
//! in headless Chromium, shows the chart and the findings, and fetches
//! nothing.

mod common;

use common::samples_dir;
use meetgraph::analysis::timeline::{Timeline, build_timeline};
use meetgraph::analysis::{Analysis, AnalysisConfig};
use meetgraph::capture::CaptureFile;
use meetgraph::output::chart::{chart_size, render_svg, write_chart};
use meetgraph::output::dot::{write_dot, write_mermaid};
use meetgraph::output::html::write_html;
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig};
use std::path::{Path, PathBuf};
use std::process::Command;

fn analyze_dir(dir: &Path) -> Analysis {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".pcap.gz"))
        .collect();
    files.sort();
    let names = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    let mut inputs: Vec<Input> = files
        .iter()
        .enumerate()
        .map(|(i, p)| Input::new(CaptureFile::open(p).unwrap(), Pipeline::new(i, PipelineConfig::default())))
        .collect();
    meetgraph::run::analyze(&mut inputs, AnalysisConfig { vantages: names, until_us: None, ..Default::default() })
}

fn incident() -> (Analysis, Timeline) {
    let a = analyze_dir(&samples_dir().join("redis-3.0.7-docker-bridge"));
    let t = build_timeline(&a, None, None);
    (a, t)
}

fn sample_dirs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(samples_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("truth.json").exists())
        .collect();
    v.sort();
    v
}

#[test]
fn timeline_data_matches_golden_for_every_sample() {
    for dir in sample_dirs() {
        let a = analyze_dir(&dir);
        let t = build_timeline(&a, None, None);
        assert_eq!(t.lanes.len(), a.nodes.len());
        let got = serde_json::to_string_pretty(&t).unwrap() + "\n";
        let path = dir.join("expected-timeline.json");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
        assert!(got == want, "{} differs; rerun with UPDATE_GOLDEN=1 and review", path.display());
    }
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
    assert!(mm.starts_with("graph LR") && mm.contains("linkStyle"));
}

#[test]
fn html_report_loads_offline_in_headless_chromium() {
    let (a, t) = incident();
    let svg = render_svg(&t).unwrap();
    let mut html = Vec::new();
    write_html(&mut html, &a, &svg).unwrap();
    let html = String::from_utf8(html).unwrap();
    // Nothing to fetch: no src/href attributes, a CSP that forbids fetches.
    assert!(!html.contains(" src=") && !html.contains(" href="));
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    let dir = std::env::temp_dir().join(format!("meetgraph-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.html");
    std::fs::write(&file, &html).unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("chromium must be installed (Debian package chromium; .ci/run installs it)");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("<svg"), "chart not in the DOM: {}", String::from_utf8_lossy(&out.stderr));
    assert!(dom.contains("id=\"findings\""));
    assert!(dom.matches("address_collision").count() >= 1);
    assert!(dom.contains("h1.pcap.gz#"), "evidence frames shown");
    let _ = std::fs::remove_dir_all(&dir);
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
