//! `meetgraph analyze`: the readable report (story first) and the JSON.

use crate::analysis::screen;
use crate::analysis::{Analysis, BestAddresses, Finding, Introduction, NodesView, Phase, Severity, Via, describe};
use crate::clusterbus::types::format_slot_ranges;
use crate::output::printable::{printable, write_printable};
use crate::output::report_lines::{self, evidence, rel};
use crate::time::clocks::Method;
use crate::time::format_utc_us;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};

fn intro_line(a: &Analysis, i: &Introduction, best: &BestAddresses) -> String {
    format!("{}  {}: {}{}", rel(a, i.ts_us), i.via, describe(i, best), evidence(&i.evidence))
}

/// What the report shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReportOptions {
    /// Every finding, not only the incident-level ones.
    pub all: bool,
}

/// Incident-level findings listed on the first screen; the rest are
/// counted (all are in `--all` and the JSON).
const FIRST_SCREEN_FINDINGS: usize = 12;

/// How the report is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Style {
    /// Plain text: a file, a pipe, `NO_COLOR`.
    #[default]
    Plain,
    /// For a terminal: headings bold; the story's verdicts and the
    /// incident-level findings red.
    Colour,
}

/// Writes the human report (control characters from the wire replaced):
/// the story and the incident-level findings first.
pub fn write_report(w: &mut dyn Write, a: &Analysis, opts: &ReportOptions, style: Style) -> io::Result<()> {
    report(&mut Out { w, style, line_start: true, blank: true }, a, opts)
}

/// Where the report goes: every line made printable (peer-controlled text
/// may hold control characters), headings and verdicts in the [`Style`];
/// a section left out leaves no second blank line.
struct Out<'w> {
    w: &'w mut dyn Write,
    style: Style,
    /// The next byte starts a line.
    line_start: bool,
    /// The last line written was blank (or nothing was written yet).
    blank: bool,
}

