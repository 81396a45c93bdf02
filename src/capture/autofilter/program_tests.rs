//! Tests of the program: hand-picked packets, every link, its size, the
//! text as libpcap reads it, the kernel's check.

/// Packets and the cases every framing is checked on.
pub(super) mod frames {
    use super::super::Learned;

    fn be16(v: u16) -> [u8; 2] {
        v.to_be_bytes()
    }

    pub(super) fn eth(ether_type: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        p.extend_from_slice(&be16(ether_type));
        p.extend_from_slice(payload);
        p
    }

    /// IPv4 10.0.0.1 → 10.0.0.2 with `options` words of options; `frag`:
    /// the flags and fragment offset field.
    pub(super) fn ipv4f(proto: u8, options: usize, frag: u16, payload: &[u8]) -> Vec<u8> {
        let ihl = 5 + options;
        let mut p = vec![0x40 | ihl as u8, 0];
        p.extend_from_slice(&be16((ihl * 4 + payload.len()) as u16));
        p.extend_from_slice(&[0, 1]);
        p.extend_from_slice(&be16(frag));
        p.extend_from_slice(&[64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        p.extend(std::iter::repeat_n(1u8, options * 4));
        p.extend_from_slice(payload);
        p
    }

    pub(super) fn ipv4(proto: u8, options: usize, payload: &[u8]) -> Vec<u8> {
        ipv4f(proto, options, 0x4000, payload)
    }

    pub(super) fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&be16(payload.len() as u16));
        p.extend_from_slice(&[next, 64]);
        p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p.extend_from_slice(payload);
        p
    }

