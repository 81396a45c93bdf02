//! `meetgraph man [COMMAND]`: the manual page, generated from the flags'
//! definitions (clap_mangen) with what the flags cannot say: exit status,
//! examples, environment. `meetgraph man` is meetgraph(1), every command
//! and every option; `meetgraph man analyze` is meetgraph-analyze(1).

use crate::cli::Cli;
use clap::CommandFactory;
use clap_mangen::Man;
use std::io::{self, Write};

/// What every page says of the exit status (see `error.rs`, `main.rs`).
const EXIT_STATUS: [(&str, &str); 5] = [
    ("0", "Every input was read."),
    (
        "1",
        "An input was damaged (truncated or corrupt): everything before the damage was decoded, and one line names the file and the offset.",
    ),
    (
        "2",
        "An input cannot be opened or is not a capture, a flag is invalid (a time outside the captures included), or an output cannot be written.",
    ),
    (
        "3",
        "(analyze, watch) The verdict rests on incomplete evidence: the bus was encrypted (TLS), cut by the capture's snaplen, or not in the capture at all; the report begins with \"Limits of these captures\".",
    ),
    ("70", "meetgraph hit a bug; one line names where. Please report it with the capture."),
];

/// (command, example, what it does).
const EXAMPLES: [(&str, &str, &str); 12] = [
    (
        "analyze",
        "meetgraph analyze h1.pcap.gz h2.pcap.gz dc.pcap.gz",
        "Explain an incident from one capture per host: the story, when and how the clusters merged, the chain of introductions with capture#frame evidence, the findings.",
    ),
    (
        "analyze",
        "meetgraph analyze --html report.html --chart incident.png h1.pcap.gz",
        "Also write a self-contained HTML report and the timeline chart of the incident's window.",
    ),
    (
        "analyze",
        "meetgraph analyze --since 18:49:30 --until 18:49:45 --chart zoom.svg h1.pcap.gz",
        "Draw the chart for another window (times of day are on the capture's date, UTC).",
    ),
    ("analyze", "meetgraph analyze --json - h1.pcap.gz | jq .merges", "The analysis as JSON on standard output."),
    (
        "analyze",
        "meetgraph analyze --annotate annotated.pcapng h1.pcap.gz h2.pcap.gz",
        "One pcapng of every packet on one clock, each commented with what it proves (open in Wireshark; filter frame.comment).",
    ),
    (
        "nodes",
        "meetgraph nodes --as 10.100.1.100:7000 --at 18:49:40 h1.pcap.gz",
        "CLUSTER NODES as the node that answered at that address believed it at 18:49:40.",
    ),
    ("dump", "meetgraph dump -r h1.pcap.gz tcp port 17000", "One line per bus message, with a tcpdump filter."),
    ("dump", "meetgraph dump --stats -q h1.pcap.gz", "Counters only: packets, flows, messages by type and sender."),
    (
        "watch",
        "sudo meetgraph watch -i eth0 --metrics 127.0.0.1:9475",
        "Tell events as they happen on a live interface and serve Prometheus metrics.",
    ),
    ("events", "meetgraph events h1.pcap.gz | head", "The events the analysis reads, as JSON lines."),
    ("completions", "meetgraph completions bash > /etc/bash_completion.d/meetgraph", "Shell completions."),
    ("man", "meetgraph man analyze | man -l -", "This manual's page of one command."),
];

/// Commands listed (the generated `help` is not one).
fn commands(top: &clap::Command) -> Vec<&clap::Command> {
    top.get_subcommands().filter(|c| c.get_name() != "help" && !c.is_hide_set()).collect()
}

/// The names `meetgraph man` takes.
pub fn command_names() -> Vec<String> {
    let mut top = Cli::command();
    top.build();
    commands(&top).iter().map(|c| c.get_name().to_string()).collect()
}

