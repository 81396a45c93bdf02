//! Command-line flags (raw values; validated into configuration by `app`).

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "meetgraph",
    version,
    about = "Forensic analyzer for the Redis / Valkey Cluster bus: who introduced whom, and how clusters merged"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Jsonl,
}

/// Flags shared by every command that reads captures.
#[derive(clap::Args, Debug, Clone)]
pub struct InputArgs {
    /// Capture files: pcap or pcapng, optionally gzip-compressed; `-` reads
    /// standard input. Several files are read together, in capture-time order.
    /// A trailing expression that is not a file is a BPF filter, as for
    /// tcpdump (`meetgraph dump f.pcap tcp port 17001`).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Read this capture file (repeatable; same as giving it as FILE).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Vec<PathBuf>,

    /// No progress bar (it only appears on a terminal, for files, after a
    /// second of reading).
    #[arg(long)]
    pub no_progress: bool,

    /// Reading threads: each capture is decoded on a thread of its own,
    /// beside the analysis, and several captures' first pass (clock
    /// alignment) runs a thread per file (default); `--threads 1` does
    /// everything on one thread. The result is the same.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Only TCP segments from or to this address (repeatable or
    /// comma-separated; every build).
    #[arg(long, value_name = "IP", value_delimiter = ',')]
    pub host: Vec<std::net::IpAddr>,

    /// Only TCP connections with one of these ports (e.g.
    /// `17000-17010,16379`). Default: every connection whose bytes frame as
    /// cluster-bus messages.
    #[arg(long, value_name = "PORTS")]
    pub ports: Option<String>,

    /// Capture live on this interface (cargo feature `live`; like
    /// `tcpdump -i`; repeatable: several interfaces read as one capture).
    /// Ends with Ctrl-C, SIGTERM, `--count` or `--duration`.
    #[arg(short = 'i', long, value_name = "IFACE")]
    pub interface: Vec<String>,

    /// BPF filter (tcpdump syntax), live and on files (files: needs the
    /// `live` build, which links libpcap).
    #[arg(short = 'f', long, value_name = "BPF")]
    pub filter: Option<String>,

    /// Live capture: keep everything libpcap sees. By default a live
    /// capture without -f narrows the kernel's filter to the cluster bus
    /// as it learns it (segments starting a bus message, SYN/FIN/RST,
    /// every segment of bus ports, CLUSTER commands, tunnels that carry
    /// any of it), so a busy host's client traffic stays in the kernel.
    #[arg(long)]
    pub no_auto_filter: bool,

    /// Stop after this many packets (per capture; tcpdump's -c).
    #[arg(short = 'c', long, value_name = "N")]
    pub count: Option<u64>,

    /// Live capture: stop after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,

    /// Live capture: also save what was captured to this pcapng file
    /// (complete whenever the capture stops).
    #[arg(short = 'w', long, value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// With -w: start a new file after this many megabytes (FILE, FILE1, …).
    #[arg(short = 'C', long, value_name = "MB", requires = "write")]
    pub file_size: Option<u64>,

    /// With -C: keep at most this many files, overwriting the oldest.
    #[arg(short = 'W', long, value_name = "N", requires = "file_size")]
    pub file_count: Option<u32>,

    /// Live capture: after opening the interfaces, run as this user
    /// (tcpdump's -Z), keeping only CAP_NET_RAW and CAP_NET_ADMIN so an
    /// interface deleted and created again can be opened again.
    #[arg(short = 'Z', long = "relinquish-privileges", value_name = "USER")]
    pub user: Option<String>,

    /// List the interfaces a live capture can use, and exit (tcpdump's -D).
    #[arg(short = 'D', long)]
    pub list_interfaces: bool,

    /// Live capture: bytes kept per packet (tcpdump's -s).
    #[arg(short = 's', long, value_name = "BYTES", default_value_t = 262_144)]
    pub snaplen: i32,

    /// Live capture: libpcap's kernel buffer in KiB (tcpdump's -B). A larger
    /// buffer rides out bursts; drops are counted and reported.
    #[arg(short = 'B', long = "buffer-size", value_name = "KIB", default_value_t = 32 * 1024)]
    pub buffer_kib: u32,

    /// Largest message accepted (bytes); longer ones are skipped and counted.
    #[arg(long, value_name = "BYTES", default_value_t = meetgraph::clusterbus::DEFAULT_MAX_TOTLEN)]
    pub max_message: u32,

    /// Out-of-order bytes buffered per TCP direction before a hole is
    /// declared lost.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_stream_buffer: usize,

