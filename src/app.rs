//! Wires the layers for each subcommand and maps outcomes to exit codes:
//! 0 every input read, 1 an input was damaged (truncated or corrupt; what
//! was readable before the damage was still processed), 2 an input could
//! not be opened or is not a capture, or a flag is invalid.

use crate::cli::{Cli, Command, Format, InputArgs};
use meetgraph::capture::{CaptureError, CaptureFile};
use meetgraph::clusterbus::framer::FramerConfig;
use meetgraph::output::dump::{DumpFormat, DumpWriter};
use meetgraph::output::stats::{write_stats_json, write_stats_text};
use meetgraph::pipeline::{Input, Pipeline, PipelineConfig, PortFilter, run_merged};
use meetgraph::reassembly::ReassemblyConfig;
use std::io::{self, Write};

/// Exit codes.
pub const EXIT_OK: u8 = 0;
pub const EXIT_DAMAGED: u8 = 1;
pub const EXIT_FATAL: u8 = 2;

/// Parses `17000-17010,16379`.
pub fn parse_ports(s: &str) -> Result<PortFilter, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let lo: u16 = a
            .trim()
            .parse()
            .map_err(|_| format!("bad port {a:?} in {s:?}"))?;
        let hi: u16 = b
            .trim()
            .parse()
            .map_err(|_| format!("bad port {b:?} in {s:?}"))?;
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
        framer: FramerConfig {
            max_totlen: input.max_message,
            ..FramerConfig::default()
        },
        ports,
    })
}

/// Opens every input; on the first that cannot be opened, reports it.
fn open_inputs(input: &InputArgs, cfg: &PipelineConfig) -> Result<Vec<Input>, CaptureError> {
    let mut out = Vec::new();
    for (i, path) in input.files.iter().enumerate() {
        let file = CaptureFile::open(path)?;
        out.push(Input::new(file, Pipeline::new(i, cfg.clone())));
    }
    Ok(out)
}

fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Dump {
            input,
            format,
            stats,
            quiet,
            no_anomalies,
        } => dump(&input, format, stats, quiet, no_anomalies),
    }
}

fn dump(input: &InputArgs, format: Format, stats: bool, quiet: bool, no_anomalies: bool) -> u8 {
    let cfg = match pipeline_config(input) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("meetgraph: {e}");
            return EXIT_FATAL;
        }
    };
    let mut inputs = match open_inputs(input, &cfg) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("meetgraph: {e}");
            return EXIT_FATAL;
        }
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
        let per: Vec<(String, _)> = inputs
            .iter()
            .map(|i| (i.file.name().to_string(), i.pipeline.stats()))
            .collect();
        let r = match format {
            Format::Text => write_stats_text(&mut out, &per),
            Format::Jsonl => write_stats_json(&mut out, &per),
        };
        if let Err(e) = r {
            if !is_broken_pipe(&e) {
                eprintln!("meetgraph: writing output: {e}");
                return EXIT_FATAL;
            }
        }
    }
    if let Err(e) = out.flush() {
        if !is_broken_pipe(&e) {
            eprintln!("meetgraph: writing output: {e}");
            return EXIT_FATAL;
        }
    }
    status
}