/// Text made safe for roff: backslashes and hyphens escaped, no line
/// starting with a control character.
fn roff_text(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    s.lines()
        .map(|l| if l.starts_with(['.', '\'']) { format!("\\&{l}") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A generated section without its `.SH` heading.
fn body(render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> io::Result<String> {
    let mut buf = Vec::new();
    render(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    Ok(text.lines().filter(|l| !l.starts_with(".SH ")).collect::<Vec<_>>().join("\n") + "\n")
}

fn exit_status(w: &mut dyn Write, command: Option<&str>) -> io::Result<()> {
    writeln!(w, ".SH \"EXIT STATUS\"")?;
    for (code, text) in EXIT_STATUS {
        if code == "3" && command.is_some_and(|c| !matches!(c, "analyze" | "watch")) {
            continue;
        }
        writeln!(w, ".TP\n.B {code}\n{}", roff_text(text))?;
    }
    Ok(())
}

fn examples(w: &mut dyn Write, command: Option<&str>) -> io::Result<()> {
    let shown: Vec<_> = EXAMPLES.iter().filter(|e| command.is_none_or(|c| c == e.0)).collect();
    if shown.is_empty() {
        return Ok(());
    }
    writeln!(w, ".SH EXAMPLES")?;
    for (_, cmd, what) in shown {
        writeln!(w, ".TP\n.B {}\n{}", roff_text(cmd), roff_text(what))?;
    }
    Ok(())
}

fn environment(w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, ".SH ENVIRONMENT\n.TP\n.B NO_COLOR")?;
    writeln!(w, "{}", roff_text("When set and not empty, the report and watch's lines are not coloured on a terminal."))
}

/// The whole manual: meetgraph(1), every command with its options.
fn main_page(w: &mut dyn Write) -> io::Result<()> {
    let mut top = Cli::command();
    top.build();
    let man = Man::new(top.clone()).title("MEETGRAPH").manual("meetgraph manual");
    man.render_title(w)?;
    man.render_name_section(w)?;
    writeln!(
        w,
        ".SH SYNOPSIS\n\\fBmeetgraph\\fR \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIFILE\\fR...] [\\fIEXPRESSION\\fR]"
    )?;
    writeln!(w, ".SH DESCRIPTION")?;
    let description = "meetgraph reads packet captures of the Redis and Valkey Cluster bus (the binary gossip protocol \
        nodes speak on their bus port, usually data port + 10000): pcap and pcapng files, gzip-compressed or not, \
        several hosts at once, or a live interface. It reassembles TCP, decodes every bus message of every server \
        generation and tells who introduced whom, how clusters merged, the root cause and the damage, with \
        capture#frame evidence to open in Wireshark. Every command that reads captures takes tcpdump's habits: \
        -r FILE, -c COUNT, a filter as -f or as a trailing expression.";
    writeln!(w, "{}", roff_text(description))?;
    writeln!(w, ".SH COMMANDS")?;
    for c in commands(&top) {
        writeln!(w, ".SS \"meetgraph {}\"", c.get_name())?;
        let about = c.get_long_about().or_else(|| c.get_about()).map(|a| a.to_string()).unwrap_or_default();
        writeln!(w, "{}\n.PP", roff_text(&about))?;
        let sub = Man::new(c.clone());
        w.write_all(body(|b| sub.render_synopsis_section(b))?.as_bytes())?;
        if c.get_arguments().any(|a| !a.is_hide_set()) {
            writeln!(w, ".PP")?;
            w.write_all(body(|b| sub.render_options_section(b))?.as_bytes())?;
        }
    }
    exit_status(w, None)?;
    examples(w, None)?;
    environment(w)?;
    let pages: Vec<String> =
        commands(&top).iter().map(|c| format!("\\fBmeetgraph\\-{}\\fR(1)", c.get_name())).collect();
    writeln!(w, ".SH \"SEE ALSO\"\n{}, \\fBtcpdump\\fR(1), \\fBtshark\\fR(1), \\fBredis\\-cli\\fR(1)", pages.join(", "))
}

/// meetgraph-COMMAND(1).
fn command_page(w: &mut dyn Write, name: &str) -> io::Result<()> {
    let mut top = Cli::command();
    top.build();
    let Some(c) = commands(&top).into_iter().find(|c| c.get_name() == name).cloned() else {
        return Err(io::Error::other(format!("no command {name}")));
    };
    Man::new(c).title(format!("MEETGRAPH-{}", name.to_uppercase())).manual("meetgraph manual").render(w)?;
    exit_status(w, Some(name))?;
    examples(w, Some(name))?;
    if matches!(name, "analyze" | "watch") {
        environment(w)?;
    }
    writeln!(w, ".SH \"SEE ALSO\"\n\\fBmeetgraph\\fR(1)")
}

/// Roff in ASCII: every other character as groff's `\[uXXXX]`, so the page
/// reads the same whatever encoding troff is told (`…`, `µs`, `→` in the
/// flags' help).
fn ascii_roff(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

/// The page of `command`, or the whole manual.
pub fn render(w: &mut dyn Write, command: Option<&str>) -> io::Result<()> {
    let mut page = Vec::new();
    match command {
        Some(c) => command_page(&mut page, c)?,
        None => main_page(&mut page)?,
    }
    w.write_all(ascii_roff(&String::from_utf8_lossy(&page)).as_bytes())
}
