//! Wires the layers for each subcommand. Commands return
//! `Result<Status, Error>`; `main` prints an error once and maps it to the
//! documented exit status (README "Exit status"): 0 every input read, 1 an
//! input was damaged (truncated or corrupt; what was readable before the
//! damage was still processed), 2 an input could not be opened or is not a
//! capture, a flag is invalid, or an output cannot be written. Warnings
//! that do not stop a command go through [`warn`].

use crate::cli::{Cli, Command, Format, InputArgs};
use meetgraph::analysis::timeline::build_timeline;
use meetgraph::analysis::{Analysis, AnalysisConfig};
use meetgraph::capture::CaptureFile;
use meetgraph::capture::SelectSpec;
use meetgraph::clusterbus::framer::FramerConfig;
use meetgraph::error::{Error, Status};
use meetgraph::output::chart::{chart_format, write_chart};
use meetgraph::output::dot::{write_dot, write_mermaid};
use meetgraph::output::dump::{DumpFormat, DumpWriter};
use meetgraph::output::html::write_html;
use meetgraph::output::report::{ReportOptions, Style, write_json, write_nodes_view, write_report};
use meetgraph::output::stats::{write_stats_json, write_stats_text};
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig, PortFilter, run_merged};
use meetgraph::reassembly::ReassemblyConfig;
use meetgraph::run::OpenError;
use meetgraph::time::{TimeSpec, format_utc_us};
use meetgraph::vantage::{self, PlanError, Source};
use std::io::{self, Write};
use std::path::Path;

/// A message that does not end the command (damaged inputs).
pub fn warn(msg: &dyn std::fmt::Display) {
    eprintln!("meetgraph: {msg}");
}

/// Exit status of a command-line parse failure.
pub const EXIT_USAGE: u8 = 2;

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

fn pipeline_config(input: &InputArgs) -> Result<PipelineConfig, Error> {
    let ports = input.ports.as_deref().map(parse_ports).transpose().map_err(Error::Usage)?;
    if input.max_message < 16 {
        return Err(Error::Usage("--max-message must be at least 16".into()));
    }
    Ok(PipelineConfig {
        reassembly: ReassemblyConfig {
            max_pending_per_stream: input.max_stream_buffer,
            max_pending_total: input.max_total_buffer.max(input.max_stream_buffer),
            max_connections: input.max_connections.max(1),
            ..ReassemblyConfig::default()
        },
        framer: FramerConfig { max_totlen: input.max_message, ..FramerConfig::default() },
        ports,
        hosts: input.host.clone(),
    })
}

/// tcpdump's habits: `-r FILE` joins the files; positional arguments after
/// the files that are not files are the filter expression
/// (`f.pcap tcp port 17001`; with `-r`, all of them).
fn normalize(input: &mut InputArgs) -> Result<(), Error> {
    let exists = |p: &Path| p.as_os_str() == "-" || p.exists();
    let split = match input.files.iter().position(|p| !exists(p)) {
        Some(0) if input.read.is_empty() => None,
        Some(i) => Some(i),
        None => None,
    };
    if let Some(i) = split {
        let expr: Vec<String> = input.files.drain(i..).map(|p| p.to_string_lossy().into_owned()).collect();
        if input.filter.is_some() {
            return Err(Error::Usage(format!(
                "{:?} is not a file, and --filter is given too: give the filter once",
                expr.join(" ")
            )));
        }
        input.filter = Some(expr.join(" "));
    }
    if input.write.is_some() && input.interface.is_empty() {
        return Err(Error::Usage("-w saves a live capture: give -i IFACE too".into()));
    }
    let mut files = std::mem::take(&mut input.read);
    files.append(&mut input.files);
    input.files = files;
    Ok(())
}

/// Filter and count for file sources (live captures apply their own).
fn select_spec(input: &InputArgs) -> Result<SelectSpec, Error> {
    let spec = SelectSpec { filter: input.filter.clone(), count: input.count };
    if let Some(f) = &spec.filter
        && !input.files.is_empty()
    {
        meetgraph::capture::Bpf::new(f).map_err(Error::Usage)?;
    }
    Ok(spec)
}

