//! Live capture on a host interface through libpcap (cargo feature
//! `live`). Packets are copied out of libpcap's buffer (one copy per
//! packet) so they can be handed out like a file's.

use super::autofilter::{BusLearning, Link, program};
use super::error::CaptureError;
use super::packet::{LinkType, PacketSource, RawPacket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How to capture and when to stop.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub interface: String,
    /// A BPF filter (tcpdump syntax).
    pub filter: Option<String>,
    pub snaplen: i32,
    /// libpcap's kernel buffer (bytes).
    pub buffer_bytes: i32,
    /// Stop after this many packets.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Set from outside (Ctrl-C) to stop.
    pub stop: Arc<AtomicBool>,
    /// Packets libpcap dropped (kernel and interface), kept current for a
    /// status line or metrics.
    pub drops: Arc<std::sync::atomic::AtomicU64>,
    /// The auto filter (without `filter`): installed at open and again
    /// whenever what it learned changes.
    pub auto: Option<BusLearning>,
}

/// A live capture on one interface.
pub struct LiveCapture {
    name: String,
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    buf: Vec<u8>,
    ts_us: i64,
    orig_len: u32,
    frame: u64,
    loaded: bool,
    deadline: Option<Instant>,
    opts: LiveOptions,
    /// The auto filter's link and the generation installed.
    auto: Option<(Link, u64)>,
    loopback: bool,
}

fn io_err(name: &str, e: impl std::fmt::Display) -> CaptureError {
    CaptureError::Io { name: name.to_string(), source: std::io::Error::other(e.to_string()) }
}

/// An open failure in words a user can act on: which interfaces exist,
/// which capability is needed.
fn explain_open_error(name: &str, iface: &str, e: pcap::Error) -> CaptureError {
    let text = e.to_string();
    let lower = text.to_lowercase();
    if lower.contains("permission") || lower.contains("operation not permitted") {
        return io_err(
            name,
            format!(
                "{text}: capturing needs root or the capabilities CAP_NET_RAW and CAP_NET_ADMIN \
                 (setcap cap_net_raw,cap_net_admin=eip $(command -v meetgraph))"
            ),
        );
    }
    let known: Vec<String> = pcap::Device::list().map(|d| d.into_iter().map(|d| d.name).collect()).unwrap_or_default();
    if !known.is_empty() && !known.iter().any(|k| k == iface) {
        return io_err(
            name,
            format!("no interface {iface:?}; interfaces here: {} (meetgraph -D lists them)", known.join(", ")),
        );
    }
    io_err(name, text)
}

impl LiveCapture {
    /// Opens the interface (non-promiscuous, immediate mode) and applies
    /// the filter.
    pub fn open(opts: LiveOptions) -> Result<Self, CaptureError> {
        let name = format!("iface:{}", opts.interface);
        let explain = |e: pcap::Error| explain_open_error(&name, &opts.interface, e);
        let mut cap = pcap::Capture::from_device(opts.interface.as_str())
            .map_err(explain)?
            .promisc(false)
            .immediate_mode(true)
            .snaplen(opts.snaplen)
            .buffer_size(opts.buffer_bytes)
            .timeout(200)
            .open()
            .map_err(explain)?
            // Non-blocking: an idle interface must not hold Ctrl-C, SIGTERM
            // or the end of --duration (libpcap's timeout does not fire in
            // immediate mode on every kernel).
            .setnonblock()
            .map_err(|e| io_err(&name, e))?;
        if let Some(f) = &opts.filter {
            cap.filter(f, true).map_err(|e| io_err(&name, format!("filter {f:?}: {e}")))?;
        }
        let dlt = cap.get_datalink().0;
        let link = LinkType(dlt as u16);
        let deadline = opts.duration.map(|d| Instant::now() + d);
        let auto = match (&opts.auto, &opts.filter) {
            (Some(_), None) => Link::of_dlt(dlt).map(|l| (l, u64::MAX)),
            _ => None,
        };
        // libpcap throws away the outgoing copy of every loopback packet;
        // the filter does it in the kernel.
        let loopback = pcap::Device::list()
            .map(|d| d.iter().any(|d| d.name == opts.interface && d.flags.is_loopback()))
            .unwrap_or(false);
        let mut live = LiveCapture {
            name,
            cap,
            link,
            buf: Vec::new(),
            ts_us: 0,
            orig_len: 0,
            frame: 0,
            loaded: false,
            deadline,
            opts,
            auto,
            loopback,
        };
        live.install()?;
        Ok(live)
    }