    /// TCP with `options` words of options.
    pub(super) fn tcp(sport: u16, dport: u16, options: usize, payload: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&be16(sport));
        p.extend_from_slice(&be16(dport));
        p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, ((5 + options) << 4) as u8, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        p.extend(std::iter::repeat_n(1u8, options * 4));
        p.extend_from_slice(payload);
        p
    }

    /// `ip` (plain TCP over IPv4 or IPv6) with the TCP flags set to `f`.
    pub(super) fn flags(mut ip: Vec<u8>, f: u8) -> Vec<u8> {
        let at = if ip[0] >> 4 == 4 { usize::from(ip[0] & 0xf) * 4 } else { 40 };
        ip[at + 13] = f;
        ip
    }

    pub(super) fn udp(dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&be16(40000));
        p.extend_from_slice(&be16(dport));
        p.extend_from_slice(&be16(8 + payload.len() as u16));
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(payload);
        p
    }

    pub(super) fn v4tcp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        ipv4(6, 0, &tcp(sport, dport, 0, payload))
    }

    /// An IP packet sent the other way (addresses swapped).
    pub(super) fn back(ip: Vec<u8>) -> Vec<u8> {
        let mut p = ip.clone();
        let (a, b, n) = if ip[0] >> 4 == 4 { (12, 16, 4) } else { (8, 24, 16) };
        p[a..a + n].copy_from_slice(&ip[b..b + n]);
        p[b..b + n].copy_from_slice(&ip[a..a + n]);
        p
    }

    pub(super) fn vxlan(dport: u16, inner_ip: &[u8]) -> Vec<u8> {
        let mut v = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
        v.extend_from_slice(&eth(if inner_ip[0] >> 4 == 6 { 0x86dd } else { 0x0800 }, inner_ip));
        eth(0x0800, &ipv4(17, 0, &udp(dport, &v)))
    }

    pub(super) fn geneve(opt_words: usize, inner_ip: &[u8]) -> Vec<u8> {
        let mut g = vec![opt_words as u8, 0, 0x65, 0x58, 0, 0, 1, 0];
        g.extend(std::iter::repeat_n(0u8, opt_words * 4));
        g.extend_from_slice(&eth(0x0800, inner_ip));
        eth(0x0800, &ipv4(17, 0, &udp(6081, &g)))
    }

    pub(super) const BUS: &[u8] = b"RCmb\x00\x00\x08\xd0\x00\x01";
    pub(super) const GET: &[u8] = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";

    pub(super) fn learned() -> Learned {
        let mut l = Learned { ports: [17000, 17001, 17002, 16379].into_iter().collect(), ..Learned::default() };
        l.conversations.push(("10.0.0.1:40001".parse().unwrap(), "10.0.0.2:7000".parse().unwrap()));
        l.conversations.push(("[fd00::1]:40001".parse().unwrap(), "[fd00::2]:7000".parse().unwrap()));
        l
    }

    /// (what, Ethernet frame, passes).
    pub(super) fn cases() -> Vec<(&'static str, Vec<u8>, bool)> {
        vec![
            ("client GET to a data port", eth(0x0800, &v4tcp(40000, 7000, GET)), false),
            ("a pure ACK on a data port", eth(0x0800, &v4tcp(40000, 7000, b"")), false),
            ("a SYN on a data port", eth(0x0800, &flags(v4tcp(40000, 7000, b""), 0x02)), true),
            ("a FIN on a data port", eth(0x0800, &flags(v4tcp(40000, 7000, b""), 0x11)), true),
            ("an RST inside VXLAN", vxlan(4789, &flags(v4tcp(40000, 7000, b""), 0x04)), true),
            ("an IPv6 SYN-ACK", eth(0x86dd, &flags(ipv6(6, &tcp(7000, 40000, 0, b"")), 0x12)), true),
            ("RCmb on ports not learned", eth(0x0800, &v4tcp(40000, 18000, BUS)), true),
            ("RCmb with IP and TCP options", eth(0x0800, &ipv4(6, 2, &tcp(40000, 18000, 3, BUS))), true),
            ("GET with IP and TCP options", eth(0x0800, &ipv4(6, 2, &tcp(40000, 7000, 3, GET))), false),
            ("a continuation on a learned port", eth(0x0800, &v4tcp(40000, 17001, b"\x00\x17slots")), true),
            ("a SYN to a learned port", eth(0x0800, &v4tcp(40000, 16379, b"")), true),
            ("from a learned port", eth(0x0800, &v4tcp(17002, 40000, b"x")), true),
            ("a port between learned ranges", eth(0x0800, &v4tcp(40000, 16999, b"x")), false),
            ("CLUSTER MEET", eth(0x0800, &v4tcp(40000, 7001, b"*4\r\n$7\r\nCLUSTER\r\n$4\r\nMEET\r\n")), true),
            ("cluster nodes", eth(0x0800, &v4tcp(40000, 7001, b"*2\r\n$7\r\ncluster\r\n$5\r\nnodes\r\n")), true),
            ("CLUSTER inline", eth(0x0800, &v4tcp(40000, 7001, b"CLUSTER MEET 10.0.0.1 7000\r\n")), true),
            ("CLUSTERX is not CLUSTER", eth(0x0800, &v4tcp(40000, 7001, b"*1\r\n$8\r\nclusterx\r\n")), false),
            ("CLUSTER with 10 arguments or more", eth(0x0800, &v4tcp(40000, 7001, b"*16\r\n$7\r\ncluster\r\n")), false),
            ("the followed conversation", eth(0x0800, &v4tcp(40001, 7000, GET)), true),
            ("its replies", eth(0x0800, &back(v4tcp(7000, 40001, b"+OK\r\n"))), true),
            ("its pure ACKs", eth(0x0800, &back(v4tcp(7000, 40001, b""))), true),
            ("its ports the wrong way", eth(0x0800, &v4tcp(7000, 40001, b"")), false),
            ("another client of that server", eth(0x0800, &back(v4tcp(7000, 40002, b"+OK\r\n"))), false),
            ("a TCP fragment", eth(0x0800, &ipv4f(6, 0, 0x2000, &tcp(1, 2, 0, GET))), true),
            ("IPv6 RCmb", eth(0x86dd, &ipv6(6, &tcp(40000, 18000, 0, BUS))), true),
            ("IPv6 GET", eth(0x86dd, &ipv6(6, &tcp(40000, 7000, 0, GET))), false),
            ("IPv6 learned port", eth(0x86dd, &ipv6(6, &tcp(40000, 17000, 2, b"x"))), true),
            ("IPv6 CLUSTER", eth(0x86dd, &ipv6(6, &tcp(40000, 7000, 0, b"*3\r\n$7\r\ncluster\r\n"))), true),
            ("IPv6 conversation", eth(0x86dd, &back(ipv6(6, &tcp(7000, 40001, 0, b"")))), true),
            ("IPv6 with a hop-by-hop header", eth(0x86dd, &ipv6(0, &[6, 0, 0, 0, 0, 0, 0, 0])), true),
            ("IPv6 ICMP", eth(0x86dd, &ipv6(58, &[128, 0, 0, 0])), false),
            ("VXLAN over IPv6", eth(0x86dd, &ipv6(17, &udp(4789, &[8, 0, 0, 0, 0, 0, 1, 0]))), true),
            ("VXLAN carrying GET", vxlan(8472, &v4tcp(40000, 7000, GET)), false),
            ("VXLAN carrying RCmb", vxlan(4789, &ipv4(6, 1, &tcp(40000, 18000, 2, BUS))), true),
            ("VXLAN carrying a learned port", vxlan(4789, &v4tcp(40000, 17000, b"")), true),
            ("VXLAN carrying UDP (a nested tunnel)", vxlan(4789, &ipv4(17, 0, &udp(4789, b"x"))), true),
            ("VXLAN carrying IPv6", vxlan(4789, &ipv6(6, &tcp(1, 2, 0, GET))), true),
            ("strict VXLAN elsewhere carrying GET", vxlan(5555, &v4tcp(40000, 7000, GET)), false),
            ("strict VXLAN elsewhere carrying RCmb", vxlan(5555, &v4tcp(40000, 18000, BUS)), true),
            ("Geneve with options carrying GET", geneve(2, &v4tcp(40000, 7000, GET)), false),
            ("Geneve with options carrying RCmb", geneve(2, &v4tcp(40000, 18000, BUS)), true),
            ("IP-in-IP carrying GET", eth(0x0800, &ipv4(4, 0, &v4tcp(40000, 7000, GET))), false),
            (
                "IP-in-IP carrying CLUSTER",
                eth(0x0800, &ipv4(4, 1, &v4tcp(40000, 7000, b"*3\r\n$7\r\nCLUSTER\r\n"))),
                true,
            ),
            ("GRE", eth(0x0800, &ipv4(47, 0, &[0, 0, 8, 0])), true),
            ("MPLS", eth(0x8847, &[0, 0, 1, 0x40]), true),
            ("DNS", eth(0x0800, &ipv4(17, 0, &udp(53, b"\x12\x34\x01\x00"))), false),
            ("ARP", eth(0x0806, &[0; 28]), false),
        ]
    }
}