pub fn run(cli: Cli) -> Result<Status, Error> {
    let mut cli = cli;
    match &mut cli.command {
        Command::Dump { input, .. }
        | Command::Analyze { input, .. }
        | Command::Nodes { input, .. }
        | Command::Events { input }
        | Command::Watch { input, .. } => normalize(input)?,
        Command::Completions { .. } | Command::Man => {}
    }
    let listing = match &cli.command {
        Command::Dump { input, .. }
        | Command::Analyze { input, .. }
        | Command::Nodes { input, .. }
        | Command::Events { input }
        | Command::Watch { input, .. } => input.list_interfaces,
        Command::Completions { .. } | Command::Man => false,
    };
    if listing {
        return list_interfaces();
    }
    let r = match cli.command {
        Command::Dump { input, format, stats, quiet, no_anomalies } => dump(&input, format, stats, quiet, no_anomalies),
        Command::Analyze { input, vantage, reference, json, chart, dot, mermaid, html, since, until, all } => {
            let outputs = Outputs {
                report: ReportOptions { all },
                json: json.as_deref(),
                chart: chart.as_deref(),
                dot: dot.as_deref(),
                mermaid: mermaid.as_deref(),
                html: html.as_deref(),
            };
            analyze(&input, &vantage, reference.as_deref(), &outputs, since.as_deref(), until.as_deref())
        }
        Command::Nodes { input, node, at, server_version } => {
            nodes(&input, &node, at.as_deref(), server_version.as_deref())
        }
        Command::Events { input } => events(&input),
        Command::Watch { input, json_events, metrics, interval } => {
            watch(&input, json_events.as_deref(), metrics.as_deref(), interval)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            write_stdout(|w| {
                clap_complete::generate(shell, &mut Cli::command(), "meetgraph", w);
                Ok(())
            })
            .map(|_| Status::Ok)
        }
        Command::Man => {
            use clap::CommandFactory;
            write_stdout(|w| clap_mangen::Man::new(Cli::command()).render(w)).map(|_| Status::Ok)
        }
    };
    match r {
        // `meetgraph … | head`: the reader left; nothing failed.
        Err(e) if e.is_broken_pipe() => Ok(Status::Ok),
        r => r,
    }
}

/// Inputs and vantage names: positional files (named by file name) and
/// `--vantage NAME=FILE` (`named`).
fn named_inputs(input: &InputArgs, vantage: &[String]) -> Result<Vec<Source>, Error> {
    let mut out = Vec::new();
    for p in &input.files {
        let name = p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
        out.push(Source { name, path: p.clone(), named: false });
    }
    for v in vantage {
        let bad = || Error::Usage(format!("--vantage {v:?}: expected NAME=FILE"));
        let (name, file) = v.split_once('=').ok_or_else(bad)?;
        if name.is_empty() || file.is_empty() {
            return Err(bad());
        }
        out.push(Source { name: name.to_string(), path: file.into(), named: true });
    }
    if out.is_empty() && input.interface.is_empty() {
        return Err(Error::Usage("no capture file given (or -i IFACE for a live capture)".into()));
    }
    Ok(out)
}

/// What identifies a file's content cheaply: its length and a hash of its
/// first MiB and last 64 KiB (`None` for stdin or an unreadable file).
fn content_id(path: &Path) -> Option<(u64, u64)> {
    use std::hash::{Hash, Hasher};
    use std::io::{Read, Seek, SeekFrom};
    if path.as_os_str() == "-" {
        return None;
    }
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut h = std::hash::DefaultHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let n = f.read(&mut buf).ok()?;
    buf[..n].hash(&mut h);
    if len > (1 << 20) {
        f.seek(SeekFrom::End(-(1 << 16))).ok()?;
        let n = f.read(&mut buf[..1 << 16]).ok()?;
        buf[..n].hash(&mut h);
    }
    Some((len, h.finish()))
}

