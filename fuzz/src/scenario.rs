//! A capture from arbitrary steps: connections between table hosts (bus
//! port or data port, handshake seen or joined mid-stream), messages built
//! by [`crate::wire`] and cut into segments at arbitrary points, operator
//! commands in RESP, garbage and TLS records, FIN/RST, time jumps. Written
//! as a classic pcap of raw IPv4 packets.

use crate::wire::{Msg, host_ip};
use arbitrary::Arbitrary;

#[derive(Arbitrary, Debug, Clone)]
pub struct Conn {
    pub client: u8,
    pub server: u8,
    /// Data port (RESP) instead of the bus port.
    pub data: bool,
    /// The SYN handshake is in the capture.
    pub syn: bool,
    pub client_port: u16,
    pub isn: [u32; 2],
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Step {
    Msg {
        conn: u8,
        reply: bool,
        msg: Box<Msg>,
        split: Vec<u16>,
        dt_us: u32,
    },
    /// `CLUSTER <args>` on a data-port connection.
    Command {
        conn: u8,
        args: Vec<Vec<u8>>,
    },
    Garbage {
        conn: u8,
        reply: bool,
        bytes: Vec<u8>,
    },
    Tls {
        conn: u8,
        reply: bool,
        len: u16,
    },
    Fin {
        conn: u8,
        reply: bool,
    },
    Rst {
        conn: u8,
    },
    /// A segment retransmitted, or sent with a sequence number off by `skew`.
    Skew {
        conn: u8,
        reply: bool,
        skew: i32,
        bytes: Vec<u8>,
    },
    TimeJump(i64),
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Scenario {
    pub conns: Vec<Conn>,
    pub steps: Vec<Step>,
}

struct Live {
    ends: [([u8; 4], u16); 2],
    seq: [u32; 2],
    started: bool,
    syn: bool,
}

/// Classic pcap writer (LINKTYPE_RAW, µs).
pub struct PcapBuf {
    pub bytes: Vec<u8>,
    pub ts_us: i64,
}

impl Default for PcapBuf {
    fn default() -> Self {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&65535u32.to_le_bytes());
        bytes.extend_from_slice(&101u32.to_le_bytes());
        PcapBuf { bytes, ts_us: 1_790_000_000_000_000 }
    }
}

impl PcapBuf {
    /// One IPv4/TCP packet.
    pub fn tcp(&mut self, src: ([u8; 4], u16), dst: ([u8; 4], u16), seq: u32, ack: u32, flags: u8, payload: &[u8]) {
        let total = 40 + payload.len();
        let mut p = Vec::with_capacity(total);
        p.extend_from_slice(&[0x45, 0]);
        p.extend_from_slice(&(total as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        p.extend_from_slice(&src.0);
        p.extend_from_slice(&dst.0);
        p.extend_from_slice(&src.1.to_be_bytes());
        p.extend_from_slice(&dst.1.to_be_bytes());
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ack.to_be_bytes());
        p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        p.extend_from_slice(payload);
        let ts = self.ts_us.max(0);
        self.bytes.extend_from_slice(&((ts / 1_000_000) as u32).to_le_bytes());
        self.bytes.extend_from_slice(&((ts % 1_000_000) as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(p.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(p.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&p);
        self.ts_us += 37;
    }
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const FIN: u8 = 0x01;
const RST: u8 = 0x04;

impl Scenario {
    /// The capture, at most `max_steps` steps.
    pub fn to_pcap(&self, max_steps: usize) -> Vec<u8> {
        let mut conns: Vec<Live> = self
            .conns
            .iter()
            .take(12)
            .map(|c| {
                let server_port = if c.data { 7000 } else { 17000 } + u16::from(c.server % 8);
                Live {
                    ends: [(host_ip(c.client), c.client_port.max(1024)), (host_ip(c.server), server_port)],
                    seq: c.isn,
                    started: false,
                    syn: c.syn,
                }
            })
            .collect();
        let mut out = PcapBuf::default();
        if conns.is_empty() {
            return out.bytes;
        }
        let n = conns.len();
        for step in self.steps.iter().take(max_steps) {
            match step {
                Step::Msg { conn, reply, msg, split, dt_us } => {
                    out.ts_us += i64::from(*dt_us % 5_000_000);
                    let bytes = msg.to_bytes();
                    let mut cuts: Vec<usize> =
                        split.iter().take(8).map(|s| usize::from(*s) % (bytes.len() + 1)).collect();
                    cuts.push(bytes.len());
                    cuts.sort_unstable();
                    let mut at = 0;
                    for c in cuts {
                        send(&mut out, &mut conns[usize::from(*conn) % n], *reply, &bytes[at..c]);
                        at = c;
                    }
                }
                Step::Command { conn, args } => {
                    let mut r = format!("*{}\r\n$7\r\nCLUSTER\r\n", args.len() + 1).into_bytes();
                    for a in args.iter().take(6) {
                        r.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                        r.extend_from_slice(a);
                        r.extend_from_slice(b"\r\n");
                    }
                    send(&mut out, &mut conns[usize::from(*conn) % n], false, &r);
                }
                Step::Garbage { conn, reply, bytes } => {
                    send(&mut out, &mut conns[usize::from(*conn) % n], *reply, bytes);
                }
                Step::Tls { conn, reply, len } => {
                    let mut r = vec![0x16, 3, 1];
                    r.extend_from_slice(&(len % 2000).to_be_bytes());
                    r.resize(5 + usize::from(len % 2000), 0x42);
                    send(&mut out, &mut conns[usize::from(*conn) % n], *reply, &r);
                }
                Step::Fin { conn, reply } => {
                    let c = &mut conns[usize::from(*conn) % n];
                    open(&mut out, c);
                    let d = usize::from(*reply);
                    out.tcp(c.ends[d], c.ends[1 - d], c.seq[d], c.seq[1 - d], FIN | ACK, &[]);
                    c.seq[d] = c.seq[d].wrapping_add(1);
                }
                Step::Rst { conn } => {
                    let c = &mut conns[usize::from(*conn) % n];
                    out.tcp(c.ends[0], c.ends[1], c.seq[0], 0, RST, &[]);
                    c.started = false;
                }
                Step::Skew { conn, reply, skew, bytes } => {
                    let c = &mut conns[usize::from(*conn) % n];
                    open(&mut out, c);
                    let d = usize::from(*reply);
                    let seq = c.seq[d].wrapping_add(*skew as u32);
                    out.tcp(c.ends[d], c.ends[1 - d], seq, c.seq[1 - d], PSH | ACK, &bytes[..bytes.len().min(3000)]);
                }
                Step::TimeJump(dt) => out.ts_us = out.ts_us.saturating_add(*dt % 4_000_000_000_000),
            }
        }
        out.bytes
    }
}

/// The handshake, once, when the connection's SYN is to be captured.
fn open(out: &mut PcapBuf, c: &mut Live) {
    if c.started {
        return;
    }
    c.started = true;
    if c.syn {
        out.tcp(c.ends[0], c.ends[1], c.seq[0], 0, SYN, &[]);
        c.seq[0] = c.seq[0].wrapping_add(1);
        out.tcp(c.ends[1], c.ends[0], c.seq[1], c.seq[0], SYN | ACK, &[]);
        c.seq[1] = c.seq[1].wrapping_add(1);
        out.tcp(c.ends[0], c.ends[1], c.seq[0], c.seq[1], ACK, &[]);
    }
}

/// `data` from one side, in segments of at most 16000 bytes.
fn send(out: &mut PcapBuf, c: &mut Live, reply: bool, data: &[u8]) {
    open(out, c);
    let d = usize::from(reply);
    for chunk in data.chunks(16000) {
        out.tcp(c.ends[d], c.ends[1 - d], c.seq[d], c.seq[1 - d], PSH | ACK, chunk);
        c.seq[d] = c.seq[d].wrapping_add(chunk.len() as u32);
    }
}
