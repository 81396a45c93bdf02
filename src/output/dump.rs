//! `meetgraph dump`: one line per message (text or JSON lines), anomalies
//! inline. Implements [`BusSink`] so messages are formatted straight from
//! the borrowed parse, without an owned copy.

use crate::clusterbus::types::format_slot_ranges;
use crate::clusterbus::{Body, ExtValue, Extension, GossipEntry, Layout, Message, NodeName};
use crate::pipeline::{Anomaly, BusSink, CommandMeta, MessageMeta};
use crate::time::format_utc_us;
use serde_json::{Map, Value, json};
use std::io::{self, Write};

/// Line format of `dump`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DumpFormat {
    Text,
    Jsonl,
}

/// Writes dump lines; remembers the first write error (e.g. a closed pipe)
/// and stops writing after it.
pub struct DumpWriter<'n, W: Write> {
    out: W,
    format: DumpFormat,
    /// Capture names, by input index.
    names: &'n [String],
    /// Print message lines (false with `--quiet`).
    pub messages: bool,
    /// Print anomaly lines.
    pub anomalies: bool,
    error: Option<io::Error>,
    line: String,
}

impl<'n, W: Write> DumpWriter<'n, W> {
    pub fn new(out: W, format: DumpFormat, names: &'n [String]) -> Self {
        DumpWriter {
            out,
            format,
            names,
            messages: true,
            anomalies: true,
            error: None,
            line: String::with_capacity(512),
        }
    }

    /// The first write error, if any, and the writer.
    pub fn into_inner(self) -> (W, Option<io::Error>) {
        (self.out, self.error)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }

    fn write_line(&mut self) {
        if self.error.is_none() {
            self.line.push('\n');
            if let Err(e) = self.out.write_all(self.line.as_bytes()) {
                self.error = Some(e);
            }
        }
        self.line.clear();
    }

    fn name(&self, capture: usize) -> &str {
        self.names.get(capture).map_or("?", |s| s.as_str())
    }
}

fn text(b: &[u8]) -> String {
    crate::clusterbus::wire::escape_text(b).into_owned()
}

fn short(n: &NodeName<'_>) -> String {
    if n.is_null() { "-".to_string() } else { n.short().into_owned() }
}

fn full(n: &NodeName<'_>) -> String {
    n.as_str().into_owned()
}

fn layout_name(l: Layout) -> &'static str {
    match l {
        Layout::V0 => "v0",
        Layout::V1 => "v1",
        Layout::Light => "light",
    }
}

/// `name=value` text of one extension.
pub fn ext_text(e: &Extension<'_>) -> String {
    match e.value {
        ExtValue::Hostname(h) => format!("hostname={}", text(h)),
        ExtValue::HumanNodename(h) => format!("human_nodename={}", text(h)),
        ExtValue::ForgottenNode { node, ttl } => format!("forgotten={}:ttl={ttl}s", short(&node)),
        ExtValue::ShardId(s) => format!("shard={}", short(&s)),
        ExtValue::ClientIpv4(s) => format!("client_ipv4={}", text(s)),
        ExtValue::ClientIpv6(s) => format!("client_ipv6={}", text(s)),
        ExtValue::ClientPort(p) => format!("client_port={p}"),
        ExtValue::ClientTlsPort(p) => format!("client_tls_port={p}"),
        ExtValue::AvailabilityZone(z) => format!("availability_zone={}", text(z)),
        ExtValue::InternalSecret => "internal_secret=<hidden>".to_string(),
        ExtValue::Unknown(b) => format!("ext{}[{}B]", e.ext_type, b.len()),
    }
}

