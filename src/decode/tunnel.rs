//! What a packet was carried in: the tunnel layers taken off it (kind,
//! outer endpoints, VNI / key / session / label), the tunnels named but not
//! decoded, and the per-capture counters a pipeline keeps of them.
//! Nothing here reads bytes: `decap.rs` does, `link.rs` drives it.

use serde::Serialize;
use serde::ser::SerializeSeq;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// Tunnel layers one packet may be nested in; past it the packet is
/// counted (`too_deep`) and not decoded.
pub const MAX_TUNNEL_DEPTH: usize = 8;

/// Distinct tunnels (kind, endpoints, port, id) counted one by one; the
/// packets of further ones are counted by kind only.
pub const MAX_TUNNELS_LISTED: usize = 256;

/// An encapsulation meetgraph takes off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelKind {
    /// VXLAN (RFC 7348): UDP 4789, 8472 (Linux / flannel), or any port
    /// whose payload is a strict VXLAN header over Ethernet carrying IP.
    Vxlan,
    /// VXLAN-GPE (UDP 4790, or the P flag): IPv4, IPv6, Ethernet or MPLS.
    VxlanGpe,
    /// Geneve (RFC 8926): UDP 6081 or a strict header elsewhere.
    Geneve,
    /// GRE (RFC 2784/2890) carrying IPv4 or IPv6.
    Gre,
    /// GRE carrying Ethernet (0x6558: gretap, NVGRE).
    GreEthernet,
    /// GRE with protocol 0x88BE and no sequence number: Ethernet, no header.
    Erspan1,
    /// ERSPAN type II (GRE 0x88BE with sequence number, 8-byte header).
    Erspan2,
    /// ERSPAN type III (GRE 0x22EB, 12-byte header, optional 8 more).
    Erspan3,
    /// IPv4 in IPv4 or IPv6 (IP protocol 4: Calico IP-in-IP, ipip).
    IpInIp,
    /// IPv6 in IPv4 or IPv6 (IP protocol 41: 6in4, sit, ip6tnl).
    Ipv6InIp,
    /// An IP packet straight in UDP (flannel's `udp` backend, 8285).
    IpInUdp,
    /// MPLS label stack (ethertype 0x8847/0x8848, GRE, UDP 6635).
    Mpls,
}

impl TunnelKind {
    /// Short name for reports (`VXLAN`, `ERSPAN II`).
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::Vxlan => "VXLAN",
            TunnelKind::VxlanGpe => "VXLAN-GPE",
            TunnelKind::Geneve => "Geneve",
            TunnelKind::Gre => "GRE",
            TunnelKind::GreEthernet => "GRE (Ethernet)",
            TunnelKind::Erspan1 => "ERSPAN I",
            TunnelKind::Erspan2 => "ERSPAN II",
            TunnelKind::Erspan3 => "ERSPAN III",
            TunnelKind::IpInIp => "IP-in-IP",
            TunnelKind::Ipv6InIp => "IPv6-in-IP",
            TunnelKind::IpInUdp => "IP-in-UDP",
            TunnelKind::Mpls => "MPLS",
        }
    }

    /// What [`Tunnel::id`] means for this kind.
    pub fn id_name(self) -> &'static str {
        match self {
            TunnelKind::Vxlan | TunnelKind::VxlanGpe | TunnelKind::Geneve => "VNI",
            TunnelKind::Gre | TunnelKind::GreEthernet => "key",
            TunnelKind::Erspan1 | TunnelKind::Erspan2 | TunnelKind::Erspan3 => "session",
            TunnelKind::Mpls => "label",
            TunnelKind::IpInIp | TunnelKind::Ipv6InIp | TunnelKind::IpInUdp => "id",
        }
    }
}

impl fmt::Display for TunnelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One tunnel layer taken off a packet: a fact of that packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Tunnel {
    pub kind: TunnelKind,
    /// Outer source address (`None` for MPLS straight on a link).
    pub outer_src: Option<IpAddr>,
    /// Outer destination address.
    pub outer_dst: Option<IpAddr>,
    /// UDP destination port of UDP encapsulations.
    pub port: Option<u16>,
    /// VNI (VXLAN, Geneve), GRE key, ERSPAN session id, bottom MPLS label.
    pub id: Option<u32>,
}