/// The inputs without identical copies (warned about).
fn distinct(sources: Vec<Source>) -> Vec<Source> {
    // An identical copy of a capture adds nothing and would count its
    // messages twice: read each content once.
    let mut seen: Vec<((u64, u64), String)> = Vec::new();
    let mut out = Vec::new();
    for s in sources {
        if let Some(id) = content_id(&s.path) {
            if let Some((_, first)) = seen.iter().find(|(x, _)| *x == id) {
                warn(&format!("{}: an identical copy of {first}; read once", s.path.display()));
                continue;
            }
            seen.push((id, s.path.display().to_string()));
        }
        out.push(s);
    }
    out
}

/// One input per file, as given (`dump`: frames and names per file).
fn prepare_files(input: &InputArgs) -> Result<Vec<Input>, Error> {
    let cfg = pipeline_config(input)?;
    let select = select_spec(input)?;
    let sources = distinct(named_inputs(input, &[])?);
    let mut inputs = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        let src = select.apply(Box::new(CaptureFile::open(&s.path)?)).map_err(Error::Usage)?;
        inputs.push(Input::boxed(src, Pipeline::new(i, cfg.clone())));
    }
    if !input.interface.is_empty() {
        let idx = inputs.len();
        inputs.push(open_live(input, &input.interface, Pipeline::new(idx, cfg.clone()))?);
    }
    relinquish(input)?;
    Ok(inputs)
}

/// One input per vantage point (rotated files joined), each on the
/// reference clock, and the analysis settings that name them.
fn prepare(
    input: &InputArgs,
    vantage: &[String],
    reference: Option<&str>,
) -> Result<(Vec<Input>, AnalysisConfig), Error> {
    let cfg = pipeline_config(input)?;
    let select = select_spec(input)?;
    let sources = distinct(named_inputs(input, vantage)?);
    let (mut inputs, mut acfg) = if sources.is_empty() {
        (Vec::new(), AnalysisConfig::default())
    } else {
        let first_pass_threads = (input.threads == Some(1)).then_some(1);
        let plan = vantage::plan_on(&sources, reference, &cfg, first_pass_threads).map_err(|e| match e {
            PlanError::Capture(e) => Error::Capture(e),
            PlanError::UnknownReference(r) => Error::Usage(format!("--reference {r:?}: no capture of that name")),
        })?;
        for n in &plan.notes {
            warn(n);
        }
        meetgraph::run::open_plan(&plan, &cfg, &select).map_err(|e| match e {
            OpenError::Capture(e) => Error::Capture(e),
            OpenError::Select(s) => Error::Usage(s),
        })?
    };
    if !input.interface.is_empty() {
        let idx = inputs.len();
        inputs.push(open_live(input, &input.interface, Pipeline::new(idx, cfg.clone()))?);
        acfg.vantages.push(input.interface.iter().map(|i| format!("iface:{i}")).collect::<Vec<_>>().join("+"));
    }
    acfg.bounds =
        meetgraph::analysis::Bounds { max_events: input.max_events.max(2), max_nodes: input.max_nodes.max(1) };
    relinquish(input)?;
    Ok((inputs, acfg))
}

