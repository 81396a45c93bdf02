//! Wire codes and borrowed fixed-size fields of the cluster bus
//! (`../shared/protocol/cluster-bus.md` §3.1, §6, §7).

use super::wire::escape_text;
use std::fmt;

/// wire: `type` (u16 @12). Light messages (Valkey 8+) have bit 0x8000 set on
/// the wire; [`MessageType`] always holds the base type (`type & 0x7FFF`) and
/// the light bit is kept in [`crate::clusterbus::Message::light`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageType(pub u16);

impl MessageType {
    pub const PING: MessageType = MessageType(0);
    pub const PONG: MessageType = MessageType(1);
    pub const MEET: MessageType = MessageType(2);
    pub const FAIL: MessageType = MessageType(3);
    pub const PUBLISH: MessageType = MessageType(4);
    pub const FAILOVER_AUTH_REQUEST: MessageType = MessageType(5);
    pub const FAILOVER_AUTH_ACK: MessageType = MessageType(6);
    pub const UPDATE: MessageType = MessageType(7);
    pub const MFSTART: MessageType = MessageType(8);
    pub const MODULE: MessageType = MessageType(9);
    pub const PUBLISHSHARD: MessageType = MessageType(10);

    /// The name used in `dump` output and JSON (`ping`, `pong`, ...,
    /// `unknown`).
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "ping",
            1 => "pong",
            2 => "meet",
            3 => "fail",
            4 => "publish",
            5 => "failover_auth_request",
            6 => "failover_auth_ack",
            7 => "update",
            8 => "mfstart",
            9 => "module",
            10 => "publishshard",
            _ => "unknown",
        }
    }

    /// PING, PONG and MEET carry gossip sections and extensions.
    pub fn has_gossip(self) -> bool {
        self.0 <= 2
    }
}

/// Node flags (header `flags`, gossip entry `flags`), §6.1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeFlags(pub u16);

impl NodeFlags {
    pub const MASTER: u16 = 0x0001;
    pub const SLAVE: u16 = 0x0002;
    pub const PFAIL: u16 = 0x0004;
    pub const FAIL: u16 = 0x0008;
    pub const MYSELF: u16 = 0x0010;
    pub const HANDSHAKE: u16 = 0x0020;
    pub const NOADDR: u16 = 0x0040;
    pub const MEET: u16 = 0x0080;
    pub const MIGRATE_TO: u16 = 0x0100;
    pub const NOFAILOVER: u16 = 0x0200;
    pub const EXTENSIONS_SUPPORTED: u16 = 0x0400;
    pub const LIGHT_HDR_PUBLISH: u16 = 0x0800;
    pub const LIGHT_HDR_MODULE: u16 = 0x1000;
    pub const MY_PRIMARY_FAIL: u16 = 0x2000;

    const NAMES: [(u16, &'static str); 14] = [
        (Self::MYSELF, "myself"),
        (Self::MASTER, "master"),
        (Self::SLAVE, "slave"),
        (Self::PFAIL, "fail?"),
        (Self::FAIL, "fail"),
        (Self::HANDSHAKE, "handshake"),
        (Self::NOADDR, "noaddr"),
        (Self::MEET, "meet"),
        (Self::MIGRATE_TO, "migrate_to"),
        (Self::NOFAILOVER, "nofailover"),
        (Self::EXTENSIONS_SUPPORTED, "ext"),
        (Self::LIGHT_HDR_PUBLISH, "light_pub"),
        (Self::LIGHT_HDR_MODULE, "light_mod"),
        (Self::MY_PRIMARY_FAIL, "primary_fail"),
    ];

    pub fn contains(self, bits: u16) -> bool {
        self.0 & bits == bits
    }

    /// Flag names in `CLUSTER NODES` style, comma separated (`myself,master`);
    /// `noflags` when empty; unknown bits as `0x....`.
    pub fn names(self) -> String {
        let mut out = String::new();
        let mut known = 0u16;
        for (bit, name) in Self::NAMES {
            known |= bit;
            if self.0 & bit != 0 {
                if !out.is_empty() {
                    out.push(',');
                }
                out.push_str(name);
            }
        }
        let unknown = self.0 & !known;
        if unknown != 0 {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(&format!("{unknown:#06x}"));
        }
        if out.is_empty() {
            out.push_str("noflags");
        }
        out
    }
}

/// A 40-byte node name borrowed from the wire (§7). Not validated: real
/// names are 40 lowercase hex digits, and "no node" is 40 NUL bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeName<'buf>(pub &'buf [u8; 40]);

impl<'buf> NodeName<'buf> {
    /// True for the all-zero "no node" value (e.g. `slaveof` of a master).
    pub fn is_null(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// The name as text, escaped losslessly ([`escape_text`]) so output
    /// stays printable.
    pub fn as_str(&self) -> std::borrow::Cow<'buf, str> {
        escape_text(self.0)
    }

