//! `events`: the events the analysis consumes, as JSON lines, each with
//! its capture's name.

use crate::app::config::InputConfig;
use crate::app::inputs::{damaged, open_vantages};
use meetgraph::error::{Error, Status};
use meetgraph::events::{BusEvent, EventSink};
use meetgraph::run::run_merged;
use std::io::{self, Write};

pub fn run(input: &InputConfig) -> Result<Status, Error> {
    let (mut opened, cfg) = open_vantages(input, None)?;
    let names = cfg.vantages;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut err: Option<io::Error> = None;
    {
        let mut sink = EventSink::new(|e: BusEvent| {
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
        run_merged(&mut opened.inputs, &mut sink);
    }
    let status = damaged(&opened.inputs);
    match err {
        Some(e) => Err(e),
        None => out.flush(),
    }
    .map_err(|e| Error::write("writing output", e))?;
    Ok(status)
}
