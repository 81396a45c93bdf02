//! The fixed facts of the wire format (§1–§2 of the protocol notes): the
//! signature, header and entry sizes, the layout families, and the byte
//! helpers every parser shares. Imports nothing.

/// wire: sig
pub const SIGNATURE: &[u8; 4] = b"RCmb";
/// Header size of layout V0 (Redis 3.x).
pub const HEADER_LEN_V0: usize = 2208;
/// Header size of layout V1 (Redis 4.0+, Valkey).
pub const HEADER_LEN_V1: usize = 2256;
/// Light header size (Valkey 8+).
pub const LIGHT_HEADER_LEN: usize = 16;
/// Size of one gossip entry in every version.
pub const GOSSIP_ENTRY_LEN: usize = 104;
/// Largest `totlen` the framer accepts by default. Real PING/PONG/MEET stay
/// far below (1000 nodes ≈ 110 KB); PUBLISH can be larger, and anything
/// bigger is skipped without buffering.
pub const DEFAULT_MAX_TOTLEN: u32 = 64 * 1024 * 1024;

/// Header layout family, told by `ver` (§1.4, §1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    /// ver 0: Redis 3.0.x, 3.2.x (header 2208 bytes).
    V0,
    /// ver 1: Redis 4.0+ and all Valkey (header 2256 bytes).
    V1,
    /// ver 1 with the light header (Valkey 8+, 16 bytes).
    Light,
}

/// Trims NUL padding of a fixed-size string field.
pub(crate) fn trim_nul(b: &[u8]) -> &[u8] {
    let end = memchr::memchr(0, b).unwrap_or(b.len());
    &b[..end]
}

/// Big-endian u16 at `at` (callers check the length first).
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Big-endian u32 at `at` (callers check the length first).
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Big-endian u64 at the start of `b` (0 when shorter).
pub(crate) fn be64(b: &[u8]) -> u64 {
    b.first_chunk::<8>().map_or(0, |a| u64::from_be_bytes(*a))
}

/// Peer-controlled bytes (node names, IPs, hostnames) as text, lossless
/// and printable: valid UTF-8 stays as it is; bytes that are not UTF-8
/// become `\xNN`, control characters `\xNN` (or `\u{NN}` above ASCII) and
/// a backslash `\\`, so the exact bytes can be read back from any output.
/// Borrows when nothing needs escaping (every real id and address).
pub fn escape_text(b: &[u8]) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write;
    if let Ok(s) = std::str::from_utf8(b)
        && !s.chars().any(|c| c.is_control() || c == '\\')
    {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(b.len() + 8);
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() && c.is_ascii() => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for x in chunk.invalid() {
            let _ = write!(out, "\\x{x:02x}");
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape_text;

    #[test]
    fn peer_text_is_escaped_losslessly() {
        assert!(matches!(escape_text(b"127.0.0.1"), std::borrow::Cow::Borrowed("127.0.0.1")));
        assert_eq!(escape_text("héllo".as_bytes()), "héllo");
        assert_eq!(escape_text(b"ab\xff\xfe\xc3z"), "ab\\xff\\xfe\\xc3z");
        assert_eq!(escape_text(b"a\x1b[31m\r\n\x00\x7f"), "a\\x1b[31m\\x0d\\x0a\\x00\\x7f");
        assert_eq!(escape_text("x\u{85}\\y".as_bytes()), "x\\u{85}\\\\y");
    }
}
