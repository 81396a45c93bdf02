//! MPLS label stacks (on a link, in IP, GRE or UDP) and what sits below
//! the bottom label.

use super::found::{Carried, Found, Outer, be32, malformed, truncated};
use super::plausible::ether_carries_ip;
use crate::decode::tunnel::{TunnelKind, Undecoded};

/// Labels read before an MPLS stack without bottom is called malformed.
const MAX_MPLS_LABELS: usize = 16;

/// An MPLS label stack up to its bottom, then IPv4 / IPv6 by the version
/// nibble, or an Ethernet pseudowire after a control word (first nibble
/// 0) only when that frame carries plausible IP.
pub(in crate::decode) fn mpls(outer: Outer, port: Option<u16>, b: &[u8]) -> Found<'_> {
    const KIND: TunnelKind = TunnelKind::Mpls;
    let mut at = 0;
    let mut bottom = None;
    for _ in 0..MAX_MPLS_LABELS {
        if b.len() < at + 4 {
            return truncated(KIND, "mpls", at + 4, b.len());
        }
        let entry = be32(b, at);
        at += 4;
        if entry & 0x100 != 0 {
            bottom = Some(entry >> 12);
            break;
        }
    }
    let Some(label) = bottom else {
        return malformed(KIND, "mpls", format!("no bottom of stack in {MAX_MPLS_LABELS} labels"));
    };
    let layer = outer.tunnel(KIND, port, Some(label));
    let inner = &b[at..];
    let carried = match inner.first().map(|v| v >> 4) {
        Some(4 | 6) => Carried::Ip(inner),
        Some(0) if inner.get(4..).is_some_and(ether_carries_ip) => Carried::Ethernet(&inner[4..]),
        Some(n) => Carried::Undecoded(Undecoded { name: "MPLS payload with first nibble", code: Some(u32::from(n)) }),
        None => return truncated(KIND, "mpls", at + 1, b.len()),
    };
    Found::Layer(layer, carried)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decap::found::test_frames::{OUTER, eth_ip};

    #[test]
    fn mpls_stack_to_the_bottom() {
        let mut m = vec![0x00, 0x06, 0x40, 0x40, 0x00, 0x0c, 0x81, 0x40]; // labels 100, 200 (bottom)
        m.extend_from_slice(&[0x45, 0, 0, 20]);
        assert!(matches!(mpls(OUTER, None, &m), Found::Layer(t, Carried::Ip(_)) if t.id == Some(200)));
        assert!(matches!(mpls(OUTER, None, &m[..6]), Found::Broken(TunnelKind::Mpls, _)));
        assert!(matches!(mpls(OUTER, None, &[0u8; 80]), Found::Broken(TunnelKind::Mpls, _)));
        // Pseudowire: control word, then Ethernet carrying IP.
        let mut pw = m[..8].to_vec();
        pw.extend_from_slice(&[0, 0, 0, 0]);
        pw.extend(eth_ip());
        assert!(matches!(mpls(OUTER, None, &pw), Found::Layer(_, Carried::Ethernet(_))));
        pw[8 + 4 + 12] = 0x99;
        assert!(matches!(mpls(OUTER, None, &pw), Found::Layer(_, Carried::Undecoded(_))));
    }
}
