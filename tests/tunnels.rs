//! Real multi-host incidents re-encapsulated the ways traffic reaches a
//! capture point (VXLAN 4789 and 8472, Geneve with options, GRE plain,
//! keyed and Ethernet, ERSPAN II and III, IP-in-IP, IPv6-in-IPv4, IPv4-in-
//! IPv6, MPLS, QinQ inside VXLAN, tunnels in tunnels): every packet of
//! every capture is wrapped, and `meetgraph analyze --json` must give
//! exactly the analysis of the plain captures (frame numbers included:
//! the packet count does not change). A capture holding both the plain and
//! the encapsulated copy of every packet (on two interfaces with two link
//! types, as `-i any` on a node sees `cni0` and `eth0`) is read as one
//! copy. Hostile tunnels (cut headers, wrong lengths, 100 layers deep) are
//! counted, never a panic.

mod common;

use common::{Pkt, read_all, samples_dir};
use flate2::write::GzEncoder;
use meetgraph::capture::{CaptureFile, LinkType, PcapngWriter, RawPacket};
use meetgraph::decode::{
    DecodeError, PacketTunnels, TunnelKind, TunnelStats, TunnelTrouble, decode_packet, decode_packet_tunnels,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The samples re-encapsulated: a three-host merge (Redis 7.0, `-i any`
/// on each host plus the LAN bridge) and the original incident (Redis
/// 3.0.7, docker bridges, NAT).
const SAMPLES: [&str; 2] = ["redis-7.0-multihost-merge", "redis-3.0.7-docker-bridge"];

/// Bytes of a frame being built: what is captured, and how long it was on
/// the wire (outer length fields count the wire length, so a cut packet
/// stays cut the same way).
#[derive(Clone)]
struct Bytes {
    data: Vec<u8>,
    wire: usize,
}

impl Bytes {
    fn under(self, mut header: Vec<u8>) -> Bytes {
        let wire = header.len() + self.wire;
        header.extend_from_slice(&self.data);
        Bytes { data: header, wire }
    }
}

fn write_gz(path: &Path, pkts: &[Pkt]) {
    let gz = GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::fast());
    let mut w = PcapngWriter::new(std::io::BufWriter::new(gz)).unwrap();
    for (i, p) in pkts.iter().enumerate() {
        let raw = RawPacket {
            ts_us: p.ts_us,
            frame: i as u64 + 1,
            link: LinkType(p.link),
            orig_len: p.orig_len,
            data: &p.data,
        };
        w.write(&raw).unwrap();
    }
    w.flush().unwrap();
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

/// The IP packet of a captured frame (Ethernet, Linux cooked v1 / v2)
/// and its ethertype.
fn ip_of(p: &Pkt) -> (u16, Bytes) {
    let (ethertype, at) = match p.link {
        1 => (be16(&p.data, 12), 14),
        113 => (be16(&p.data, 14), 16),
        276 => (be16(&p.data, 0), 20),
        l => panic!("link type {l}"),
    };
    (ethertype, Bytes { data: p.data[at..].to_vec(), wire: p.orig_len as usize - at })
}

/// An Ethernet header with these VLAN tags (TPID, VID), outermost first.
fn eth_tagged(tags: &[(u16, u16)], ethertype: u16, inner: Bytes) -> Bytes {
    let mut h = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
    for (tpid, vid) in tags {
        h.extend_from_slice(&tpid.to_be_bytes());
        h.extend_from_slice(&vid.to_be_bytes());
    }
    h.extend_from_slice(&ethertype.to_be_bytes());
    inner.under(h)
}

fn eth(ethertype: u16, inner: Bytes) -> Bytes {
    eth_tagged(&[], ethertype, inner)
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, inner: Bytes) -> Bytes {
    let total = u16::try_from(20 + inner.wire).unwrap();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0x12, 0x34, 0x40, 0, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let sum = !h.chunks(2).fold(0u32, |s, w| {
        let s = s + u32::from(be16(w, 0));
        (s & 0xffff) + (s >> 16)
    }) as u16;
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    inner.under(h)
}

fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, inner: Bytes) -> Bytes {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&u16::try_from(inner.wire).unwrap().to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    inner.under(h)
}

fn udp(sport: u16, dport: u16, inner: Bytes) -> Bytes {
    let mut h = sport.to_be_bytes().to_vec();
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&u16::try_from(8 + inner.wire).unwrap().to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    inner.under(h)
}

fn vxlan(vni: u32, inner_eth: Bytes) -> Bytes {
    let mut h = vec![0x08, 0, 0, 0];
    h.extend_from_slice(&(vni << 8).to_be_bytes());
    inner_eth.under(h)
}

/// Geneve with two options (12 and 4 bytes) and protocol `proto`.
fn geneve(vni: u32, proto: u16, inner: Bytes) -> Bytes {
    let mut h = vec![0x04, 0];
    h.extend_from_slice(&proto.to_be_bytes());
    h.extend_from_slice(&(vni << 8).to_be_bytes());
    h.extend_from_slice(&[0x01, 0x02, 0x03, 0x02, 1, 2, 3, 4, 5, 6, 7, 8]);
    h.extend_from_slice(&[0xff, 0x01, 0x80, 0x00]);
    inner.under(h)
}

/// GRE with the optional checksum, key and sequence number fields.
fn gre(proto: u16, checksum: bool, key: Option<u32>, seq: Option<u32>, inner: Bytes) -> Bytes {
    let flags = u16::from(checksum) << 15 | u16::from(key.is_some()) << 13 | u16::from(seq.is_some()) << 12;
    let mut h = flags.to_be_bytes().to_vec();
    h.extend_from_slice(&proto.to_be_bytes());
    if checksum {
        h.extend_from_slice(&[0xbe, 0xef, 0, 0]);
    }
    for v in [key, seq].into_iter().flatten() {
        h.extend_from_slice(&v.to_be_bytes());
    }
    inner.under(h)
}

fn erspan2(session: u16, seq: u32, inner_eth: Bytes) -> Bytes {
    let mut h = vec![0x10, 0x64];
    h.extend_from_slice(&(0x0800 | session).to_be_bytes()); // En = 0, T = 0
    h.extend_from_slice(&[0, 0, 0, 7]);
    gre(0x88be, false, None, Some(seq), inner_eth.under(h))
}

/// ERSPAN III, frame type Ethernet, with the 8-byte platform subheader.
fn erspan3(session: u16, inner_eth: Bytes) -> Bytes {
    let mut h = vec![0x20, 0x64];
    h.extend_from_slice(&session.to_be_bytes());
    h.extend_from_slice(&0x5f3c_2a10u32.to_be_bytes());
    h.extend_from_slice(&[0, 0, 0x00, 0x01]);
    h.extend_from_slice(&[0x0c, 0, 0, 0, 0, 0, 0, 0]);
    gre(0x22eb, false, None, None, inner_eth.under(h))
}

fn mpls(labels: &[u32], inner: Bytes) -> Bytes {
    let mut h = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        let bottom = u32::from(i + 1 == labels.len());
        h.extend_from_slice(&(l << 12 | bottom << 8 | 64).to_be_bytes());
    }
    inner.under(h)
}