fn ext_json(e: &Extension<'_>) -> Value {
    let (name, value) = match e.value {
        ExtValue::Hostname(h) => ("hostname", json!(text(h))),
        ExtValue::HumanNodename(h) => ("human_nodename", json!(text(h))),
        ExtValue::ForgottenNode { node, ttl } => ("forgotten_node", json!({"node": full(&node), "ttl": ttl})),
        ExtValue::ShardId(s) => ("shard_id", json!(full(&s))),
        ExtValue::ClientIpv4(s) => ("client_ipv4", json!(text(s))),
        ExtValue::ClientIpv6(s) => ("client_ipv6", json!(text(s))),
        ExtValue::ClientPort(p) => ("client_port", json!(p)),
        ExtValue::ClientTlsPort(p) => ("client_tls_port", json!(p)),
        ExtValue::AvailabilityZone(z) => ("availability_zone", json!(text(z))),
        ExtValue::InternalSecret => ("internal_secret", Value::Null),
        ExtValue::Unknown(b) => ("unknown", json!(b.len())),
    };
    json!({"type": e.ext_type, "length": e.length, "name": name, "value": value})
}

fn gossip_text(g: &GossipEntry<'_>) -> String {
    let mut s = format!("{} {}:{}@{} {}", short(&g.node), text(g.ip), g.port, g.cport, g.flags.names());
    if g.pport != 0 {
        s.push_str(&format!(" pport={}", g.pport));
    }
    s
}

fn gossip_json(g: &GossipEntry<'_>) -> Value {
    json!({
        "node": full(&g.node),
        "ip": text(g.ip),
        "port": g.port,
        "cport": g.cport,
        "pport": g.pport,
        "flags": g.flags.names(),
        "flags_raw": g.flags.0,
        "ping_sent": g.ping_sent,
        "pong_received": g.pong_received,
    })
}

/// A `CLUSTER` command as its dump line tells it after the addresses.
pub fn command_summary(args: &[Vec<u8>]) -> String {
    let words: Vec<String> = args.iter().map(|a| text(a)).collect();
    format!("COMMAND {}", words.join(" "))
}

/// One message as a dump line (appended to `l`).
fn message_text(l: &mut String, name: &str, meta: &MessageMeta, msg: &Message<'_>) -> std::fmt::Result {
    use std::fmt::Write as _;
    write!(l, "{} {}#{} {} > {} ", format_utc_us(meta.ts_us), name, meta.frame, meta.src, meta.dst)?;
    message_summary(l, msg, usize::MAX)
}

/// A message as its dump line tells it after the addresses (type in
/// capitals, sender, flags, epochs, slots, announced address, the body),
/// appended to `l`; at most `max_gossip` gossip entries are listed (their
/// count is always given).
pub fn message_summary(l: &mut String, msg: &Message<'_>, max_gossip: usize) -> std::fmt::Result {
    use std::fmt::Write as _;
    l.push_str(&msg.msg_type.name().to_uppercase());
    if msg.light {
        l.push_str(" light");
    }
    if msg.cut {
        l.push_str(" cut");
    }
    if let Some(h) = &msg.header {
        write!(
            l,
            " {} {} cur={} cfg={} off={} slots={}",
            short(&h.sender),
            h.flags.names(),
            h.current_epoch,
            h.config_epoch,
            h.offset,
            format_slot_ranges(&h.myslots.ranges())
        )?;
        if let Some(r) = &h.replicaof {
            write!(l, " replicaof={}", short(r))?;
        }
        if let Some(ip) = h.myip {
            write!(l, " myip={}", text(ip))?;
        }
        write!(l, " port={} cport={}", h.port, h.cport)?;
        if h.pport != 0 {
            write!(l, " pport={}", h.pport)?;
        }
        if h.state != 0 {
            write!(l, " state=fail")?;
        }
        if h.mflags != [0, 0, 0] {
            write!(l, " mflags={:#04x}", h.mflags[0])?;
        }
    }
    match &msg.body {
        Body::Gossip { .. } => {
            let mut entries: Vec<String> = msg.gossip().take(max_gossip).map(|g| gossip_text(&g)).collect();
            let count = if entries.len() < max_gossip { entries.len() } else { msg.gossip().count() };
            write!(l, " gossip={count}")?;
            if count > entries.len() {
                entries.push(format!("… {} more", count - entries.len()));
            }
            if !entries.is_empty() {
                write!(l, " [{}]", entries.join(", "))?;
            }
            let exts: Vec<String> = msg.extensions().map(|e| ext_text(&e)).collect();
            if !exts.is_empty() {
                write!(l, " ext=[{}]", exts.join(", "))?;
            }
        }
        Body::Fail { node } => {
            write!(l, " about={}", short(node))?;
        }
        Body::Publish { channel, message } => {
            write!(l, " channel={:?} message_len={}", text(channel), message.len())?;
        }
        Body::Update { config_epoch, node, slots } => {
            write!(
                l,
                " update_node={} update_cfg={} update_slots={}",
                short(node),
                config_epoch,
                format_slot_ranges(&slots.ranges())
            )?;
        }
        Body::Module { module_id, module_type, payload } => {
            write!(l, " module_id={module_id:#x} module_type={module_type} payload_len={}", payload.len())?;
        }
        Body::Empty => {}
        Body::Unknown { raw } => {
            write!(l, " body_len={}", raw.len())?;
        }
    }
    Ok(())
}

