//! Node identity and addresses, owned.

use crate::clusterbus::NodeName;
use crate::clusterbus::wire::escape_text;
use serde::{Serialize, Serializer};
use std::fmt;

/// A 40-character node id. Ordered as its bytes are; compared and hashed
/// as five words (ids are random, so they almost always differ in the
/// first), which keeps the maps keyed by id cheap.
#[derive(Clone, Copy, Eq)]
pub struct NodeId(pub [u8; 40]);

impl NodeId {
    /// The id as five words, each read with `read` (big-endian: compared
    /// word by word they order as the bytes do; native-endian, no byte
    /// swap, for equality and hashing), without a `memcmp` call.
    #[inline]
    fn words_by(&self, read: fn([u8; 8]) -> u64) -> [u64; 5] {
        std::array::from_fn(|i| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.0[i * 8..i * 8 + 8]);
            read(b)
        })
    }

    #[inline]
    fn words(&self) -> [u64; 5] {
        self.words_by(u64::from_be_bytes)
    }

    #[inline]
    fn raw_words(&self) -> [u64; 5] {
        self.words_by(u64::from_ne_bytes)
    }

    pub fn from_name(n: &NodeName<'_>) -> Self {
        NodeId(*n.0)
    }

    /// Parses a 40-byte id (any bytes; validity is not checked).
    pub fn from_str_exact(s: &str) -> Option<Self> {
        let b: [u8; 40] = s.as_bytes().try_into().ok()?;
        Some(NodeId(b))
    }

    /// The id as text, escaped losslessly (`\xNN` for bytes that are not
    /// printable UTF-8; see [`escape_text`]).
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        escape_text(&self.0)
    }

    /// First 8 bytes, escaped like [`NodeId::as_str`] (never panics on
    /// bytes that are not UTF-8). The one `short` of the crate.
    pub fn short(&self) -> std::borrow::Cow<'_, str> {
        escape_text(&self.0[..8])
    }
}

impl PartialEq for NodeId {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        // Word by word, folded: an array `==` would call memcmp.
        let (a, b) = (self.raw_words(), other.raw_words());
        a.iter().zip(&b).fold(0, |d, (x, y)| d | (x ^ y)) == 0
    }
}

impl std::hash::Hash for NodeId {
    /// The five words folded into one (each rotated apart, so every byte
    /// counts and a byte moved to another word changes the hash), handed
    /// to the hasher once: the analysis hashes ids tens of millions of
    /// times, and a hasher's rounds run one after another.
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let w = self.raw_words();
        state.write_u64(
            w[0] ^ w[1].rotate_left(13) ^ w[2].rotate_left(26) ^ w[3].rotate_left(39) ^ w[4].rotate_left(52),
        );
    }
}

impl Ord for NodeId {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Ids are random: the first word almost always decides.
        let (a, b) = (self.words(), other.words());
        a[0].cmp(&b[0]).then_with(|| a[1..].cmp(&b[1..]))
    }
}

impl PartialOrd for NodeId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq<str> for NodeId {
    /// Compares with the textual id (tests and command-line arguments).
    fn eq(&self, other: &str) -> bool {
        self.0 == *other.as_bytes()
    }
}

impl PartialEq<&str> for NodeId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other.as_bytes()
    }
}

impl PartialEq<String> for NodeId {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other.as_bytes()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.short())
    }
}

impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

/// Bytes an [`IpText`] holds without a heap allocation: the bus's own IP
/// field (`NET_IP_STR_LEN`, 46 with its NUL) fits.
const IP_INLINE: usize = 46;

/// An IP address as text, as the bus carries it (escaped when a peer sent
/// bytes that are not printable UTF-8). It reads as a `&str`; addresses of
/// up to 46 bytes (every real one) are kept inline, so gossip entries and
/// the analysis' address tables cost no allocation per address.
#[derive(Clone)]
pub struct IpText(IpRepr);

#[derive(Clone)]
enum IpRepr {
    Inline { len: u8, buf: [u8; IP_INLINE] },
    Heap(Box<str>),
}

