//! [`Evidence`]: where to see something in Wireshark. Every part of the
//! result carries it.

use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// Where to see something in Wireshark: capture name and frame number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Evidence {
    /// Shared: the same few names are in every piece of evidence
    /// ([`capture_name`]).
    pub capture: &'static str,
    pub frame: u64,
}

/// `name` as a capture name of [`Evidence`]: each distinct name is stored
/// once for the life of the process, so evidence copies a pointer (an
/// `Arc` cost two atomic operations per copy, several per message). The
/// names are those of the inputs and vantages: a few per run.
pub fn capture_name(name: &str) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    match names.get(name) {
        Some(n) => n,
        None => {
            let n: &'static str = Box::leak(name.into());
            names.insert(n);
            n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_name_is_stored_once() {
        let a = capture_name(&String::from("h1.pcap"));
        let b = capture_name("h1.pcap");
        assert!(std::ptr::eq(a, b));
        assert_eq!((a, capture_name("h2.pcap")), ("h1.pcap", "h2.pcap"));
    }
}
