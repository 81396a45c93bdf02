//! `nodes --as ID|IP:PORT|ID@IP:PORT`: what one node believed at one
//! moment, as `CLUSTER NODES` printed it. `--as` takes a node id (or a
//! unique prefix) or an address (`IP:PORT`, the data or the bus port): the
//! id that answered there at that moment, or the list when several did.
//! Two servers sharing one id (a copied `nodes.conf`) each keep their own
//! table: `ID@IP:PORT` or `IP:PORT` chooses the one at that port; `ID`
//! alone the one that sent last (with a warning naming both).
//! `--at` outside the captures' span is an error naming the span: a
//! table at another moment than the one asked would be a wrong answer.

use crate::app::config::{InputConfig, NodesConfig};
use crate::app::emit::write_stdout;
use crate::app::inputs::{damaged, open_vantages};
use crate::app::messages::warn;
use meetgraph::analysis::model::SeenAddress;
use meetgraph::analysis::{Analysis, NodeId};
use meetgraph::error::{Error, Status};
use meetgraph::output::report::write_nodes_view;
use meetgraph::time::{TimeSpec, format_utc_us};

pub fn run(input: &InputConfig, cfg: &NodesConfig) -> Result<Status, Error> {
    // `ID@IP:PORT`: that id's server instance at that address.
    let (node, at_addr) = match cfg.node.split_once('@') {
        Some((id, addr)) if as_address(id).is_none() => (id.to_string(), Some(addr)),
        _ => (cfg.node.clone(), None),
    };
    let node = &node;
    let address = as_address(node);
    let port = match at_addr {
        // Instances are told apart by their ports (IP:PORT as printed,
        // `:PORT` too).
        Some(a) => Some(
            a.split('@')
                .next()
                .and_then(|a| a.rsplit_once(':'))
                .and_then(|(_, p)| p.parse().ok())
                .ok_or_else(|| Error::Usage(format!("--as {}: no IP:PORT after @", cfg.node)))?,
        ),
        None => address.as_ref().map(|a| a.1),
    };
    // A first pass: the first message (relative times) and who answered
    // where (an address).
    let relative = matches!(cfg.at, Some(TimeSpec::Relative(_) | TimeSpec::TimeOfDay(_)));
    let first = if relative || address.is_some() {
        let (mut opened, acfg) = open_vantages(input, None)?;
        Some(meetgraph::run::analyze_inputs_with(&mut opened.inputs, acfg, input.threads).0.finish())
    } else {
        None
    };
    let until = cfg.at.map(|spec| spec.resolve(first.as_ref().and_then(Analysis::t0_us).unwrap_or(0)));
    let (mut opened, mut acfg) = open_vantages(input, None)?;
    acfg.until_us = until;
    acfg.node_views = true;
    acfg.server_version = cfg.server_version;
    let (analyzer, stats) = meetgraph::run::analyze_inputs_with(&mut opened.inputs, acfg, input.threads);
    let status = damaged(&opened.inputs);
    let start = stats.iter().filter_map(|s| s.first_ts_us).min();
    let end = stats.iter().filter_map(|s| s.last_ts_us).max();
    if let (Some(t), Some(start), Some(end)) = (until, start, end)
        && (t < start || t > end)
    {
        let side = if t < start { "before the captures begin" } else { "after the captures end" };
        return Err(Error::Usage(format!(
            "--at {}: {side}; they span {} to {} (give a time between)",
            format_utc_us(t),
            format_utc_us(start),
            format_utc_us(end)
        )));
    }
    let at_us = until.or(end).unwrap_or(0);
    let id = match (&address, &first) {
        (Some((ip, port)), Some(a)) => answered_at(a, ip, *port, at_us, node)?,
        _ => {
            let ids = analyzer.node_ids();
            let matches: Vec<_> = ids.iter().filter(|n| n.as_str().starts_with(node.as_str())).collect();
            match matches.as_slice() {
                [one] => **one,
                [] => return Err(Error::Usage(format!("no node {node:?} seen before that time"))),
                _ => {
                    return Err(Error::Usage(format!(
                        "{node:?} matches {} nodes; give more characters",
                        matches.len()
                    )));
                }
            }
        }
    };
    let instances = analyzer.instances_of(&id);
    // An address (`IP:PORT`) found the id; a port no instance sent as
    // (translated on the way) leaves the choice to the id.
    let port = port.filter(|p| at_addr.is_some() || instances.iter().any(|(d, b)| d == p || b == p));
    if port.is_none() && instances.len() > 1 {
        warn(&format_args!(
            "{} servers sent as {}: {}; this is the one that sent last (choose with --as ID@IP:PORT)",
            instances.len(),
            id.short(),
            instances.iter().map(|(p, c)| format!("port {p}@{c}")).collect::<Vec<_>>().join(", ")
        ));
    }
    let view = analyzer.view_of(&id, port, at_us, cfg.server_version).ok_or_else(|| {
        let ports: Vec<_> = instances.iter().map(|(p, c)| format!("{p}@{c}")).collect();
        Error::Usage(format!("no view of {}: {} served at port(s) {}", cfg.node, id.short(), ports.join(", ")))
    })?;
    write_stdout(|w| write_nodes_view(w, &view))?;
    Ok(status)
}

