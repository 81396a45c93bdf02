//! `analyze`: the whole analysis, then the report (coloured on a terminal)
//! and the files asked for.

use crate::app::annotate;
use crate::app::config::{AnalyzeConfig, InputConfig, Outputs};
use crate::app::emit::{emit, write_stdout};
use crate::app::inputs::{damaged, open_vantages};
use crate::app::progress::Progress;
use meetgraph::analysis::Analysis;
use meetgraph::analysis::timeline::build_timeline;
use meetgraph::error::{Error, Status};
use meetgraph::output::chart::write_chart;
use meetgraph::output::dot::{write_dot, write_mermaid};
use meetgraph::output::html::write_html;
use meetgraph::output::report::{ReportOptions, Style, write_json, write_report};
use meetgraph::time::{TimeSpec, format_utc_us};
use std::io::{self, IsTerminal};

pub fn run(input: &InputConfig, cfg: &AnalyzeConfig) -> Result<Status, Error> {
    if let Some(out) = &cfg.outputs.annotate {
        annotate::check(out, input)?;
    }
    let (mut opened, acfg) = open_vantages(input, cfg.reference.as_deref())?;
    let progress = Progress::start(input, &opened.bytes_read, false);
    let annotate = cfg.outputs.annotate.as_ref().map(|_| acfg.clone());
    let analysis = meetgraph::run::analyze_inputs_with(&mut opened.inputs, acfg, input.threads).0.finish();
    drop(progress);
    let (since, until) = window(cfg.since, cfg.until, analysis.t0_us())?;
    let mut status = damaged(&opened.inputs);
    if !analysis.coverage.complete {
        status = status.max(Status::Incomplete);
    }
    let o = &cfg.outputs;
    write_visuals(&analysis, o, since, until)?;
    if let Some(path) = &o.json {
        emit(path, |w| write_json(w, &analysis))?;
    }
    if let (Some(path), Some(acfg), Some(plan)) = (&o.annotate, &annotate, &opened.plan) {
        annotate::write(path, input, plan, acfg, &analysis)?;
    }
    if !o.takes_stdout() {
        let report = ReportOptions { all: o.all };
        let colour = meetgraph::output::watch::use_colour(io::stdout().is_terminal());
        let style = if colour { Style::Colour } else { Style::Plain };
        write_stdout(|w| write_report(w, &analysis, &report, style))?;
    }
    Ok(status)
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

/// The chart and the graphs, on the window's timeline.
fn write_visuals(analysis: &Analysis, o: &Outputs, since: Option<i64>, until: Option<i64>) -> Result<(), Error> {
    if o.chart.is_none() && o.dot.is_none() && o.mermaid.is_none() && o.html.is_none() {
        return Ok(());
    }
    let timeline = build_timeline(analysis, since, until);
    if let Some(p) = &o.chart {
        write_chart(p, &timeline)?;
    }
    if let Some(p) = &o.dot {
        emit(p, |w| write_dot(w, analysis, &timeline))?;
    }
    if let Some(p) = &o.mermaid {
        emit(p, |w| write_mermaid(w, analysis, &timeline))?;
    }
    if let Some(p) = &o.html {
        emit(p, |w| write_html(w, analysis, &timeline))?;
    }
    Ok(())
}
