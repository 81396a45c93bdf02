//! Wires the layers for each subcommand and maps outcomes to exit codes:
//! 0 every input read, 1 an input was damaged (truncated or corrupt; what
//! was readable before the damage was still processed), 2 an input could
//! not be opened or is not a capture, or a flag is invalid.

use crate::cli::{Cli, Command, Format, InputArgs};
use meetgraph::analysis::timeline::build_timeline;
use meetgraph::analysis::{Analysis, AnalysisConfig};
use meetgraph::capture::CaptureFile;
use meetgraph::clusterbus::framer::FramerConfig;
use meetgraph::output::chart::{ChartError, render_svg, write_chart};
use meetgraph::output::dot::{write_dot, write_mermaid};
use meetgraph::output::dump::{DumpFormat, DumpWriter};
use meetgraph::output::html::write_html;
use meetgraph::output::report::{write_json, write_nodes_view, write_report};
use meetgraph::output::stats::{write_stats_json, write_stats_text};
use meetgraph::time::parse_utc_us;
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig, PortFilter, run_merged};
use meetgraph::reassembly::ReassemblyConfig;
use std::io::{self, Write};
use std::path::Path;

/// Exit codes.
pub const EXIT_OK: u8 = 0;
pub const EXIT_DAMAGED: u8 = 1;
pub const EXIT_FATAL: u8 = 2;

/// Parses `17000-17010,16379`.
pub fn parse_ports(s: &str) -> Result<PortFilter, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let lo: u16 = a.trim().parse().map_err(|_| format!("bad port {a:?} in {s:?}"))?;
        let hi: u16 = b.trim().parse().map_err(|_| format!("bad port {b:?} in {s:?}"))?;
        if lo > hi {
            return Err(format!("bad port range {part:?}"));
        }
        out.push((lo, hi));
    }
    if out.is_empty() {
        return Err(format!("no ports in {s:?}"));
    }
    Ok(PortFilter(out))
}

fn pipeline_config(input: &InputArgs) -> Result<PipelineConfig, String> {
    let ports = input.ports.as_deref().map(parse_ports).transpose()?;
    if input.max_message < 16 {
        return Err("--max-message must be at least 16".into());
    }
    Ok(PipelineConfig {
        reassembly: ReassemblyConfig {
            max_pending_per_stream: input.max_stream_buffer,
            max_pending_total: input.max_total_buffer.max(input.max_stream_buffer),
            ..ReassemblyConfig::default()
        },
        framer: FramerConfig { max_totlen: input.max_message, ..FramerConfig::default() },
        ports,
    })
}

fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Dump { input, format, stats, quiet, no_anomalies } => dump(&input, format, stats, quiet, no_anomalies),
        Command::Analyze { input, vantage, json, chart, dot, mermaid, html, since, until } => {
            let outputs = Outputs {
                json: json.as_deref(),
                chart: chart.as_deref(),
                dot: dot.as_deref(),
                mermaid: mermaid.as_deref(),
                html: html.as_deref(),
            };
            analyze(&input, &vantage, &outputs, since.as_deref(), until.as_deref())
        }
        Command::Nodes { input, node, at } => nodes(&input, &node, at.as_deref()),
        Command::Events { input } => events(&input),
    }
}

/// Inputs and vantage names: positional files (named by file name) and
/// `--vantage NAME=FILE`.
fn named_inputs(input: &InputArgs, vantage: &[String]) -> Result<(Vec<std::path::PathBuf>, Vec<String>), String> {
    let mut paths = Vec::new();
    let mut names = Vec::new();
    for p in &input.files {
        paths.push(p.clone());
        names.push(p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned()));
    }
    for v in vantage {
        let (name, file) = v.split_once('=').ok_or_else(|| format!("--vantage {v:?}: expected NAME=FILE"))?;
        if name.is_empty() || file.is_empty() {
            return Err(format!("--vantage {v:?}: expected NAME=FILE"));
        }
        paths.push(file.into());
        names.push(name.to_string());
    }
    if paths.is_empty() && input.interface.is_none() {
        return Err("no capture file given (or -i IFACE for a live capture)".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for n in &mut names {
        let base = n.clone();
        let mut k = 2;
        while !seen.insert(n.clone()) {
            *n = format!("{base}#{k}");
            k += 1;
        }
    }
    Ok((paths, names))
}

fn prepare(input: &InputArgs, vantage: &[String]) -> Result<(Vec<Input>, Vec<String>), u8> {
    let cfg = pipeline_config(input).map_err(|e| {
        eprintln!("meetgraph: {e}");
        EXIT_FATAL
    })?;
    let (paths, names) = named_inputs(input, vantage).map_err(|e| {
        eprintln!("meetgraph: {e}");
        EXIT_FATAL
    })?;
    let mut inputs = Vec::new();
    let mut names = names;
    for (i, p) in paths.iter().enumerate() {
        match CaptureFile::open(p) {
            Ok(f) => inputs.push(Input::new(f, Pipeline::new(i, cfg.clone()))),
            Err(e) => {
                eprintln!("meetgraph: {e}");
                return Err(EXIT_FATAL);
            }
        }
    }
    if let Some(iface) = &input.interface {
        let idx = inputs.len();
        inputs.push(open_live(input, iface, Pipeline::new(idx, cfg.clone()))?);
        names.push(format!("iface:{iface}"));
    }
    Ok((inputs, names))
}

/// A live capture input (`-i IFACE`); Ctrl-C, `-c` or `--duration` end it.
#[cfg(feature = "live")]
fn open_live(input: &InputArgs, iface: &str, pipeline: Pipeline) -> Result<Input, u8> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // A second Ctrl-C while stopping is not needed: the capture loop polls
    // the flag every 200 ms.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    let opts = meetgraph::capture::LiveOptions {
        interface: iface.to_string(),
        filter: input.filter.clone(),
        snaplen: input.snaplen,
        count: input.count,
        duration: input.duration.map(std::time::Duration::from_secs_f64),
        stop,
    };
    match meetgraph::capture::LiveCapture::open(opts) {
        Ok(c) => Ok(Input::new(c, pipeline)),
        Err(e) => {
            eprintln!("meetgraph: {e}");
            Err(EXIT_FATAL)
        }
    }
}

