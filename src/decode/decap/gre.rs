//! GRE (RFC 2784 / 2890) and the ERSPAN mirrors it carries (types I,
//! II, III).

use super::found::{Carried, Found, Outer, be16, be32, is_mpls, malformed, truncated, undecoded};
use crate::decode::tunnel::{TunnelKind, Undecoded};

/// GRE (RFC 2784 / 2890: checksum, key, sequence number) and what it
/// carries: IP, Ethernet, ERSPAN I/II/III, MPLS. `port`: GRE-in-UDP.
pub(super) fn gre(outer: Outer, port: Option<u16>, b: &[u8]) -> Found<'_> {
    const KIND: TunnelKind = TunnelKind::Gre;
    if b.len() < 4 {
        return truncated(KIND, "gre", 4, b.len());
    }
    let flags = be16(b, 0);
    let proto = be16(b, 2);
    match flags & 0x7 {
        0 => {}
        1 => return undecoded("GRE version 1 (PPTP)", None),
        v => return malformed(KIND, "gre", format!("version {v}")),
    }
    if flags & 0x4000 != 0 {
        return undecoded("GRE with source routing (RFC 1701)", None);
    }
    let (checksum, keyed, sequenced) = (flags & 0x8000 != 0, flags & 0x2000 != 0, flags & 0x1000 != 0);
    let key_at = if checksum { 8 } else { 4 };
    let header = key_at + 4 * usize::from(keyed) + 4 * usize::from(sequenced);
    if b.len() < header {
        return truncated(KIND, "gre", header, b.len());
    }
    let key = keyed.then(|| be32(b, key_at));
    let inner = &b[header..];
    let layer = |kind| outer.tunnel(kind, port, key);
    match proto {
        0x0800 | 0x86dd => Found::Layer(layer(KIND), Carried::Ip(inner)),
        0x6558 => Found::Layer(layer(TunnelKind::GreEthernet), Carried::Ethernet(inner)),
        0x88be if sequenced => erspan2(outer, inner),
        0x88be => Found::Layer(layer(TunnelKind::Erspan1), Carried::Ethernet(inner)),
        0x22eb => erspan3(outer, inner),
        p if is_mpls(p) => Found::Layer(layer(KIND), Carried::Mpls(inner)),
        p => undecoded("GRE protocol", Some(u32::from(p))),
    }
}

/// ERSPAN type II: version 1, session id, then the mirrored frame.
fn erspan2(outer: Outer, b: &[u8]) -> Found<'_> {
    const KIND: TunnelKind = TunnelKind::Erspan2;
    if b.len() < 8 {
        return truncated(KIND, "erspan", 8, b.len());
    }
    let version = b[0] >> 4;
    if version != 1 {
        return malformed(KIND, "erspan", format!("type II header with version {version}"));
    }
    let session = u32::from(be16(b, 2) & 0x3ff);
    Found::Layer(outer.tunnel(KIND, None, Some(session)), Carried::Ethernet(&b[8..]))
}

/// ERSPAN type III: version 2, session id, frame type (Ethernet or IP),
/// and the optional 8-byte platform subheader.
fn erspan3(outer: Outer, b: &[u8]) -> Found<'_> {
    const KIND: TunnelKind = TunnelKind::Erspan3;
    if b.len() < 12 {
        return truncated(KIND, "erspan", 12, b.len());
    }
    let version = b[0] >> 4;
    if version != 2 {
        return malformed(KIND, "erspan", format!("type III header with version {version}"));
    }
    let header = if b[11] & 0x01 != 0 { 20 } else { 12 };
    if b.len() < header {
        return truncated(KIND, "erspan", header, b.len());
    }
    let layer = outer.tunnel(KIND, None, Some(u32::from(be16(b, 2) & 0x3ff)));
    let inner = &b[header..];
    let carried = match (b[10] >> 2) & 0x1f {
        0 => Carried::Ethernet(inner),
        2 => Carried::Ip(inner),
        t => Carried::Undecoded(Undecoded { name: "ERSPAN III frame type", code: Some(u32::from(t)) }),
    };
    Found::Layer(layer, carried)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decap::found::test_frames::{OUTER, eth_ip};
    use crate::decode::decap::ip_protocol::over_ip;

    #[test]
    fn gre_optional_fields_and_protocols() {
        // C, K, S: checksum word, key 0xABCD, sequence.
        let mut g = vec![0xB0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0xAB, 0xCD, 0, 0, 0, 1];
        g.extend_from_slice(&[0x45; 20]);
        match over_ip(47, OUTER, &g) {
            Found::Layer(t, Carried::Ip(ip)) => {
                assert_eq!((t.kind, t.id), (TunnelKind::Gre, Some(0xABCD)));
                assert_eq!(ip.len(), 20);
            }
            f => panic!("{f:?}"),
        }
        for cut in 0..16 {
            assert!(matches!(over_ip(47, OUTER, &g[..cut]), Found::Broken(TunnelKind::Gre, _)), "cut {cut}");
        }
        let ppp = [0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0];
        assert!(matches!(over_ip(47, OUTER, &ppp), Found::Undecoded(u) if u.to_string() == "GRE version 1 (PPTP)"));
        let other = [0, 0, 0x88, 0x0b];
        assert!(matches!(over_ip(47, OUTER, &other), Found::Undecoded(u) if u.to_string() == "GRE protocol 0x880b"));
    }

    #[test]
    fn erspan_headers() {
        // Type II: GRE with sequence number, version 1, session 0x155.
        let mut g = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 5, 0x10, 0x00, 0x01, 0x55, 0, 0, 0, 0];
        g.extend(eth_ip());
        assert!(
            matches!(over_ip(47, OUTER, &g), Found::Layer(t, Carried::Ethernet(_)) if t.kind == TunnelKind::Erspan2 && t.id == Some(0x155))
        );
        g[8] = 0x20;
        assert!(matches!(over_ip(47, OUTER, &g), Found::Broken(TunnelKind::Erspan2, _)));
        // Type III with the platform subheader, frame type Ethernet.
        let mut g = vec![0x00, 0x00, 0x22, 0xeb, 0x20, 0, 0x00, 0x07, 0, 0, 0, 0, 0, 0, 0x00, 0x01];
        g.extend_from_slice(&[0; 8]);
        g.extend(eth_ip());
        assert!(
            matches!(over_ip(47, OUTER, &g), Found::Layer(t, Carried::Ethernet(e)) if t.kind == TunnelKind::Erspan3 && t.id == Some(7) && e.len() == 34)
        );
        g[14] = 0x02 << 2; // frame type 2: IP (still the O bit)
        assert!(matches!(over_ip(47, OUTER, &g), Found::Layer(_, Carried::Ip(_))));
    }
}
