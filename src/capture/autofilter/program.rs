//! The auto filter as a classic BPF program for the kernel, written
//! directly: the rules of [`super::text`] (tested equal to libpcap's
//! reading of them) with each offset computed once, about a tenth of the
//! instructions libpcap makes of the text and no scratch memory.

use super::asm::{AD_PKTTYPE, AD_PROTOCOL, Asm, Insn, Label, op};
use super::text::{GENEVE_PORT, TUNNEL_PROTOCOLS, TUNNEL_UDP_PORTS, VXLAN_PORTS};
use super::{Learned, MAX_RANGES, MAX_TUNNEL_RANGES, RCMB, port_ranges};
use std::net::{IpAddr, SocketAddr};

/// `PACKET_OUTGOING`.
const OUTGOING: u32 = 4;

/// How the packets a socket filters begin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Ethernet (and the Linux loopback).
    Ethernet,
    /// The IP header first (tun devices, `DLT_RAW`).
    Ip,
    /// Linux cooked capture (`-i any`): the kernel filters from the IP
    /// header and tells the protocol apart.
    Cooked,
}

impl Link {
    /// The link of a libpcap data link type (`None`: no auto filter).
    pub fn of_dlt(dlt: i32) -> Option<Link> {
        match dlt {
            1 => Some(Link::Ethernet),
            12 | 14 | 101 | 228 | 229 => Some(Link::Ip),
            113 | 276 => Some(Link::Cooked),
            _ => None,
        }
    }
}

struct Gen {
    a: Asm,
    accept: Label,
    drop: Label,
    ranges: Vec<(u16, u16)>,
    inner: Vec<(u16, u16)>,
    conversations: Vec<(SocketAddr, SocketAddr)>,
}

/// The filter for `learned` on `link`, keeping `keep` bytes of a packet
/// that passes. `skip_outgoing`: the loopback, where every packet is
/// seen twice and libpcap throws the outgoing copy away.
pub fn program(learned: &Learned, link: Link, keep: u32, skip_outgoing: bool) -> Vec<Insn> {
    let mut a = Asm::default();
    let (accept, drop) = (a.label(), a.label());
    let mut g = Gen {
        a,
        accept,
        drop,
        ranges: port_ranges(&learned.ports, MAX_RANGES),
        inner: port_ranges(&learned.ports, MAX_TUNNEL_RANGES),
        conversations: learned.conversations.clone(),
    };
    if skip_outgoing {
        g.a.stmt(op::LD_W_ABS, AD_PKTTYPE);
        g.a.jeq_to(OUTGOING, drop);
    }
    let mut blocks: Vec<(Label, u32, bool)> = Vec::new();
    let mut block = |g: &mut Gen, l: u32, v6: bool| {
        let at = g.a.label();
        blocks.push((at, l, v6));
        at
    };
    match link {
        Link::Ethernet => {
            let (v4, v6, vlan) = (block(&mut g, 14, false), block(&mut g, 14, true), g.a.label());
            g.a.stmt(op::LD_H_ABS, 12);
            g.dispatch(v4, v6);
            for t in [0x8100, 0x88a8, 0x9100] {
                g.a.jeq_to(t, vlan);
            }
            g.a.ja(drop);
            // One tag looked through; a second passes whole.
            g.a.place(vlan);
            let (v4, v6) = (block(&mut g, 18, false), block(&mut g, 18, true));
            g.a.stmt(op::LD_H_ABS, 16);
            g.dispatch(v4, v6);
            for t in [0x8100, 0x88a8, 0x9100] {
                g.a.jeq_to(t, accept);
            }
            g.a.ja(drop);
        }
        Link::Ip => {
            let (v4, v6) = (block(&mut g, 0, false), block(&mut g, 0, true));
            g.a.stmt(op::LD_B_ABS, 0);
            g.a.stmt(op::AND_K, 0xf0);
            g.a.jeq_to(0x40, v4);
            g.a.jeq_to(0x60, v6);
            g.a.ja(drop);
        }
        Link::Cooked => {
            let (v4, v6) = (block(&mut g, 0, false), block(&mut g, 0, true));
            g.a.stmt(op::LD_H_ABS, AD_PROTOCOL);
            g.dispatch(v4, v6);
            g.a.ja(drop);
        }
    }
    // Each block ends with its own two returns, so its jumps stay short.
    g.returns(keep);
    for (at, l, v6) in blocks {
        g.accept = g.a.label();
        g.drop = g.a.label();
        g.a.place(at);
        if v6 {
            g.ipv6(l)
        } else {
            g.ipv4(l)
        }
        g.returns(keep);
    }
    g.a.assemble()
}

impl Gen {
    /// Places the current accept and drop returns.
    fn returns(&mut self, keep: u32) {
        self.a.place(self.accept);
        self.a.ret(keep);
        self.a.place(self.drop);
        self.a.ret(0);
    }