#[cfg(not(feature = "live"))]
fn open_live(_input: &InputArgs, iface: &str, _pipeline: Pipeline) -> Result<Input, u8> {
    eprintln!(
        "meetgraph: -i {iface}: this build has no live capture; rebuild with `cargo build --release --features live` (needs libpcap)"
    );
    Err(EXIT_FATAL)
}

fn damaged(inputs: &[Input]) -> u8 {
    let mut status = EXIT_OK;
    for i in inputs {
        if let Some(e) = &i.error {
            eprintln!("meetgraph: {e}");
            status = EXIT_DAMAGED;
        }
    }
    status
}

fn write_out(r: io::Result<()>) -> u8 {
    match r {
        Ok(()) => EXIT_OK,
        Err(e) if is_broken_pipe(&e) => EXIT_OK,
        Err(e) => {
            eprintln!("meetgraph: writing output: {e}");
            EXIT_FATAL
        }
    }
}

/// Files `analyze` writes besides the report.
struct Outputs<'a> {
    json: Option<&'a Path>,
    chart: Option<&'a Path>,
    dot: Option<&'a Path>,
    mermaid: Option<&'a Path>,
    html: Option<&'a Path>,
}

fn parse_time_flag(flag: &str, v: Option<&str>) -> Result<Option<i64>, u8> {
    match v {
        None => Ok(None),
        Some(s) => parse_utc_us(s).map(Some).ok_or_else(|| {
            eprintln!("meetgraph: {flag} {s:?}: expected e.g. 2026-11-24T18:49:40.5Z or microseconds");
            EXIT_FATAL
        }),
    }
}

fn write_file(path: &Path, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), u8> {
    let r = std::fs::File::create(path).and_then(|file| {
        let mut w = io::BufWriter::new(file);
        f(&mut w)?;
        w.flush()
    });
    r.map_err(|e| {
        eprintln!("meetgraph: {}: {e}", path.display());
        EXIT_FATAL
    })
}

fn write_visuals(analysis: &Analysis, o: &Outputs<'_>, since: Option<i64>, until: Option<i64>) -> Result<(), u8> {
    if o.chart.is_none() && o.dot.is_none() && o.mermaid.is_none() && o.html.is_none() {
        return Ok(());
    }
    let timeline = build_timeline(analysis, since, until);
    let chart_failed = |e: ChartError| {
        eprintln!("meetgraph: {e}");
        EXIT_FATAL
    };
    if let Some(p) = o.chart {
        write_chart(p, &timeline).map_err(chart_failed)?;
    }
    if let Some(p) = o.dot {
        write_file(p, |w| write_dot(w, analysis, &timeline))?;
    }
    if let Some(p) = o.mermaid {
        write_file(p, |w| write_mermaid(w, analysis, &timeline))?;
    }
    if let Some(p) = o.html {
        let svg = render_svg(&timeline).map_err(chart_failed)?;
        write_file(p, |w| write_html(w, analysis, &svg))?;
    }
    Ok(())
}

