//! One self-contained HTML report: the chart (inline SVG), the story, each
//! merge chain and the findings table with evidence frame numbers. No
//! script, no external resource; a Content-Security-Policy forbids any
//! network fetch.

use crate::analysis::{Analysis, NodeId};
use crate::output::printable::printable;
use crate::time::format_utc_us;
use std::io::{self, Write};

fn esc(s: &str) -> String {
    printable(s).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn evidence(e: &[crate::analysis::Evidence]) -> String {
    e.iter().map(|x| format!("{}#{}", x.capture, x.frame)).collect::<Vec<_>>().join(" ")
}

/// Writes the report; `svg` is the rendered timeline chart.
pub fn write_html(w: &mut dyn Write, a: &Analysis, svg: &str) -> io::Result<()> {
    let best = a.best_addresses();
    writeln!(w, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")?;
    writeln!(
        w,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    )?;
    writeln!(w, "<title>meetgraph report</title><style>")?;
    writeln!(
        w,
        "body{{font-family:monospace;margin:1.5em;}} table{{border-collapse:collapse;}} td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top;}} .chart svg{{max-width:100%;height:auto;}} h2{{margin-top:1.5em;}}"
    )?;
    writeln!(w, "</style></head><body>")?;
    writeln!(w, "<h1>meetgraph report</h1>")?;
    writeln!(w, "<h2>What happened</h2><ul id=\"story\">")?;
    for s in &a.story {
        writeln!(w, "<li>{}</li>", esc(s))?;
    }
    writeln!(w, "</ul>")?;
    writeln!(w, "<h2>Timeline</h2><div class=\"chart\" id=\"chart\">{svg}</div>")?;
    for (k, m) in a.merges.iter().enumerate() {
        writeln!(w, "<h2>Merge {} at {}</h2>", k + 1, esc(&format_utc_us(m.ts_us)))?;
        writeln!(
            w,
            "<table class=\"chain\"><tr><th>#</th><th>time</th><th>how</th><th>learner</th><th>node</th><th>introducer</th><th>address</th><th>answered by</th><th>evidence</th></tr>"
        )?;
        for (i, x) in m.chain.iter().enumerate() {
            let who = |id: &NodeId| format!("{} {}", id.short(), best.get(id).cloned().unwrap_or_default());
            writeln!(
                w,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                i + 1,
                esc(&format_utc_us(x.ts_us)),
                x.via,
                esc(&who(&x.learner)),
                esc(&who(&x.node)),
                esc(&x.introducer.as_ref().map(who).unwrap_or_default()),
                esc(x.address.as_deref().unwrap_or("")),
                esc(&x.answered_by.as_ref().map(who).unwrap_or_default()),
                esc(&evidence(&x.evidence))
            )?;
        }
        writeln!(w, "</table>")?;
    }
    writeln!(
        w,
        "<h2>Findings</h2><table id=\"findings\"><tr><th>time</th><th>kind</th><th>summary</th><th>evidence</th></tr>"
    )?;
    for f in &a.findings {
        writeln!(
            w,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&format_utc_us(f.ts_us)),
            f.kind,
            esc(&f.summary),
            esc(&evidence(&f.evidence))
        )?;
    }
    writeln!(w, "</table>")?;
    writeln!(w, "<p>Evidence is <code>capture#frame</code>: open the capture in Wireshark and use Go to packet.</p>")?;
    writeln!(w, "</body></html>")
}