/// A progress bar on stderr while capture files are read: bytes of total,
/// rate, ETA. Only on a terminal, for files (not live, not stdin), never
/// with `--no-progress` or `dump -q`, and drawn only once reading has
/// taken a second. A second thread polls the byte counter ten times a
/// second, so reading is not slowed. Dropping it clears the bar.
struct Progress {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(input: &InputArgs, quiet: bool) -> Progress {
        use std::io::IsTerminal;
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let total: u64 = input
            .files
            .iter()
            .chain(&input.read)
            .filter_map(|p| std::fs::metadata(p).ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        let wanted = !quiet && !input.no_progress && input.interface.is_empty() && total > 0;
        if !wanted || !io::stderr().is_terminal() {
            return Progress { stop, thread: None };
        }
        let base = meetgraph::capture::pcap_file::bytes_read();
        let flag = stop.clone();
        // Tests shorten the first second (MEETGRAPH_PROGRESS_DELAY_MS).
        let delay = std::env::var("MEETGRAPH_PROGRESS_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(std::time::Duration::from_secs(1), std::time::Duration::from_millis);
        let thread = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let mut bar: Option<indicatif::ProgressBar> = None;
            loop {
                let done = flag.load(Ordering::Relaxed);
                if bar.is_none() && started.elapsed() >= delay {
                    let style = indicatif::ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
                    let b =
                        indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr())
                            .with_style(style);
                    bar = Some(b);
                }
                if let Some(b) = &bar {
                    b.set_position((meetgraph::capture::pcap_file::bytes_read() - base).min(total));
                }
                if done {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        });
        Progress { stop, thread: Some(thread) }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `--threads`: one reading thread per capture, or (1) all on one.
fn threads(input: &InputArgs) -> Result<meetgraph::run::Threads, Error> {
    match input.threads {
        None => Ok(meetgraph::run::Threads::PerInput),
        Some(0) => Err(Error::Usage("--threads 0: give 1 (one thread) or more".into())),
        Some(1) => Ok(meetgraph::run::Threads::One),
        Some(_) => Ok(meetgraph::run::Threads::PerInput),
    }
}

/// Packets libpcap dropped on the live capture (status line, metrics).
static LIVE_DROPS: std::sync::LazyLock<std::sync::Arc<std::sync::atomic::AtomicU64>> =
    std::sync::LazyLock::new(Default::default);

/// A live capture input (`-i IFACE`); Ctrl-C, `-c` or `--duration` end it.
#[cfg(feature = "live")]
fn open_live(input: &InputArgs, ifaces: &[String], pipeline: Pipeline) -> Result<Input, Error> {
    use meetgraph::capture::PacketSource;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Only one handler can be installed per process; a second live input
    // shares the first one's (the capture loop polls the flag every 200 ms).
    if ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)).is_err() {
        warn(&"Ctrl-C handler already installed; Ctrl-C ends the first live capture");
    }
    let mut caps = Vec::new();
    for iface in ifaces {
        let opts = meetgraph::capture::LiveOptions {
            interface: iface.to_string(),
            filter: input.filter.clone(),
            snaplen: input.snaplen,
            buffer_bytes: input.buffer_kib.saturating_mul(1024).min(i32::MAX as u32) as i32,
            count: input.count,
            duration: input.duration.map(std::time::Duration::from_secs_f64),
            stop: stop.clone(),
            drops: LIVE_DROPS.clone(),
        };
        caps.push(meetgraph::capture::LiveCapture::open(opts)?);
    }
    let live: Box<dyn PacketSource> = match caps.len() {
        1 => Box::new(caps.remove(0)),
        _ => Box::new(meetgraph::capture::MultiLive::new(caps)),
    };
    match &input.write {
        Some(path) => {
            let save = meetgraph::capture::SaveOptions {
                path: path.clone(),
                rotate_bytes: input.file_size.map(|mb| mb * 1_000_000),
                files: input.file_count,
            };
            Ok(Input::new(meetgraph::capture::Saved::new(live, save)?, pipeline))
        }
        None => Ok(Input::boxed(live, pipeline)),
    }
}

#[cfg(not(feature = "live"))]
fn open_live(_input: &InputArgs, ifaces: &[String], _pipeline: Pipeline) -> Result<Input, Error> {
    Err(Error::Usage(format!(
        "-i {}: this build has no live capture; rebuild with `cargo build --release --features live` (needs libpcap)",
        ifaces.join(" -i ")
    )))
}

/// Reports damaged inputs (once each) and packets of link types not
/// decoded; their status.
fn damaged(inputs: &[Input]) -> Status {
    let mut status = Status::Ok;
    for i in inputs {
        for (&link, n) in &i.pipeline.stats().unsupported_links {
            let link = meetgraph::capture::LinkType(link);
            warn(&format_args!(
                "{}: skipped {n} packet(s) of link type {link}, which meetgraph does not decode (it reads {})",
                i.file.name(),
                meetgraph::capture::LinkType::SUPPORTED
            ));
        }
    }
    for e in inputs.iter().filter_map(|i| i.error.as_ref()) {
        warn(e);
        status = Status::Damaged;
    }
    status
}

/// Files `analyze` writes besides the report.
struct Outputs<'a> {
    report: ReportOptions,
    json: Option<&'a Path>,
    chart: Option<&'a Path>,
    dot: Option<&'a Path>,
    mermaid: Option<&'a Path>,
    html: Option<&'a Path>,
}

