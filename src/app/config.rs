//! The command line made into one validated [`Config`], as ripgrep makes
//! its raw flags (`LowArgs`) into `HiArgs`: tcpdump's habits applied (`-r`,
//! a trailing filter expression), every flag checked and turned into the
//! settings the layers take, before any input is opened. Commands receive
//! a `Config`, never clap's structs.

use crate::cli::{Cli, Command, Format, InputArgs};
use meetgraph::analysis::Bounds;
use meetgraph::capture::{Bpf, SaveOptions, SelectSpec};
use meetgraph::clusterbus::framer::FramerConfig;
use meetgraph::error::Error;
use meetgraph::output::chart::{ChartError, chart_format};
use meetgraph::output::dump::DumpFormat;
use meetgraph::pipeline::{PipelineConfig, PortFilter};
use meetgraph::reassembly::ReassemblyConfig;
use meetgraph::run::Threads;
use meetgraph::time::TimeSpec;
use meetgraph::vantage::Source;
use meetgraph::vantage::names::file_name;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Exit status of a command-line parse failure.
pub const EXIT_USAGE: u8 = 2;

/// What to do, every flag checked.
pub enum Config {
    /// `-D`: list the interfaces a live capture can use.
    ListInterfaces,
    Completions(clap_complete::Shell),
    /// `man [COMMAND]`.
    Man(Option<String>),
    Dissector,
    Dump(InputConfig, DumpConfig),
    Analyze(InputConfig, AnalyzeConfig),
    Nodes(InputConfig, NodesConfig),
    Watch(InputConfig, WatchConfig),
    Events(InputConfig),
    Audit(InputConfig, AuditConfig),
}

pub struct AuditConfig {
    /// `--json FILE` (`-` for standard output).
    pub json: Option<PathBuf>,
    /// `--until`: the analysis stops there.
    pub until: Option<TimeSpec>,
}

/// What to read, and how: the flags every reading command shares.
pub struct InputConfig {
    /// Files in order: positional and `-r` ones (named by file name), then
    /// `--vantage NAME=FILE`.
    pub sources: Vec<Source>,
    /// `-i`: a live capture.
    pub live: Option<LiveConfig>,
    /// `-f` and `-c` for file sources (a live capture applies its own).
    pub select: SelectSpec,
    pub pipeline: PipelineConfig,
    pub bounds: Bounds,
    pub threads: Threads,
    /// A progress bar may be drawn (`--no-progress` not given).
    pub progress: bool,
    /// `-Z USER`: become USER once the inputs are open.
    pub user: Option<String>,
}

/// A live capture: `-i` and the flags that shape it (read only by the
/// `live` build; the others say it is missing).
#[cfg_attr(not(feature = "live"), allow(dead_code))]
pub struct LiveConfig {
    pub interfaces: Vec<String>,
    pub filter: Option<String>,
    /// Narrow the kernel's filter to the bus (no `-f`, no `--no-auto-filter`).
    pub auto_filter: bool,
    pub snaplen: i32,
    /// libpcap's kernel buffer (bytes).
    pub buffer_bytes: i32,
    pub count: Option<u64>,
    pub duration: Option<Duration>,
    /// `-w` (`-C`, `-W`): also saved.
    pub save: Option<SaveOptions>,
}

pub struct DumpConfig {
    pub format: DumpFormat,
    /// `--stats`: the counters at the end.
    pub stats: bool,
    /// `-q`: no per-message lines (and no progress bar).
    pub quiet: bool,
    /// Anomaly lines between messages.
    pub anomalies: bool,
}

pub struct AnalyzeConfig {
    /// `--reference NAME`: the clock every time is given on.
    pub reference: Option<String>,
    pub outputs: Outputs,
    /// The chart window.
    pub since: Option<TimeSpec>,
    pub until: Option<TimeSpec>,
}

/// What `analyze` writes besides the report, and whether the report lists
/// every finding.
pub struct Outputs {
    pub all: bool,
    pub json: Option<PathBuf>,
    pub chart: Option<PathBuf>,
    pub dot: Option<PathBuf>,
    pub mermaid: Option<PathBuf>,
    pub html: Option<PathBuf>,
    /// `--annotate`: every packet, commented, in one pcapng file.
    pub annotate: Option<PathBuf>,
}

pub struct NodesConfig {
    /// `--as`: a node id or a unique prefix.
    pub node: String,
    pub at: Option<TimeSpec>,
    /// `--server-version X.Y`.
    pub server_version: Option<(u32, u32)>,
}

