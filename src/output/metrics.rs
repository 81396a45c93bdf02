//! Prometheus text exposition for `watch --metrics` (formatting only): what
//! the latest look at the evidence shows, and the events told by kind.

use crate::analysis::Analysis;
use crate::analysis::alerts::AlertKind;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The exposition text (version 0.0.4).
pub fn exposition(a: &Analysis, told: &BTreeMap<AlertKind, u64>, libpcap_drops: Option<u64>) -> String {
    let mut s = String::new();
    let mut gauge = |name: &str, help: &str, v: u64| {
        let _ = writeln!(s, "# HELP meetgraph_{name} {help}\n# TYPE meetgraph_{name} gauge\nmeetgraph_{name} {v}");
    };
    gauge("nodes", "Cluster nodes seen.", a.nodes.len() as u64);
    gauge("clusters_before_merges", "Clusters as they were before any merge.", a.clusters.len() as u64);
    gauge("merges", "Merges of two clusters seen.", a.merges.len() as u64);
    gauge("bus_flows", "TCP stream directions that carried cluster-bus messages.", a.coverage.bus_streams);
    gauge("bus_messages", "Cluster-bus messages decoded.", a.coverage.messages);
    gauge("encrypted_flows", "Bus flows that could not be read (TLS).", a.coverage.encrypted.len() as u64);
    if let Some(d) = libpcap_drops {
        gauge("libpcap_drops", "Packets libpcap dropped on the live capture.", d);
    }
    let _ = writeln!(s, "# HELP meetgraph_cluster_nodes Nodes per cluster (as before any merge).");
    let _ = writeln!(s, "# TYPE meetgraph_cluster_nodes gauge");
    for c in &a.clusters {
        let _ = writeln!(s, "meetgraph_cluster_nodes{{cluster=\"{}\"}} {}", c.label, c.nodes.len());
    }
    let _ = writeln!(s, "# HELP meetgraph_events_total Events told, by kind.");
    let _ = writeln!(s, "# TYPE meetgraph_events_total counter");
    for (k, n) in told {
        let _ = writeln!(s, "meetgraph_events_total{{kind=\"{k}\"}} {n}");
    }
    s
}

/// The live capture's auto filter, appended to [`exposition`]: how many
/// bus ports it passes (and which, as ranges), the connections it
/// follows by address, the programs installed so far.
pub fn filter_exposition(ports: usize, ranges: &str, followed: usize, installs: u64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# HELP meetgraph_filter_ports Bus ports the live capture's kernel filter passes.\n\
         # TYPE meetgraph_filter_ports gauge\nmeetgraph_filter_ports{{ranges=\"{ranges}\"}} {ports}\n\
         # HELP meetgraph_filter_followed_connections Connections the filter passes by address (CLUSTER sessions, \
         bus connections joined mid-way).\n# TYPE meetgraph_filter_followed_connections gauge\n\
         meetgraph_filter_followed_connections {followed}\n\
         # HELP meetgraph_filter_changes_total Times what the filter passes changed (each one re-installed).\n\
         # TYPE meetgraph_filter_changes_total counter\nmeetgraph_filter_changes_total {installs}"
    );
    s
}

/// A live capture's interfaces (name, up, outages so far), appended to
/// [`exposition`]: `meetgraph_interface_up` (1 up, 0 down) and
/// `meetgraph_interface_outages_total`.
pub fn interfaces_exposition(interfaces: &[(String, bool, u64)]) -> String {
    let mut s = String::from(
        "# HELP meetgraph_interface_up Whether the live capture's interface is up and read (1) or down (0).\n\
         # TYPE meetgraph_interface_up gauge\n",
    );
    for (name, up, _) in interfaces {
        let _ = writeln!(s, "meetgraph_interface_up{{interface=\"{}\"}} {}", label(name), u8::from(*up));
    }
    s += "# HELP meetgraph_interface_outages_total Times the interface went down or disappeared.\n\
          # TYPE meetgraph_interface_outages_total counter\n";
    for (name, _, outages) in interfaces {
        let _ = writeln!(s, "meetgraph_interface_outages_total{{interface=\"{}\"}} {outages}", label(name));
    }
    s
}

/// A label value escaped (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