    /// First 8 characters, as redis-cli and logs shorten ids.
    pub fn short(&self) -> std::borrow::Cow<'buf, str> {
        escape_text(&self.0[..8])
    }
}

impl fmt::Debug for NodeName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeName({})", self.as_str())
    }
}

/// Number of hash slots.
pub const SLOT_COUNT: u16 = 16384;

/// A 2048-byte slot bitmap borrowed from the wire (§6.4): slot N is bit
/// `1 << (N % 8)` of byte `N / 8`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SlotBitmap<'buf>(pub &'buf [u8; 2048]);

impl<'buf> SlotBitmap<'buf> {
    pub fn contains(&self, slot: u16) -> bool {
        let i = usize::from(slot / 8);
        i < 2048 && self.0[i] & (1 << (slot % 8)) != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    pub fn count(&self) -> u32 {
        self.0.iter().map(|b| b.count_ones()).sum()
    }

    /// Owned slots as inclusive ranges, ascending. Skips 2,048 and then
    /// 512 slots at a time where no run starts or ends, then whole empty
    /// or full words, and finds runs inside a word by counting trailing
    /// ones and zeros.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out = Vec::new();
        self.ranges_into(&mut out);
        out
    }

    /// [`SlotBitmap::ranges`] into `out` (cleared first; its capacity is
    /// kept, so a reused vector costs no allocation).
    pub fn ranges_into(&self, out: &mut Vec<(u16, u16)>) {
        out.clear();
        let mut start: Option<u32> = None;
        for (sb, sup) in self.0.chunks_exact(256).enumerate() {
            // A byte fold the compiler turns into a few vector operations.
            let quiet = match start {
                None => sup.iter().fold(0u8, |a, &x| a | x) == 0,
                Some(_) => sup.iter().fold(0xffu8, |a, &x| a & x) == 0xff,
            };
            if !quiet {
                scan_blocks(sb, sup, &mut start, out);
            }
        }
        if let Some(s) = start {
            out.push((s as u16, 16383));
        }
    }
}

/// The slot ranges of the bitmap each sender sent last: a node sends the
/// same bitmap message after message, so a compare of its 2 KB stands for
/// a scan ([`SlotBitmap::ranges_into`]). Direct-mapped on the sender's
/// name: at most [`RangesCache::WAYS`] bitmaps kept, whatever the input.
#[derive(Debug, Default)]
pub struct RangesCache(Vec<Option<Box<CachedRanges>>>);

#[derive(Debug)]
struct CachedRanges {
    sender: [u8; 40],
    bitmap: [u8; 2048],
    ranges: Vec<(u16, u16)>,
}

impl RangesCache {
    pub const WAYS: usize = 256;

    /// `bitmap`'s ranges into `out` (cleared first), as `sender` sent it.
    pub fn ranges_into(&mut self, sender: &NodeName<'_>, bitmap: &SlotBitmap<'_>, out: &mut Vec<(u16, u16)>) {
        if self.0.is_empty() {
            self.0.resize_with(Self::WAYS, || None);
        }
        let mut head = [0u8; 8];
        head.copy_from_slice(&sender.0[..8]);
        let way = (u64::from_le_bytes(head).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % Self::WAYS;
        let Some(slot) = self.0.get_mut(way) else { return bitmap.ranges_into(out) };
        match slot {
            Some(c) if c.sender == *sender.0 && c.bitmap == *bitmap.0 => {
                out.clear();
                out.extend_from_slice(&c.ranges);
            }
            _ => {
                bitmap.ranges_into(out);
                let c = slot.get_or_insert_with(|| {
                    Box::new(CachedRanges { sender: [0; 40], bitmap: [0; 2048], ranges: Vec::new() })
                });
                c.sender = *sender.0;
                c.bitmap = *bitmap.0;
                c.ranges.clone_from(out);
            }
        }
    }
}

/// The four 512-slot blocks of 2,048-slot block `sb` (its bytes `sup`).
fn scan_blocks(sb: usize, sup: &[u8], start: &mut Option<u32>, out: &mut Vec<(u16, u16)>) {
    for (b, block) in sup.chunks_exact(64).enumerate().map(|(b, x)| (sb * 4 + b, x)) {
        // Slot 64w + i is bit i of word w: bytes ascending, LSB first.
        let mut words = [0u64; 8];
        for (w, chunk) in words.iter_mut().zip(block.chunks_exact(8)) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            *w = u64::from_le_bytes(bytes);
        }
        // 512 slots at once when nothing starts or ends among them.
        match *start {
            None if words.iter().fold(0, |a, w| a | w) == 0 => continue,
            Some(_) if words.iter().fold(u64::MAX, |a, w| a & w) == u64::MAX => continue,
            _ => {}
        }
        for (k, &word) in words.iter().enumerate() {
            let base = (b as u32) * 512 + (k as u32) * 64;
            scan_word(word, base, start, out);
        }
    }
}