impl IpText {
    /// From the bytes of a wire field: escaped as `escape_text` does.
    pub fn from_wire(b: &[u8]) -> Self {
        // Printable ASCII other than `\\` is its own escape (nearly every
        // address): copied as it is.
        if IpText::is_verbatim(b) {
            let mut buf = [0u8; IP_INLINE];
            buf[..b.len()].copy_from_slice(b);
            return IpText(IpRepr::Inline { len: b.len() as u8, buf });
        }
        IpText::from(escape_text(b).as_ref())
    }

    /// The wire bytes `b` are their own text (printable ASCII other than
    /// `\\`, inline): `from_wire(b)` holds exactly `b`.
    #[inline]
    pub(crate) fn is_verbatim(b: &[u8]) -> bool {
        b.len() <= IP_INLINE && b.iter().all(|&c| (0x20..0x7f).contains(&c) && c != b'\\')
    }

    /// The text's bytes (no UTF-8 check: comparisons need none).
    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.0 {
            IpRepr::Inline { len, buf } => &buf[..usize::from(*len)],
            IpRepr::Heap(s) => s.as_bytes(),
        }
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Built from a &str, cut at a char boundary: always UTF-8.
            IpRepr::Inline { len, buf } => std::str::from_utf8(&buf[..usize::from(*len)]).unwrap_or_default(),
            IpRepr::Heap(s) => s,
        }
    }
}

impl From<std::net::IpAddr> for IpText {
    /// Formatted without a heap allocation.
    fn from(ip: std::net::IpAddr) -> Self {
        struct Fill {
            len: usize,
            buf: [u8; IP_INLINE],
        }
        impl fmt::Write for Fill {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                let end = self.len + s.len();
                self.buf.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
                self.len = end;
                Ok(())
            }
        }
        let mut f = Fill { len: 0, buf: [0; IP_INLINE] };
        if let std::net::IpAddr::V4(v4) = ip {
            // Dotted quad by hand: this runs for most messages.
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    f.buf[f.len] = b'.';
                    f.len += 1;
                }
                let digits = [o / 100, o / 10 % 10, o % 10];
                let skip = if o >= 100 {
                    0
                } else if o >= 10 {
                    1
                } else {
                    2
                };
                for d in &digits[skip..] {
                    f.buf[f.len] = b'0' + d;
                    f.len += 1;
                }
            }
            return IpText(IpRepr::Inline { len: f.len as u8, buf: f.buf });
        }
        match fmt::Write::write_fmt(&mut f, format_args!("{ip}")) {
            Ok(()) => IpText(IpRepr::Inline { len: f.len as u8, buf: f.buf }),
            Err(_) => IpText::from(ip.to_string()),
        }
    }
}

/// IP addresses as text, each formatted once: the analysis writes the TCP
/// source of most messages. At most [`IpTexts::CAP`] kept (then it starts
/// over).
#[derive(Clone, Debug, Default)]
pub struct IpTexts(rustc_hash::FxHashMap<std::net::IpAddr, IpText>);

impl IpTexts {
    pub const CAP: usize = 4096;

    /// `ip` as [`IpText::from`] writes it.
    pub fn of(&mut self, ip: std::net::IpAddr) -> IpText {
        if self.0.len() >= Self::CAP {
            self.0.clear();
        }
        self.0.entry(ip).or_insert_with(|| IpText::from(ip)).clone()
    }
}

impl From<&str> for IpText {
    fn from(s: &str) -> Self {
        if s.len() <= IP_INLINE {
            let mut buf = [0u8; IP_INLINE];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            IpText(IpRepr::Inline { len: s.len() as u8, buf })
        } else {
            IpText(IpRepr::Heap(s.into()))
        }
    }
}

impl From<String> for IpText {
    fn from(s: String) -> Self {
        IpText::from(s.as_str())
    }
}

impl Default for IpText {
    fn default() -> Self {
        IpText(IpRepr::Inline { len: 0, buf: [0; IP_INLINE] })
    }
}

impl std::ops::Deref for IpText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for IpText {
    fn eq(&self, o: &Self) -> bool {
        self.bytes() == o.bytes()
    }
}