    /// Out-of-order bytes buffered over all connections.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_total_buffer: usize,

    /// TCP connections tracked at once; past it the least recently active
    /// are closed early (reported as `connections_evicted`).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_connections: usize,

    /// Entries the analysis keeps per event list (findings of one kind, role
    /// changes, slot moves): the first half and the latest half; those
    /// between are counted (`retention` in the JSON).
    #[arg(long, value_name = "N", default_value_t = meetgraph::analysis::DEFAULT_MAX_EVENTS)]
    pub max_events: usize,

    /// Distinct node ids the analysis tracks; messages from, and gossip
    /// about, ids past it are counted and ignored.
    #[arg(long, value_name = "N", default_value_t = meetgraph::analysis::DEFAULT_MAX_NODES)]
    pub max_nodes: usize,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// One line per cluster-bus message (like tcpdump / tshark for RCmb).
    Dump {
        #[command(flatten)]
        input: InputArgs,

        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,

        /// Print statistics (packets, flows, messages by type and sender,
        /// anomalies) at the end.
        #[arg(long)]
        stats: bool,

        /// No per-message lines (use with --stats).
        #[arg(short, long)]
        quiet: bool,

        /// Do not print anomaly lines between messages (they are still
        /// counted in --stats).
        #[arg(long)]
        no_anomalies: bool,
    },

