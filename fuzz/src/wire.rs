//! Cluster-bus messages from arbitrary field values, serialised into real
//! wire bytes (so the fuzzer exercises the parser as well as everything
//! after it). Names and addresses come mostly from a small table, so nodes
//! meet, gossip about each other and merge, and sometimes as raw hostile
//! bytes (not UTF-8, control characters, markup).

use arbitrary::Arbitrary;

/// A node name: one of a few well-formed ids, or 40 hostile bytes.
#[derive(Arbitrary, Debug, Clone)]
pub enum Name {
    Node(u8),
    Raw([u8; 40]),
    /// A table id with three bytes replaced (the first report).
    Patched(u8, u8, [u8; 3]),
    /// Markup, quotes, escapes and control characters, padded to 40.
    Evil(u8),
    Zero,
}

/// Text that breaks a renderer that does not escape.
pub const EVIL: [&[u8]; 10] = [
    b"<script>alert(1)</script>",
    b"\"];\n  x -> y [label=\"",
    b"a\x1b[31mred\x1b[0m\r\n\x00",
    b"]]> <!-- --> &amp; &#0; '\"",
    b"n1 -->|x| n2\nclick n1 call",
    b"\xff\xfe\xc3\x28\xe2\x82",
    b"\\\\\\\\\"}\\n",
    b"\xc2\x85\xe2\x80\xae\xef\xbb\xbf",
    b"%s%n{}{{0}}",
    b"127.0.0.1:7000@17000\nfake",
];

fn evil(i: u8) -> &'static [u8] {
    EVIL[usize::from(i) % EVIL.len()]
}

impl Name {
    pub fn bytes(&self) -> [u8; 40] {
        match self {
            Name::Node(i) => node_id(*i),
            Name::Raw(b) => *b,
            Name::Patched(i, at, b) => {
                let mut n = node_id(*i);
                let at = usize::from(*at) % 38;
                n[at..at + 3].copy_from_slice(b);
                n
            }
            Name::Evil(i) => {
                let mut n = node_id(*i);
                let e = evil(*i);
                let k = e.len().min(40);
                n[..k].copy_from_slice(&e[..k]);
                n
            }
            Name::Zero => [0; 40],
        }
    }
}

/// The well-formed id of table node `i` (8 nodes).
pub fn node_id(i: u8) -> [u8; 40] {
    let mut n = [0u8; 40];
    let hex = b"0123456789abcdef";
    for (k, c) in n.iter_mut().enumerate() {
        *c = hex[(usize::from(i % 8) * 7 + k * 3) % 16];
    }
    n
}

/// The IPv4 address of table host `i`.
pub fn host_ip(i: u8) -> [u8; 4] {
    [10, 0, 0, 1 + i % 8]
}

/// An announced IP: a table address, empty, or raw bytes.
#[derive(Arbitrary, Debug, Clone)]
pub enum Ip {
    Host(u8),
    Empty,
    Raw(Vec<u8>),
    V6(u16),
    Evil(u8),
}

impl Ip {
    fn field(&self) -> [u8; 46] {
        let mut f = [0u8; 46];
        let s: Vec<u8> = match self {
            Ip::Host(i) => {
                let a = host_ip(*i);
                format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]).into_bytes()
            }
            Ip::Empty => Vec::new(),
            Ip::Raw(b) => b.clone(),
            Ip::V6(x) => format!("fd00::{x:x}").into_bytes(),
            Ip::Evil(i) => evil(*i).to_vec(),
        };
        let n = s.len().min(46);
        f[..n].copy_from_slice(&s[..n]);
        f
    }
}

/// Epochs: small (so they collide and bump), the maximum, or anything.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Epoch {
    Small(u8),
    Max,
    Any(u64),
}

impl Epoch {
    fn value(self) -> u64 {
        match self {
            Epoch::Small(v) => u64::from(v),
            Epoch::Max => u64::MAX,
            Epoch::Any(v) => v,
        }
    }
}

/// A slot bitmap.
#[derive(Arbitrary, Debug, Clone)]
pub enum Slots {
    None,
    All,
    Range(u16, u16),
    Raw(Vec<u8>),
}