impl Write for Out<'_> {
    /// Plain text (`writeln!` writes whole `str` pieces).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A blank line: one at most in a row.
        let blank = buf == b"\n" && self.line_start;
        if !(blank && self.blank) {
            self.w.write_all(printable(&String::from_utf8_lossy(buf)).as_bytes())?;
        }
        if !buf.is_empty() {
            (self.blank, self.line_start) = (blank, buf.ends_with(b"\n"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

impl Out<'_> {
    /// A `== …` heading (bold).
    fn heading(&mut self, text: fmt::Arguments<'_>) -> io::Result<()> {
        self.styled("\x1b[1m", &text.to_string())
    }

    /// A line the reader must not miss (red).
    fn verdict(&mut self, text: &str) -> io::Result<()> {
        self.styled("\x1b[31m", text)
    }

    fn styled(&mut self, on: &str, text: &str) -> io::Result<()> {
        (self.blank, self.line_start) = (false, true);
        let text = printable(text);
        if self.style == Style::Plain {
            return writeln!(self.w, "{text}");
        }
        for line in text.split('\n') {
            if line.is_empty() {
                writeln!(self.w)?;
            } else {
                writeln!(self.w, "{on}{line}\x1b[0m")?;
            }
        }
        Ok(())
    }
}

fn finding_line(a: &Analysis, f: &Finding) -> String {
    format!("{}  {}: {}{}", rel(a, f.ts_us), f.kind, f.summary, evidence(&f.evidence))
}

fn report(w: &mut Out<'_>, a: &Analysis, opts: &ReportOptions) -> io::Result<()> {
    let best = a.best_addresses();
    if !a.coverage.limits.is_empty() {
        w.heading(format_args!("== Limits of these captures (the verdict below is incomplete)"))?;
        for l in &a.coverage.limits {
            writeln!(w, "{l}")?;
        }
        writeln!(w)?;
    }
    w.heading(format_args!("== What happened"))?;
    for s in a.story.sentences() {
        if s.verdict {
            w.verdict(&s.text)?;
        } else {
            writeln!(w, "{}", s.text)?;
        }
    }
    writeln!(w)?;
    let incident: Vec<&Finding> = a.findings.iter().filter(|f| f.severity == Severity::Incident).collect();
    if !incident.is_empty() {
        w.heading(format_args!("== Incident findings ({})", incident.len()))?;
        if opts.all {
            for f in &incident {
                w.verdict(&finding_line(a, f))?;
            }
        } else {
            // One line per event; every frame is in --all and the JSON.
            let lines = screen::incident_lines(a);
            for l in lines.iter().take(FIRST_SCREEN_FINDINGS) {
                w.verdict(&report_lines::incident_line(a, l))?;
            }
            if lines.len() > FIRST_SCREEN_FINDINGS {
                w.verdict(&format!("… and {} more (--all lists them)", lines.len() - FIRST_SCREEN_FINDINGS))?;
            }
        }
        writeln!(w)?;
    }
    if !a.clusters.is_empty() {
        w.heading(format_args!("== Clusters before any merge"))?;
    }
    for c in &a.clusters {
        let members: Vec<String> =
            c.nodes.iter().map(|n| format!("{} {}", n.short(), best.get(n).cloned().unwrap_or_default())).collect();
        writeln!(w, "{}: {}", c.label, members.join(", "))?;
        for i in &c.inferred {
            writeln!(
                w,
                "   {}: inferred, not observed (no captured link to the others): {} already knew {} when first seen{}",
                i.node.short(),
                i.learner.short(),
                i.knew.short(),
                evidence(&i.evidence)
            )?;
        }
    }
    for m in &a.merges {
        writeln!(w)?;
        w.heading(format_args!("== Merge at {}", rel(a, m.ts_us)))?;
        for (i, s) in m.sides.iter().enumerate() {
            let names: Vec<String> = s.iter().map(|n| n.short().into_owned()).collect();
            writeln!(w, "side {}: {}", i + 1, names.join(" "))?;
        }
        if !m.observed {
            writeln!(
                w,
                "the link that fused them was not captured: they had fused by this time at the latest (first evidence below)"
            )?;
        }
        writeln!(w, "chain (patient zero first):")?;
        for (k, i) in m.chain.iter().enumerate() {
            writeln!(w, "  {}. {}", k + 1, intro_line(a, i, &best))?;
        }
    }
    if !a.damage.role_changes.is_empty() || !a.damage.slot_moves.is_empty() {
        writeln!(w)?;
        w.heading(format_args!("== Damage (what the incident changed; setup steps are not listed)"))?;
        for line in report_lines::damage_lines(a) {
            writeln!(w, "{line}")?;
        }
    }
    writeln!(w)?;
    if opts.all {
        if !a.findings.is_empty() {
            w.heading(format_args!("== All findings"))?;
        }
        for f in &a.findings {
            writeln!(w, "{}  [{}/{}]", finding_line(a, f), f.severity, f.phase)?;
        }
    } else {
        other_findings(w, a)?;
    }
    writeln!(w)?;
    if a.introductions.iter().any(|i| i.via != Via::Prior) {
        w.heading(format_args!(
            "== Introductions (first time each node learned another; {} known before the capture not shown)",
            a.introductions.iter().filter(|i| i.via == Via::Prior).count()
        ))?;
    }
    let mut shown: Vec<&Introduction> = a.introductions.iter().filter(|i| i.via != Via::Prior).collect();
    shown.sort_by_key(|i| i.ts_us);
    for i in shown {
        writeln!(w, "{}", intro_line(a, i, &best))?;
    }
    writeln!(w)?;
    if !a.nodes.is_empty() {
        w.heading(format_args!("== Nodes"))?;
    }
    for n in &a.nodes {
        writeln!(
            w,
            "{} {} {} cluster={} {} slots {}→{} epoch {}→{}{}",
            n.short,
            n.best_address,
            n.generation,
            n.cluster.as_deref().unwrap_or("-"),
            n.role_path(),
            format_slot_ranges(&n.slots_first),
            format_slot_ranges(&n.slots_last),
            n.config_epoch_first,
            n.config_epoch_last,
            n.hostname.as_deref().map(|h| format!(" hostname={h}")).unwrap_or_default()
        )?;
        let mut seen = std::collections::BTreeSet::new();
        for ad in &n.addresses {
            if seen.insert((&ad.address, &ad.how)) {
                writeln!(w, "    {} {} (from {}, frame {})", ad.how, ad.address, ad.vantage, ad.frame)?;
            }
        }
    }
    if !a.coverage.encrypted.is_empty() {
        writeln!(w)?;
        w.heading(format_args!("== Encrypted connections (TLS: metadata only)"))?;
        // Pairs that are not bus (junk, scanners, other services) can be
        // countless: listed with --all; the JSON has them all.
        let hidden = if opts.all { 0 } else { a.coverage.encrypted.iter().filter(|f| f.likely_bus.is_none()).count() };
        for f in a.coverage.encrypted.iter().filter(|f| opts.all || f.likely_bus.is_some()) {
            writeln!(
                w,
                "{}  {} → {} ({} connection(s), {} bytes, last {}){}{}{}",
                rel(a, f.first_ts_us),
                f.client,
                f.server,
                f.connections,
                f.bytes,
                format_utc_us(f.last_ts_us),
                f.likely_bus.as_deref().map(|b| format!("; bus: {b}")).unwrap_or_default(),
                if f.new_pair { "; NEW pair during the capture" } else { "" },
                evidence(&f.evidence)
            )?;
        }
        if hidden > 0 {
            writeln!(w, "{hidden} other TLS client→server pair(s), not bus (--all lists them)")?;
        }
        if a.coverage.encrypted_not_kept > 0 {
            writeln!(
                w,
                "{} more TLS pair(s) not kept (bound of {} pairs reached)",
                a.coverage.encrypted_not_kept,
                a.coverage.encrypted.len()
            )?;
        }
    }
    write_captures(w, a)?;
    if !a.clock_offsets.is_empty() {
        writeln!(w)?;
        w.heading(format_args!("== Clock offsets between captures after alignment (from messages seen by both)"))?;
        for o in &a.clock_offsets {
            writeln!(w, "{} vs {}: {:+.3} ms ({} samples)", o.b, o.a, o.offset_us as f64 / 1000.0, o.samples)?;
        }
    }
    if !a.anomalies.is_empty() {
        writeln!(w)?;
        w.heading(format_args!("== Capture anomalies"))?;
        for (k, n) in &a.anomalies {
            writeln!(w, "{k} {n}")?;
        }
    }
    retention(w, &a.retention)?;
    writeln!(w)?;
    w.heading(format_args!("== What to do now"))?;
    crate::output::audit::write_what_to_do(w, &a.what_to_do_now)
}

/// What the analysis's bounds dropped.
fn retention(w: &mut Out<'_>, r: &crate::analysis::Retention) -> io::Result<()> {
    if r.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    w.heading(format_args!("== Bounds reached (not kept: counted)"))?;
    let half = r.max_events / 2;
    let lists = r.findings.iter().map(|(k, d)| (format!("{k} findings"), d));
    let lists = lists.chain([("role changes".to_string(), &r.role_changes), ("slot moves".to_string(), &r.slot_moves)]);
    for (what, d) in lists.filter(|(_, d)| d.count > 0) {
        writeln!(
            w,
            "{what}: {} between {} and {} not kept (the first {half} and the latest {} are; --max-events)",
            d.count,
            format_utc_us(d.first_ts_us),
            format_utc_us(d.last_ts_us),
            r.max_events - half
        )?;
    }
    if r.messages_ignored > 0 || r.node_mentions_ignored > 0 {
        writeln!(
            w,
            "node ids past the first {} tracked: {} message(s) from them and {} mention(s) of them ignored (--max-nodes)",
            r.max_nodes, r.messages_ignored, r.node_mentions_ignored
        )?;
    }
    Ok(())
}

/// Findings below incident level, as counts by severity and kind (with
/// their phases).
fn other_findings(w: &mut Out<'_>, a: &Analysis) -> io::Result<()> {
    let others: Vec<&Finding> = a.findings.iter().filter(|f| f.severity != Severity::Incident).collect();
    if others.is_empty() {
        return Ok(());
    }
    w.heading(format_args!("== Other findings ({}; --all lists each, the JSON has all)", others.len()))?;
    for sev in [Severity::Warning, Severity::Info] {
        let mut by_kind: BTreeMap<&str, BTreeMap<Phase, usize>> = BTreeMap::new();
        for f in others.iter().filter(|f| f.severity == sev) {
            *by_kind.entry(f.kind.as_str()).or_default().entry(f.phase).or_default() += 1;
        }
        if by_kind.is_empty() {
            continue;
        }
        let parts: Vec<String> = by_kind
            .iter()
            .map(|(k, phases)| {
                let n: usize = phases.values().sum();
                let ph: Vec<String> = phases.iter().map(|(p, c)| format!("{p} {c}")).collect();
                format!("{k} {n} ({})", ph.join(", "))
            })
            .collect();
        writeln!(w, "{sev}: {}", parts.join("; "))?;
    }
    Ok(())
}

/// Writes the analysis as pretty JSON.
pub fn write_json(w: &mut dyn Write, a: &Analysis) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, a).map_err(io::Error::other)?;
    writeln!(w)
}