    /// Who introduced whom, the clusters, when and how they merged, root
    /// cause, damage and findings, with evidence frame numbers.
    Analyze {
        #[command(flatten)]
        input: InputArgs,

        /// Name a capture's vantage point (default: the file name); the file
        /// is read too. Repeatable: `--vantage h1=h1.pcap.gz`. One NAME given
        /// several files (or a directory) makes them one rotated capture.
        #[arg(long, value_name = "NAME=FILE")]
        vantage: Vec<String>,

        /// The vantage (or file name) whose clock every time is given on;
        /// default: the first capture. Other captures' offsets are measured
        /// and applied.
        #[arg(long, value_name = "NAME")]
        reference: Option<String>,

        /// Also write the analysis as JSON (schema_version 1) to this file
        /// (`-` for stdout instead of the report).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,

        /// Draw the timeline chart: `.svg` (default) or `.png`.
        #[arg(long, value_name = "FILE")]
        chart: Option<PathBuf>,

        /// Write the introduction graph as Graphviz DOT.
        #[arg(long, value_name = "FILE")]
        dot: Option<PathBuf>,

        /// Write the introduction graph as a Mermaid flowchart.
        #[arg(long, value_name = "FILE")]
        mermaid: Option<PathBuf>,

        /// Write a self-contained HTML report (chart, story, chain, findings).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,

        /// Write every input packet to one pcapng file, the captures merged
        /// on the reference clock, each packet with comments Wireshark shows
        /// and filters (`frame.comment`): its original file and frame, the
        /// `dump` line of each message it completes, and what it proves
        /// (`merge chain step 2/4: …`, findings); the story is the section's
        /// comment. Reads the files a second time (not stdin, not `-i`).
        #[arg(long, value_name = "OUT.pcapng")]
        annotate: Option<PathBuf>,

        /// Chart window start: RFC 3339 (any UTC offset), a time of day on
        /// the capture's date (18:49:40.5), +6.923s after the first message
        /// (as the report prints), or µs since the epoch. Default: the
        /// incident's window. Past the captures' edges the window is cut
        /// there (with a warning); a window wholly outside them is an error.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,

        /// Chart window end (same forms as --since).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,

        /// List every finding in the report (default: the incident-level
        /// ones first, the rest as counts by kind; JSON always has all).
        #[arg(long)]
        all: bool,
    },
    /// Tell events as they happen: a live capture (`-i IFACE`, feature
    /// `live`) or captures replayed at full speed (`-r FILE`). One line per
    /// event (join, merge, address collision, id conflict, failover, …)
    /// as soon as its evidence is complete; the same events `analyze`
    /// reports. Ctrl-C, `-c` or `--duration` end a live watch; an
    /// interface that goes down or disappears does not (told as
    /// `interface_down`, then `interface_up` once it is read again, the
    /// analysis kept).
    Watch {
        #[command(flatten)]
        input: InputArgs,

        /// Also write the events as JSON lines to FILE (`-`: stdout, instead
        /// of the lines for people).
        #[arg(long, value_name = "FILE")]
        json_events: Option<PathBuf>,

        /// Serve Prometheus metrics (nodes, clusters, merges, bus flows and
        /// messages, events by kind; live: libpcap's drops, the auto filter,
        /// interfaces up and their outages) on this address, e.g.
        /// 127.0.0.1:9475.
        #[arg(long, value_name = "ADDR:PORT")]
        metrics: Option<String>,

        /// Capture-time seconds between looks at the evidence: a merge, an
        /// address collision or an id conflict is told at the first look
        /// that shows it, other events at the second.
        #[arg(long, value_name = "SECONDS", default_value_t = 0.25)]
        interval: f64,
    },
    /// Latent hazards in a capture of clusters that may be healthy: failed
    /// nodes never forgotten, bridge/NAT addresses recorded as a node's,
    /// addresses meaning several nodes, one id at two addresses, epoch
    /// ties; each with evidence, severity, the versions it can merge
    /// clusters on and the verdict for the versions seen. Exit 3 when any
    /// is found, 0 when none.
    Audit {
        #[command(flatten)]
        input: InputArgs,

        /// Write the audit as JSON to FILE (`-`: stdout, instead of the text).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,

        /// Read only up to this capture time (RFC 3339, a time of day, +6.9s
        /// after the first message, or µs since the epoch): audit the part
        /// of a capture before an incident.
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
    },
    /// Shell completions on stdout: `meetgraph completions bash >
    /// /etc/bash_completion.d/meetgraph` (also zsh, fish, elvish,
    /// powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on stdout: `meetgraph man | man -l -` is
    /// meetgraph(1), every command and option, exit status and examples;
    /// `meetgraph man analyze` is meetgraph-analyze(1).
    Man {
        /// One command's page instead.
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
    /// A Wireshark Lua dissector for the cluster bus on stdout (protocol
    /// `rcmb`, every generation, reassembly): `meetgraph dissector >
    /// ~/.local/lib/wireshark/plugins/rcmb.lua`, or `tshark -X
    /// lua_script:rcmb.lua`. Fields and install steps: wireshark/README.md.
    Dissector,
    /// The events the analysis consumes, as JSON lines (for debugging an
    /// analysis or feeding other tools).
    Events {
        #[command(flatten)]
        input: InputArgs,
    },
    /// What one node believed at one moment, in `CLUSTER NODES` format.
    #[command(after_long_help = NODES_UNKNOWNS)]
    Nodes {
        #[command(flatten)]
        input: InputArgs,

        /// The node: its id (or a unique prefix), or an address IP:PORT
        /// (data or bus port) for the node that answered there at that time
        /// (several: they are listed with their times). Two servers sharing
        /// one id (a copied nodes.conf): ID@IP:PORT chooses the one serving
        /// that port; ID alone the one that sent last.
        #[arg(long = "as", value_name = "ID|IP:PORT|ID@IP:PORT")]
        node: String,

        /// Capture time: RFC 3339 (any UTC offset), a time of day on the
        /// capture's date, +6.923s after the first message, or µs since the
        /// epoch. Default: the end of the capture. A time outside the
        /// captures is an error that names their span.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,

        /// Print as this server version would (`4.0`, `7.2`, …) when the
        /// bytes cannot tell: Redis 4.0 to 6.2 look alike on the wire and are
        /// printed as 6.x (a replica shows its master's configEpoch; before
        /// 6.0 its own).
        #[arg(long, value_name = "X.Y")]
        server_version: Option<String>,
    },
}

/// What `nodes` cannot know from a capture, and how it prints it (`nodes
/// --help`; README, "What a capture cannot show").
const NODES_UNKNOWNS: &str = "\
What a capture cannot show, and how it is printed:
  fail?        the node timeout is not on the wire: taken from the node's own gossip or the
               shortest PING-to-fail? delay seen; may show up to about a second late
  ping_sent    a reconnect the kernel refused at once sends no packet: known to the second
  pong_recv    from the node's gossip when the capture does not hold the PONG: to the second
  handshake    a handshake node's random name never travels: 40 '?' as its id
  link         a node whose connections were never captured is shown connected unless
               noaddr; the end of a capture closes no link
  before       what the node knew before the capture falls back to the peers' own headers
               and to the node's gossip
  slots        migrating/importing markers ([slot->-id], CLUSTER SETSLOT) are not shown
  version      Redis 4.0 to 6.2 look alike on the wire; --server-version names the version
  cloned ids   two servers sharing one id (a copied nodes.conf) keep one table each, told
               apart by their ports: --as ID@IP:PORT chooses (copies at the same ports share)
  event loop   what a server did between a CLUSTER NODES request and its reply (a PING, a PONG,
               a connect) may or may not be in the table it printed
";
