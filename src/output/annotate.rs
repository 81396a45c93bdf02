//! The words of `analyze --annotate`: each packet's comments (where it
//! came from, the `dump` summary of each message it completes, what the
//! analysis says it proves), each interface's name and description, and
//! the section's comments (the story, the captures and their clocks).
//! [`PacketNotes`] hears the replayed pipelines as a [`BusSink`] and keeps
//! a packet's lines until the packet is written.

use super::dump::{command_summary, message_summary};
use super::printable::printable;
use crate::analysis::{CaptureInfo, Story};
use crate::clusterbus::Message;
use crate::pipeline::{Anomaly, BusSink, CommandMeta, MessageMeta};
use crate::time::clocks::Method;
use rustc_hash::FxHashMap as HashMap;

/// Gossip entries listed in a message's comment (the count is always
/// given): a big cluster's PING lists dozens.
pub const GOSSIP_IN_COMMENT: usize = 8;

/// Longest comment, in bytes: Wireshark cuts a tree label at 240 bytes
/// (`[truncated]`), so a longer line goes on in comments that start with
/// [`GOES_ON`].
pub const COMMENT_WIDTH: usize = 200;

/// How a comment that continues the one before starts (after it, a space
/// stands for the one the break replaced).
pub const GOES_ON: &str = "…";

/// `line` as comments of at most [`COMMENT_WIDTH`] bytes, broken at the
/// last space that fits (replaced by `… `) or, in a word that long, at a
/// character boundary (`…`).
pub fn wrap(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    let mut lead = "";
    loop {
        let room = COMMENT_WIDTH - lead.len();
        if rest.len() <= room {
            out.push(format!("{lead}{rest}"));
            return out;
        }
        let mut end = room;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, next, space) = match rest[..end].rfind(' ') {
            Some(i) if i > 0 => (&rest[..i], &rest[i + 1..], true),
            _ => (&rest[..end], &rest[end..], false),
        };
        out.push(format!("{lead}{piece}"));
        lead = if space { "… " } else { GOES_ON };
        rest = next;
    }
}

/// Comment lines of packets not written yet, keyed by (input, frame).
#[derive(Debug, Default)]
pub struct PacketNotes {
    lines: HashMap<(usize, u64), Vec<String>>,
    /// Per input: the last frame written (frames of an input are written
    /// in order).
    written: Vec<u64>,
    /// Messages and commands that came after their packet was written
    /// (see `run::replay`): not in the file.
    pub late: u64,
}

impl PacketNotes {
    /// A line for a packet; `counted`: one that is missed when it comes
    /// too late (a message or command, not an anomaly).
    fn add(&mut self, capture: usize, frame: u64, line: String, counted: bool) {
        if self.written.get(capture).is_some_and(|&w| frame <= w) {
            self.late += u64::from(counted);
            return;
        }
        self.lines.entry((capture, frame)).or_default().push(line);
    }

    /// The comments of a packet being written: where it came from, then
    /// what its input's pipeline said of it, then `proves` (what the
    /// analysis says it proves).
    pub fn take(&mut self, capture: usize, frame: u64, origin: String, proves: &[String]) -> Vec<String> {
        if self.written.len() <= capture {
            self.written.resize(capture + 1, 0);
        }
        self.written[capture] = frame;
        let mut out = vec![origin];
        let lines = self.lines.remove(&(capture, frame)).unwrap_or_default();
        for l in lines.iter().chain(proves) {
            out.extend(wrap(l));
        }
        out
    }
}

impl BusSink for PacketNotes {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        let mut line = String::with_capacity(160);
        if message_summary(&mut line, msg, GOSSIP_IN_COMMENT).is_ok() {
            self.add(meta.capture, meta.frame, line, true);
        }
    }

    fn command(&mut self, meta: &CommandMeta, args: &[Vec<u8>]) {
        self.add(meta.capture, meta.frame, command_summary(args), true);
    }

    fn anomaly(&mut self, a: &Anomaly) {
        // Frame 0: about the capture as a whole (a bound reached).
        if a.frame > 0 {
            self.add(a.capture, a.frame, format!("anomaly {}: {}", a.kind, printable(&a.detail)), false);
        }
    }
}

/// Where a packet came from: `h1.pcap.gz#226`, as every output cites it.
pub fn origin_note(file: &str, frame: u64) -> String {
    format!("{}#{frame}", printable(file))
}

