//! `dump`: one line per cluster-bus message of every file, in capture-time
//! order, anomalies between them, and the counters with `--stats`.

use crate::app::config::{DumpConfig, InputConfig};
use crate::app::inputs::{damaged, open_files};
use crate::app::progress::Progress;
use meetgraph::error::{Error, Status};
use meetgraph::output::dump::{DumpFormat, DumpWriter};
use meetgraph::output::stats::{write_stats_json, write_stats_text};
use meetgraph::run::run_merged;
use std::io::{self, IsTerminal, Write};

pub fn run(input: &InputConfig, cfg: &DumpConfig) -> Result<Status, Error> {
    let (mut opened, names) = open_files(input)?;
    // A bar only when the lines go elsewhere than the terminal it is drawn on.
    let _progress = Progress::start(input, &opened.bytes_read, cfg.quiet || io::stdout().is_terminal());
    let stdout = io::stdout();
    let out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut writer = DumpWriter::new(out, cfg.format, &names);
    writer.messages = !cfg.quiet;
    writer.anomalies = cfg.anomalies;
    run_merged(&mut opened.inputs, &mut writer);
    let (mut out, write_err) = writer.into_inner();
    let inputs = &opened.inputs;
    let status = damaged(inputs);
    let written = match write_err {
        Some(e) => Err(e),
        None if cfg.stats => {
            let per: Vec<(String, _)> =
                inputs.iter().map(|i| (i.file.name().to_string(), i.pipeline.stats())).collect();
            match cfg.format {
                DumpFormat::Text => write_stats_text(&mut out, &per),
                DumpFormat::Jsonl => write_stats_json(&mut out, &per),
            }
        }
        None => Ok(()),
    };
    written.and_then(|_| out.flush()).map_err(|e| Error::write("writing output", e))?;
    Ok(status)
}