fn parse_time_flag(flag: &str, v: Option<&str>) -> Result<Option<TimeSpec>, Error> {
    v.map(|s| {
        TimeSpec::parse(s).ok_or_else(|| {
            Error::Usage(format!(
                "{flag} {s:?}: expected 2026-11-24T18:49:40.5Z (any UTC offset), a time of day such as 18:49:40.5, +6.923s after the first message, or microseconds"
            ))
        })
    })
    .transpose()
}

/// `--since`/`--until` on the first message's clock; an inverted window is
/// an error.
fn window(
    since: Option<TimeSpec>,
    until: Option<TimeSpec>,
    t0: Option<i64>,
) -> Result<(Option<i64>, Option<i64>), Error> {
    let t0 = t0.unwrap_or(0);
    let (s, u) = (since.map(|x| x.resolve(t0)), until.map(|x| x.resolve(t0)));
    if let (Some(a), Some(b)) = (s, u)
        && a > b
    {
        return Err(Error::Usage(format!(
            "--since {} is after --until {}: an empty window",
            format_utc_us(a),
            format_utc_us(b)
        )));
    }
    Ok((s, u))
}

fn write_file(path: &Path, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    std::fs::File::create(path)
        .and_then(|file| {
            let mut w = io::BufWriter::new(file);
            f(&mut w)?;
            w.flush()
        })
        .map_err(|e| Error::write_file(path, e))
}

/// Writes to standard output.
fn write_stdout(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    f(&mut out).and_then(|_| out.flush()).map_err(|e| Error::write("writing output", e))
}

fn write_visuals(analysis: &Analysis, o: &Outputs<'_>, since: Option<i64>, until: Option<i64>) -> Result<(), Error> {
    if o.chart.is_none() && o.dot.is_none() && o.mermaid.is_none() && o.html.is_none() {
        return Ok(());
    }
    let timeline = build_timeline(analysis, since, until);
    if let Some(p) = o.chart {
        write_chart(p, &timeline)?;
    }
    if let Some(p) = o.dot {
        emit(p, |w| write_dot(w, analysis, &timeline))?;
    }
    if let Some(p) = o.mermaid {
        emit(p, |w| write_mermaid(w, analysis, &timeline))?;
    }
    if let Some(p) = o.html {
        emit(p, |w| write_html(w, analysis, &timeline))?;
    }
    Ok(())
}

/// Writes to `path`, or to standard output for `-`.
fn emit(path: &Path, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    if path.as_os_str() == "-" { write_stdout(f) } else { write_file(path, f) }
}