impl Eq for IpText {}

impl PartialEq<str> for IpText {
    fn eq(&self, o: &str) -> bool {
        self.bytes() == o.as_bytes()
    }
}

impl PartialEq<&str> for IpText {
    fn eq(&self, o: &&str) -> bool {
        self.bytes() == o.as_bytes()
    }
}

impl std::hash::Hash for IpText {
    /// As the `str` it reads as (tables keyed by it are looked up by `&str`).
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}

impl PartialOrd for IpText {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for IpText {
    /// As the `str`s compare (byte order).
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.bytes().cmp(o.bytes())
    }
}

impl fmt::Display for IpText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for IpText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for IpText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A node address as the cluster bus states it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct NodeAddr {
    /// Empty when not known (e.g. `myip` not announced).
    pub ip: IpText,
    pub port: u16,
    pub cport: u16,
    pub pport: u16,
}

impl fmt::Display for NodeAddr {
    /// `ip:port@cport`, as in `CLUSTER NODES`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ip.contains(':') {
            write!(f, "[{}]:{}@{}", self.ip, self.port, self.cport)
        } else {
            write!(f, "{}:{}@{}", self.ip, self.port, self.cport)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_texts_write_each_address_as_ip_text_does() {
        let mut t = IpTexts::default();
        for ip in ["127.0.0.1", "10.0.0.255", "::1", "fe80::1:2", "127.0.0.1"] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            assert_eq!(t.of(ip), IpText::from(ip));
        }
        assert_eq!(t.0.len(), 4);
        for k in 0..IpTexts::CAP as u32 + 1 {
            t.of(std::net::Ipv4Addr::from(k).into());
        }
        assert!(t.0.len() <= IpTexts::CAP, "bounded");
    }
    use std::hash::{BuildHasher, BuildHasherDefault};

    #[test]
    fn ip_text_reads_as_the_escaped_str_whatever_its_length() {
        let v6 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
        for (wire, text) in [
            (&b""[..], ""),
            (b"10.0.0.1", "10.0.0.1"),
            (v6.as_bytes(), v6),
            (b"1.2.3.4\r\n", "1.2.3.4\\x0d\\x0a"),
            (b"\xff\xfe", "\\xff\\xfe"),
        ] {
            let ip = IpText::from_wire(wire);
            assert_eq!(ip.as_str(), text);
            assert_eq!(ip, text);
            assert_eq!(ip.clone(), IpText::from(text.to_string()));
        }
        // Every byte value, inside an address: the same text as `escape_text`.
        for c in 0..=255u8 {
            let wire = [b'1', b'0', b'.', c, b'.', b'1'];
            assert_eq!(IpText::from_wire(&wire).as_str(), escape_text(&wire), "byte {c:#x}");
        }
        // Longer than the inline room (an escaped hostile field): on the heap,
        // read the same.
        let long = [0x1bu8; 46];
        let ip = IpText::from_wire(&long);
        assert_eq!(ip.len(), 46 * 4);
        assert_eq!(ip.as_str(), crate::clusterbus::wire::escape_text(&long));
        // Formatted from an address without going through a String.
        let a: std::net::IpAddr = "fe80::1:2:3:4".parse().unwrap();
        assert_eq!(IpText::from(a), "fe80::1:2:3:4");
        // IPv4 by hand, as `Display` writes it: every octet value in every place.
        for o in 0..=255u8 {
            for a in [[o, 0, 0, 0], [0, o, 9, 10], [99, 100, o, 255], [1, 10, 100, o]] {
                let v4 = std::net::IpAddr::from(a);
                assert_eq!(IpText::from(v4), v4.to_string().as_str());
            }
        }
        // Hashed and ordered as its str (tables keyed by it are looked up by &str).
        let h = BuildHasherDefault::<rustc_hash::FxHasher>::default();
        assert_eq!(h.hash_one(IpText::from("10.1.2.3")), h.hash_one("10.1.2.3"));
        assert_eq!(IpText::from("10.0.0.10").cmp(&IpText::from("10.0.0.9")), std::cmp::Ordering::Less);
    }
}