/// The outer (underlay) addresses of a packet: one "node" per inner host.
fn hosts(ip: &[u8]) -> ([u8; 4], [u8; 4]) {
    match ip[0] >> 4 {
        4 => ([192, 0, 2, ip[15]], [192, 0, 2, ip[19]]),
        _ => ([192, 0, 2, ip[23]], [192, 0, 2, ip[39]]),
    }
}

fn v6(a: [u8; 4]) -> [u8; 16] {
    let mut o = [0u8; 16];
    o[..2].copy_from_slice(&[0xfd, 0x00]);
    o[12..].copy_from_slice(&a);
    o
}

/// UDP source port from the inner ports, as VXLAN and Geneve do.
fn entropy(ip: &[u8]) -> u16 {
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let at = if ip[0] >> 4 == 4 { ihl } else { 40 };
    49152 + (be16(ip, at) ^ be16(ip, at + 2)) % 16384
}

/// An IPv4 TCP packet as IPv6 (fd00::a.b.c.d), for the IPv6 encapsulations.
fn to_ipv6((_, ip): (u16, Bytes)) -> (u16, Bytes) {
    let d = &ip.data;
    let ihl = usize::from(d[0] & 0x0f) * 4;
    let total = usize::from(be16(d, 2));
    let tcp = Bytes { data: d[ihl..total.min(d.len())].to_vec(), wire: total - ihl };
    let a = |i: usize| [d[i], d[i + 1], d[i + 2], d[i + 3]];
    (0x86dd, ipv6(v6(a(12)), v6(a(16)), 6, tcp))
}

