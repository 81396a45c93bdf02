//! [`Evidence`]: where to see something in Wireshark. Every part of the
//! result carries it.

use serde::Serialize;

/// Where to see something in Wireshark: capture name and frame number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Evidence {
    /// Shared: the same few names are in every piece of evidence.
    pub capture: std::sync::Arc<str>,
    pub frame: u64,
}