fn analyze(input: &InputArgs, vantage: &[String], o: &Outputs<'_>, since: Option<&str>, until: Option<&str>) -> u8 {
    let json = o.json;
    let (since, until) = match (parse_time_flag("--since", since), parse_time_flag("--until", until)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(c), _) | (_, Err(c)) => return c,
    };
    let (mut inputs, names) = match prepare(input, vantage) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let cfg = AnalysisConfig { vantages: names, until_us: None };
    let analysis = meetgraph::run::analyze(&mut inputs, cfg);
    let status = damaged(&inputs);
    if let Err(code) = write_visuals(&analysis, o, since, until) {
        return code;
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if let Some(path) = json {
        if path.as_os_str() == "-" {
            let code = write_out(write_json(&mut out, &analysis).and_then(|_| out.flush()));
            return code.max(status);
        }
        let r = std::fs::File::create(path).and_then(|f| {
            let mut w = io::BufWriter::new(f);
            write_json(&mut w, &analysis)?;
            w.flush()
        });
        if let Err(e) = r {
            eprintln!("meetgraph: {}: {e}", path.display());
            return EXIT_FATAL;
        }
    }
    let code = write_out(write_report(&mut out, &analysis).and_then(|_| out.flush()));
    code.max(status)
}

fn events(input: &InputArgs) -> u8 {
    let (mut inputs, names) = match prepare(input, &[]) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut err: Option<io::Error> = None;
    {
        let mut sink = meetgraph::events::EventSink::new(|e: meetgraph::events::BusEvent| {
            if err.is_some() {
                return;
            }
            let mut v = serde_json::to_value(&e).unwrap_or_default();
            if let Some(name) = names.get(e.capture) {
                v["capture_name"] = serde_json::Value::String(name.clone());
            }
            let mut line = v.to_string();
            line.push('\n');
            if let Err(x) = out.write_all(line.as_bytes()) {
                err = Some(x);
            }
        });
        meetgraph::pipeline::run_merged(&mut inputs, &mut sink);
    }
    let status = damaged(&inputs);
    let code = write_out(match err {
        Some(e) => Err(e),
        None => out.flush(),
    });
    code.max(status)
}

fn nodes(input: &InputArgs, node: &str, at: Option<&str>) -> u8 {
    let until = match at.map(parse_utc_us) {
        Some(None) => {
            eprintln!("meetgraph: --at {:?}: expected e.g. 2026-11-24T18:49:40.5Z or microseconds", at.unwrap_or(""));
            return EXIT_FATAL;
        }
        Some(Some(t)) => Some(t),
        None => None,
    };
    let (mut inputs, names) = match prepare(input, &[]) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let cfg = AnalysisConfig { vantages: names, until_us: until };
    let (analyzer, stats) = meetgraph::run::analyze_inputs(&mut inputs, cfg);
    let status = damaged(&inputs);
    let end = stats.iter().filter_map(|s| s.last_ts_us).max().unwrap_or(0);
    let at_us = until.unwrap_or(end);
    let ids = analyzer.node_ids();
    let matches: Vec<_> = ids.iter().filter(|n| n.as_str().starts_with(node)).collect();
    let id = match matches.as_slice() {
        [one] => **one,
        [] => {
            eprintln!("meetgraph: no node {node:?} seen before that time");
            return EXIT_FATAL;
        }
        _ => {
            eprintln!("meetgraph: {node:?} matches {} nodes; give more characters", matches.len());
            return EXIT_FATAL;
        }
    };
    let Some(view) = analyzer.view_of(&id, at_us) else {
        eprintln!("meetgraph: no view of {node}");
        return EXIT_FATAL;
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    write_out(write_nodes_view(&mut out, &view).and_then(|_| out.flush())).max(status)
}

fn dump(input: &InputArgs, format: Format, stats: bool, quiet: bool, no_anomalies: bool) -> u8 {
    let (mut inputs, _) = match prepare(input, &[]) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let names: Vec<String> = inputs.iter().map(|i| i.file.name().to_string()).collect();
    let stdout = io::stdout();
    let out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let fmt = match format {
        Format::Text => DumpFormat::Text,
        Format::Jsonl => DumpFormat::Jsonl,
    };
    let mut writer = DumpWriter::new(out, fmt, &names);
    writer.messages = !quiet;
    writer.anomalies = !no_anomalies && !quiet;
    run_merged(&mut inputs, &mut writer);
    let (mut out, write_err) = writer.into_inner();
    let mut status = EXIT_OK;
    for i in &inputs {
        if let Some(e) = &i.error {
            eprintln!("meetgraph: {e}");
            status = EXIT_DAMAGED;
        }
    }
    if let Some(e) = write_err {
        if is_broken_pipe(&e) {
            return status;
        }
        eprintln!("meetgraph: writing output: {e}");
        return EXIT_FATAL;
    }
    if stats {
        let per: Vec<(String, _)> = inputs.iter().map(|i| (i.file.name().to_string(), i.pipeline.stats())).collect();
        let r = match format {
            Format::Text => write_stats_text(&mut out, &per),
            Format::Jsonl => write_stats_json(&mut out, &per),
        };
        if let Err(e) = r
            && !is_broken_pipe(&e)
        {
            eprintln!("meetgraph: writing output: {e}");
            return EXIT_FATAL;
        }
    }
    if let Err(e) = out.flush()
        && !is_broken_pipe(&e)
    {
        eprintln!("meetgraph: writing output: {e}");
        return EXIT_FATAL;
    }
    status
}
