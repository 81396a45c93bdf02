//! Anomalies: irregularities of the capture and the wire that are counted
//! and told, not errors (a gap, a packet cut short, a stream that is not
//! readable bus).

use crate::decode::Endpoint;
use serde::Serialize;

/// A counted irregularity, with where to find it.
#[derive(Clone, Debug, Serialize)]
pub struct Anomaly {
    pub capture: usize,
    pub ts_us: i64,
    pub frame: u64,
    /// Sender and receiver of the stream, when the anomaly is in one.
    pub src: Option<Endpoint>,
    pub dst: Option<Endpoint>,
    /// Stable snake_case kind (e.g. `gap`, `resync_skipped`).
    pub kind: &'static str,
    pub detail: String,
}