    /// A holds an ethertype: IPv4, IPv6, MPLS (passes).
    fn dispatch(&mut self, v4: Label, v6: Label) {
        self.a.jeq_to(0x0800, v4);
        self.a.jeq_to(0x86dd, v6);
        self.a.jeq_to(0x8847, self.accept);
        self.a.jeq_to(0x8848, self.accept);
    }

    /// Passes when A is inside one of `ranges`.
    fn port_in(&mut self, ranges: &[(u16, u16)]) {
        for &(lo, hi) in ranges {
            if lo == hi {
                self.a.jeq_to(u32::from(lo), self.accept);
            } else {
                let (high, next) = (self.a.label(), self.a.label());
                self.a.jump(op::JGE_K, u32::from(lo), high, next);
                self.a.place(high);
                self.a.jump(op::JGT_K, u32::from(hi), next, self.accept);
                self.a.place(next);
            }
        }
    }

    /// X holds what puts a TCP header at `[x + k]`: learned ports, SYN,
    /// FIN or RST, then `RCmb`, then a CLUSTER command pass; anything else
    /// goes to `fail`.
    fn tcp(&mut self, k: u32, ranges: &[(u16, u16)], fail: Label) {
        let a = &mut self.a;
        a.stmt(op::LD_H_IND, k);
        self.port_in(ranges);
        self.a.stmt(op::LD_H_IND, k + 2);
        self.port_in(ranges);
        let a = &mut self.a;
        // SYN, FIN, RST: where every connection starts and ends.
        a.stmt(op::LD_B_IND, k + 13);
        a.jset_to(0x07, self.accept);
        // X += the TCP header's length: the payload at [x + k].
        a.stmt(op::LD_B_IND, k + 12);
        a.stmt(op::AND_K, 0xf0);
        a.stmt(op::RSH_K, 2);
        a.stmt(op::ADD_X, 0);
        a.stmt(op::TAX, 0);
        a.stmt(op::LD_W_IND, k);
        a.jeq_to(RCMB, self.accept);
        let array = a.label();
        a.stmt(op::AND_K, 0xff00_ffff);
        a.jeq_to(0x2a00_0d0a, array);
        // Inline: "cluster ".
        a.stmt(op::LD_W_IND, k);
        a.stmt(op::OR_K, 0x2020_2020);
        a.jne_to(0x636c_7573, fail);
        a.stmt(op::LD_W_IND, k + 4);
        a.stmt(op::OR_K, 0x2020_2000);
        a.jeq_to(0x7465_7220, self.accept);
        a.ja(fail);
        // "*N\r\n$7\r\ncluster\r".
        a.place(array);
        a.stmt(op::LD_W_IND, k + 4);
        a.jne_to(0x2437_0d0a, fail);
        a.stmt(op::LD_W_IND, k + 8);
        a.stmt(op::OR_K, 0x2020_2020);
        a.jne_to(0x636c_7573, fail);
        a.stmt(op::LD_W_IND, k + 12);
        a.stmt(op::OR_K, 0x2020_2000);
        a.jeq_to(0x7465_720d, self.accept);
        a.ja(fail);
    }

    /// X holds what puts an IPv4 header at `[x + k]`: passes unless it is
    /// unfragmented TCP the rules turn away (then `fail`).
    fn inner_ipv4(&mut self, k: u32, fail: Label) {
        let a = &mut self.a;
        a.stmt(op::LD_B_IND, k);
        a.stmt(op::AND_K, 0xf0);
        a.jne_to(0x40, self.accept);
        a.stmt(op::LD_B_IND, k + 9);
        a.jne_to(6, self.accept);
        a.stmt(op::LD_H_IND, k + 6);
        a.jset_to(0x3fff, self.accept);
        a.stmt(op::LD_B_IND, k);
        a.stmt(op::AND_K, 0xf);
        a.stmt(op::LSH_K, 2);
        a.stmt(op::ADD_X, 0);
        a.stmt(op::TAX, 0);
        let inner = self.inner.clone();
        self.tcp(k, &inner, fail);
    }