/// `CLUSTER NODES`-style lines of one node's view.
pub fn write_nodes_view(w: &mut dyn Write, v: &NodesView) -> io::Result<()> {
    write_printable(w, |w| nodes_view(w, v))
}

fn nodes_view(w: &mut dyn Write, v: &NodesView) -> io::Result<()> {
    writeln!(w, "# what {} believed at {}", v.node.short(), format_utc_us(v.at_us))?;
    for l in &v.lines {
        // `CLUSTER NODES` separates slot ranges with spaces.
        let slots = if l.slots.is_empty() {
            String::new()
        } else {
            format!(" {}", format_slot_ranges(&l.slots).replace(',', " "))
        };
        writeln!(
            w,
            "{} {} {} {} {} {} {} {}{slots}",
            l.id, l.address, l.flags, l.master, l.ping_sent_ms, l.pong_recv_ms, l.config_epoch, l.link
        )?;
    }
    Ok(())
}

/// Captures of several files or several captures: what each is and its
/// clock against the reference.
fn write_captures(w: &mut Out<'_>, a: &Analysis) -> io::Result<()> {
    let plain = |c: &crate::analysis::CaptureInfo| c.wire.cut_packets == 0 && c.wire.tunnels.is_empty();
    if a.captures.len() < 2 && a.captures.iter().all(|c| c.files.is_empty() && plain(c)) {
        return Ok(());
    }
    writeln!(w)?;
    let reference = a.captures.iter().find(|c| c.clock.as_ref().is_some_and(|k| k.method == Method::Reference));
    match reference {
        Some(r) => w.heading(format_args!("== Captures (all times on the clock of {})", r.vantage))?,
        None => w.heading(format_args!("== Captures"))?,
    }
    for c in &a.captures {
        let files = match c.files.as_slice() {
            [] => String::new(),
            f => format!(" {} files ({} … {}) read as one;", f.len(), f[0], f[f.len() - 1]),
        };
        let clock = match &c.clock {
            None => String::new(),
            Some(k) if k.method == Method::Reference => " reference clock".to_string(),
            Some(k) if k.method == Method::None => " clock not aligned (times as captured)".to_string(),
            Some(k) => format!(
                " clock {} ({} {}){}",
                k.offset_text(),
                k.samples,
                if k.method == Method::NodeClock { "node-clock readings" } else { "shared messages" },
                if k.applied { ", applied" } else { ", within its uncertainty: not applied" }
            ),
        };
        let note = c.clock.as_ref().and_then(|k| k.note.as_deref()).map(|n| format!(" ({n})")).unwrap_or_default();
        let cut = match (c.wire.cut_packets, c.wire.snaplen) {
            (0, _) => String::new(),
            (n, Some(len)) => format!("; {n} packets cut at {len} bytes (snaplen)"),
            (n, None) => format!("; {n} packets cut"),
        };
        let about = format!("{files}{clock}{note}");
        let about = if about.is_empty() { String::new() } else { format!("{about};") };
        writeln!(w, "{}:{about} {} messages; links of {} node pairs{cut}", c.vantage, c.messages, c.node_pairs_seen)?;
        let t = &c.wire.tunnels;
        if !t.is_empty() {
            writeln!(w, "  {} packet(s) read inside tunnels:", t.packets)?;
            for line in crate::output::stats::tunnel_lines(t).iter().skip(1) {
                writeln!(w, "  {line}")?;
            }
        }
    }
    Ok(())
}
