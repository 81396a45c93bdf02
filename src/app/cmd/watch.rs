//! `watch`: events told as they become known (a live capture, or files
//! replayed at full speed), as lines for people and JSON lines, with a
//! status line on a terminal and Prometheus metrics on request.

use crate::app::config::{InputConfig, WatchConfig, is_stdout};
use crate::app::inputs::{damaged, open_vantages};
use crate::app::metrics::Exposition;
use meetgraph::analysis::alerts::Alert;
use meetgraph::analysis::alerts::AlertKind;
use meetgraph::capture::{LinkEvent, Links};
use meetgraph::error::{Error, Status};
use meetgraph::output::watch::{use_colour, write_alert, write_alert_json};
use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// Events told so far, by kind: by the watch loop and, as they happen, by
/// the interfaces' listener.
type ToldByKind = Arc<Mutex<BTreeMap<AlertKind, u64>>>;
/// The `--json-events` file (when not standard output).
type JsonFile = Arc<Mutex<Option<io::BufWriter<std::fs::File>>>>;

/// Events to standard output (lines, or JSON lines) and the JSON file.
fn write_events(alerts: &[Alert], json_on_stdout: bool, colour: bool, json_file: &JsonFile) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut file = json_file.lock().map_err(|_| io::Error::other("events file lock"))?;
    for x in alerts {
        if json_on_stdout { write_alert_json(&mut out, x) } else { write_alert(&mut out, x, colour) }?;
        if let Some(f) = file.as_mut() {
            write_alert_json(f, x)?;
        }
    }
    out.flush()?;
    if let Some(f) = file.as_mut() {
        f.flush()?;
    }
    Ok(())
}

/// An interface going down or coming back is an event as it happens
/// (from the capture's thread: nothing may be read meanwhile), and the
/// interfaces' metrics follow.
/// `told`: events by kind (for `meetgraph_events_total`), these counted.
fn tell_interfaces(
    links: &Links,
    exposition: &Exposition,
    json_on_stdout: bool,
    colour: bool,
    json_file: JsonFile,
    told: ToldByKind,
) {
    let metrics = |links: &Links| {
        let states: Vec<(String, bool, u64)> =
            links.statuses().into_iter().map(|s| (s.interface, s.up, s.outages)).collect();
        meetgraph::output::metrics::interfaces_exposition(&states)
    };
    exposition.set_interfaces(metrics(links));
    let (mine, exposition) = (links.clone(), exposition.clone());
    links.listen(move |c| {
        exposition.set_interfaces(metrics(&mine));
        if c.event == LinkEvent::Retrying {
            return;
        }
        let alert = Alert::interface(c.ts_us, c.event == LinkEvent::Down, &c.interface, crate::app::live::link_line(c));
        if let Ok(mut t) = told.lock() {
            *t.entry(alert.kind).or_default() += 1;
        }
        // A failed write shows at the next event the watch loop writes.
        let _ = write_events(&[alert], json_on_stdout, colour, &json_file);
    });
}

pub fn run(input: &InputConfig, cfg: &WatchConfig) -> Result<Status, Error> {
    let exposition = Exposition::default();
    if let Some(addr) = &cfg.metrics {
        exposition.serve(addr)?;
    }
    let by_kind = ToldByKind::default();
    let (mut opened, acfg) = open_vantages(input, None)?;
    let json_on_stdout = cfg.json_events.as_deref().is_some_and(is_stdout);
    let json_file = match &cfg.json_events {
        Some(p) if !json_on_stdout => {
            Some(io::BufWriter::new(std::fs::File::create(p).map_err(|e| Error::write_file(p, e))?))
        }
        _ => None,
    };
    let json_file = Arc::new(Mutex::new(json_file));
    let colour = use_colour(io::stdout().is_terminal());
    if let Some(live) = &opened.live {
        tell_interfaces(&live.links, &exposition, json_on_stdout, colour, json_file.clone(), by_kind.clone());
    }
    let drops = opened.live.as_ref().map(|l| l.drops.clone());
    let learning = opened.live.as_ref().and_then(|l| l.learning.clone());
    let dropped = || drops.as_ref().map(|d| d.load(Ordering::Relaxed));
    let status_line = drops.is_some() && io::stderr().is_terminal();
    let mut err: Option<Error> = None;
    let analysis = meetgraph::run::watch_with(&mut opened.inputs, acfg, cfg.interval_us, input.threads, |alerts, a| {
        if err.is_some() {
            return;
        }
        if let Err(e) = write_events(alerts, json_on_stdout, colour, &json_file) {
            err = Some(Error::write("writing events", e));
        }
        let told = match by_kind.lock() {
            Ok(mut t) => {
                for x in alerts {
                    *t.entry(x.kind).or_default() += 1;
                }
                t.clone()
            }
            Err(_) => BTreeMap::new(),
        };
        let mut text = meetgraph::output::metrics::exposition(a, &told, dropped());
        if let Some(l) = learning.as_ref() {
            let (changes, learned) = l.learned();
            let ranges = meetgraph::capture::autofilter::ports_text(&learned.ports);
            text += &meetgraph::output::metrics::filter_exposition(
                learned.ports.len(),
                &ranges,
                learned.conversations.len(),
                changes,
            );
        }
        exposition.set(text);
        if status_line {
            eprint!(
                "\r{} libpcap drops, {} messages, {} bus flows, {} nodes, {} clusters before, {} merges ",
                dropped().unwrap_or(0),
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
    if let Some(d) = &drops {
        // As tcpdump does when it stops.
        let packets: u64 = opened.inputs.iter().map(|i| i.pipeline.stats().packets).sum();
        if status_line {
            eprintln!();
        }
        eprintln!("{packets} packets captured, {} dropped by libpcap", d.load(Ordering::Relaxed));
    }
    let mut status = damaged(&opened.inputs);
    if !analysis.coverage.complete {
        status = status.max(Status::Incomplete);
    }
    Ok(status)
}
