//! [`BusEvent`]: one event with where ([`Link`]) and when it was
//! captured, and what happened ([`EventKind`]): a message, a `CLUSTER`
//! command, the end of a stream, an anomaly.

use super::message::BusMessage;
use crate::decode::Endpoint;
use crate::pipeline::{Anomaly, AnomalyKind, CommandMeta, MessageMeta, StreamEnd};
use crate::reassembly::CloseReason;
use serde::Serialize;

/// The TCP connection an event travelled on, as seen by one capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Link {
    /// Capture (vantage) index.
    pub capture: usize,
    /// Connection instance within that capture.
    pub conn_id: u64,
    pub src: Endpoint,
    pub dst: Endpoint,
    /// Whether `src` opened the connection (`None`: SYN not captured).
    pub from_initiator: Option<bool>,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    Message(Box<BusMessage>),
    /// A `CLUSTER ...` command on a data port (arguments as sent).
    Command {
        args: Vec<String>,
    },
    /// One direction of a connection ended.
    StreamEnd {
        reason: CloseReason,
        bus: bool,
        messages: u64,
        bytes: u64,
    },
    Anomaly {
        kind: AnomalyKind,
        detail: String,
    },
}

/// One event, with where and when it was captured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BusEvent {
    pub ts_us: i64,
    /// Frame of the packet that completed it (Wireshark numbering).
    pub frame: u64,
    pub first_frame: u64,
    /// `None` for anomalies outside a stream.
    pub link: Option<Link>,
    pub capture: usize,
    pub kind: EventKind,
}

fn lossy(b: &[u8]) -> String {
    crate::clusterbus::wire::escape_text(b).into_owned()
}

impl Link {
    /// The link a message travelled on.
    pub fn of_message(meta: &MessageMeta) -> Link {
        Link {
            capture: meta.capture,
            conn_id: meta.conn_id,
            src: meta.src,
            dst: meta.dst,
            from_initiator: meta.from_initiator,
        }
    }
}

impl BusEvent {
    pub fn from_anomaly(a: &Anomaly) -> BusEvent {
        let link = match (a.src, a.dst) {
            (Some(src), Some(dst)) => Some(Link { capture: a.capture, conn_id: 0, src, dst, from_initiator: None }),
            _ => None,
        };
        BusEvent {
            ts_us: a.ts_us,
            frame: a.frame,
            first_frame: a.frame,
            link,
            capture: a.capture,
            kind: EventKind::Anomaly { kind: a.kind, detail: a.detail.clone() },
        }
    }

    pub fn from_stream_end(e: &StreamEnd) -> BusEvent {
        BusEvent {
            ts_us: e.ts_us,
            frame: e.frame,
            first_frame: e.frame,
            link: Some(Link {
                capture: e.capture,
                conn_id: e.conn_id,
                src: e.src,
                dst: e.dst,
                from_initiator: e.from_initiator,
            }),
            capture: e.capture,
            kind: EventKind::StreamEnd { reason: e.reason, bus: e.bus, messages: e.messages, bytes: e.bytes },
        }
    }

    pub fn from_command(meta: &CommandMeta, args: &[Vec<u8>]) -> BusEvent {
        BusEvent {
            ts_us: meta.ts_us,
            frame: meta.frame,
            first_frame: meta.frame,
            link: Some(Link {
                capture: meta.capture,
                conn_id: meta.conn_id,
                src: meta.src,
                dst: meta.dst,
                from_initiator: None,
            }),
            capture: meta.capture,
            kind: EventKind::Command { args: args.iter().map(|a| lossy(a)).collect() },
        }
    }
}