mod answers {
    use super::super::asm::run;
    use super::super::{Learned, Link, MAX_CONVERSATIONS, program};
    use super::frames::*;

    const KEEP: u32 = 262_144;

    #[test]
    fn bus_passes_application_traffic_does_not() {
        let prog = program(&learned(), Link::Ethernet, KEEP, false);
        let wrong: Vec<&str> =
            cases().iter().filter(|(_, p, want)| (run(&prog, p, 0) == KEEP) != *want).map(|(n, _, _)| *n).collect();
        assert!(wrong.is_empty(), "wrong: {wrong:?}");
        // Nothing learned: what starts a message or a CLUSTER command.
        let bare = program(&Learned::default(), Link::Ethernet, KEEP, false);
        assert_eq!(run(&bare, &eth(0x0800, &v4tcp(40000, 17001, b"\x00\x17slots")), 0), 0);
        assert_eq!(run(&bare, &eth(0x0800, &v4tcp(40000, 17001, BUS)), 0), KEEP);
    }

    /// The same packets, framed as the other links (and one VLAN tag)
    /// see them, get the same answers.
    #[test]
    fn every_link_and_a_vlan_tag_answer_alike() {
        let l = learned();
        let (ip, cooked, eth_prog) = (
            program(&l, Link::Ip, KEEP, false),
            program(&l, Link::Cooked, KEEP, false),
            program(&l, Link::Ethernet, KEEP, false),
        );
        for (what, p, want) in cases() {
            let ether_type = u16::from_be_bytes([p[12], p[13]]);
            let want = if want { KEEP } else { 0 };
            if ether_type == 0x0800 || ether_type == 0x86dd {
                assert_eq!(run(&ip, &p[14..], 0), want, "ip: {what}");
            }
            assert_eq!(run(&cooked, &p[14..], ether_type), want, "cooked: {what}");
            let mut tagged = p[..12].to_vec();
            tagged.extend_from_slice(&[0x81, 0, 0, 7]);
            tagged.extend_from_slice(&p[12..]);
            assert_eq!(run(&eth_prog, &tagged, 0), want, "vlan: {what}");
        }
        // Two tags pass whole.
        let mut two = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xa8, 0, 1, 0x81, 0, 0, 7];
        two.extend_from_slice(&[0x08, 0]);
        two.extend_from_slice(&v4tcp(40000, 7000, GET));
        assert_eq!(run(&eth_prog, &two, 0), KEEP);
    }

    #[test]
    fn the_program_stays_small() {
        let mut many = learned();
        many.ports = (0..300u16).map(|i| 10000 + i * 97).collect();
        for i in 0..MAX_CONVERSATIONS as u16 {
            many.conversations
                .push((format!("10.0.0.1:{}", 50000 + i).parse().unwrap(), "10.0.0.2:7000".parse().unwrap()));
        }
        // One VLAN tag doubles the IP blocks; the kernel takes 4096.
        for (l, max) in [(Learned::default(), 600), (learned(), 800), (many, 1200)] {
            let n = program(&l, Link::Ethernet, KEEP, true).len();
            assert!(n < max, "{n} instructions for {} ports", l.ports.len());
        }
    }
}

/// The program against libpcap's reading of the text, and the kernel's
/// check of the program.
#[cfg(feature = "live")]
mod against_libpcap {
    use super::super::asm::run;
    use super::super::text::filter_text;
    use super::super::{Learned, Link, program};
    use super::frames::*;