pub struct WatchConfig {
    /// `--json-events FILE` (`-` for standard output).
    pub json_events: Option<PathBuf>,
    /// `--metrics ADDR:PORT`.
    pub metrics: Option<String>,
    /// Capture time between looks at the evidence.
    pub interval_us: i64,
}

impl Config {
    /// Checks every flag of `cli`.
    pub fn from_cli(cli: Cli) -> Result<Config, Error> {
        Ok(match cli.command {
            Command::Completions { shell } => Config::Completions(shell),
            Command::Man { command } => {
                let names = crate::app::cmd::man::command_names();
                if let Some(c) = command.as_deref().filter(|c| !names.iter().any(|n| n == c)) {
                    return Err(Error::Usage(format!("man {c}: no such command; give one of {}", names.join(", "))));
                }
                Config::Man(command)
            }
            Command::Dissector => Config::Dissector,
            Command::Dump { input, format, stats, quiet, no_anomalies } => {
                let Some(input) = normalize(input)? else { return Ok(Config::ListInterfaces) };
                let format = match format {
                    Format::Text => DumpFormat::Text,
                    Format::Jsonl => DumpFormat::Jsonl,
                };
                let dump = DumpConfig { format, stats, quiet, anomalies: !no_anomalies && !quiet };
                Config::Dump(input_config(input, &[])?, dump)
            }
            Command::Analyze {
                input,
                vantage,
                reference,
                json,
                chart,
                dot,
                mermaid,
                html,
                annotate,
                since,
                until,
                all,
            } => {
                let Some(input) = normalize(input)? else { return Ok(Config::ListInterfaces) };
                let (since, until) = (time_flag("--since", since)?, time_flag("--until", until)?);
                let outputs = Outputs { all, json, chart, dot, mermaid, html, annotate };
                outputs.check()?;
                Config::Analyze(input_config(input, &vantage)?, AnalyzeConfig { reference, outputs, since, until })
            }
            Command::Nodes { input, node, at, server_version } => {
                let Some(input) = normalize(input)? else { return Ok(Config::ListInterfaces) };
                let server_version = server_version.as_deref().map(parse_version).transpose()?;
                let at = time_flag("--at", at)?;
                Config::Nodes(input_config(input, &[])?, NodesConfig { node, at, server_version })
            }
            Command::Watch { input, json_events, metrics, interval } => {
                let Some(input) = normalize(input)? else { return Ok(Config::ListInterfaces) };
                if !(interval > 0.0 && interval.is_finite()) {
                    return Err(Error::Usage(format!("--interval {interval}: give a positive number of seconds")));
                }
                let watch = WatchConfig { json_events, metrics, interval_us: (interval * 1e6) as i64 };
                Config::Watch(input_config(input, &[])?, watch)
            }
            Command::Audit { input, json, until } => {
                let Some(input) = normalize(input)? else { return Ok(Config::ListInterfaces) };
                let until = time_flag("--until", until)?;
                Config::Audit(input_config(input, &[])?, AuditConfig { json, until })
            }
            Command::Events { input } => {
                let Some(input) = normalize(input)? else { return Ok(Config::ListInterfaces) };
                Config::Events(input_config(input, &[])?)
            }
        })
    }
}

/// tcpdump's habits: `-r FILE` joins the files; positional arguments after
/// the files that are not files are the filter expression
/// (`f.pcap tcp port 17001`; with `-r`, all of them). `None`: `-D`.
fn normalize(mut input: InputArgs) -> Result<Option<InputArgs>, Error> {
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
    Ok((!input.list_interfaces).then_some(input))
}

/// The shared flags, checked: pipeline limits, the filter, the sources,
/// threads, the live capture.
fn input_config(input: InputArgs, vantage: &[String]) -> Result<InputConfig, Error> {
    let pipeline = pipeline_config(&input)?;
    // Files are filtered here; a live capture compiles its own filter.
    if let Some(f) = &input.filter
        && !(input.files.is_empty() && vantage.is_empty())
    {
        Bpf::new(f)?;
    }
    let sources = sources(&input, vantage)?;
    let threads = match input.threads {
        Some(0) => return Err(Error::Usage("--threads 0: give 1 (one thread) or more".into())),
        Some(1) => Threads::One,
        None | Some(_) => Threads::PerInput,
    };
    let duration = match input.duration {
        None => None,
        Some(s) => Some(
            Duration::try_from_secs_f64(s)
                .map_err(|_| Error::Usage(format!("--duration {s}: give a number of seconds")))?,
        ),
    };
    let live = (!input.interface.is_empty()).then(|| LiveConfig {
        interfaces: input.interface.clone(),
        filter: input.filter.clone(),
        auto_filter: input.filter.is_none() && !input.no_auto_filter,
        snaplen: input.snaplen,
        buffer_bytes: input.buffer_kib.saturating_mul(1024).min(i32::MAX as u32) as i32,
        count: input.count,
        duration,
        save: input.write.clone().map(|path| SaveOptions {
            path,
            rotate_bytes: input.file_size.map(|mb| mb * 1_000_000),
            files: input.file_count,
        }),
    });
    Ok(InputConfig {
        sources,
        live,
        select: SelectSpec { filter: input.filter, count: input.count },
        pipeline,
        bounds: Bounds { max_events: input.max_events.max(2), max_nodes: input.max_nodes.max(1) },
        threads,
        progress: !input.no_progress,
        user: input.user,
    })
}