impl fmt::Display for Tunnel {
    /// `VXLAN 10.0.0.1 → 10.0.0.2 udp/8472 VNI 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if let (Some(s), Some(d)) = (self.outer_src, self.outer_dst) {
            write!(f, " {s} → {d}")?;
        }
        if let Some(p) = self.port {
            write!(f, " udp/{p}")?;
        }
        if let Some(id) = self.id {
            write!(f, " {} {id}", self.kind.id_name())?;
        }
        Ok(())
    }
}

/// A tunnel recognised but not decoded (`GRE protocol 0x880b`, `GTP-U
/// (UDP 2152)`): its packets are named and counted, never silently
/// dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Undecoded {
    pub name: &'static str,
    /// The protocol or type number that was not decoded, when there is one.
    pub code: Option<u32>,
}

impl fmt::Display for Undecoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(c) => write!(f, "{} {c:#06x}", self.name),
            None => f.write_str(self.name),
        }
    }
}

/// Why decapsulation stopped short of the inner packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelTrouble {
    /// A tunnel meetgraph does not decode.
    Undecoded(Undecoded),
    /// A header of this kind cut or impossible (the packet's decode error
    /// says how).
    Malformed(TunnelKind),
    /// More than [`MAX_TUNNEL_DEPTH`] nested layers.
    TooDeep,
}

/// The tunnel layers of one packet, outermost first (filled by
/// [`crate::decode::decode_packet_tunnels`]).
#[derive(Clone, Debug, Default)]
pub struct PacketTunnels {
    layers: [Option<Tunnel>; MAX_TUNNEL_DEPTH],
    len: usize,
    /// Where decapsulation stopped, when it did not reach a packet.
    pub trouble: Option<TunnelTrouble>,
}

impl PacketTunnels {
    /// Forgets the previous packet.
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
        self.trouble = None;
    }

    /// Whether the packet was in no tunnel and nothing was wrong.
    #[inline]
    pub fn is_plain(&self) -> bool {
        self.len == 0 && self.trouble.is_none()
    }

    /// The layers taken off, outermost first.
    pub fn layers(&self) -> impl Iterator<Item = &Tunnel> {
        self.layers[..self.len].iter().flatten()
    }

    pub fn depth(&self) -> usize {
        self.len
    }

    /// Adds a layer; false (and `TooDeep`) when the bound is reached.
    pub(super) fn push(&mut self, t: Tunnel) -> bool {
        match self.layers.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(t);
                self.len += 1;
                true
            }
            None => {
                self.trouble = Some(TunnelTrouble::TooDeep);
                false
            }
        }
    }
}

/// Per-capture counters of decapsulation, for `dump --stats` and the
/// report's Captures section: what was taken off (kind, outer endpoints,
/// VNI / key / session / label, packets), what was named but not decoded,
/// what was broken. Fed with [`TunnelStats::record`] after each
/// [`crate::decode::decode_packet_tunnels`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TunnelStats {
    /// Packets that came out of at least one tunnel.
    pub packets: u64,
    /// Packets per tunnel layer, the first [`MAX_TUNNELS_LISTED`] distinct
    /// tunnels.
    #[serde(serialize_with = "tunnel_list")]
    pub tunnels: BTreeMap<Tunnel, u64>,
    /// Packets of tunnels past that bound, by kind.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub unlisted: BTreeMap<TunnelKind, u64>,
    /// Packets in tunnels meetgraph does not decode, by name.
    #[serde(serialize_with = "undecoded_map")]
    pub undecoded: BTreeMap<Undecoded, u64>,
    /// Tunnel headers cut or impossible, by kind.
    pub malformed: BTreeMap<TunnelKind, u64>,
    /// Packets nested deeper than [`MAX_TUNNEL_DEPTH`].
    pub too_deep: u64,
}

impl TunnelStats {
    /// Counts what one packet's decapsulation found.
    #[inline]
    pub fn record(&mut self, t: &PacketTunnels) {
        if t.is_plain() {
            return;
        }
        self.record_layers(t);
    }

    fn record_layers(&mut self, t: &PacketTunnels) {
        if t.depth() > 0 {
            self.packets += 1;
        }
        for layer in t.layers() {
            if let Some(n) = self.tunnels.get_mut(layer) {
                *n += 1;
            } else if self.tunnels.len() < MAX_TUNNELS_LISTED {
                self.tunnels.insert(*layer, 1);
            } else {
                *self.unlisted.entry(layer.kind).or_default() += 1;
            }
        }
        match t.trouble {
            Some(TunnelTrouble::Undecoded(u)) => *self.undecoded.entry(u).or_default() += 1,
            Some(TunnelTrouble::Malformed(k)) => *self.malformed.entry(k).or_default() += 1,
            Some(TunnelTrouble::TooDeep) => self.too_deep += 1,
            None => {}
        }
    }