/// Name and description of interface `index` of `file` (its own name and
/// description, if any, kept in them), read at vantage `vantage`.
pub fn interface_label(
    vantage: &str,
    file: &str,
    index: Option<usize>,
    name: Option<&str>,
    description: Option<&str>,
) -> (String, String) {
    let file = printable(file);
    let which = index.map_or_else(|| "undeclared interface".to_string(), |i| format!("interface {i}"));
    let short = match (name, index) {
        (Some(n), _) => printable(n).into_owned(),
        (None, Some(i)) => format!("if{i}"),
        (None, None) => "?".to_string(),
    };
    let label = format!("{file}:{short}");
    let mut text = format!("{file} {which}");
    if let Some(n) = name {
        text.push_str(&format!(" ({})", printable(n)));
    }
    if vantage != file {
        text.push_str(&format!(", vantage {}", printable(vantage)));
    }
    if let Some(d) = description {
        text.push_str(&format!(": {}", printable(d)));
    }
    (label, text)
}

/// The section's comments: the story, then the captures merged and the
/// clock offset applied to each.
pub fn section_comments(story: &Story, captures: &[CaptureInfo]) -> Vec<String> {
    let story: Vec<String> = story.sentences().iter().map(|s| printable(&s.text).into_owned()).collect();
    let mut clocks = vec![format!(
        "meetgraph analyze --annotate: {} capture(s) merged on the reference clock; each packet's first comment is its original file and frame",
        captures.len()
    )];
    for c in captures {
        let clock = match &c.clock {
            None => String::new(),
            Some(k) if k.method == Method::Reference => ": the reference clock".to_string(),
            Some(k) if k.method == Method::None => ": not aligned (times as captured)".to_string(),
            Some(k) if k.applied => {
                format!(": offset {:+} µs (±{} µs, {}) subtracted", k.offset_us, k.uncertainty_us, k.method)
            }
            Some(k) => format!(
                ": offset {:+} µs (±{} µs, {}) not applied (within its uncertainty)",
                k.offset_us, k.uncertainty_us, k.method
            ),
        };
        let files = if c.files.is_empty() { String::new() } else { format!(" ({})", c.files.join(", ")) };
        clocks.push(format!("{}{files}{clock}", printable(&c.vantage)));
    }
    vec![story.join("\n"), clocks.join("\n")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_wait_for_their_packet_and_late_ones_are_counted() {
        let mut n = PacketNotes::default();
        n.add(1, 5, "MEET a".into(), true);
        n.add(1, 5, "PING b".into(), true);
        assert_eq!(n.take(1, 4, "f#4".into(), &[]), vec!["f#4"]);
        assert_eq!(n.take(1, 5, "f#5".into(), &["chain".into()]), vec!["f#5", "MEET a", "PING b", "chain"]);
        n.add(1, 5, "PONG c".into(), true);
        n.add(1, 3, "anomaly".into(), false);
        n.add(0, 5, "PONG d".into(), true);
        assert_eq!(n.late, 1);
        assert_eq!(n.take(0, 5, "g#5".into(), &[]), vec!["g#5", "PONG d"]);
    }

    /// Long lines go on in comments that fit Wireshark's labels; joined
    /// back they are the line.
    #[test]
    fn long_lines_are_wrapped_and_join_back() {
        let join = |v: &[String]| {
            v.iter().fold(String::new(), |mut acc, c| {
                match c.strip_prefix("… ") {
                    Some(r) => acc.push_str(&format!(" {r}")),
                    None => acc.push_str(c.strip_prefix(GOES_ON).unwrap_or(c)),
                }
                acc
            })
        };
        for line in [
            "short".to_string(),
            "word ".repeat(100),
            format!("{} tail", "é".repeat(300)),
            format!("x{}y", " ".repeat(250)),
            "a".repeat(COMMENT_WIDTH),
        ] {
            let w = wrap(&line);
            assert!(w.iter().all(|c| c.len() <= COMMENT_WIDTH && !c.is_empty()), "{w:?}");
            assert_eq!(join(&w), line);
            assert_eq!(w.len() == 1, line.len() <= COMMENT_WIDTH);
        }
    }

    #[test]
    fn interfaces_say_file_number_and_vantage() {
        assert_eq!(
            interface_label("h1", "h1-a.pcap", Some(1), Some("eth0"), Some("uplink")),
            ("h1-a.pcap:eth0".into(), "h1-a.pcap interface 1 (eth0), vantage h1: uplink".into())
        );
        assert_eq!(
            interface_label("lo.pcap", "lo.pcap", Some(0), None, None),
            ("lo.pcap:if0".into(), "lo.pcap interface 0".into())
        );
    }
}