/// One way of wrapping a packet: its IP packet (and ethertype) in,
/// the frame out (Ethernet).
type Wrap = fn((u16, Bytes)) -> Bytes;

fn over_udp(port: u16, ip: &Bytes, inner: Bytes) -> Bytes {
    let (s, d) = hosts(&ip.data);
    eth(0x0800, ipv4(s, d, 17, udp(entropy(&ip.data), port, inner)))
}

fn over_gre(ip: &Bytes, inner: Bytes) -> Bytes {
    let (s, d) = hosts(&ip.data);
    eth(0x0800, ipv4(s, d, 47, inner))
}

fn vxlan_4789((t, ip): (u16, Bytes)) -> Bytes {
    over_udp(4789, &ip, vxlan(5001, eth(t, ip.clone())))
}

fn vxlan_8472((t, ip): (u16, Bytes)) -> Bytes {
    over_udp(8472, &ip, vxlan(1, eth(t, ip.clone())))
}

fn vxlan_other_port((t, ip): (u16, Bytes)) -> Bytes {
    over_udp(31337, &ip, vxlan(77, eth(t, ip.clone())))
}

fn geneve_6081((t, ip): (u16, Bytes)) -> Bytes {
    over_udp(6081, &ip, geneve(0x00abcd, 0x6558, eth(t, ip.clone())))
}

fn geneve_ip((t, ip): (u16, Bytes)) -> Bytes {
    over_udp(6081, &ip, geneve(9, t, ip.clone()))
}

fn gre_ip((t, ip): (u16, Bytes)) -> Bytes {
    over_gre(&ip, gre(t, false, None, None, ip.clone()))
}

fn gre_keyed((t, ip): (u16, Bytes)) -> Bytes {
    over_gre(&ip, gre(t, true, Some(0x0102_0304), Some(42), ip.clone()))
}

fn gre_teb((t, ip): (u16, Bytes)) -> Bytes {
    over_gre(&ip, gre(0x6558, false, Some(7), None, eth(t, ip.clone())))
}

fn erspan_2((t, ip): (u16, Bytes)) -> Bytes {
    over_gre(&ip, erspan2(0x155, 9, eth(t, ip.clone())))
}

fn erspan_3((t, ip): (u16, Bytes)) -> Bytes {
    over_gre(&ip, erspan3(0x3ff, eth(t, ip.clone())))
}

fn ip_in_ip((_, ip): (u16, Bytes)) -> Bytes {
    let (s, d) = hosts(&ip.data);
    eth(0x0800, ipv4(s, d, 4, ip))
}

fn ipv4_in_ipv6((_, ip): (u16, Bytes)) -> Bytes {
    let (s, d) = hosts(&ip.data);
    eth(0x86dd, ipv6(v6(s), v6(d), 4, ip))
}

fn six_in_four((_, ip): (u16, Bytes)) -> Bytes {
    let (s, d) = hosts(&ip.data);
    eth(0x0800, ipv4(s, d, 41, ip))
}

fn ipv6_plain((t, ip): (u16, Bytes)) -> Bytes {
    eth(t, ip)
}

fn mpls_2((_, ip): (u16, Bytes)) -> Bytes {
    eth(0x8847, mpls(&[1000, 16], ip))
}

fn qinq_in_vxlan((t, ip): (u16, Bytes)) -> Bytes {
    let inner = eth_tagged(&[(0x88a8, 100), (0x8100, 10)], t, ip.clone());
    over_udp(4789, &ip, vxlan(4096, inner))
}

/// VLAN outside, MPLS over GRE over VXLAN inside: four layers.
fn nested((_, ip): (u16, Bytes)) -> Bytes {
    let (s, d) = hosts(&ip.data);
    let in_gre = eth(0x0800, ipv4(s, d, 47, gre(0x8847, false, None, None, mpls(&[20, 30], ip.clone()))));
    let vx = over_udp(8472, &ip, vxlan(3, in_gre));
    let mut tagged = vx.data[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x2a]);
    Bytes { wire: vx.wire + 4, data: [tagged, vx.data[12..].to_vec()].concat() }
}

fn wrap_packet(p: &Pkt, f: Wrap) -> Pkt {
    let b = f(ip_of(p));
    Pkt { ts_us: p.ts_us, link: 1, orig_len: b.wire as u32, data: b.data }
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meetgraph-tunnels-{}", std::process::id())).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Removes the directory of rewritten captures once a check passed (a
/// failed one leaves them for a look).
fn forget(files: &[PathBuf]) {
    if let Some(dir) = files.first().and_then(|f| f.parent()) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The capture files of a sample, sorted (as the golden test gives them).
fn captures(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".pcap.gz"))
        .collect();
    v.sort();
    v
}

