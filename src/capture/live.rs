//! Live capture on a host interface through libpcap (cargo feature
//! `live`). Packets are copied out of libpcap's buffer (one copy per
//! packet) so they can be handed out like a file's. An interface that goes
//! down or disappears is an outage, not an end: told to the
//! [`Links`] listeners, the capture waits for it (the same handle reads
//! again once a downed interface is up; a deleted one is opened again by
//! name, with backoff) and tells when it reads again; whoever reads this
//! source sees only a pause.

use super::autofilter::{BusLearning, Link, program};
use super::error::CaptureError;
use super::link::{LinkState, Links};
use super::packet::{LinkType, PacketSource, RawPacket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod outage;

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
    /// Told when the interface goes down and comes back.
    pub links: Links,
}

/// How often an idle capture asks the kernel whether its interface is up.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// Longest wait between two attempts to open a lost interface again.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// An interface down since `since`.
struct Outage {
    number: u64,
    since: Instant,
    /// The handle reads no more (libpcap's error, or the interface is
    /// another one of the same name): it is opened again.
    dead: bool,
    next_try: Instant,
    backoff: Duration,
    /// The last reason an open failed (told once per reason).
    failure: Option<String>,
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
    /// The kernel's index of the interface opened (`None`: a name without
    /// one, such as `any`, is not watched).
    index: Option<u32>,
    next_check: Instant,
    outage: Option<Outage>,
    outages: u64,
    drops: DropShare,
}

/// One capture's part of the drops counted for the whole run (each `-i`
/// of a run adds its own into the one count).
#[derive(Debug, Default)]
struct DropShare {
    /// libpcap's drops on this capture's handles closed since.
    before: u64,
    /// This capture's drops added to the run's count so far.
    added: u64,
}

impl DropShare {
    /// The current handle has dropped `now`: `total` gets what is new.
    fn note(&mut self, now: u64, total: &std::sync::atomic::AtomicU64) {
        let mine = self.before + now;
        if mine > self.added {
            total.fetch_add(mine - self.added, Ordering::Relaxed);
            self.added = mine;
        }
    }

    /// A new handle, whose counts start from zero.
    fn new_handle(&mut self) {
        self.before = self.added;
    }
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

/// A handle on `opts.interface` (non-promiscuous, immediate mode,
/// non-blocking) with the user's filter.
fn activate(opts: &LiveOptions, name: &str) -> Result<pcap::Capture<pcap::Active>, CaptureError> {
    let explain = |e: pcap::Error| explain_open_error(name, &opts.interface, e);
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
        .map_err(|e| io_err(name, e))?;
    if let Some(f) = &opts.filter {
        cap.filter(f, true).map_err(|e| io_err(name, format!("filter {f:?}: {e}")))?;
    }
    Ok(cap)
}

impl LiveCapture {
    /// Opens the interface and applies the filter.
    pub fn open(opts: LiveOptions) -> Result<Self, CaptureError> {
        let name = format!("iface:{}", opts.interface);
        let cap = activate(&opts, &name)?;
        let index = LinkState::of(&opts.interface).index();
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
        opts.links.opened(&opts.interface);
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
            index,
            next_check: Instant::now(),
            outage: None,
            outages: 0,
            drops: DropShare::default(),
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
            let now = u64::from(s.dropped) + u64::from(s.if_dropped);
            self.drops.note(now, &self.opts.drops);
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
            if self.outage.as_ref().is_some_and(|o| o.dead) {
                self.recover();
                continue;
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
                    if self.outage.is_some() {
                        self.back("same handle");
                    }
                    return Ok(true);
                }
                Err(pcap::Error::TimeoutExpired) => {
                    self.note_drops();
                    self.check_link();
                    self.wait_readable();
                }
                Err(e) => self.lost(e.to_string()),
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

#[cfg(test)]
mod tests {
    use super::DropShare;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn drops_of_several_interfaces_and_handles_add_up() {
        let total = AtomicU64::new(0);
        let (mut a, mut b) = (DropShare::default(), DropShare::default());
        a.note(5, &total);
        b.note(3, &total);
        a.note(7, &total);
        assert_eq!(total.load(Ordering::Relaxed), 10);
        // b's interface is opened again: the new handle counts from 0.
        b.new_handle();
        b.note(0, &total);
        b.note(4, &total);
        a.note(7, &total);
        assert_eq!(total.load(Ordering::Relaxed), 7 + 3 + 4);
    }
}
