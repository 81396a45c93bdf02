//! Owned events: what the analysis consumes. The borrowed parse of each
//! message is turned into a compact owned [`BusEvent`] here (this is where
//! zero-copy ends), so analysis never holds capture buffers.
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | [`BusEvent`], [`EventKind`], [`BusMessage`] and the conversion from a borrowed message; [`EventSink`] |
//! | `fingerprint.rs` | [`fingerprint`]: what identifies one message whichever capture saw it |
//! | `node.rs` | [`NodeId`], [`NodeAddr`], [`IpText`] |
//! | `numbered.rs` | numbers for node ids and addresses, shared by both sides of the reading threads |

mod fingerprint;
mod node;
pub mod numbered;

/// The kinds of anomaly an [`EventKind::Anomaly`] carries.
pub use crate::pipeline::AnomalyKind;
pub use fingerprint::fingerprint;
pub use node::{IpText, NodeAddr, NodeId};

use crate::clusterbus::{Body, ExtValue, Message, MessageType};
use crate::decode::Endpoint;
use crate::pipeline::{Anomaly, BusSink, CommandMeta, MessageMeta, StreamEnd};
pub use crate::reassembly::CloseReason;
use fingerprint::Fingerprint;
use serde::Serialize;

/// Inclusive slot ranges, ascending.
pub type SlotRanges = Vec<(u16, u16)>;

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

/// A gossip entry, owned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gossip {
    pub node: NodeId,
    pub addr: NodeAddr,
    pub flags: u16,
    pub ping_sent: u32,
    pub pong_received: u32,
}

/// A cluster-bus message, owned and compact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BusMessage {
    #[serde(serialize_with = "type_name")]
    pub msg_type: MessageType,
    pub light: bool,
    /// wire: ver (0 for Redis 3.x, 1 otherwise)
    pub ver: u16,
    pub sender: Option<NodeId>,
    pub current_epoch: u64,
    pub config_epoch: u64,
    pub repl_offset: u64,
    /// Sender's own flags.
    pub flags: u16,
    /// Cluster state in the sender's view (0 ok, 1 fail).
    pub state: u8,
    pub mflags: u8,
    /// Slots claimed (the sender's, or its master's when a replica).
    pub slots: SlotRanges,
    pub replicaof: Option<NodeId>,
    /// Address the sender announces: `myip` (if set), ports from the header.
    pub announced: NodeAddr,
    pub gossip: Vec<Gossip>,
    pub hostname: Option<String>,
    pub shard_id: Option<NodeId>,
    pub forgotten: Vec<(NodeId, u64)>,
    /// Extension type numbers present, in order.
    pub ext_types: Vec<u16>,
    /// FAIL: the node declared failed.
    pub fail_node: Option<NodeId>,
    /// UPDATE: owner, its configEpoch, its slots.
    pub update: Option<(NodeId, u64, SlotRanges)>,
    pub totlen: u32,
    /// Only a prefix was captured (header and complete gossip entries).
    pub cut: bool,
    /// [`BusMessage::fingerprint`], when the reading thread made it
    /// (several captures: it is asked for every message then).
    #[serde(skip)]
    pub fingerprint: Option<u64>,
}

impl BusMessage {
    /// A message with nothing in it (to be filled by
    /// [`fill_owned_message`]).
    pub fn empty() -> BusMessage {
        BusMessage {
            msg_type: MessageType(0),
            light: false,
            ver: 1,
            sender: None,
            current_epoch: 0,
            config_epoch: 0,
            repl_offset: 0,
            flags: 0,
            state: 0,
            mflags: 0,
            slots: Vec::new(),
            replicaof: None,
            announced: NodeAddr::default(),
            gossip: Vec::new(),
            hostname: None,
            shard_id: None,
            forgotten: Vec::new(),
            ext_types: Vec::new(),
            fail_node: None,
            update: None,
            totlen: 0,
            cut: false,
            fingerprint: None,
        }
    }

