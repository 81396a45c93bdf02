//! Where zero-copy ends: a borrowed [`Message`] turned into an owned
//! [`BusMessage`], new ([`to_owned_message`]) or refilled in place
//! ([`fill_owned_message`]).

use super::message::{BusMessage, Gossip};
use super::node::{IpText, NodeAddr, NodeId};
use crate::clusterbus::{Body, ExtValue, Message, RangesCache};

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
    fill_owned_head(m, msg, None);
    let entries = msg.gossip();
    m.gossip.reserve(entries.size_hint().0);
    for g in entries {
        m.gossip.push(Gossip {
            node: NodeId::from_name(&g.node),
            addr: NodeAddr { ip: IpText::from_wire(g.ip), port: g.port, cport: g.cport, pport: g.pport },
            flags: g.flags.0,
            ping_sent: g.ping_sent,
            pong_received: g.pong_received,
        });
    }
}

/// [`fill_owned_message`] but for the gossip entries: `m.gossip` is left
/// empty (a caller that takes the entries from the wire, as the reading
/// thread's packing does). `cache`: the ranges of the bitmaps the senders
/// sent last (the reading thread's).
pub fn fill_owned_head(m: &mut BusMessage, msg: &Message<'_>, cache: Option<&mut RangesCache>) {
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
        head_only,
        fingerprint,
    } = m;
    *msg_type = msg.msg_type;
    *light = msg.light;
    *totlen = msg.totlen;
    *cut = msg.cut;
    *head_only = msg.head_only;
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
            match cache {
                Some(c) => c.ranges_into(&h.sender, &h.myslots, slots),
                None => h.myslots.ranges_into(slots),
            }
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::capture::CaptureFile;
    use crate::events::fingerprint;
    use crate::pipeline::{Anomaly, BusSink, Input, MessageMeta, Pipeline, PipelineConfig};
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