/// Runs of set bits in one word of the slot bitmap (`base`: its first
/// slot), continuing the run that `start` holds open.
fn scan_word(word: u64, base: u32, start: &mut Option<u32>, out: &mut Vec<(u16, u16)>) {
    if word == 0 {
        if let Some(s) = start.take() {
            out.push((s as u16, (base - 1) as u16));
        }
        return;
    }
    if word == u64::MAX {
        start.get_or_insert(base);
        return;
    }
    let mut bit = 0u32;
    while bit < 64 {
        let rest = word >> bit;
        match *start {
            Some(s) => {
                bit += rest.trailing_ones().min(64 - bit);
                if bit < 64 {
                    out.push((s as u16, (base + bit - 1) as u16));
                    *start = None;
                }
            }
            None => {
                bit += rest.trailing_zeros().min(64 - bit);
                if bit < 64 {
                    *start = Some(base + bit);
                }
            }
        }
    }
}

impl fmt::Debug for SlotBitmap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SlotBitmap({:?})", self.ranges())
    }
}

/// Formats slot ranges as `0-5460,5462` (CLUSTER NODES style, comma
/// separated); `-` when there are none.
pub fn format_slot_ranges(ranges: &[(u16, u16)]) -> String {
    if ranges.is_empty() {
        return "-".to_string();
    }
    let mut out = String::new();
    for (i, (a, b)) in ranges.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if a == b {
            out.push_str(&a.to_string());
        } else {
            out.push_str(&format!("{a}-{b}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache gives each bitmap its own ranges: the same bitmap again,
    /// a changed one, and two senders sharing a way (same first bytes).
    #[test]
    fn the_ranges_cache_gives_each_bitmap_its_own_ranges() {
        let bitmap = |ranges: &[(usize, usize)]| {
            let mut b = [0u8; 2048];
            for &(a, z) in ranges {
                (a..=z).for_each(|s| b[s / 8] |= 1 << (s % 8));
            }
            b
        };
        let (x, mut y) = ([b'a'; 40], [b'a'; 40]);
        y[39] = b'b';
        let (b1, b2) = (bitmap(&[(0, 5460)]), bitmap(&[(0, 99), (16000, 16383)]));
        let mut cache = RangesCache::default();
        let mut out = vec![(7, 7)];
        for (sender, b) in [(&x, &b1), (&x, &b1), (&y, &b2), (&x, &b1), (&x, &b2), (&y, &b2), (&y, &b1)] {
            cache.ranges_into(&NodeName(sender), &SlotBitmap(b), &mut out);
            assert_eq!(out, SlotBitmap(b).ranges());
        }
    }

    #[test]
    fn slot_ranges_follow_lsb_first_bit_order() {
        let mut bits = [0u8; 2048];
        // slot 0, slots 9..=20, slot 16383
        bits[0] = 0x01;
        for s in 9..=20u16 {
            bits[usize::from(s / 8)] |= 1 << (s % 8);
        }
        bits[2047] = 0x80;
        let map = SlotBitmap(&bits);
        assert_eq!(map.ranges(), vec![(0, 0), (9, 20), (16383, 16383)]);
        assert_eq!(map.count(), 14);
        assert!(map.contains(9) && !map.contains(8));
        assert_eq!(format_slot_ranges(&map.ranges()), "0,9-20,16383");
    }

    /// The word scan agrees with a bit-by-bit scan on bitmaps of random
    /// runs (short and long, across word and byte edges).
    #[test]
    fn ranges_match_a_bit_by_bit_scan() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..600 {
            let mut bits = [0u8; 2048];
            let mut slot = 0u32;
            let mut on = round % 2 == 0;
            while slot < 16384 {
                let longest = [5, 700, 5000][round % 3];
                let len = 1 + (next() % longest) as u32;
                for s in slot..(slot + len).min(16384) {
                    if on {
                        bits[(s / 8) as usize] |= 1 << (s % 8);
                    }
                }
                slot += len;
                on = !on;
            }
            let mut naive: Vec<(u16, u16)> = Vec::new();
            for s in 0..16384u16 {
                if bits[usize::from(s / 8)] & (1 << (s % 8)) != 0 {
                    match naive.last_mut() {
                        Some((_, hi)) if *hi + 1 == s => *hi = s,
                        _ => naive.push((s, s)),
                    }
                }
            }
            assert_eq!(SlotBitmap(&bits).ranges(), naive, "round {round}");
        }
    }

    #[test]
    fn full_bitmap_is_one_range() {
        let bits = [0xFFu8; 2048];
        assert_eq!(SlotBitmap(&bits).ranges(), vec![(0, 16383)]);
    }

    #[test]
    fn flag_names_match_cluster_nodes_style() {
        assert_eq!(NodeFlags(0x0011).names(), "myself,master");
        assert_eq!(NodeFlags(0x000A).names(), "slave,fail");
        assert_eq!(NodeFlags(0).names(), "noflags");
        assert_eq!(NodeFlags(0x8001).names(), "master,0x8000");
    }
}
