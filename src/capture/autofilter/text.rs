//! The auto filter's rules in libpcap's syntax: readable, and the
//! specification [`super::program`] is tested against (libpcap compiles
//! it without its optimizer, which on these nested offsets reads scratch
//! memory it never wrote: libpcap 1.10.3). Untagged Ethernet framing.

use super::{Learned, MAX_RANGES, MAX_TUNNEL_RANGES, RCMB, port_ranges};
use std::net::IpAddr;

/// UDP destination ports the decoder reads as tunnels without looking
/// further (VXLAN-GPE, GRE, MPLS and IP in UDP).
pub(super) const TUNNEL_UDP_PORTS: [u16; 4] = [4790, 4754, 6635, 8285];
/// IP protocols that are tunnels passed whole (IPv6-in-IP, GRE, MPLS).
pub(super) const TUNNEL_PROTOCOLS: [u8; 3] = [41, 47, 137];
/// VXLAN's ports (a strict header on another port counts too).
pub(super) const VXLAN_PORTS: [u16; 2] = [4789, 8472];
pub(super) const GENEVE_PORT: u16 = 6081;

/// Where a TCP header sits: `proto[at]`.
struct TcpAt<'a> {
    proto: &'a str,
    at: String,
}

impl TcpAt<'_> {
    /// `proto[at + off : size]`.
    fn load(&self, off: &str, size: u8) -> String {
        let at = match (self.at.as_str(), off) {
            ("0", o) => o.to_string(),
            (a, "0") => a.to_string(),
            (a, o) => format!("{a} + {o}"),
        };
        match size {
            1 => format!("{}[{at}]", self.proto),
            n => format!("{}[{at}:{n}]", self.proto),
        }
    }

    /// The payload's bytes at `off`.
    fn data(&self, off: usize, size: u8) -> String {
        let payload = format!("(({} & 0xf0) >> 2)", self.load("12", 1));
        let at = if off == 0 { payload } else { format!("{payload} + {off}") };
        self.load(&at, size)
    }

    fn either_port(&self, ranges: &[(u16, u16)]) -> Vec<String> {
        let (src, dst) = (self.load("0", 2), self.load("2", 2));
        ranges
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    format!("{src} = {lo} or {dst} = {lo}")
                } else {
                    format!("({src} >= {lo} and {src} <= {hi}) or ({dst} >= {lo} and {dst} <= {hi})")
                }
            })
            .collect()
    }

    /// A RESP command whose first word is CLUSTER, any case: inline
    /// (`cluster `) or an array of 1 to 9 arguments (`*N\r\n$7\r\ncluster\r`).
    fn cluster_command(&self) -> String {
        format!(
            "({} | 0x20202020 = 0x636c7573 and {} | 0x20202000 = 0x74657220) or \
             ({} & 0xff00ffff = 0x2a000d0a and {} = 0x24370d0a and {} | 0x20202020 = 0x636c7573 and \
             {} | 0x20202000 = 0x7465720d)",
            self.data(0, 4),
            self.data(4, 4),
            self.data(0, 4),
            self.data(4, 4),
            self.data(8, 4),
            self.data(12, 4),
        )
    }

    /// Ports and SYN / FIN / RST first: they read nothing of the payload (a load past a
    /// packet's end ends a BPF program with "drop").
    fn wanted(&self, ranges: &[(u16, u16)]) -> String {
        let mut parts = self.either_port(ranges);
        parts.push(format!("({} & 7) != 0", self.load("13", 1)));
        parts.push(format!("{} = {RCMB:#010x}", self.data(0, 4)));
        parts.push(self.cluster_command());
        parts.join(" or ")
    }
}

/// An IPv4 header at `proto[ip]`: passes unless it is unfragmented TCP
/// that is not wanted.
fn inner_ipv4(proto: &str, ip: &str, ranges: &[(u16, u16)]) -> String {
    let tcp = TcpAt { proto, at: format!("{ip} + (({proto}[{ip}] & 0xf) << 2)") };
    format!(
        "({proto}[{ip}] & 0xf0) != 0x40 or {proto}[{ip} + 9] != 6 or ({proto}[{ip} + 6:2] & 0x3fff) != 0 or {}",
        tcp.wanted(ranges)
    )
}

fn host(dir: &str, ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => format!("{dir} host {a}"),
        IpAddr::V6(a) => format!("ip6 {dir} host {a}"),
    }
}

fn any_of(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(" or ")
}