    /// Every packet of a grid (framings × ports × payloads, both ways)
    /// gets the same answer from the program as from libpcap's reading
    /// of the text (without its optimizer: see `text.rs`).
    #[test]
    fn the_program_does_what_the_text_says() {
        let ports = [40000, 40001, 7000, 16379, 16380, 17000, 17002, 17003, 18000];
        let payloads: [&[u8]; 12] = [
            b"",
            b"x",
            b"RCm",
            BUS,
            GET,
            b"+OK\r\n",
            b"*4\r\n$7\r\nCLUSTER\r\n$4\r\nMEET\r\n",
            b"*4\r\n$7\r\nCLUSTEX\r\n$4\r\nMEET\r\n",
            b"cluster nodes\r\n",
            b"CLUSTER\tx\r\n",
            b"*12\r\n$7\r\ncluster\r\n",
            b"*1\r\n$7\r\ncluster\r",
        ];
        type Frame = fn(u16, u16, &[u8]) -> Vec<u8>;
        let framings: [(&str, Frame); 13] = [
            ("v4 fin", |a, b, p| eth(0x0800, &flags(v4tcp(a, b, p), 0x11))),
            ("v6 rst", |a, b, p| eth(0x86dd, &flags(ipv6(6, &tcp(a, b, 0, p)), 0x04))),
            ("v4", |a, b, p| eth(0x0800, &v4tcp(a, b, p))),
            ("v4 back", |a, b, p| eth(0x0800, &back(v4tcp(a, b, p)))),
            ("v4 options", |a, b, p| eth(0x0800, &ipv4(6, 1, &tcp(a, b, 2, p)))),
            ("v4 first fragment", |a, b, p| eth(0x0800, &ipv4f(6, 0, 0x2000, &tcp(a, b, 0, p)))),
            ("v6", |a, b, p| eth(0x86dd, &ipv6(6, &tcp(a, b, 1, p)))),
            ("v6 back", |a, b, p| eth(0x86dd, &back(ipv6(6, &tcp(a, b, 0, p))))),
            ("vxlan", |a, b, p| vxlan(4789, &v4tcp(a, b, p))),
            ("strict vxlan", |a, b, p| vxlan(5555, &ipv4(6, 1, &tcp(a, b, 0, p)))),
            ("geneve", |a, b, p| geneve(1, &v4tcp(a, b, p))),
            ("ipip", |a, b, p| eth(0x0800, &ipv4(4, 0, &v4tcp(a, b, p)))),
            ("udp", |a, b, p| eth(0x0800, &ipv4(17, 0, &udp(if a == 7000 { 4790 } else { b }, p)))),
        ];
        let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).unwrap();
        let mut checked = 0;
        for l in [Learned::default(), learned()] {
            let prog = program(&l, Link::Ethernet, 65535, false);
            let text = dead.compile(&filter_text(&l), false).unwrap();
            let mut wrong = Vec::new();
            for (name, frame) in framings {
                for &a in &ports {
                    for &b in &ports {
                        for p in payloads {
                            let pkt = frame(a, b, p);
                            let (mine, theirs) = (run(&prog, &pkt, 0) != 0, text.filter(&pkt));
                            if mine != theirs {
                                wrong.push(format!("{name} {a}->{b} {:?}: program {mine}", String::from_utf8_lossy(p)));
                            }
                            checked += 1;
                        }
                    }
                }
            }
            assert!(wrong.is_empty(), "{} of them, e.g. {:?}", wrong.len(), &wrong[..wrong.len().min(8)]);
        }
        assert!(checked > 20_000);
        // And the hand-picked cases.
        let text = dead.compile(&filter_text(&learned()), false).unwrap();
        for (what, p, want) in cases() {
            assert_eq!(text.filter(&p), want, "text: {what}");
        }
    }

    #[test]
    fn the_kernel_takes_every_program() {
        let mut many = Learned { ports: (0..300u16).map(|i| 10000 + i * 97).collect(), ..Learned::default() };
        for i in 0..super::super::MAX_CONVERSATIONS as u16 {
            many.conversations
                .push((format!("[fd00::1]:{}", 50000 + i).parse().unwrap(), "[fd00::2]:7000".parse().unwrap()));
        }
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
        for l in [Learned::default(), many] {
            for link in [Link::Ethernet, Link::Ip, Link::Cooked] {
                for outgoing in [false, true] {
                    let prog: Vec<socket2::SockFilter> = program(&l, link, 262_144, outgoing)
                        .iter()
                        .map(|i| socket2::SockFilter::new(i.code, i.jt, i.jf, i.k))
                        .collect();
                    sock.attach_filter(&prog).unwrap_or_else(|e| panic!("{link:?}: {e}"));
                }
            }
        }
    }
}