fn analyze_json(files: &[PathBuf]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_meetgraph"))
        .arg("analyze")
        .args(files.iter().map(|f| f.file_name().unwrap()))
        .args(["--json", "-"])
        .current_dir(files[0].parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Each capture of the sample rewritten packet by packet with `f`, under
/// the same file names in `out`.
fn rewrite(sample: &str, out: &Path, f: &dyn Fn(&Pkt) -> Vec<Pkt>) -> Vec<PathBuf> {
    captures(&samples_dir().join(sample))
        .iter()
        .map(|src| {
            let pkts: Vec<Pkt> = read_all(src).iter().flat_map(f).collect();
            let dst = out.join(src.file_name().unwrap());
            write_gz(&dst, &pkts);
            dst
        })
        .collect()
}

/// The parts of an analysis a capture's encapsulation must not change.
const STORY: [&str; 8] = ["nodes", "clusters", "introductions", "joins", "merges", "findings", "damage", "story"];

fn assert_same_analysis(name: &str, sample: &str, got: &Value, want: &Value) {
    assert!(want["merges"].as_array().is_some_and(|m| !m.is_empty()), "{sample}: no merge to compare");
    for key in STORY {
        assert_eq!(got[key], want[key], "{name} on {sample}: {key} differs");
    }
    // Each capture also lists what was taken off its packets (JSON
    // `tunnels`); the rest is the plain analysis, byte for byte.
    let mut got = got.clone();
    for c in got["captures"].as_array_mut().into_iter().flatten() {
        let t = c.as_object_mut().and_then(|o| o.remove("tunnels"));
        assert!(
            t.as_ref().is_some_and(|t| t["packets"].as_u64() > Some(0)),
            "{name} on {sample}: a capture does not list its tunnels: {c}"
        );
    }
    assert_eq!(&got, want, "{name} on {sample}: the analysis differs");
}

/// Wraps every packet of both samples with `f` and checks the analysis is
/// the plain one, byte for byte, and that every packet came out of the
/// expected tunnels.
fn same_verdict(name: &str, f: Wrap, kinds: &[TunnelKind]) {
    for sample in SAMPLES {
        let plain = analyze_json(&captures(&samples_dir().join(sample)));
        let files = rewrite(sample, &tmp(&format!("{name}-{sample}")), &|p| vec![wrap_packet(p, f)]);
        let (stats, packets) = tunnel_stats(&files);
        assert_eq!(stats.packets, packets, "{name} on {sample}: every packet decapsulated");
        assert!(stats.undecoded.is_empty() && stats.malformed.is_empty(), "{name}: {stats:?}");
        let seen: Vec<TunnelKind> = stats.tunnels.keys().map(|t| t.kind).collect();
        for k in kinds {
            assert!(seen.contains(k), "{name} on {sample}: no {k} layer in {seen:?}");
        }
        assert_same_analysis(name, sample, &analyze_json(&files), &plain);
        forget(&files);
    }
}

/// What decapsulation found over every packet of `files`.
fn tunnel_stats(files: &[PathBuf]) -> (TunnelStats, u64) {
    let mut stats = TunnelStats::default();
    let mut t = PacketTunnels::default();
    let mut packets = 0;
    for path in files {
        let mut f = CaptureFile::open(path).unwrap();
        while f.advance().unwrap() {
            let p = f.current().unwrap();
            packets += 1;
            let _ = decode_packet_tunnels(&p, &mut t);
            stats.record(&t);
        }
    }
    (stats, packets)
}

#[test]
fn vxlan_4789_cloud_traffic_mirroring() {
    same_verdict("vxlan-4789", vxlan_4789, &[TunnelKind::Vxlan]);
}

#[test]
fn vxlan_8472_flannel_and_cilium() {
    same_verdict("vxlan-8472", vxlan_8472, &[TunnelKind::Vxlan]);
}

#[test]
fn vxlan_on_a_port_nobody_configured() {
    same_verdict("vxlan-31337", vxlan_other_port, &[TunnelKind::Vxlan]);
}

#[test]
fn geneve_with_options() {
    same_verdict("geneve", geneve_6081, &[TunnelKind::Geneve]);
    same_verdict("geneve-ip", geneve_ip, &[TunnelKind::Geneve]);
}

#[test]
fn gre_plain_ipv4_payload() {
    same_verdict("gre", gre_ip, &[TunnelKind::Gre]);
}

#[test]
fn gre_with_checksum_key_and_sequence() {
    same_verdict("gre-key", gre_keyed, &[TunnelKind::Gre]);
}

#[test]
fn gre_transparent_ethernet_bridging() {
    same_verdict("gre-teb", gre_teb, &[TunnelKind::GreEthernet]);
}

#[test]
fn erspan_type_2() {
    same_verdict("erspan-2", erspan_2, &[TunnelKind::Erspan2]);
}

#[test]
fn erspan_type_3() {
    same_verdict("erspan-3", erspan_3, &[TunnelKind::Erspan3]);
}

#[test]
fn ip_in_ip_calico() {
    same_verdict("ipip", ip_in_ip, &[TunnelKind::IpInIp]);
    same_verdict("ipip6", ipv4_in_ipv6, &[TunnelKind::IpInIp]);
}

#[test]
fn mpls_two_labels() {
    same_verdict("mpls", mpls_2, &[TunnelKind::Mpls]);
}

#[test]
fn qinq_inside_vxlan() {
    same_verdict("qinq-vxlan", qinq_in_vxlan, &[TunnelKind::Vxlan]);
}

#[test]
fn vlan_vxlan_gre_mpls_nested() {
    same_verdict("nested", nested, &[TunnelKind::Vxlan, TunnelKind::Gre, TunnelKind::Mpls]);
}

/// IPv6-in-IPv4 (6in4, sit): the inner packets are the sample made IPv6
/// (fd00::a.b.c.d), so the reference is that IPv6 capture, plain.
#[test]
fn ipv6_in_ipv4() {
    for sample in SAMPLES {
        let plain6 =
            rewrite(sample, &tmp(&format!("ipv6-{sample}")), &|p| vec![wrap_packet(p, |x| ipv6_plain(to_ipv6(x)))]);
        let want = analyze_json(&plain6);
        assert!(want["nodes"].to_string().contains("fd00::"), "the IPv6 reference must see IPv6 endpoints");
        let files =
            rewrite(sample, &tmp(&format!("6in4-{sample}")), &|p| vec![wrap_packet(p, |x| six_in_four(to_ipv6(x)))]);
        let (stats, packets) = tunnel_stats(&files);
        assert_eq!(stats.packets, packets);
        assert!(stats.tunnels.keys().all(|t| t.kind == TunnelKind::Ipv6InIp));
        assert_same_analysis("6in4", sample, &analyze_json(&files), &want);
        forget(&plain6);
        forget(&files);
    }
}

/// Each packet twice, on two interfaces with two link types: the plain
/// copy (as captured) and the VXLAN copy (Ethernet), in either order, as
/// `-i any` on a node sees a cross-host segment on `cni0` and on `eth0`.
/// The second copy is a duplicate: the analysis is the plain one (frame
/// numbers halved) and the duplicate bytes are counted.
#[test]
fn plain_and_encapsulated_copies_collapse_into_one() {
    for sample in SAMPLES {
        let want = analyze_json(&captures(&samples_dir().join(sample)));
        let files = rewrite(sample, &tmp(&format!("dup-{sample}")), &|p| {
            let (a, b) = (p.clone(), wrap_packet(p, vxlan_8472));
            // A fixed pseudo-random order per packet.
            if (p.ts_us ^ p.orig_len as i64) % 3 == 0 { vec![b, a] } else { vec![a, b] }
        });
        let mut got = analyze_json(&files);
        halve_frames(&mut got);
        assert_same_analysis("plain+vxlan", sample, &got, &want);
        // Counted: every byte (delivered or already a duplicate, as `-i
        // any` captures have) came a second time.
        for (f, orig) in files.iter().zip(captures(&samples_dir().join(sample))) {
            let (delivered, duplicate) = reassembly_bytes(f);
            let (plain_delivered, plain_duplicate) = reassembly_bytes(&orig);
            assert!(delivered > 100_000);
            assert_eq!(delivered, plain_delivered, "{}", f.display());
            assert_eq!(duplicate, 2 * plain_duplicate + delivered, "{}: every byte twice", f.display());
        }
        forget(&files);
    }
}

/// Bytes delivered and duplicate bytes dropped, as `dump --stats` says.
fn reassembly_bytes(f: &Path) -> (u64, u64) {
    let out = Command::new(env!("CARGO_BIN_EXE_meetgraph")).args(["dump", "-q", "--stats"]).arg(f).output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let num = |after: &str| -> u64 {
        let i = text.find(after).unwrap_or_else(|| panic!("no {after:?} in {text}")) + after.len();
        text[i..].split_whitespace().next().unwrap().parse().unwrap()
    };
    (num("delivered "), num("duplicate "))
}

/// Frame numbers of a capture holding each packet twice, as the frame of
/// the original packet (frames 2k-1 and 2k are copies of frame k).
fn halve_frames(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::Number(n) if k.contains("frame") => {
                        *x = Value::from(n.as_u64().unwrap().div_ceil(2));
                    }
                    _ => halve_frames(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(halve_frames),
        _ => {}
    }
}

fn raw(data: &[u8]) -> RawPacket<'_> {
    RawPacket { ts_us: 0, frame: 1, link: LinkType::ETHERNET, orig_len: data.len() as u32, data }
}

/// One real bus packet (a PING with its payload) of the 7.0 sample.
fn one_real_packet() -> Pkt {
    let pkts = read_all(&samples_dir().join("redis-7.0-multihost-merge/dc.pcap.gz"));
    pkts.into_iter().find(|p| p.data.windows(4).any(|w| w == b"RCmb")).unwrap()
}

#[test]
fn every_cut_of_every_tunnel_is_counted_or_decoded_never_a_panic() {
    let p = one_real_packet();
    let plain = decode_packet(&raw(&p.data)).unwrap().unwrap();
    // With its own header at a known place (`true`: a cut in it is a
    // malformed tunnel); VXLAN on a port nobody configured is plain UDP
    // once cut, IP-in-IP has no header of its own.
    let wraps: [(&str, Wrap, bool); 14] = [
        ("vxlan", vxlan_4789, true),
        ("vxlan-8472", vxlan_8472, true),
        ("vxlan-any", vxlan_other_port, false),
        ("geneve", geneve_6081, true),
        ("gre", gre_ip, true),
        ("gre-key", gre_keyed, true),
        ("gre-teb", gre_teb, true),
        ("erspan2", erspan_2, true),
        ("erspan3", erspan_3, true),
        ("ipip", ip_in_ip, false),
        ("ip6ip", ipv4_in_ipv6, false),
        ("mpls", mpls_2, true),
        ("qinq-vxlan", qinq_in_vxlan, true),
        ("nested", nested, true),
    ];
    for (name, f, own_header) in wraps {
        let w = wrap_packet(&p, f);
        let mut t = PacketTunnels::default();
        let seg = decode_packet_tunnels(&raw(&w.data), &mut t).unwrap().unwrap();
        assert_eq!(
            (seg.src, seg.dst, seg.seq, seg.payload),
            (plain.src, plain.dst, plain.seq, plain.payload),
            "{name}"
        );
        assert!(t.depth() >= 1 && t.trouble.is_none(), "{name}");
        let mut stats = TunnelStats::default();
        let mut broken = 0;
        for cut in 0..w.data.len() {
            let mut q = raw(&w.data[..cut]);
            q.orig_len = w.data.len() as u32;
            let got = decode_packet_tunnels(&q, &mut t);
            stats.record(&t);
            match got {
                // Cut inside the inner payload: the bytes kept, the rest missing.
                Ok(Some(s)) => {
                    assert_eq!(s.payload.len() + s.missing as usize, plain.payload.len(), "{name} cut {cut}")
                }
                Ok(None) => assert!(t.trouble.is_none() || matches!(t.trouble, Some(TunnelTrouble::Undecoded(_)))),
                Err(_) => broken += 1,
            }
        }
        assert!(broken > 0, "{name}: no cut reported");
        assert_eq!(!stats.malformed.is_empty(), own_header, "{name}: cut tunnel headers: {stats:?}");
    }
}

/// One more layer around a packet.
type Layer = fn(Bytes) -> Bytes;

/// Tunnel in tunnel 100 deep (GRE, IP-in-IP, MPLS, VXLAN): stopped at the
/// bound and counted, no stack overflow.
#[test]
fn recursion_bombs_stop_at_the_bound() {
    let p = one_real_packet();
    let base = ip_of(&p);
    let bombs: [(&str, Layer); 4] = [
        ("gre", |b| ipv4([1, 1, 1, 1], [2, 2, 2, 2], 47, gre(0x0800, false, None, None, b))),
        ("ipip", |b| ipv4([1, 1, 1, 1], [2, 2, 2, 2], 4, b)),
        ("mpls-gre", |b| ipv4([1, 1, 1, 1], [2, 2, 2, 2], 47, gre(0x8847, false, None, None, mpls(&[3, 0], b)))),
        ("vxlan", |b| ipv4([1, 1, 1, 1], [2, 2, 2, 2], 17, udp(1, 4789, vxlan(1, eth(0x0800, b))))),
    ];
    for (name, layer) in bombs {
        let mut b = base.1.clone();
        for _ in 0..100 {
            b = layer(b);
        }
        let f = eth(0x0800, b);
        let mut t = PacketTunnels::default();
        let got = decode_packet_tunnels(&raw(&f.data), &mut t);
        assert!(matches!(got, Err(DecodeError::Malformed { layer: "tunnel", .. })), "{name}: {got:?}");
        assert_eq!(t.trouble, Some(TunnelTrouble::TooDeep), "{name}");
        let mut stats = TunnelStats::default();
        stats.record(&t);
        assert_eq!(stats.too_deep, 1);
        // Within the bound it decodes.
        let mut b = base.1.clone();
        for _ in 0..3 {
            b = layer(b);
        }
        assert!(decode_packet(&raw(&eth(0x0800, b).data)).unwrap().is_some(), "{name} 3 deep");
    }
}

/// Lengths that lie (UDP, IP, GRE flags, Geneve option lengths, label
/// stacks without bottom), every byte of every header flipped: never a
/// panic, and a tunnel whose header cannot be read is counted.
#[test]
fn wrong_lengths_and_flipped_header_bytes() {
    let p = one_real_packet();
    let payload_at = p.data.windows(4).position(|w| w == b"RCmb").unwrap();
    let overhead_of = |w: &Pkt| w.data.len() - p.data.len();
    let mut stats = TunnelStats::default();
    let mut t = PacketTunnels::default();
    let wraps: [Wrap; 9] = [vxlan_4789, geneve_6081, gre_keyed, gre_teb, erspan_2, erspan_3, ip_in_ip, mpls_2, nested];
    for f in wraps {
        let w = wrap_packet(&p, f);
        // Every header byte before the inner bus payload, every value.
        for at in 0..(payload_at + overhead_of(&w)).min(w.data.len()) {
            for v in [0u8, 1, 0x08, 0x0f, 0x40, 0x45, 0x80, 0xff] {
                let mut d = w.data.clone();
                d[at] = v;
                let _ = decode_packet_tunnels(&raw(&d), &mut t);
                stats.record(&t);
            }
        }
    }
    assert!(stats.malformed.len() >= 4, "{stats:?}");
    assert!(stats.packets > 1000);
}

/// `s` with every UTC time (`2026-12-04T18:21:52.298651Z`) taken out.
fn without_times(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let is_time =
            b.len() >= i + 20 && b[i..i + 4].iter().all(u8::is_ascii_digit) && b[i + 4] == b'-' && b[i + 10] == b'T';
        match (is_time, s[i..].find('Z')) {
            (true, Some(z)) => i += z + 1,
            _ => {
                out.push(s[i..].chars().next().unwrap());
                i += s[i..].chars().next().unwrap().len_utf8();
            }
        }
    }
    out
}