impl<W: Write> DumpWriter<'_, W> {
    fn text_message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        let name = self.names.get(meta.capture).map_or("?", |s| s.as_str());
        // Writing into a String cannot fail; a failure would only mean a
        // shorter line.
        match message_text(&mut self.line, name, meta, msg) {
            Ok(()) => self.write_line(),
            Err(std::fmt::Error) => self.line.clear(),
        }
    }

    fn json_message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        let mut m = Map::new();
        m.insert("record".into(), json!("message"));
        m.insert("ts_us".into(), json!(meta.ts_us));
        m.insert("time".into(), json!(format_utc_us(meta.ts_us)));
        m.insert("capture".into(), json!(self.name(meta.capture)));
        m.insert("frame".into(), json!(meta.frame));
        m.insert("first_frame".into(), json!(meta.first_frame));
        m.insert("src".into(), json!(meta.src.to_string()));
        m.insert("dst".into(), json!(meta.dst.to_string()));
        m.insert("conn".into(), json!(meta.conn_id));
        m.insert("from_initiator".into(), json!(meta.from_initiator));
        m.insert("stream_offset".into(), json!(meta.offset));
        m.insert("type".into(), json!(msg.msg_type.name()));
        m.insert("wire_type".into(), json!(msg.msg_type.0 | if msg.light { 0x8000 } else { 0 }));
        m.insert("layout".into(), json!(layout_name(msg.layout)));
        m.insert("totlen".into(), json!(msg.totlen));
        if msg.cut {
            m.insert("cut".into(), json!(true));
        }
        match &msg.header {
            Some(h) => {
                m.insert("sender".into(), json!(full(&h.sender)));
                m.insert("ver".into(), json!(h.ver));
                m.insert("flags".into(), json!(h.flags.names()));
                m.insert("flags_raw".into(), json!(h.flags.0));
                m.insert("current_epoch".into(), json!(h.current_epoch));
                m.insert("config_epoch".into(), json!(h.config_epoch));
                m.insert("offset".into(), json!(h.offset));
                let ranges: Vec<[u16; 2]> = h.myslots.ranges().into_iter().map(|(a, b)| [a, b]).collect();
                m.insert("slots".into(), json!(ranges));
                m.insert("slot_count".into(), json!(h.myslots.count()));
                m.insert("replicaof".into(), json!(h.replicaof.map(|r| full(&r))));
                m.insert("myip".into(), json!(h.myip.map(text)));
                m.insert("port".into(), json!(h.port));
                m.insert("cport".into(), json!(h.cport));
                m.insert("cport_on_wire".into(), json!(h.cport_on_wire));
                m.insert("pport".into(), json!(h.pport));
                m.insert("state".into(), json!(if h.state == 0 { "ok" } else { "fail" }));
                m.insert("mflags".into(), json!(h.mflags));
                m.insert("count".into(), json!(h.count));
                m.insert("extensions_count".into(), json!(h.extensions));
            }
            None => {
                m.insert("sender".into(), Value::Null);
            }
        }
        let gossip: Vec<Value> = msg.gossip().map(|g| gossip_json(&g)).collect();
        m.insert("gossip".into(), Value::Array(gossip));
        let exts: Vec<Value> = msg.extensions().map(|e| ext_json(&e)).collect();
        m.insert("extensions".into(), Value::Array(exts));
        match &msg.body {
            Body::Fail { node } => {
                m.insert("fail_node".into(), json!(full(node)));
            }
            Body::Publish { channel, message } => {
                m.insert("channel".into(), json!(text(channel)));
                m.insert("message_len".into(), json!(message.len()));
            }
            Body::Update { config_epoch, node, slots } => {
                let ranges: Vec<[u16; 2]> = slots.ranges().into_iter().map(|(a, b)| [a, b]).collect();
                m.insert("update".into(), json!({"node": full(node), "config_epoch": config_epoch, "slots": ranges}));
            }
            Body::Module { module_id, module_type, payload } => {
                m.insert(
                    "module".into(),
                    json!({"module_id": module_id, "type": module_type, "payload_len": payload.len()}),
                );
            }
            Body::Unknown { raw } => {
                m.insert("body_len".into(), json!(raw.len()));
            }
            Body::Gossip { .. } | Body::Empty => {}
        }
        match serde_json::to_string(&Value::Object(m)) {
            Ok(s) => self.line.push_str(&s),
            Err(e) => self.line.push_str(&format!("{{\"record\":\"error\",\"detail\":{:?}}}", e.to_string())),
        }
        self.write_line();
    }
}

