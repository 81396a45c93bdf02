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

/// `s` made safe inside XML/HTML text and quoted attributes: printable,
/// then `&`, `<`, `>`, `"` and `'` as entities. The one escape of the HTML
/// report and the SVG outputs.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in printable(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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

    #[test]
    fn xml_escape_covers_markup_and_quotes() {
        assert_eq!(xml_escape("<a href='x'>\"&\u{7}</a>"), "&lt;a href=&#39;x&#39;&gt;&quot;&amp;\u{fffd}&lt;/a&gt;");
    }
}
