//! Peer-controlled text (node ids, announced addresses, hostnames) can hold
//! control characters: terminal escape sequences in a report, characters
//! XML forbids in an SVG. Every renderer passes such text through here.
//! Imports nothing of the crate.

use std::borrow::Cow;
use std::io::{self, Write};

/// `s` with every control character except newline and tab replaced by
/// U+FFFD.
pub fn printable(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(|c| if c.is_control() && c != '\n' && c != '\t' { '\u{fffd}' } else { c }).collect())
}

/// Renders with `f` into memory, then writes the printable text to `w`.
pub fn write_printable(w: &mut dyn Write, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut buf = Vec::new();
    f(&mut buf)?;
    w.write_all(printable(&String::from_utf8_lossy(&buf)).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(printable("a\u{1b}[31mb\u{85}c\n"), "a\u{fffd}[31mb\u{fffd}c\n");
        assert!(matches!(printable("plain\tline\n"), Cow::Borrowed(_)));
    }
}