impl Outputs<'_> {
    /// Checks the outputs before any reading: at most one on stdout, a
    /// chart format that can be drawn.
    fn check(&self) -> Result<(), Error> {
        let all = [
            ("--json", self.json),
            ("--chart", self.chart),
            ("--dot", self.dot),
            ("--mermaid", self.mermaid),
            ("--html", self.html),
        ];
        let stdout: Vec<&str> =
            all.iter().filter(|(_, p)| p.is_some_and(|p| p.as_os_str() == "-")).map(|(f, _)| *f).collect();
        if stdout.len() > 1 {
            return Err(Error::Usage(format!(
                "{} all ask for standard output (-); give files to all but one",
                stdout.join(" and ")
            )));
        }
        if let Some(p) = self.chart
            && chart_format(p).is_none()
        {
            return Err(Error::Chart(meetgraph::output::chart::ChartError::Format(p.to_path_buf())));
        }
        Ok(())
    }

    /// An output goes to standard output instead of the report.
    fn takes_stdout(&self) -> bool {
        [self.json, self.chart, self.dot, self.mermaid, self.html]
            .iter()
            .any(|p| p.is_some_and(|p| p.as_os_str() == "-"))
    }
}

fn analyze(
    input: &InputArgs,
    vantage: &[String],
    reference: Option<&str>,
    o: &Outputs<'_>,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<Status, Error> {
    let (since, until) = (parse_time_flag("--since", since)?, parse_time_flag("--until", until)?);
    o.check()?;
    let (mut inputs, cfg) = prepare(input, vantage, reference)?;
    let progress = Progress::start(input, false);
    let analysis = meetgraph::run::analyze_inputs_with(&mut inputs, cfg, threads(input)?).0.finish();
    drop(progress);
    let (since, until) = window(since, until, analysis.t0_us())?;
    let mut status = damaged(&inputs);
    if !analysis.coverage.complete {
        status = status.max(Status::Incomplete);
    }
    write_visuals(&analysis, o, since, until)?;
    if let Some(path) = o.json {
        emit(path, |w| write_json(w, &analysis))?;
    }
    if !o.takes_stdout() {
        let colour = {
            use std::io::IsTerminal;
            meetgraph::output::watch::use_colour(io::stdout().is_terminal())
        };
        let style = if colour { Style::Colour } else { Style::Plain };
        write_stdout(|w| write_report(w, &analysis, &o.report, style))?;
    }
    Ok(status)
}

fn events(input: &InputArgs) -> Result<Status, Error> {
    let (mut inputs, cfg) = prepare(input, &[], None)?;
    let names = cfg.vantages;
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
    match err {
        Some(e) => Err(e),
        None => out.flush(),
    }
    .map_err(|e| Error::write("writing output", e))?;
    Ok(status)
}

/// `X.Y` (or `X.Y.Z`, `X`) → (X, Y).
fn parse_version(v: &str) -> Result<(u32, u32), Error> {
    let parts: Vec<Option<u32>> = v.split('.').map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [Some(a)] => Ok((*a, 0)),
        [Some(a), Some(b), ..] => Ok((*a, *b)),
        _ => Err(Error::Usage(format!("--server-version {v:?}: expected X.Y, e.g. 4.0 or 7.2"))),
    }
}

fn nodes(input: &InputArgs, node: &str, at: Option<&str>, version: Option<&str>) -> Result<Status, Error> {
    let version = version.map(parse_version).transpose()?;
    let until = match parse_time_flag("--at", at)? {
        None => None,
        Some(TimeSpec::Absolute(t)) => Some(t),
        // Relative to the first message: a first pass finds it.
        Some(spec) => {
            let (mut inputs, cfg) = prepare(input, &[], None)?;
            let first = meetgraph::run::analyze(&mut inputs, cfg);
            Some(spec.resolve(first.t0_us().unwrap_or(0)))
        }
    };
    let (mut inputs, mut cfg) = prepare(input, &[], None)?;
    cfg.until_us = until;
    cfg.node_views = true;
    let (analyzer, stats) = meetgraph::run::analyze_inputs(&mut inputs, cfg);
    let status = damaged(&inputs);
    let end = stats.iter().filter_map(|s| s.last_ts_us).max().unwrap_or(0);
    let at_us = until.unwrap_or(end);
    let ids = analyzer.node_ids();
    let matches: Vec<_> = ids.iter().filter(|n| n.as_str().starts_with(node)).collect();
    let id = match matches.as_slice() {
        [one] => **one,
        [] => return Err(Error::Usage(format!("no node {node:?} seen before that time"))),
        _ => {
            return Err(Error::Usage(format!("{node:?} matches {} nodes; give more characters", matches.len())));
        }
    };
    let view = analyzer.view_of(&id, at_us, version).ok_or_else(|| Error::Usage(format!("no view of {node}")))?;
    write_stdout(|w| write_nodes_view(w, &view))?;
    Ok(status)
}