/// Story lines, merge sides, clusters, findings.
type Conclusions = (Vec<String>, Value, Value, Vec<String>);

/// What an analysis concludes, without times and frames (each capture
/// point sees a segment at its own microsecond and frame): the story, the
/// merges' sides, the clusters, and the findings (kind, nodes, addresses).
fn conclusions(v: &Value) -> Conclusions {
    let story = v["story"].as_array().unwrap().iter().map(|s| without_times(s.as_str().unwrap())).collect();
    let sides = Value::from(v["merges"].as_array().unwrap().iter().map(|m| m["sides"].clone()).collect::<Vec<_>>());
    let mut findings: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {} {}", f["kind"], f["nodes"], f["addresses"]))
        .collect();
    findings.sort();
    (story, sides, v["clusters"].clone(), findings)
}

/// The overlay sample (tests/lab/overlay.sh, Redis 7.0.15): the uplink's
/// VXLAN alone tells the bridge's story, verdict, clusters and the
/// address reuse; it lacks only findings of exchanges between two pods of
/// one host (which never cross the uplink); with the bridge it is the
/// bridge's analysis.
#[test]
fn the_overlay_uplink_tells_the_bridge_story() {
    let dir = samples_dir().join("redis-7.0-overlay-reuse");
    let (uplink, bridge) = (dir.join("uplink-h1.pcap.gz"), dir.join("bridge-h1.pcap.gz"));
    let (stats, packets) = tunnel_stats(std::slice::from_ref(&uplink));
    assert_eq!(stats.packets, packets);
    for t in stats.tunnels.keys() {
        assert_eq!((t.kind, t.port, t.id), (TunnelKind::Vxlan, Some(8472), Some(1)), "{t}");
        assert!(t.outer_src.unwrap().to_string().starts_with("192.168.77."), "{t}");
    }
    let b = conclusions(&analyze_json(std::slice::from_ref(&bridge)));
    let u = conclusions(&analyze_json(std::slice::from_ref(&uplink)));
    let both = conclusions(&analyze_json(&[bridge, uplink]));
    assert!(b.0.iter().any(|s| s.starts_with("ADDRESS REUSE")), "{:?}", b.0);
    assert!(b.0.iter().all(|s| !s.contains("2026-")), "{:?}", b.0);
    assert_eq!((&u.0, &u.1, &u.2), (&b.0, &b.1, &b.2));
    assert_eq!((&both.0, &both.1, &both.2, &both.3), (&b.0, &b.1, &b.2, &b.3));
    let mut rest = b.3.clone();
    for f in &u.3 {
        let i = rest.iter().position(|x| x == f).unwrap_or_else(|| panic!("the uplink adds {f}"));
        rest.remove(i);
    }
    assert!(u.3.iter().any(|f| f.starts_with("\"address_reuse\"")));
    // a1 dialling n (both on h1), and b2-b3 setup epochs (both on h1).
    assert_eq!(rest.len(), 3, "{rest:?}");
}