impl Slots {
    fn bitmap(&self) -> [u8; 2048] {
        let mut b = [0u8; 2048];
        match self {
            Slots::None => {}
            Slots::All => b = [0xff; 2048],
            Slots::Range(lo, hi) => {
                for s in (*lo % 16384)..=(*hi % 16384) {
                    b[usize::from(s) / 8] |= 1 << (s % 8);
                }
            }
            Slots::Raw(r) => {
                let n = r.len().min(2048);
                b[..n].copy_from_slice(&r[..n]);
            }
        }
        b
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Gossip {
    pub name: Name,
    pub ping_sent: u32,
    pub pong_received: u32,
    pub ip: Ip,
    pub port: u16,
    pub cport: u16,
    pub flags: u16,
    pub pport: u16,
}

/// A ping extension record.
#[derive(Arbitrary, Debug, Clone)]
pub enum Ext {
    Hostname(Vec<u8>),
    HumanName(Vec<u8>),
    Forgotten(Name, u64),
    ShardId(Name),
    ClientIp(bool, Vec<u8>),
    ClientPort(bool, u16),
    Zone(Vec<u8>),
    /// A hostname (or human name) that is markup or escapes.
    EvilName(bool, u8),
    /// Any type, any declared length (past the end, not a multiple of 8).
    Raw {
        ext_type: u16,
        length: Option<u32>,
        body: Vec<u8>,
    },
}

fn string_ext(t: u16, s: &[u8], out: &mut Vec<u8>) {
    let body_len = (s.len() + 1).div_ceil(8) * 8;
    out.extend_from_slice(&((8 + body_len) as u32).to_be_bytes());
    out.extend_from_slice(&t.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(s);
    out.resize(out.len() + body_len - s.len(), 0);
}

impl Ext {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Ext::Hostname(s) => string_ext(0, s, out),
            Ext::HumanName(s) => string_ext(1, s, out),
            Ext::Forgotten(n, ttl) => {
                out.extend_from_slice(&56u32.to_be_bytes());
                out.extend_from_slice(&[0, 2, 0, 0]);
                out.extend_from_slice(&n.bytes());
                out.extend_from_slice(&ttl.to_be_bytes());
            }
            Ext::ShardId(n) => {
                out.extend_from_slice(&48u32.to_be_bytes());
                out.extend_from_slice(&[0, 3, 0, 0]);
                out.extend_from_slice(&n.bytes());
            }
            Ext::ClientIp(v6, s) => string_ext(if *v6 { 5 } else { 4 }, s, out),
            Ext::ClientPort(tls, p) => {
                out.extend_from_slice(&16u32.to_be_bytes());
                out.extend_from_slice(&[0, if *tls { 7 } else { 6 }, 0, 0]);
                out.extend_from_slice(&p.to_be_bytes());
                out.extend_from_slice(&[0; 6]);
            }
            Ext::Zone(s) => string_ext(8, s, out),
            Ext::EvilName(human, i) => string_ext(u16::from(*human), evil(*i), out),
            Ext::Raw { ext_type, length, body } => {
                let len = length.unwrap_or((8 + body.len()) as u32);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&ext_type.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(body);
            }
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum GossipType {
    Ping,
    Pong,
    Meet,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum EmptyType {
    AuthRequest,
    AuthAck,
    MfStart,
}

/// The body, which decides the type.
#[derive(Arbitrary, Debug, Clone)]
pub enum Body {
    Gossip { kind: GossipType, entries: Vec<Gossip>, exts: Vec<Ext>, ext_flag: bool },
    Fail(Name),
    Publish { shard: bool, channel: Vec<u8>, message: Vec<u8> },
    Empty(EmptyType),
    Update { epoch: Epoch, node: Name, slots: Slots },
    Module { id: u64, module_type: u8, payload: Vec<u8> },
    Unknown { wire_type: u16, raw: Vec<u8> },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Layout {
    V0,
    V1,
    Light,
}

/// One message, every header field a peer controls.
#[derive(Arbitrary, Debug, Clone)]
pub struct Msg {
    pub layout: Layout,
    pub sender: Name,
    pub current_epoch: Epoch,
    pub config_epoch: Epoch,
    pub offset: u64,
    pub slots: Slots,
    pub replicaof: Option<Name>,
    pub myip: Ip,
    pub port: u16,
    pub cport: u16,
    pub pport: u16,
    pub flags: u16,
    pub state: u8,
    pub mflags: [u8; 3],
    pub body: Body,
    /// Overrides: a `count` or `totlen` that disagrees with the bytes.
    pub count: Option<u16>,
    pub totlen: Option<u32>,
    pub version: Option<u16>,
}

impl Msg {
    /// The wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let (wire_type, body, count, n_ext) = self.body_bytes();
        let mut m = Vec::with_capacity(2256 + body.len());
        m.extend_from_slice(b"RCmb");
        m.extend_from_slice(&[0; 4]);
        match self.layout {
            Layout::Light => {
                m.extend_from_slice(&self.version.unwrap_or(1).to_be_bytes());
                m.extend_from_slice(&[0, 0]);
                m.extend_from_slice(&(wire_type | 0x8000).to_be_bytes());
                m.extend_from_slice(&[0, 0]);
            }
            Layout::V0 | Layout::V1 => {
                let v1 = matches!(self.layout, Layout::V1);
                m.extend_from_slice(&self.version.unwrap_or(u16::from(v1)).to_be_bytes());
                m.extend_from_slice(&(if v1 { self.port } else { 0 }).to_be_bytes());
                m.extend_from_slice(&wire_type.to_be_bytes());
                m.extend_from_slice(&self.count.unwrap_or(count).to_be_bytes());
                m.extend_from_slice(&self.current_epoch.value().to_be_bytes());
                m.extend_from_slice(&self.config_epoch.value().to_be_bytes());
                m.extend_from_slice(&self.offset.to_be_bytes());
                m.extend_from_slice(&self.sender.bytes());
                m.extend_from_slice(&self.slots.bitmap());
                m.extend_from_slice(&self.replicaof.as_ref().map_or([0; 40], Name::bytes));
                if v1 {
                    m.extend_from_slice(&self.myip.field());
                    m.extend_from_slice(&n_ext.to_be_bytes());
                    m.extend_from_slice(&[0; 30]);
                    m.extend_from_slice(&self.pport.to_be_bytes());
                    m.extend_from_slice(&self.cport.to_be_bytes());
                } else {
                    m.extend_from_slice(&[0; 32]);
                    m.extend_from_slice(&self.port.to_be_bytes());
                }
                m.extend_from_slice(&self.flags.to_be_bytes());
                m.push(self.state);
                let mut mf = self.mflags;
                if let Body::Gossip { ext_flag: true, .. } = self.body {
                    mf[0] |= 0x04;
                }
                m.extend_from_slice(&mf);
            }
        }
        m.extend_from_slice(&body);
        let totlen = self.totlen.unwrap_or(m.len() as u32);
        m[4..8].copy_from_slice(&totlen.to_be_bytes());
        m
    }

    /// (wire type, body bytes, gossip count, extension count).
    fn body_bytes(&self) -> (u16, Vec<u8>, u16, u16) {
        let mut b = Vec::new();
        match &self.body {
            Body::Gossip { kind, entries, exts, .. } => {
                let v0 = matches!(self.layout, Layout::V0);
                for g in entries.iter().take(64) {
                    b.extend_from_slice(&g.name.bytes());
                    b.extend_from_slice(&g.ping_sent.to_be_bytes());
                    b.extend_from_slice(&g.pong_received.to_be_bytes());
                    b.extend_from_slice(&g.ip.field());
                    b.extend_from_slice(&g.port.to_be_bytes());
                    if v0 {
                        b.extend_from_slice(&g.flags.to_be_bytes());
                        b.extend_from_slice(&[0; 6]);
                    } else {
                        b.extend_from_slice(&g.cport.to_be_bytes());
                        b.extend_from_slice(&g.flags.to_be_bytes());
                        b.extend_from_slice(&g.pport.to_be_bytes());
                        b.extend_from_slice(&[0; 2]);
                    }
                }
                let n_ext = exts.len().min(16);
                for e in exts.iter().take(16) {
                    e.write(&mut b);
                }
                let t = match kind {
                    GossipType::Ping => 0,
                    GossipType::Pong => 1,
                    GossipType::Meet => 2,
                };
                (t, b, entries.len().min(64) as u16, n_ext as u16)
            }
            Body::Fail(n) => {
                b.extend_from_slice(&n.bytes());
                (3, b, 0, 0)
            }
            Body::Publish { shard, channel, message } => {
                b.extend_from_slice(&(channel.len() as u32).to_be_bytes());
                b.extend_from_slice(&(message.len() as u32).to_be_bytes());
                b.extend_from_slice(channel);
                b.extend_from_slice(message);
                (if *shard { 10 } else { 4 }, b, 0, 0)
            }
            Body::Empty(t) => {
                let t = match t {
                    EmptyType::AuthRequest => 5,
                    EmptyType::AuthAck => 6,
                    EmptyType::MfStart => 8,
                };
                (t, b, 0, 0)
            }
            Body::Update { epoch, node, slots } => {
                b.extend_from_slice(&epoch.value().to_be_bytes());
                b.extend_from_slice(&node.bytes());
                b.extend_from_slice(&slots.bitmap());
                (7, b, 0, 0)
            }
            Body::Module { id, module_type, payload } => {
                b.extend_from_slice(&id.to_le_bytes());
                b.extend_from_slice(&(payload.len() as u32).to_be_bytes());
                b.push(*module_type);
                b.extend_from_slice(payload);
                (9, b, 0, 0)
            }
            Body::Unknown { wire_type, raw } => {
                b.extend_from_slice(raw);
                (*wire_type & 0x7fff, b, 0, 0)
            }
        }
    }
}