fn dump(input: &InputArgs, format: Format, stats: bool, quiet: bool, no_anomalies: bool) -> Result<Status, Error> {
    use std::io::IsTerminal;
    let mut inputs = prepare_files(input)?;
    // A bar only when the lines go elsewhere than the terminal it is drawn on.
    let _progress = Progress::start(input, quiet || io::stdout().is_terminal());
    // Captures are named as `analyze` names them: by file name (`#2` for a
    // second file of the same name).
    let mut names: Vec<String> = Vec::new();
    for i in &inputs {
        let full = i.file.name();
        let base = Path::new(full).file_name().map_or_else(|| full.to_string(), |n| n.to_string_lossy().into_owned());
        let mut name = base.clone();
        let mut k = 2;
        while names.contains(&name) {
            name = format!("{base}#{k}");
            k += 1;
        }
        names.push(name);
    }
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
    let status = damaged(&inputs);
    let written = match write_err {
        Some(e) => Err(e),
        None if stats => {
            let per: Vec<(String, _)> =
                inputs.iter().map(|i| (i.file.name().to_string(), i.pipeline.stats())).collect();
            match format {
                Format::Text => write_stats_text(&mut out, &per),
                Format::Jsonl => write_stats_json(&mut out, &per),
            }
        }
        None => Ok(()),
    };
    written.and_then(|_| out.flush()).map_err(|e| Error::write("writing output", e))?;
    Ok(status)
}

