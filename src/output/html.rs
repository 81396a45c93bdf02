//! One self-contained HTML report. Incident-level content first: limits
//! of the captures, what happened (verdict, root cause, damage in a
//! sentence each), the incident findings, each merge chain with its
//! evidence frames, the damage, the timeline chart and the introduction
//! graph (both inline SVG drawn in-process). Everything else (all
//! findings, introductions, clusters, nodes, connections, captures,
//! anomalies) follows in collapsible `<details>` sections. Cells wrap
//! long values instead of cutting them. No script, no external resource;
//! a Content-Security-Policy forbids any network fetch. Every string from
//! the analysis goes through [`xml_escape`].

use crate::analysis::timeline::Timeline;
use crate::analysis::{Analysis, BestAddresses, Evidence, Finding, Introduction, NodeId, Severity, Via, describe};
use crate::clusterbus::types::format_slot_ranges;
use crate::output::chart::chart_scene;
use crate::output::dot::edges;
use crate::output::html_graph::graph_scene;
use crate::output::printable::xml_escape;
use crate::time::format_utc_us;
use std::io::{self, Write};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1700px;line-height:1.35}\
table{border-collapse:collapse;width:100%;table-layout:auto;font-family:monospace;font-size:13px}\
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top;white-space:normal;overflow-wrap:anywhere}\
td.t span{white-space:nowrap}td.k{white-space:nowrap;overflow-wrap:normal}\
th{background:#f3f3f3}\
.figure svg{max-width:100%;height:auto;display:block}\
.verdict{border-left:5px solid #d62728;background:#fff5f5;padding:.4em 1em}\
.verdict li{margin:.3em 0}\
.limits{border-left:5px solid #e0a000;background:#fff8e0;padding:.4em 1em}\
details{margin:.6em 0;border:1px solid #ddd;border-radius:4px;padding:.3em .8em}\
summary{cursor:pointer;font-weight:bold;font-size:1.1em}\
code,.mono{font-family:monospace}";

fn evidence(e: &[Evidence]) -> String {
    e.iter().map(|x| format!("{}#{}", x.capture, x.frame)).collect::<Vec<_>>().join(" ")
}

fn rel(a: &Analysis, ts: i64) -> String {
    let t0 = a.t0_us().unwrap_or(ts);
    format!("{} (+{:.3}s)", format_utc_us(ts), (ts - t0) as f64 / 1e6)
}

/// How a column's cells wrap: text anywhere (long ids, addresses and
/// frame lists never overflow), times only at spaces, short keywords not
/// at all.
const TEXT: &str = "";
const TIME: &str = "t";
const KEY: &str = "k";

/// A table: header cells with their column's wrap class, then rows of
/// cells (each escaped here).
fn table(w: &mut dyn Write, id: &str, head: &[(&str, &str)], rows: &[Vec<String>]) -> io::Result<()> {
    let id = if id.is_empty() { String::new() } else { format!(" id=\"{id}\"") };
    write!(w, "<table{id}><tr>")?;
    for (h, _) in head {
        write!(w, "<th>{}</th>", xml_escape(h))?;
    }
    writeln!(w, "</tr>")?;
    for r in rows {
        write!(w, "<tr>")?;
        for (k, c) in r.iter().enumerate() {
            match head.get(k).map_or(TEXT, |h| h.1) {
                TEXT => write!(w, "<td>{}</td>", xml_escape(c))?,
                TIME => {
                    let parts: Vec<String> = c.split(' ').map(|p| format!("<span>{}</span>", xml_escape(p))).collect();
                    write!(w, "<td class=\"{TIME}\">{}</td>", parts.join(" "))?
                }
                class => write!(w, "<td class=\"{class}\">{}</td>", xml_escape(c))?,
            }
        }
        writeln!(w, "</tr>")?;
    }
    writeln!(w, "</table>")
}

fn finding_rows(a: &Analysis, fs: &[&Finding], severity: bool) -> Vec<Vec<String>> {
    fs.iter()
        .map(|f| {
            let mut r = vec![rel(a, f.ts_us), f.kind.to_string()];
            if severity {
                r.push(format!("{}/{}", f.severity, f.phase));
            }
            r.extend([f.summary.clone(), evidence(&f.evidence)]);
            r
        })
        .collect()
}

fn intro_row(a: &Analysis, k: Option<usize>, i: &Introduction, best: &BestAddresses) -> Vec<String> {
    let mut r: Vec<String> = k.map(|k| vec![(k + 1).to_string()]).unwrap_or_default();
    r.extend([rel(a, i.ts_us), i.via.to_string(), describe(i, best), evidence(&i.evidence)]);
    r
}

/// Opens a collapsible section.
fn details(w: &mut dyn Write, id: &str, summary: &str) -> io::Result<()> {
    writeln!(w, "<details id=\"{id}\"><summary>{}</summary>", xml_escape(summary))
}

/// A collapsible section holding one table (nothing when it has no row).
fn folded(w: &mut dyn Write, id: &str, summary: &str, head: &[(&str, &str)], rows: &[Vec<String>]) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    details(w, id, summary)?;
    table(w, "", head, rows)?;
    writeln!(w, "</details>")
}

/// Short id and best address.
fn who(id: &NodeId, best: &BestAddresses) -> String {
    format!("{} {}", id.short(), best.get(id).map_or("", String::as_str))
}

/// Writes the report for `a`, drawing the chart of `t` and the
/// introduction graph.
pub fn write_html(w: &mut dyn Write, a: &Analysis, t: &Timeline) -> io::Result<()> {
    let best = a.best_addresses();
    writeln!(w, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")?;
    writeln!(
        w,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    )?;
    writeln!(w, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")?;
    writeln!(w, "<title>meetgraph report</title><style>{STYLE}</style></head><body>")?;
    writeln!(w, "<h1>meetgraph report</h1>")?;
    let names: Vec<&str> = a.captures.iter().map(|c| c.vantage.as_str()).collect();
    writeln!(w, "<p>Captures: <span class=\"mono\">{}</span></p>", xml_escape(&names.join(", ")))?;
    if !a.coverage.limits.is_empty() {
        writeln!(w, "<div class=\"limits\" id=\"limits\"><h2>Limits of these captures</h2><ul>")?;
        for l in &a.coverage.limits {
            writeln!(w, "<li>{}</li>", xml_escape(l))?;
        }
        writeln!(w, "</ul></div>")?;
    }
    writeln!(w, "<div class=\"verdict\"><h2>What happened</h2><ul id=\"story\">")?;
    for s in a.story.sentences() {
        writeln!(w, "<li>{}</li>", xml_escape(&s.text))?;
    }
    writeln!(w, "</ul></div>")?;
    let incident: Vec<&Finding> = a.findings.iter().filter(|f| f.severity == Severity::Incident).collect();
    if !incident.is_empty() {
        writeln!(w, "<h2>Incident findings ({})</h2>", incident.len())?;
        table(
            w,
            "incident-findings",
            &[("time", TIME), ("kind", KEY), ("summary", TEXT), ("evidence", TEXT)],
            &finding_rows(a, &incident, false),
        )?;
    }
    for (k, m) in a.merges.iter().enumerate() {
        writeln!(w, "<h2>Merge {} at {}</h2>", k + 1, xml_escape(&rel(a, m.ts_us)))?;
        for (i, s) in m.sides.iter().enumerate() {
            let names: Vec<String> = s.iter().map(|n| who(n, &best)).collect();
            writeln!(w, "<p>Side {}: <span class=\"mono\">{}</span></p>", i + 1, xml_escape(&names.join(", ")))?;
        }
        if !m.observed {
            writeln!(
                w,
                "<p>The link that fused them was not captured: they had fused by this time at the latest.</p>"
            )?;
        }
        let rows: Vec<Vec<String>> = m.chain.iter().enumerate().map(|(s, i)| intro_row(a, Some(s), i, &best)).collect();
        writeln!(w, "<p>Chain, patient zero first (step numbers as on the chart):</p>")?;
        table(
            w,
            &format!("chain-{}", k + 1),
            &[("step", KEY), ("time", TIME), ("how", KEY), ("what", TEXT), ("evidence", TEXT)],
            &rows,
        )?;
    }
    write_damage(w, a)?;
    write_encrypted(w, a)?;
    writeln!(
        w,
        "<h2>Timeline</h2><p id=\"window\">{}; <code>--since</code> and <code>--until</code> choose another window.</p>",
        xml_escape(&t.window.text)
    )?;
    writeln!(w, "<div class=\"figure\" id=\"chart\">{}</div>", chart_scene(t).to_svg())?;
    if !edges(a).is_empty() {
        writeln!(
            w,
            "<h2>Who introduced whom</h2><p>Every introduction, from introducer to learner, labelled with its time of day (UTC), the mechanism and the node introduced; the merge chain in red. The same graph as <code>--dot</code> and <code>--mermaid</code>.</p>"
        )?;
        writeln!(w, "<div class=\"figure\" id=\"graph\">{}</div>", graph_scene(a, t).to_svg())?;
    }
    write_rest(w, a, &best)?;
    crate::output::audit::write_what_to_do_html(w, a)?;
    writeln!(w, "<p>Evidence is <code>capture#frame</code>: open the capture in Wireshark and use Go to packet.</p>")?;
    writeln!(w, "</body></html>")
}

fn write_damage(w: &mut dyn Write, a: &Analysis) -> io::Result<()> {
    if a.damage.role_changes.is_empty() && a.damage.slot_moves.is_empty() {
        return Ok(());
    }
    let short = |id: Option<&NodeId>, none: &str| id.map_or_else(|| none.to_string(), |x| x.short().into_owned());
    let mut rows: Vec<Vec<String>> = a
        .damage
        .role_changes
        .iter()
        .map(|r| {
            let of = r.replicaof.map(|x| format!(" of {}", x.short())).unwrap_or_default();
            vec![rel(a, r.ts_us), format!("{} {} → {}{of}", r.node.short(), r.from, r.to), evidence(&r.evidence)]
        })
        .collect();
    rows.extend(a.damage.slot_moves.iter().map(|m| {
        let what = format!(
            "slots {} ({}) {} → {}",
            format_slot_ranges(&m.slots),
            m.count,
            short(m.from.as_ref(), "unassigned"),
            short(m.to.as_ref(), "nobody")
        );
        vec![rel(a, m.ts_us), what, evidence(&m.evidence)]
    }));
    writeln!(w, "<h2>Damage</h2><p>What the incident changed (cluster setup steps are not listed).</p>")?;
    table(w, "damage", &[("time", TIME), ("change", TEXT), ("evidence", TEXT)], &rows)
}

/// The collapsible sections after the incident.
fn write_rest(w: &mut dyn Write, a: &Analysis, best: &BestAddresses) -> io::Result<()> {
    let all: Vec<&Finding> = a.findings.iter().collect();
    if !all.is_empty() {
        details(w, "all-findings", &format!("All findings ({})", all.len()))?;
        table(
            w,
            "findings",
            &[("time", TIME), ("kind", KEY), ("severity/phase", KEY), ("summary", TEXT), ("evidence", TEXT)],
            &finding_rows(a, &all, true),
        )?;
        writeln!(w, "</details>")?;
    }

    let intros: Vec<Vec<String>> =
        a.introductions.iter().filter(|i| i.via != Via::Prior).map(|i| intro_row(a, None, i, best)).collect();
    let head = [("time", TIME), ("how", KEY), ("what", TEXT), ("evidence", TEXT)];
    folded(w, "introductions", &format!("Introductions ({})", intros.len()), &head, &intros)?;

    let rows: Vec<Vec<String>> = a
        .clusters
        .iter()
        .map(|c| {
            let members: Vec<String> = c.nodes.iter().map(|n| who(n, best)).collect();
            let inferred: Vec<String> = c.inferred.iter().map(|i| i.node.short().into_owned()).collect();
            vec![c.label.clone(), members.join(", "), inferred.join(", ")]
        })
        .collect();
    let head = [("cluster", KEY), ("members", TEXT), ("inferred, not observed", TEXT)];
    folded(w, "clusters", &format!("Clusters before any merge ({})", a.clusters.len()), &head, &rows)?;

    let rows: Vec<Vec<String>> = a
        .nodes
        .iter()
        .map(|n| {
            let mut seen = std::collections::BTreeSet::new();
            let addrs: Vec<String> = n
                .addresses
                .iter()
                .filter(|ad| seen.insert((&ad.address, &ad.how)))
                .map(|ad| format!("{} {} ({}#{})", ad.how, ad.address, ad.vantage, ad.frame))
                .collect();
            vec![
                n.id.to_string(),
                n.best_address.to_string(),
                n.generation.to_string(),
                n.cluster.clone().unwrap_or_else(|| "-".into()),
                n.role_path(),
                format!("{} → {}", format_slot_ranges(&n.slots_first), format_slot_ranges(&n.slots_last)),
                format!("{} → {}", n.config_epoch_first, n.config_epoch_last),
                n.hostname.clone().unwrap_or_default(),
                addrs.join("; "),
            ]
        })
        .collect();
    let head = [
        ("id", TEXT),
        ("address", TEXT),
        ("server", TEXT),
        ("cluster", KEY),
        ("role", KEY),
        ("slots", TEXT),
        ("epoch", KEY),
        ("hostname", TEXT),
        ("addresses seen", TEXT),
    ];
    folded(w, "nodes", &format!("Nodes ({})", a.nodes.len()), &head, &rows)?;
    write_connections(w, a)?;
    let rows: Vec<Vec<String>> = a
        .captures
        .iter()
        .map(|c| {
            let clock = c
                .clock
                .as_ref()
                .map_or_else(|| "reference clock".to_string(), |k| format!("{} ({})", k.offset_text(), k.method));
            let span = match (c.first_ts_us, c.last_ts_us) {
                (Some(f), Some(l)) => format!("{} – {}", format_utc_us(f), format_utc_us(l)),
                _ => String::new(),
            };
            vec![
                c.vantage.clone(),
                c.files.join(", "),
                span,
                c.messages.to_string(),
                c.node_pairs_seen.to_string(),
                clock,
            ]
        })
        .collect();
    folded(
        w,
        "captures",
        &format!("Captures ({})", a.captures.len()),
        &[
            ("capture", TEXT),
            ("files", TEXT),
            ("first – last", TIME),
            ("messages", KEY),
            ("node pairs seen", KEY),
            ("clock", TEXT),
        ],
        &rows,
    )?;
    let rows: Vec<Vec<String>> = a.anomalies.iter().map(|(k, n)| vec![k.clone(), n.to_string()]).collect();
    let summary = format!("Capture anomalies ({})", a.anomalies.values().sum::<u64>());
    folded(w, "anomalies", &summary, &[("anomaly", TEXT), ("count", KEY)], &rows)
}

/// Coverage: what the captures let meetgraph read.
fn write_connections(w: &mut dyn Write, a: &Analysis) -> io::Result<()> {
    let c = &a.coverage;
    details(w, "connections", &format!("Connections and coverage ({} bus streams)", c.bus_streams))?;
    writeln!(
        w,
        "<p>{} messages decoded; {} bus streams, {} other streams; {} snaplen gaps, {} messages cut; {} encrypted client→server pair(s){}.</p>",
        c.messages,
        c.bus_streams,
        c.other_streams,
        c.snaplen_gaps,
        c.cut_messages,
        c.encrypted.len(),
        if c.encrypted.is_empty() { "" } else { " (under Encrypted connections)" }
    )?;
    writeln!(w, "</details>")
}

/// The encrypted connections (the limits point here) and their bursts.
fn write_encrypted(w: &mut dyn Write, a: &Analysis) -> io::Result<()> {
    let c = &a.coverage;
    if c.encrypted.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "<h2 id=\"encrypted-connections\">Encrypted connections</h2><p>TLS: metadata only, as the captures show it (who connected to which bus port, when, how much).</p>"
    )?;
    let rows: Vec<Vec<String>> = c
        .encrypted
        .iter()
        .map(|f| {
            vec![
                rel(a, f.first_ts_us),
                rel(a, f.last_ts_us),
                format!("{} → {}", f.client, f.server),
                format!("{} connection(s), {} bytes", f.connections, f.bytes),
                f.likely_bus.clone().unwrap_or_else(|| "not bus".into()),
                if f.new_pair { "new pair".into() } else { String::new() },
                evidence(&f.evidence),
            ]
        })
        .collect();
    table(
        w,
        "encrypted",
        &[
            ("first", TIME),
            ("last", TIME),
            ("client → server", TEXT),
            ("traffic", TEXT),
            ("why bus", TEXT),
            ("", KEY),
            ("evidence", TEXT),
        ],
        &rows,
    )?;
    if !c.bursts.is_empty() {
        let rows: Vec<Vec<String>> = c
            .bursts
            .iter()
            .map(|b| {
                let quiet = b.quiet_before_us.map_or_else(String::new, |q| format!("{:.1} s", q as f64 / 1e6));
                vec![
                    rel(a, b.ts_us),
                    rel(a, b.last_ts_us),
                    b.connections.to_string(),
                    b.first.clone(),
                    quiet,
                    b.servers.join(", "),
                ]
            })
            .collect();
        writeln!(w, "<p>Bursts of new encrypted connections to bus ports:</p>")?;
        table(
            w,
            "bursts",
            &[
                ("from", TIME),
                ("to", TIME),
                ("connections", KEY),
                ("first connection", TEXT),
                ("quiet before", KEY),
                ("servers", TEXT),
            ],
            &rows,
        )?;
    }
    Ok(())
}