/// `IP:PORT` (`[IPv6]:PORT`, `IP:PORT@CPORT`) as (IP text, port); `None`
/// for a node id.
fn as_address(s: &str) -> Option<(String, u16)> {
    let s = s.split('@').next().unwrap_or(s);
    let (ip, port) = s.rsplit_once(':')?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    let ip: std::net::IpAddr = ip.parse().ok()?;
    Some((ip.to_string(), port.parse().ok()?))
}

/// A node still speaks this long after its last message seen.
const ALIVE_SLACK_US: i64 = 2_000_000;

/// The node that answered at `ip:port` (its data or bus port) at `at_us`:
/// the only one seen there; else of those seen there by then, the only
/// one still speaking, or the latest when none is (an address reused
/// after its node died); else (two alive at once, or none yet) the list.
fn answered_at(a: &Analysis, ip: &str, port: u16, at_us: i64, asked: &str) -> Result<NodeId, Error> {
    // (node, first seen at the address, last message).
    let mut there: Vec<(NodeId, i64, i64)> = Vec::new();
    for n in &a.nodes {
        let first = n
            .addresses
            .iter()
            .filter(|s| match &s.address {
                SeenAddress::Node(x) => x.ip == ip && (x.port == port || x.cport == port),
                SeenAddress::Ip(_) => false,
            })
            .map(|s| s.first_ts_us)
            .min();
        if let Some(first) = first {
            there.push((n.id, first, n.last_seen_us));
        }
    }
    there.sort_by_key(|x| x.1);
    let list = |v: &[(NodeId, i64, i64)]| {
        v.iter()
            .map(|(n, f, l)| format!("{} ({} to {})", n, format_utc_us(*f), format_utc_us(*l)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let by_then: Vec<_> = there.iter().filter(|(_, f, _)| *f <= at_us).copied().collect();
    let alive: Vec<_> = by_then.iter().filter(|(_, _, l)| at_us <= l + ALIVE_SLACK_US).copied().collect();
    let then = if alive.is_empty() { by_then.last().map(|x| vec![*x]).unwrap_or_default() } else { alive };
    match (there.as_slice(), then.as_slice()) {
        ([], _) => {
            let known: Vec<String> = a.nodes.iter().map(|n| format!("{} {}", n.short, n.best_address)).collect();
            Err(Error::Usage(format!("no node seen at {asked}; nodes seen: {}", known.join(", "))))
        }
        ([one], _) => Ok(one.0),
        (_, [one]) => {
            warn(&format_args!(
                "{asked} was answered by {} nodes: {}; at {} it is {}",
                there.len(),
                list(&there),
                format_utc_us(at_us),
                one.0.short()
            ));
            Ok(one.0)
        }
        _ => Err(Error::Usage(format!(
            "{asked} was answered by {} nodes: {}; give one of these ids with --as (or an --at when only one was there)",
            there.len(),
            list(&there)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_told_from_an_id() {
        assert_eq!(as_address("10.100.1.100:7000"), Some(("10.100.1.100".into(), 7000)));
        assert_eq!(as_address("10.100.1.100:7000@17000"), Some(("10.100.1.100".into(), 7000)));
        assert_eq!(as_address("[::1]:17000"), Some(("::1".into(), 17000)));
        assert_eq!(as_address("23d64118"), None);
        assert_eq!(as_address("23d64118:x"), None);
        assert_eq!(as_address("23d64118@127.0.0.1:7005"), None);
    }
}