/// The auto filter for `learned` (module documentation of
/// [`super`]).
pub fn filter_text(learned: &Learned) -> String {
    let ranges = port_ranges(&learned.ports, MAX_RANGES);
    let inner = port_ranges(&learned.ports, MAX_TUNNEL_RANGES);
    let mut clauses: Vec<String> = learned
        .conversations
        .iter()
        .map(|(c, s)| {
            let way = |a: &std::net::SocketAddr, b: &std::net::SocketAddr| {
                format!(
                    "({} and {} and src port {} and dst port {})",
                    host("src", a.ip()),
                    host("dst", b.ip()),
                    a.port(),
                    b.port()
                )
            };
            format!("(tcp and ({} or {}))", way(c, s), way(s, c))
        })
        .collect();
    let v4 = TcpAt { proto: "tcp", at: "0".into() };
    let v6 = TcpAt { proto: "ip6", at: "40".into() };
    // Fragments of TCP and of tunnels pass whole (the decoder reports them).
    clauses.push("(ip and (ip[6:2] & 0x3fff) != 0 and (ip[9] = 6 or ip[9] = 4))".into());
    clauses.push(format!("(ip and tcp and ({}))", v4.wanted(&ranges)));
    let v6udp =
        any_of(VXLAN_PORTS.iter().chain(&[GENEVE_PORT]).chain(&TUNNEL_UDP_PORTS).map(|p| format!("ip6[42:2] = {p}")));
    clauses.push(format!(
        "(ip6 and ((ip6[6] != 6 and ip6[6] != 17 and ip6[6] != 58) or (ip6[6] = 6 and ({})) or \
         (ip6[6] = 17 and ({v6udp} or ip6[48:4] = 0x08000000))))",
        v6.wanted(&ranges)
    ));
    clauses.push(format!("(ip and ({}))", any_of(TUNNEL_UDP_PORTS.iter().map(|p| format!("udp dst port {p}")))));
    let vxlan = any_of(VXLAN_PORTS.iter().map(|p| format!("udp dst port {p}")));
    clauses.push(format!(
        "(ip and udp and ({vxlan} or (udp[8:4] = 0x08000000 and udp[15] = 0)) and (udp[28:2] != 0x0800 or {}))",
        inner_ipv4("udp", "30", &inner)
    ));
    let opts = "((udp[8] & 0x3f) << 2)";
    clauses.push(format!(
        "(ip and udp and (udp dst port {GENEVE_PORT} or ((udp[8] & 0xc0) = 0 and udp[15] = 0 and \
         (udp[10:2] = 0x6558 or udp[10:2] = 0x0800 or udp[10:2] = 0x86dd))) and \
         (udp[10:2] != 0x6558 or udp[28 + {opts}:2] != 0x0800 or {}))",
        inner_ipv4("udp", &format!("30 + {opts}"), &inner),
    ));
    clauses.push(format!(
        "(ip and ip[9] = 4 and (ip[6:2] & 0x3fff) = 0 and ({}))",
        inner_ipv4("ip", "((ip[0] & 0xf) << 2)", &inner)
    ));
    clauses.push(format!("(ip and ({}))", any_of(TUNNEL_PROTOCOLS.iter().map(|p| format!("ip[9] = {p}")))));
    clauses.push("mpls".into());
    clauses.join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_what_was_learned() {
        let mut learned = Learned::default();
        let empty = filter_text(&learned);
        assert!(empty.contains("tcp[((tcp[12] & 0xf0) >> 2):4] = 0x52436d62"), "{empty}");
        assert!(empty.contains("ip6[40 + ((ip6[40 + 12] & 0xf0) >> 2):4] = 0x52436d62"), "{empty}");
        assert!(!empty.contains(">= "), "no port yet: {empty}");
        learned.ports = [17000, 17001, 17002, 16379, 18000].into_iter().collect();
        learned.conversations.push(("10.0.0.1:40000".parse().unwrap(), "[fd00::2]:7000".parse().unwrap()));
        let text = filter_text(&learned);
        assert!(text.contains("tcp[0:2] = 16379 or tcp[2:2] = 16379"), "{text}");
        assert!(text.contains("(tcp[0:2] >= 17000 and tcp[0:2] <= 17002)"), "{text}");
        // Inside tunnels the three ranges become two.
        assert!(
            text.contains(
                "(udp[30 + ((udp[30] & 0xf) << 2):2] >= 16379 and udp[30 + ((udp[30] & 0xf) << 2):2] <= 17002)"
            ),
            "{text}"
        );
        assert!(
            text.contains("(src host 10.0.0.1 and ip6 dst host fd00::2 and src port 40000 and dst port 7000)"),
            "{text}"
        );
    }
}
