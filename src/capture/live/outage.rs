//! A live capture's interface going down and coming back: noticed on
//! libpcap's error or by asking the kernel while idle, told to the
//! [`Links`](crate::capture::link::Links) listeners, waited out (the same
//! handle when it still reads, a new one by name when it does not).

use super::{CHECK_EVERY, LiveCapture, MAX_BACKOFF, Outage, activate};
use crate::capture::autofilter::Link;
use crate::capture::link::{LinkChange, LinkEvent, LinkState, now_us};
use crate::capture::packet::LinkType;
use std::time::{Duration, Instant};

/// First wait after a failed open (doubled each time, up to MAX_BACKOFF).
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// A lost handle's loop: how long it sleeps between looks.
const LOST_TICK: Duration = Duration::from_millis(100);

impl LiveCapture {
    /// Idle: asks the kernel (every CHECK_EVERY) whether the interface is
    /// up, and tells what changed.
    pub(super) fn check_link(&mut self) {
        let Some(index) = self.index else { return };
        let now = Instant::now();
        if now < self.next_check {
            return;
        }
        self.next_check = now + CHECK_EVERY;
        let state = LinkState::of(&self.opts.interface);
        match state {
            LinkState::Up(i) if i == index => {
                if self.outage.is_some() {
                    self.back("same handle");
                }
            }
            // Deleted and made again: this handle reads the old one.
            LinkState::Up(_) => self.down("deleted and created again".into(), true),
            LinkState::Gone => self.down("deleted".into(), true),
            LinkState::Down { .. } => {
                let why = state.trouble().unwrap_or("down");
                self.down(why.into(), false);
            }
        }
    }

    /// libpcap's read failed: the handle is lost.
    pub(super) fn lost(&mut self, error: String) {
        let why = match LinkState::of(&self.opts.interface).trouble() {
            Some(t) => format!("{t}; {error}"),
            None => error,
        };
        self.down(why, true);
    }

    /// An outage begins (told), or one already going on lost its handle.
    fn down(&mut self, why: String, dead: bool) {
        if let Some(o) = self.outage.as_mut() {
            o.dead |= dead;
            return;
        }
        self.outages += 1;
        let now = Instant::now();
        self.outage = Some(Outage {
            number: self.outages,
            since: now,
            dead,
            next_try: now,
            backoff: FIRST_BACKOFF,
            failure: None,
        });
        self.tell(LinkEvent::Down, why, None);
    }

    /// The interface reads again (told, with how long it was down).
    pub(super) fn back(&mut self, how: &str) {
        let Some(o) = &self.outage else { return };
        let down_us = i64::try_from(o.since.elapsed().as_micros()).unwrap_or(i64::MAX);
        self.tell(LinkEvent::Up, how.into(), Some(down_us));
        self.outage = None;
        self.next_check = Instant::now() + CHECK_EVERY;
    }

    /// The handle is lost: once the interface is there and up, opens it
    /// again (backing off after failures, each new reason told once).
    pub(super) fn recover(&mut self) {
        std::thread::sleep(LOST_TICK);
        let now = Instant::now();
        if self.outage.as_ref().is_none_or(|o| now < o.next_try) {
            return;
        }
        // A name without an index (`any`) is tried on the backoff alone.
        if self.index.is_some() && !matches!(LinkState::of(&self.opts.interface), LinkState::Up(_)) {
            if let Some(o) = self.outage.as_mut() {
                o.next_try = now + CHECK_EVERY / 2;
            }
            return;
        }
        match self.reopen() {
            Ok(()) => self.back("opened again"),
            Err(why) => {
                let Some(o) = self.outage.as_mut() else { return };
                o.next_try = now + o.backoff;
                o.backoff = (o.backoff * 2).min(MAX_BACKOFF);
                if o.failure.as_deref() != Some(why.as_str()) {
                    o.failure = Some(why.clone());
                    self.tell(LinkEvent::Retrying, why, None);
                }
            }
        }
    }

    /// A new handle on the interface, with the filter the old one had.
    fn reopen(&mut self) -> Result<(), String> {
        let cap = activate(&self.opts, &self.name).map_err(|e| lost_capability(e.to_string()))?;
        let dlt = cap.get_datalink().0;
        self.drops.new_handle();
        self.cap = cap;
        self.link = LinkType(dlt as u16);
        if self.auto.is_some() {
            self.auto = Link::of_dlt(dlt).map(|l| (l, u64::MAX));
        }
        self.install().map_err(|e| e.to_string())?;
        self.index = LinkState::of(&self.opts.interface).index().or(self.index);
        Ok(())
    }

    fn tell(&self, event: LinkEvent, detail: String, down_us: Option<i64>) {
        let outage = self.outage.as_ref().map_or(self.outages, |o| o.number);
        let change =
            LinkChange { interface: self.opts.interface.clone(), event, ts_us: now_us(), outage, detail, down_us };
        self.opts.links.tell(&change);
    }
}

/// CAP_NET_RAW in the capability sets of `/proc/self/status`.
const CAP_NET_RAW: u64 = 1 << 13;

/// A failure to open the interface again, said for what the process can
/// still do: a permission refused to a process that no longer holds
/// CAP_NET_RAW (dropped with `-Z` where it could not be kept) is not
/// mended by `setcap` on the binary, as the first open's message says,
/// but only by a restart.
fn lost_capability(why: String) -> String {
    let lower = why.to_lowercase();
    let refused = lower.contains("operation not permitted") || lower.contains("permission");
    let effective = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        let hex = s.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim().to_string();
        u64::from_str_radix(&hex, 16).ok()
    });
    match effective {
        Some(caps) if refused && caps & CAP_NET_RAW == 0 => {
            let head = why.split(": capturing needs").next().unwrap_or(&why);
            format!(
                "{head}: this process no longer holds CAP_NET_RAW (dropped with -Z, which could not keep it), \
                 so it cannot open the interface again: restart meetgraph to capture it"
            )
        }
        _ => why,
    }
}