/// Tunnels meetgraph recognises but does not decode are named and
/// counted; a fragmented tunnel packet is an IP fragment; a UDP datagram
/// that only resembles VXLAN on another port is plain UDP.
#[test]
fn undecoded_tunnels_are_named_never_silent() {
    let ip = ip_of(&one_real_packet()).1;
    let cases: [(Bytes, Option<&str>); 6] = [
        (ipv4([1, 1, 1, 1], [2, 2, 2, 2], 17, udp(40000, 2152, ip.clone())), Some("GTP-U (UDP 2152)")),
        (ipv4([1, 1, 1, 1], [2, 2, 2, 2], 47, gre(0x880b, false, None, None, ip.clone())), Some("GRE protocol 0x880b")),
        (ipv4([1, 1, 1, 1], [2, 2, 2, 2], 50, ip.clone()), Some("IPsec ESP (encrypted, IP protocol 50)")),
        (ipv4([1, 1, 1, 1], [2, 2, 2, 2], 17, udp(40000, 51820, ip.clone())), Some("WireGuard (UDP 51820)")),
        // VXLAN flags but an ARP frame inside, on a port nobody configured.
        (ipv4([1, 1, 1, 1], [2, 2, 2, 2], 17, udp(40000, 31000, vxlan(1, eth(0x0806, ip.clone())))), None),
        (ipv4([1, 1, 1, 1], [2, 2, 2, 2], 17, udp(40000, 53, ip.clone())), None),
    ];
    let mut stats = TunnelStats::default();
    let mut t = PacketTunnels::default();
    for (b, name) in cases {
        let f = eth(0x0800, b);
        assert!(matches!(decode_packet_tunnels(&raw(&f.data), &mut t), Ok(None)), "{name:?}");
        match (name, t.trouble) {
            (Some(n), Some(TunnelTrouble::Undecoded(u))) => assert_eq!(u.to_string(), n),
            (None, None) => assert_eq!(t.depth(), 0),
            (n, got) => panic!("{n:?}: {got:?}"),
        }
        stats.record(&t);
    }
    assert_eq!(stats.undecoded.len(), 4);
    assert_eq!(stats.packets, 0);
    // GRE in a fragment (MF set): an IP fragment, as for TCP.
    let mut f = eth(0x0800, ipv4([1, 1, 1, 1], [2, 2, 2, 2], 47, gre(0x0800, false, None, None, ip))).data;
    f[14 + 6] |= 0x20;
    assert_eq!(decode_packet(&raw(&f)).unwrap_err(), DecodeError::Fragmented);
}