/// `watch`: events told as they become known.
fn watch(input: &InputArgs, json_events: Option<&Path>, metrics: Option<&str>, interval: f64) -> Result<Status, Error> {
    use meetgraph::output::watch::{use_colour, write_alert, write_alert_json};
    use std::io::IsTerminal;
    if !(interval > 0.0 && interval.is_finite()) {
        return Err(Error::Usage(format!("--interval {interval}: give a positive number of seconds")));
    }
    let exposition = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    if let Some(addr) = metrics {
        serve_metrics(addr, exposition.clone())?;
    }
    let mut by_kind: std::collections::BTreeMap<meetgraph::analysis::alerts::AlertKind, u64> = Default::default();
    let (mut inputs, cfg) = prepare(input, &[], None)?;
    let json_on_stdout = json_events.is_some_and(|p| p.as_os_str() == "-");
    let mut json_file = match json_events {
        Some(p) if !json_on_stdout => {
            Some(io::BufWriter::new(std::fs::File::create(p).map_err(|e| Error::write_file(p, e))?))
        }
        _ => None,
    };
    let colour = use_colour(io::stdout().is_terminal());
    let live = !input.interface.is_empty();
    let status = live && io::stderr().is_terminal();
    let mut err: Option<Error> = None;
    let analysis = meetgraph::run::watch(&mut inputs, cfg, (interval * 1e6) as i64, |alerts, a| {
        if err.is_some() {
            return;
        }
        let stdout = io::stdout();
        let mut out = stdout.lock();
        let mut r = Ok(());
        for x in alerts {
            r = r.and_then(|_| {
                if json_on_stdout { write_alert_json(&mut out, x) } else { write_alert(&mut out, x, colour) }
            });
            if let Some(f) = json_file.as_mut() {
                r = r.and_then(|_| write_alert_json(f, x));
            }
        }
        r = r.and_then(|_| out.flush());
        if let Some(f) = json_file.as_mut() {
            r = r.and_then(|_| f.flush());
        }
        if let Err(e) = r {
            err = Some(Error::write("writing events", e));
        }
        for x in alerts {
            *by_kind.entry(x.kind).or_default() += 1;
        }
        if let Ok(mut m) = exposition.lock() {
            let drops = LIVE_DROPS.load(std::sync::atomic::Ordering::Relaxed);
            *m = meetgraph::output::metrics::exposition(a, &by_kind, live.then_some(drops));
        }
        if status {
            eprint!(
                "\r{} libpcap drops, {} messages, {} bus flows, {} nodes, {} clusters before, {} merges ",
                LIVE_DROPS.load(std::sync::atomic::Ordering::Relaxed),
                a.captures.iter().map(|c| c.messages).sum::<u64>(),
                a.coverage.bus_streams,
                a.nodes.len(),
                a.clusters.len(),
                a.merges.len()
            );
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    if live {
        // As tcpdump does when it stops.
        let packets: u64 = inputs.iter().map(|i| i.pipeline.stats().packets).sum();
        let drops = LIVE_DROPS.load(std::sync::atomic::Ordering::Relaxed);
        if status {
            eprintln!();
        }
        eprintln!("{packets} packets captured, {drops} dropped by libpcap");
    }
    let mut status = damaged(&inputs);
    if !analysis.coverage.complete {
        status = status.max(Status::Incomplete);
    }
    Ok(status)
}

/// `-D`: the interfaces libpcap can capture on.
#[cfg(feature = "live")]
fn list_interfaces() -> Result<Status, Error> {
    let devices = pcap::Device::list().map_err(|e| Error::Usage(format!("cannot list interfaces: {e}")))?;
    write_stdout(|w| {
        for (i, d) in devices.iter().enumerate() {
            let desc = d.desc.as_deref().map(|x| format!(" ({x})")).unwrap_or_default();
            writeln!(w, "{}.{}{desc}", i + 1, d.name)?;
        }
        Ok(())
    })?;
    Ok(Status::Ok)
}

#[cfg(not(feature = "live"))]
fn list_interfaces() -> Result<Status, Error> {
    Err(Error::Usage("listing interfaces needs libpcap: build meetgraph with `--features live`".into()))
}

/// A tiny HTTP server answering every request with the latest exposition
/// (Prometheus scrapes `GET /metrics`).
fn serve_metrics(addr: &str, text: std::sync::Arc<std::sync::Mutex<String>>) -> Result<(), Error> {
    use std::io::Read;
    let listener = std::net::TcpListener::bind(addr).map_err(|e| Error::Usage(format!("--metrics {addr}: {e}")))?;
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(2)));
            let mut buf = [0u8; 2048];
            let _ = conn.read(&mut buf);
            let body = text.lock().map(|t| t.clone()).unwrap_or_default();
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok(())
}

/// `-Z USER`: once the interfaces are open, become USER (group first).
#[cfg(feature = "live")]
fn relinquish(input: &InputArgs) -> Result<(), Error> {
    let Some(name) = &input.user else { return Ok(()) };
    use nix::unistd::{User, setgid, setgroups, setuid};
    let user = User::from_name(name)
        .map_err(|e| Error::Usage(format!("-Z {name}: {e}")))?
        .ok_or_else(|| Error::Usage(format!("-Z {name}: no such user")))?;
    if nix::unistd::getuid() == user.uid {
        return Ok(());
    }
    let fail = |what: &str, e: nix::Error| {
        Error::Usage(format!("-Z {name}: cannot {what}: {e} (run as root to drop privileges)"))
    };
    setgroups(&[user.gid]).map_err(|e| fail("set groups", e))?;
    setgid(user.gid).map_err(|e| fail("set group", e))?;
    setuid(user.uid).map_err(|e| fail("set user", e))?;
    Ok(())
}

#[cfg(not(feature = "live"))]
fn relinquish(input: &InputArgs) -> Result<(), Error> {
    match &input.user {
        Some(_) => {
            Err(Error::Usage("-Z drops privileges after a live capture opens: build with `--features live`".into()))
        }
        None => Ok(()),
    }
}
