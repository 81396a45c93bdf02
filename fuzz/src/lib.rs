//! Shared by the fuzz targets: structure-aware messages ([`wire`]), whole
//! captures from arbitrary steps ([`scenario`]), and [`everything`]: one
//! capture through the pipeline, the analysis and every output, with
//! checks that the outputs are well-formed whatever the wire held.

pub mod scenario;
pub mod wire;

use meetgraph::analysis::alerts::alerts;
use meetgraph::analysis::timeline::build_timeline;
use meetgraph::analysis::{AnalysisConfig, Analyzer, Bounds};
use meetgraph::capture::CaptureFile;
use meetgraph::events::EventSink;
use meetgraph::output::chart::render_svg;
use meetgraph::output::dot::{write_dot, write_mermaid};
use meetgraph::output::dump::{DumpFormat, DumpWriter};
use meetgraph::output::html::write_html;
use meetgraph::output::metrics::exposition;
use meetgraph::output::report::{ReportOptions, Style, write_json, write_nodes_view, write_report};
use meetgraph::output::watch::{write_alert, write_alert_json};
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig};
use meetgraph::run::run_merged;
use std::collections::BTreeMap;

fn input(bytes: &[u8]) -> Option<Input> {
    let f = CaptureFile::from_reader("fuzz.pcap".into(), Box::new(std::io::Cursor::new(bytes.to_vec()))).ok()?;
    Some(Input::new(f, Pipeline::new(0, PipelineConfig::default())))
}

/// Text for people holds no control character but newline and tab.
fn assert_printable(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\n' && *c != '\t') {
        panic!("{what}: control character {c:?} in {text:?}");
    }
}

/// Every line of a DOT file has balanced (unescaped) quotes.
fn assert_quotes_balanced(what: &str, text: &str) {
    for line in text.lines() {
        let mut n = 0;
        let mut esc = false;
        for c in line.chars() {
            match (esc, c) {
                (false, '\\') => esc = true,
                (false, '"') => n += 1,
                _ => esc = false,
            }
        }
        assert!(n % 2 == 0, "{what}: unbalanced quotes in {line:?}");
    }
}

/// Runs one capture through `dump` (text and JSON lines), the analysis,
/// `nodes` for every node, and every output of `analyze` and `watch`.
pub fn everything(bytes: &[u8]) {
    for format in [DumpFormat::Text, DumpFormat::Jsonl] {
        let Some(i) = input(bytes) else { return };
        let names = vec!["fuzz.pcap".to_string()];
        let mut w = DumpWriter::new(Vec::new(), format, &names);
        run_merged(&mut [i], &mut w);
        let (out, err) = w.into_inner();
        assert!(err.is_none());
        let text = String::from_utf8(out).expect("dump is UTF-8");
        assert_printable("dump", &text);
        if format == DumpFormat::Jsonl {
            for line in text.lines() {
                serde_json::from_str::<serde_json::Value>(line).expect("dump --format jsonl");
            }
        }
    }
    let Some(i) = input(bytes) else { return };
    // Inputs whose last byte has its top bit set run with tiny bounds, so
    // the paths that drop events and ignore node ids are fuzzed too.
    let bounds = match bytes.last() {
        Some(&b) if b & 0x80 != 0 => {
            Bounds { max_events: 2 + usize::from(b & 7), max_nodes: 1 + usize::from((b >> 3) & 15) }
        }
        _ => Bounds::default(),
    };
    let mut analyzer = Analyzer::new(AnalysisConfig {
        vantages: vec!["fuzz.pcap".into()],
        bounds,
        node_views: true,
        ..Default::default()
    });
    let mut inputs = [i];
    {
        let mut sink = EventSink::new(|e| analyzer.push(e));
        run_merged(&mut inputs, &mut sink);
    }
    let end = inputs[0].pipeline.stats().last_ts_us.unwrap_or(0);
    for id in analyzer.node_ids().iter().take(16) {
        for at in [end, end - 1_000_000, i64::MIN / 2] {
            if let Some(v) = analyzer.view_of(id, None, at, None) {
                let mut out = Vec::new();
                write_nodes_view(&mut out, &v).unwrap();
                assert_printable("nodes", &String::from_utf8(out).expect("nodes is UTF-8"));
            }
        }
    }
    let a = analyzer.finish();
    for all in [false, true] {
        let mut out = Vec::new();
        write_report(&mut out, &a, &ReportOptions { all }, Style::Plain).unwrap();
        assert_printable("report", &String::from_utf8(out).expect("report is UTF-8"));
    }
    let mut json = Vec::new();
    write_json(&mut json, &a).unwrap();
    serde_json::from_slice::<serde_json::Value>(&json).expect("--json is JSON");
    let t = build_timeline(&a, None, None);
    let svg = render_svg(&t).expect("chart");
    roxmltree::Document::parse(&svg).expect("the chart is XML");
    let mut dot = Vec::new();
    write_dot(&mut dot, &a, &t).unwrap();
    let dot = String::from_utf8(dot).expect("DOT is UTF-8");
    assert_printable("dot", &dot);
    assert_quotes_balanced("dot", &dot);
    let mut mmd = Vec::new();
    write_mermaid(&mut mmd, &a, &t).unwrap();
    let mmd = String::from_utf8(mmd).expect("Mermaid is UTF-8");
    assert_printable("mermaid", &mmd);
    assert_quotes_balanced("mermaid", &mmd);
    let mut html = Vec::new();
    write_html(&mut html, &a, &t).unwrap();
    let html = String::from_utf8(html).expect("HTML is UTF-8");
    assert!(!html.to_ascii_lowercase().contains("<script"), "markup from the wire reached the HTML");
    let mut by_kind = BTreeMap::new();
    for al in alerts(&a) {
        *by_kind.entry(al.kind).or_insert(0u64) += 1;
        let mut out = Vec::new();
        write_alert(&mut out, &al, false).unwrap();
        assert_printable("watch", &String::from_utf8(out).expect("watch is UTF-8"));
        let mut out = Vec::new();
        write_alert_json(&mut out, &al).unwrap();
        serde_json::from_slice::<serde_json::Value>(&out).expect("--json-events is JSON");
    }
    let m = exposition(&a, &by_kind, Some(1));
    assert_quotes_balanced("metrics", &m);
}
