//! The sink contract: what one capture's chain hands on, borrowed, for
//! each message, anomaly, stream end and `CLUSTER` command it sees.

use super::anomaly::Anomaly;
use crate::clusterbus::Message;
use crate::decode::Endpoint;
use crate::reassembly::CloseReason;

/// Where and when a message was seen.
#[derive(Clone, Copy, Debug)]
pub struct MessageMeta {
    /// Index of the capture in the run's input list.
    pub capture: usize,
    /// Capture time of the packet that completed the message.
    pub ts_us: i64,
    /// Frame number of that packet.
    pub frame: u64,
    /// Frame number of the packet that carried the first byte.
    pub first_frame: u64,
    /// Connection instance within the capture.
    pub conn_id: u64,
    pub src: Endpoint,
    pub dst: Endpoint,
    /// Whether `src` opened the TCP connection (`None`: handshake not seen).
    pub from_initiator: Option<bool>,
    /// Offset of the message in its direction's stream.
    pub offset: u64,
}

/// End of one direction of a TCP connection.
#[derive(Clone, Copy, Debug)]
pub struct StreamEnd {
    pub capture: usize,
    pub ts_us: i64,
    pub frame: u64,
    pub conn_id: u64,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub from_initiator: Option<bool>,
    pub reason: CloseReason,
    /// True when the direction carried cluster-bus messages.
    pub bus: bool,
    pub messages: u64,
    /// Payload bytes captured in this direction.
    pub bytes: u64,
}

/// An operator command (`CLUSTER ...`) seen on a data-port connection.
#[derive(Clone, Copy, Debug)]
pub struct CommandMeta {
    pub capture: usize,
    pub ts_us: i64,
    pub frame: u64,
    pub conn_id: u64,
    /// The client.
    pub src: Endpoint,
    /// The server that received the command.
    pub dst: Endpoint,
}

/// A direction not yet known as bus whose bytes begin with a bus
/// message's signature (`RCmb`): what can be told before the message is
/// whole.
#[derive(Clone, Copy, Debug)]
pub struct BusStart {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub from_initiator: Option<bool>,
    /// The sender's data port, when the header's first bytes carry it
    /// (version 1 headers, from Redis 4.0).
    pub data_port: Option<u16>,
}

/// Receives the output of the chain.
pub trait BusSink {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>);
    fn anomaly(&mut self, anomaly: &Anomaly);
    fn stream_end(&mut self, _end: &StreamEnd) {}
    /// A `CLUSTER ...` command sent to a data port (arguments as sent).
    fn command(&mut self, _meta: &CommandMeta, _args: &[Vec<u8>]) {}
    /// A bus message begins on a direction not yet known as bus (before
    /// the message is whole: a live capture's filter learns from it).
    fn bus_start(&mut self, _start: &BusStart) {}
}