impl<W: Write> BusSink for DumpWriter<'_, W> {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        if !self.messages || self.error.is_some() {
            return;
        }
        match self.format {
            DumpFormat::Text => self.text_message(meta, msg),
            DumpFormat::Jsonl => self.json_message(meta, msg),
        }
    }

    fn command(&mut self, meta: &CommandMeta, args: &[Vec<u8>]) {
        if !self.messages || self.error.is_some() {
            return;
        }
        let words: Vec<String> = args.iter().map(|a| text(a)).collect();
        match self.format {
            DumpFormat::Text => {
                self.line = format!(
                    "{} {}#{} {} > {} {}",
                    format_utc_us(meta.ts_us),
                    self.name(meta.capture),
                    meta.frame,
                    meta.src,
                    meta.dst,
                    command_summary(args)
                );
            }
            DumpFormat::Jsonl => {
                let v = json!({
                    "record": "command",
                    "ts_us": meta.ts_us,
                    "time": format_utc_us(meta.ts_us),
                    "capture": self.name(meta.capture),
                    "frame": meta.frame,
                    "src": meta.src.to_string(),
                    "dst": meta.dst.to_string(),
                    "args": words,
                });
                self.line = v.to_string();
            }
        }
        self.write_line();
    }

    fn anomaly(&mut self, a: &Anomaly) {
        if !self.anomalies || self.error.is_some() {
            return;
        }
        let flow = match (a.src, a.dst) {
            (Some(s), Some(d)) => format!("{s} > {d}"),
            _ => "-".to_string(),
        };
        match self.format {
            DumpFormat::Text => {
                self.line = format!(
                    "{} {}#{} {} ! {}: {}",
                    format_utc_us(a.ts_us),
                    self.name(a.capture),
                    a.frame,
                    flow,
                    a.kind,
                    a.detail
                );
            }
            DumpFormat::Jsonl => {
                let v = json!({
                    "record": "anomaly",
                    "ts_us": a.ts_us,
                    "time": format_utc_us(a.ts_us),
                    "capture": self.name(a.capture),
                    "frame": a.frame,
                    "src": a.src.map(|e| e.to_string()),
                    "dst": a.dst.map(|e| e.to_string()),
                    "kind": a.kind,
                    "detail": a.detail,
                });
                self.line = v.to_string();
            }
        }
        self.write_line();
    }
}