fn pipeline_config(input: &InputArgs) -> Result<PipelineConfig, Error> {
    let ports = input.ports.as_deref().map(parse_ports).transpose()?;
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
        learn: None,
    })
}

/// Parses `17000-17010,16379`.
fn parse_ports(s: &str) -> Result<PortFilter, Error> {
    let bad = |what: String| Error::Usage(what);
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let lo: u16 = a.trim().parse().map_err(|_| bad(format!("bad port {a:?} in {s:?}")))?;
        let hi: u16 = b.trim().parse().map_err(|_| bad(format!("bad port {b:?} in {s:?}")))?;
        if lo > hi {
            return Err(bad(format!("bad port range {part:?}")));
        }
        out.push((lo, hi));
    }
    if out.is_empty() {
        return Err(bad(format!("no ports in {s:?}")));
    }
    Ok(PortFilter(out))
}

/// Positional files (named by file name) and `--vantage NAME=FILE`
/// (`named`); at least one of them, or a live capture.
fn sources(input: &InputArgs, vantage: &[String]) -> Result<Vec<Source>, Error> {
    let mut out: Vec<Source> =
        input.files.iter().map(|p| Source { name: file_name(p), path: p.clone(), named: false }).collect();
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

fn time_flag(flag: &str, v: Option<String>) -> Result<Option<TimeSpec>, Error> {
    v.map(|s| {
        TimeSpec::parse(&s).ok_or_else(|| {
            Error::Usage(format!(
                "{flag} {s:?}: expected 2026-11-24T18:49:40.5Z (any UTC offset), a time of day such as 18:49:40.5, +6.923s after the first message, or microseconds"
            ))
        })
    })
    .transpose()
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

impl Outputs {
    fn all(&self) -> [(&'static str, Option<&Path>); 5] {
        [
            ("--json", self.json.as_deref()),
            ("--chart", self.chart.as_deref()),
            ("--dot", self.dot.as_deref()),
            ("--mermaid", self.mermaid.as_deref()),
            ("--html", self.html.as_deref()),
        ]
    }

    /// Checks the outputs before any reading: at most one on stdout, a
    /// chart format that can be drawn.
    fn check(&self) -> Result<(), Error> {
        let stdout: Vec<&str> =
            self.all().into_iter().filter(|(_, p)| p.is_some_and(is_stdout)).map(|(f, _)| f).collect();
        if stdout.len() > 1 {
            return Err(Error::Usage(format!(
                "{} all ask for standard output (-); give files to all but one",
                stdout.join(" and ")
            )));
        }
        if let Some(p) = &self.chart
            && chart_format(p).is_none()
        {
            return Err(Error::Chart(ChartError::Format(p.clone())));
        }
        // `--json samples/x/*.pcap.gz`: the shell's first file becomes the
        // output. Never write over a packet capture.
        if let Some((flag, p)) = self.all().into_iter().find_map(|(f, p)| p.filter(|p| is_capture(p)).map(|p| (f, p))) {
            return Err(Error::Usage(format!(
                "{flag} {}: that file is a packet capture (did a shell glob after {flag} give it as the output?); write to another file",
                p.display()
            )));
        }
        Ok(())
    }

    /// An output goes to standard output instead of the report.
    pub fn takes_stdout(&self) -> bool {
        self.all().into_iter().any(|(_, p)| p.is_some_and(is_stdout))
    }
}

/// An existing file that starts as a pcap, pcapng or gzip file does.
fn is_capture(p: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(p).and_then(|mut f| f.read_exact(&mut magic));
    read.is_ok()
        && (magic[..2] == [0x1f, 0x8b]
            || [0xa1b2c3d4u32, 0xa1b23c4d, 0x0a0d0d0a]
                .iter()
                .any(|m| magic == m.to_be_bytes() || magic == m.to_le_bytes()))
}

/// `-`: standard output.
pub fn is_stdout(p: &Path) -> bool {
    p.as_os_str() == "-"
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