    /// Installs the auto filter for what was learned, if it changed since
    /// the last install (the kernel swaps programs atomically; packets
    /// already queued stay).
    fn install(&mut self) -> Result<(), CaptureError> {
        let (Some((link, installed)), Some(learning)) = (self.auto, &self.opts.auto) else { return Ok(()) };
        if learning.generation() == installed {
            return Ok(());
        }
        let (generation, learned) = learning.learned();
        let keep = u32::try_from(self.opts.snaplen).unwrap_or(u32::MAX);
        let prog: Vec<socket2::SockFilter> = program(&learned, link, keep, self.loopback)
            .iter()
            .map(|i| socket2::SockFilter::new(i.code, i.jt, i.jf, i.k))
            .collect();
        socket2::SockRef::from(&self.cap)
            .attach_filter(&prog)
            .map_err(|e| io_err(&self.name, format!("installing the auto filter (--no-auto-filter keeps all): {e}")))?;
        self.auto = Some((link, generation));
        Ok(())
    }

    fn note_drops(&mut self) {
        if let Ok(s) = self.cap.stats() {
            self.opts.drops.store(u64::from(s.dropped) + u64::from(s.if_dropped), Ordering::Relaxed);
        }
    }

    /// Sleeps until a packet may be there, or 100 ms (so stop requests
    /// are seen promptly on an idle interface).
    fn wait_readable(&self) {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let mut fds = [PollFd::new(self.cap.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(100u8)).is_err() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn should_stop(&self) -> bool {
        self.opts.stop.load(Ordering::Relaxed)
            || self.deadline.is_some_and(|d| Instant::now() >= d)
            || self.opts.count.is_some_and(|c| self.frame >= c)
    }
}

impl PacketSource for LiveCapture {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_live(&self) -> bool {
        true
    }

    fn advance(&mut self) -> Result<bool, CaptureError> {
        self.loaded = false;
        self.install()?;
        if self.frame.is_multiple_of(1024) {
            self.note_drops();
        }
        loop {
            if self.should_stop() {
                self.note_drops();
                return Ok(false);
            }
            match self.cap.next_packet() {
                Ok(p) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(p.data);
                    let tv = p.header.ts;
                    // timeval field widths differ between platforms.
                    #[allow(clippy::useless_conversion)]
                    let ts = i64::from(tv.tv_sec) * 1_000_000 + i64::from(tv.tv_usec);
                    self.ts_us = ts;
                    self.orig_len = p.header.len;
                    self.frame += 1;
                    self.loaded = true;
                    return Ok(true);
                }
                Err(pcap::Error::TimeoutExpired) => {
                    self.note_drops();
                    self.wait_readable();
                }
                Err(e) => return Err(io_err(&self.name, e)),
            }
        }
    }

    fn current(&self) -> Option<RawPacket<'_>> {
        self.loaded.then(|| RawPacket {
            ts_us: self.ts_us,
            frame: self.frame,
            link: self.link,
            orig_len: self.orig_len,
            data: &self.buf,
        })
    }
}

/// One packet copied out of a capture thread.
struct Owned {
    ts_us: i64,
    link: LinkType,
    orig_len: u32,
    data: Vec<u8>,
}

/// Several live captures read at once (`-i eth0 -i eth1`): one thread per
/// interface, packets in arrival order, numbered as one stream (the order
/// `-w` saves them in). Each capture stops on its own (Ctrl-C, `-c`,
/// `--duration`); the source ends when all have.
pub struct MultiLive {
    name: String,
    rx: std::sync::mpsc::Receiver<Result<Owned, CaptureError>>,
    current: Option<Owned>,
    frame: u64,
}

impl MultiLive {
    pub fn new(captures: Vec<LiveCapture>) -> Self {
        let name = captures.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join("+");
        let (tx, rx) = std::sync::mpsc::sync_channel(4096);
        for mut cap in captures {
            let tx = tx.clone();
            std::thread::spawn(move || {
                loop {
                    match cap.advance() {
                        Ok(true) => {
                            let Some(p) = cap.current() else { continue };
                            let owned =
                                Owned { ts_us: p.ts_us, link: p.link, orig_len: p.orig_len, data: p.data.to_vec() };
                            if tx.send(Ok(owned)).is_err() {
                                break;
                            }
                        }
                        Ok(false) => break,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
            });
        }
        MultiLive { name, rx, current: None, frame: 0 }
    }
}

impl PacketSource for MultiLive {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_live(&self) -> bool {
        true
    }

    fn advance(&mut self) -> Result<bool, CaptureError> {
        self.current = None;
        match self.rx.recv() {
            Ok(Ok(p)) => {
                self.frame += 1;
                self.current = Some(p);
                Ok(true)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(false),
        }
    }

    fn current(&self) -> Option<RawPacket<'_>> {
        self.current.as_ref().map(|p| RawPacket {
            ts_us: p.ts_us,
            frame: self.frame,
            link: p.link,
            orig_len: p.orig_len,
            data: &p.data,
        })
    }
}