    /// This message's fingerprint: the one the reading thread made, or
    /// made now.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint.unwrap_or_else(|| self.hash_content())
    }

    /// The fingerprint made from the fields.
    pub(crate) fn hash_content(&self) -> u64 {
        let epochs = (self.current_epoch, self.config_epoch);
        let mut f = Fingerprint::header(self.sender, self.msg_type.0, self.totlen, epochs, self.repl_offset);
        for g in &self.gossip {
            f.gossip(g.node, &g.addr, g.flags, g.ping_sent, g.pong_received);
        }
        f.finish()
    }
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

fn type_name<S: serde::Serializer>(t: &MessageType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.name())
}

fn lossy(b: &[u8]) -> String {
    crate::clusterbus::wire::escape_text(b).into_owned()
}

/// Converts a borrowed message into an owned one.
pub fn to_owned_message(msg: &Message<'_>) -> BusMessage {
    let mut m = BusMessage::empty();
    fill_owned_message(&mut m, msg);
    m
}

/// Makes `m` the owned form of `msg`, whatever `m` held before: every
/// field is written, and its vectors keep their capacity (a recycled
/// message costs no allocation in steady state).
pub fn fill_owned_message(m: &mut BusMessage, msg: &Message<'_>) {
    // Destructured so that a new field cannot be left unwritten.
    let BusMessage {
        msg_type,
        light,
        ver,
        sender,
        current_epoch,
        config_epoch,
        repl_offset,
        flags,
        state,
        mflags,
        slots,
        replicaof,
        announced,
        gossip,
        hostname,
        shard_id,
        forgotten,
        ext_types,
        fail_node,
        update,
        totlen,
        cut,
        fingerprint,
    } = m;
    *msg_type = msg.msg_type;
    *light = msg.light;
    *totlen = msg.totlen;
    *cut = msg.cut;
    *fingerprint = None;
    slots.clear();
    gossip.clear();
    forgotten.clear();
    ext_types.clear();
    // The old hostname's buffer is kept for this message's (if any).
    let mut spare_name = hostname.take();
    *shard_id = None;
    *fail_node = None;
    *update = None;
    match &msg.header {
        Some(h) => {
            *ver = h.ver;
            *sender = Some(NodeId::from_name(&h.sender));
            *current_epoch = h.current_epoch;
            *config_epoch = h.config_epoch;
            *repl_offset = h.offset;
            *flags = h.flags.0;
            *state = h.state;
            *mflags = h.mflags[0];
            h.myslots.ranges_into(slots);
            *replicaof = h.replicaof.map(|r| NodeId::from_name(&r));
            *announced = NodeAddr {
                ip: h.myip.map(IpText::from_wire).unwrap_or_default(),
                port: h.port,
                cport: h.cport,
                pport: h.pport,
            };
        }
        None => {
            *ver = 1;
            *sender = None;
            *current_epoch = 0;
            *config_epoch = 0;
            *repl_offset = 0;
            *flags = 0;
            *state = 0;
            *mflags = 0;
            *replicaof = None;
            *announced = NodeAddr::default();
        }
    }
    let entries = msg.gossip();
    gossip.reserve(entries.size_hint().0);
    for g in entries {
        gossip.push(Gossip {
            node: NodeId::from_name(&g.node),
            addr: NodeAddr { ip: IpText::from_wire(g.ip), port: g.port, cport: g.cport, pport: g.pport },
            flags: g.flags.0,
            ping_sent: g.ping_sent,
            pong_received: g.pong_received,
        });
    }
    for e in msg.extensions() {
        ext_types.push(e.ext_type);
        match e.value {
            ExtValue::Hostname(h) => {
                let mut name = spare_name.take().unwrap_or_default();
                name.clear();
                name.push_str(&crate::clusterbus::wire::escape_text(h));
                *hostname = Some(name);
            }
            ExtValue::ShardId(s) => *shard_id = Some(NodeId::from_name(&s)),
            ExtValue::ForgottenNode { node, ttl } => forgotten.push((NodeId::from_name(&node), ttl)),
            _ => {}
        }
    }
    match &msg.body {
        Body::Fail { node } => *fail_node = Some(NodeId::from_name(node)),
        Body::Update { config_epoch, node, slots } => {
            *update = Some((NodeId::from_name(node), *config_epoch, slots.ranges()));
        }
        _ => {}
    }
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

/// A sink that turns everything into owned events and hands them to a
/// closure (e.g. the analysis, or a `Vec`).
pub struct EventSink<F: FnMut(BusEvent)> {
    pub on_event: F,
}

impl<F: FnMut(BusEvent)> EventSink<F> {
    pub fn new(on_event: F) -> Self {
        EventSink { on_event }
    }
}

impl<F: FnMut(BusEvent)> BusSink for EventSink<F> {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        let mut m = Box::new(BusMessage::empty());
        fill_owned_message(&mut m, msg);
        (self.on_event)(BusEvent {
            ts_us: meta.ts_us,
            frame: meta.frame,
            first_frame: meta.first_frame,
            link: Some(Link::of_message(meta)),
            capture: meta.capture,
            kind: EventKind::Message(m),
        });
    }

    fn anomaly(&mut self, a: &Anomaly) {
        (self.on_event)(BusEvent::from_anomaly(a));
    }

    fn stream_end(&mut self, e: &StreamEnd) {
        (self.on_event)(BusEvent::from_stream_end(e));
    }

    fn command(&mut self, meta: &CommandMeta, args: &[Vec<u8>]) {
        (self.on_event)(BusEvent::from_command(meta, args));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::capture::CaptureFile;
    use crate::pipeline::{Input, Pipeline, PipelineConfig};
    use crate::run::run_single;

    /// Fills one recycled message with every message in turn and checks it
    /// against a fresh conversion.
    struct Refill {
        reused: BusMessage,
        checked: usize,
        with_extensions: usize,
    }

    impl BusSink for Refill {
        fn message(&mut self, _meta: &MessageMeta, msg: &Message<'_>) {
            fill_owned_message(&mut self.reused, msg);
            assert_eq!(self.reused, to_owned_message(msg));
            // One fingerprint, borrowed or owned.
            assert_eq!(fingerprint(msg), self.reused.fingerprint());
            self.checked += 1;
            self.with_extensions += usize::from(!self.reused.ext_types.is_empty());
        }
        fn anomaly(&mut self, _anomaly: &Anomaly) {}
    }

    /// A recycled message holds exactly what a new one would, whatever
    /// the message before it held, and its fingerprint is the borrowed
    /// message's (every message of every shipped sample: all
    /// generations, extensions, FAIL, UPDATE, cut messages).
    #[test]
    fn a_refilled_message_equals_a_fresh_one() {
        let mut sink = Refill { reused: BusMessage::empty(), checked: 0, with_extensions: 0 };
        each_sample(&mut sink);
        assert!(sink.checked > 10_000 && sink.with_extensions > 1_000, "{} / {}", sink.checked, sink.with_extensions);
    }

    /// Runs every capture of every shipped sample through `sink`.
    pub(crate) fn each_sample(sink: &mut impl BusSink) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        for sample in std::fs::read_dir(&dir).unwrap() {
            for f in std::fs::read_dir(sample.unwrap().path()).into_iter().flatten() {
                let path = f.unwrap().path();
                if !path.to_string_lossy().contains(".pcap") {
                    continue;
                }
                let file = CaptureFile::open(&path).unwrap();
                let mut input = Input::new(file, Pipeline::new(0, PipelineConfig::default()));
                run_single(&mut input, sink, |_, _| {});
                input.pipeline.finish(sink);
            }
        }
    }
}
