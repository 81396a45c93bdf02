//! `nodes --as ID`: what one node believed at one moment, as `CLUSTER
//! NODES` printed it.

use crate::app::config::{InputConfig, NodesConfig};
use crate::app::emit::write_stdout;
use crate::app::inputs::{damaged, open_vantages};
use meetgraph::error::{Error, Status};
use meetgraph::output::report::write_nodes_view;
use meetgraph::time::TimeSpec;

pub fn run(input: &InputConfig, cfg: &NodesConfig) -> Result<Status, Error> {
    let node = &cfg.node;
    let until = match cfg.at {
        None => None,
        Some(TimeSpec::Absolute(t)) => Some(t),
        // Relative to the first message: a first pass finds it.
        Some(spec) => {
            let (mut opened, acfg) = open_vantages(input, None)?;
            let first = meetgraph::run::analyze_inputs_with(&mut opened.inputs, acfg, input.threads).0.finish();
            Some(spec.resolve(first.t0_us().unwrap_or(0)))
        }
    };
    let (mut opened, mut acfg) = open_vantages(input, None)?;
    acfg.until_us = until;
    acfg.node_views = true;
    let (analyzer, stats) = meetgraph::run::analyze_inputs_with(&mut opened.inputs, acfg, input.threads);
    let status = damaged(&opened.inputs);
    let end = stats.iter().filter_map(|s| s.last_ts_us).max().unwrap_or(0);
    let at_us = until.unwrap_or(end);
    let ids = analyzer.node_ids();
    let matches: Vec<_> = ids.iter().filter(|n| n.as_str().starts_with(node.as_str())).collect();
    let id = match matches.as_slice() {
        [one] => **one,
        [] => return Err(Error::Usage(format!("no node {node:?} seen before that time"))),
        _ => {
            return Err(Error::Usage(format!("{node:?} matches {} nodes; give more characters", matches.len())));
        }
    };
    let view =
        analyzer.view_of(&id, at_us, cfg.server_version).ok_or_else(|| Error::Usage(format!("no view of {node}")))?;
    write_stdout(|w| write_nodes_view(w, &view))?;
    Ok(status)
}