    /// Adds another capture's (or reading thread's) counters.
    pub fn merge(&mut self, other: &TunnelStats) {
        self.packets += other.packets;
        for (t, n) in &other.tunnels {
            if let Some(m) = self.tunnels.get_mut(t) {
                *m += n;
            } else if self.tunnels.len() < MAX_TUNNELS_LISTED {
                self.tunnels.insert(*t, *n);
            } else {
                *self.unlisted.entry(t.kind).or_default() += n;
            }
        }
        for (k, n) in &other.unlisted {
            *self.unlisted.entry(*k).or_default() += n;
        }
        for (u, n) in &other.undecoded {
            *self.undecoded.entry(*u).or_default() += n;
        }
        for (k, n) in &other.malformed {
            *self.malformed.entry(*k).or_default() += n;
        }
        self.too_deep += other.too_deep;
    }

    /// True when no packet was in a tunnel or looked like one.
    pub fn is_empty(&self) -> bool {
        *self == TunnelStats::default()
    }
}

/// `tunnels` as a list of objects (JSON keys must be strings).
fn tunnel_list<S: serde::Serializer>(m: &BTreeMap<Tunnel, u64>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Entry<'a> {
        #[serde(flatten)]
        tunnel: &'a Tunnel,
        packets: u64,
    }
    let mut seq = s.serialize_seq(Some(m.len()))?;
    for (tunnel, packets) in m {
        seq.serialize_element(&Entry { tunnel, packets: *packets })?;
    }
    seq.end()
}

/// `undecoded` keyed by its display name.
fn undecoded_map<S: serde::Serializer>(m: &BTreeMap<Undecoded, u64>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(m.iter().map(|(u, n)| (u.to_string(), *n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vxlan(vni: u32) -> Tunnel {
        Tunnel {
            kind: TunnelKind::Vxlan,
            outer_src: Some("192.168.0.1".parse().unwrap()),
            outer_dst: Some("192.168.0.2".parse().unwrap()),
            port: Some(8472),
            id: Some(vni),
        }
    }

    #[test]
    fn layers_are_bounded_and_counted() {
        let mut p = PacketTunnels::default();
        for i in 0..MAX_TUNNEL_DEPTH {
            assert!(p.push(vxlan(i as u32)));
        }
        assert!(!p.push(vxlan(99)));
        assert_eq!(p.trouble, Some(TunnelTrouble::TooDeep));
        let mut s = TunnelStats::default();
        s.record(&p);
        assert_eq!((s.packets, s.too_deep, s.tunnels.len()), (1, 1, MAX_TUNNEL_DEPTH));
        p.clear();
        assert!(p.is_plain());
        s.record(&p);
        assert_eq!(s.packets, 1);
    }

    #[test]
    fn distinct_tunnels_past_the_bound_are_counted_by_kind() {
        let mut s = TunnelStats::default();
        let mut p = PacketTunnels::default();
        for vni in 0..(MAX_TUNNELS_LISTED as u32 + 10) {
            p.clear();
            p.push(vxlan(vni));
            s.record(&p);
        }
        assert_eq!(s.tunnels.len(), MAX_TUNNELS_LISTED);
        assert_eq!(s.unlisted[&TunnelKind::Vxlan], 10);
        let mut twice = s.clone();
        twice.merge(&s);
        assert_eq!(twice.packets, 2 * s.packets);
        assert_eq!(twice.unlisted[&TunnelKind::Vxlan], 20);
        assert_eq!(twice.tunnels[&vxlan(0)], 2);
    }

    #[test]
    fn stats_serialize_with_string_keys() {
        let mut s = TunnelStats::default();
        let mut p = PacketTunnels::default();
        p.push(vxlan(1));
        s.record(&p);
        p.clear();
        p.trouble = Some(TunnelTrouble::Undecoded(Undecoded { name: "GRE protocol", code: Some(0x880b) }));
        s.record(&p);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["tunnels"][0]["kind"], "vxlan");
        assert_eq!(v["tunnels"][0]["id"], 1);
        assert_eq!(v["tunnels"][0]["packets"], 1);
        assert_eq!(v["undecoded"]["GRE protocol 0x880b"], 1);
        assert_eq!(vxlan(1).to_string(), "VXLAN 192.168.0.1 → 192.168.0.2 udp/8472 VNI 1");
    }
}