    /// Both directions of each followed connection of this family; X
    /// holds what puts the TCP header at `[x + tcp]`.
    fn conversations(&mut self, l: u32, v6: bool, tcp: u32) {
        let list: Vec<(SocketAddr, SocketAddr)> =
            self.conversations.iter().filter(|(c, _)| c.is_ipv6() == v6).copied().collect();
        let (src, dst) = if v6 { (l + 8, l + 24) } else { (l + 12, l + 16) };
        for (c, s) in list {
            for (from, to) in [(c, s), (s, c)] {
                let next = self.a.label();
                for (at, ip) in [(src, from.ip()), (dst, to.ip())] {
                    let words: Vec<u32> = match ip {
                        IpAddr::V4(a) => vec![u32::from(a)],
                        IpAddr::V6(a) => {
                            a.octets().chunks(4).map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]])).collect()
                        }
                    };
                    for (i, w) in words.into_iter().enumerate() {
                        self.a.stmt(op::LD_W_ABS, at + 4 * i as u32);
                        self.a.jne_to(w, next);
                    }
                }
                self.a.stmt(op::LD_H_IND, tcp);
                self.a.jne_to(u32::from(from.port()), next);
                self.a.stmt(op::LD_H_IND, tcp + 2);
                self.a.jeq_to(u32::from(to.port()), self.accept);
                self.a.place(next);
            }
        }
    }

    /// An IPv4 header at `l`.
    fn ipv4(&mut self, l: u32) {
        let (tcp, udp, ipip) = (self.a.label(), self.a.label(), self.a.label());
        let (accept, drop) = (self.accept, self.drop);
        let a = &mut self.a;
        a.stmt(op::LD_B_ABS, l + 9);
        a.jeq_to(6, tcp);
        a.jeq_to(17, udp);
        a.jeq_to(4, ipip);
        for p in TUNNEL_PROTOCOLS {
            a.jeq_to(u32::from(p), accept);
        }
        a.ja(drop);

        // TCP: fragments pass; followed connections, then the rules.
        a.place(tcp);
        a.stmt(op::LD_H_ABS, l + 6);
        a.jset_to(0x3fff, accept);
        a.stmt(op::LDX_MSH, l);
        self.conversations(l, false, l);
        let ranges = self.ranges.clone();
        self.tcp(l, &ranges, drop);

        // UDP: tunnels.
        let (vxlan, geneve_test, geneve) = (self.a.label(), self.a.label(), self.a.label());
        let a = &mut self.a;
        a.place(udp);
        a.stmt(op::LD_H_ABS, l + 6);
        a.jset_to(0x1fff, drop);
        a.stmt(op::LDX_MSH, l);
        a.stmt(op::LD_H_IND, l + 2);
        for p in TUNNEL_UDP_PORTS {
            a.jeq_to(u32::from(p), accept);
        }
        for p in VXLAN_PORTS {
            a.jeq_to(u32::from(p), vxlan);
        }
        // A strict VXLAN header on any other port.
        a.stmt(op::LD_W_IND, l + 8);
        a.jne_to(0x0800_0000, geneve_test);
        a.stmt(op::LD_B_IND, l + 15);
        a.jne_to(0, geneve_test);
        a.place(vxlan);
        a.stmt(op::LD_H_IND, l + 28);
        a.jne_to(0x0800, accept);
        self.inner_ipv4(l + 30, geneve_test);

        // Geneve: its port, or a plausible header anywhere.
        let a = &mut self.a;
        a.place(geneve_test);
        a.stmt(op::LDX_MSH, l);
        a.stmt(op::LD_H_IND, l + 2);
        a.jeq_to(u32::from(GENEVE_PORT), geneve);
        a.stmt(op::LD_B_IND, l + 8);
        a.stmt(op::AND_K, 0xc0);
        a.jne_to(0, drop);
        a.stmt(op::LD_B_IND, l + 15);
        a.jne_to(0, drop);
        a.stmt(op::LD_H_IND, l + 10);
        for p in [0x6558, 0x0800, 0x86dd] {
            a.jeq_to(p, geneve);
        }
        a.ja(drop);
        a.place(geneve);
        a.stmt(op::LD_H_IND, l + 10);
        a.jne_to(0x6558, accept);
        // X += the options' length.
        a.stmt(op::LD_B_IND, l + 8);
        a.stmt(op::AND_K, 0x3f);
        a.stmt(op::LSH_K, 2);
        a.stmt(op::ADD_X, 0);
        a.stmt(op::TAX, 0);
        a.stmt(op::LD_H_IND, l + 28);
        a.jne_to(0x0800, accept);
        self.inner_ipv4(l + 30, drop);

        // IP-in-IP: an outer fragment passes.
        let a = &mut self.a;
        a.place(ipip);
        a.stmt(op::LD_H_ABS, l + 6);
        a.jset_to(0x3fff, accept);
        a.stmt(op::LDX_MSH, l);
        self.inner_ipv4(l, drop);
    }

    /// An IPv6 header at `l`.
    fn ipv6(&mut self, l: u32) {
        let (tcp, udp) = (self.a.label(), self.a.label());
        let (accept, drop) = (self.accept, self.drop);
        let a = &mut self.a;
        a.stmt(op::LD_B_ABS, l + 6);
        a.jeq_to(6, tcp);
        a.jeq_to(17, udp);
        a.jeq_to(58, drop);
        // Extension headers, tunnels: whole.
        a.ja(accept);
        a.place(tcp);
        a.stmt(op::LDX_IMM, 0);
        self.conversations(l, true, l + 40);
        let ranges = self.ranges.clone();
        self.tcp(l + 40, &ranges, drop);
        let a = &mut self.a;
        a.place(udp);
        a.stmt(op::LD_H_ABS, l + 42);
        for p in VXLAN_PORTS.iter().chain(&[GENEVE_PORT]).chain(&TUNNEL_UDP_PORTS) {
            a.jeq_to(u32::from(*p), accept);
        }
        a.stmt(op::LD_W_ABS, l + 48);
        a.jeq_to(0x0800_0000, accept);
        a.ja(drop);
    }
}
