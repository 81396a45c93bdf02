//! The interfaces of a live capture as the kernel shows them (up, down,
//! gone), what each went through (up now, outages so far), and who is told
//! when that changes: the capture finds out, the commands say it (a line,
//! an event, a metric). Asking the kernel needs feature `live`.

use std::sync::{Arc, Mutex};

/// What the kernel says of an interface, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Up and running, with its index.
    Up(u32),
    /// There (with its index), but set down or without carrier.
    Down { index: u32, set_down: bool },
    /// No interface of that name: deleted (maybe to come back with a new
    /// index).
    Gone,
}

impl LinkState {
    /// The state of the interface `name` now. A name the kernel has no
    /// index for is `Gone`; flags that cannot be read count as up.
    #[cfg(feature = "live")]
    pub fn of(name: &str) -> LinkState {
        use nix::net::if_::{InterfaceFlags, if_nametoindex};
        let Ok(index) = if_nametoindex(name) else { return LinkState::Gone };
        let flags =
            nix::ifaddrs::getifaddrs().ok().and_then(|mut all| all.find(|i| i.interface_name == name).map(|i| i.flags));
        match flags {
            Some(f) if !f.contains(InterfaceFlags::IFF_UP) => LinkState::Down { index, set_down: true },
            Some(f) if !f.contains(InterfaceFlags::IFF_RUNNING) => LinkState::Down { index, set_down: false },
            _ => LinkState::Up(index),
        }
    }

    /// The kernel's index of the interface (`None`: gone).
    pub fn index(self) -> Option<u32> {
        match self {
            LinkState::Up(i) | LinkState::Down { index: i, .. } => Some(i),
            LinkState::Gone => None,
        }
    }

    /// Why it cannot carry packets, in words (`None`: it can).
    pub fn trouble(self) -> Option<&'static str> {
        match self {
            LinkState::Up(_) => None,
            LinkState::Down { set_down: true, .. } => Some("set down"),
            LinkState::Down { set_down: false, .. } => Some("no carrier"),
            LinkState::Gone => Some("deleted"),
        }
    }
}

/// What happened to an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// It stopped carrying packets (outage number `outage`).
    Down,
    /// It is back and the capture reads it again.
    Up,
    /// Still down: an attempt to open it again failed (said once per
    /// different reason).
    Retrying,
}

/// A change of one interface of a live capture.
#[derive(Clone, Debug)]
pub struct LinkChange {
    pub interface: String,
    pub event: LinkEvent,
    /// Wall clock, microseconds since the epoch (live packets' clock).
    pub ts_us: i64,
    /// Which outage of this interface (1 for the first).
    pub outage: u64,
    /// In words: why it is down (`set down`, `no carrier`, `deleted`,
    /// libpcap's error), how the capture came back (`same handle`,
    /// `re-opened`), why a re-open failed.
    pub detail: String,
    /// Back up: how long it was down (microseconds).
    pub down_us: Option<i64>,
}

/// One interface of a live capture, as last told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkStatus {
    pub interface: String,
    pub up: bool,
    pub outages: u64,
}

type Listener = Box<dyn Fn(&LinkChange) + Send + Sync>;

#[derive(Default)]
struct Shared {
    statuses: Mutex<Vec<LinkStatus>>,
    listeners: Mutex<Vec<Listener>>,
}

/// The interfaces of a live capture and the listeners told of their
/// changes (shared by the capture threads and the command).
#[derive(Clone, Default)]
pub struct Links(Arc<Shared>);

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Links").field(&self.statuses()).finish()
    }
}

impl Links {
    /// `f` is told every change from now on (on the capture's thread).
    pub fn listen(&self, f: impl Fn(&LinkChange) + Send + Sync + 'static) {
        if let Ok(mut l) = self.0.listeners.lock() {
            l.push(Box::new(f));
        }
    }

    /// Every interface, as last told, in the order opened.
    pub fn statuses(&self) -> Vec<LinkStatus> {
        self.0.statuses.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// An interface opened (up, no outage yet).
    pub fn opened(&self, interface: &str) {
        if let Ok(mut s) = self.0.statuses.lock()
            && !s.iter().any(|x| x.interface == interface)
        {
            s.push(LinkStatus { interface: interface.to_string(), up: true, outages: 0 });
        }
    }

    /// Records `change` and tells every listener.
    pub fn tell(&self, change: &LinkChange) {
        if let Ok(mut s) = self.0.statuses.lock()
            && let Some(x) = s.iter_mut().find(|x| x.interface == change.interface)
        {
            x.up = change.event == LinkEvent::Up;
            x.outages = x.outages.max(change.outage);
        }
        if let Ok(l) = self.0.listeners.lock() {
            for f in l.iter() {
                f(change);
            }
        }
    }
}

/// Microseconds since the epoch, now.
#[cfg(feature = "live")]
pub(crate) fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "live")]
    #[test]
    fn loopback_is_up_and_a_made_up_name_is_gone() {
        assert!(matches!(LinkState::of("lo"), LinkState::Up(i) if i > 0));
        assert_eq!(LinkState::of("mg-no-such0"), LinkState::Gone);
        assert_eq!(LinkState::Gone.trouble(), Some("deleted"));
    }

    #[test]
    fn statuses_follow_what_was_told() {
        let links = Links::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        links.listen(move |c| s.lock().unwrap().push(c.event));
        links.opened("eth0");
        let change = |event, outage| LinkChange {
            interface: "eth0".into(),
            event,
            ts_us: 1,
            outage,
            detail: String::new(),
            down_us: None,
        };
        links.tell(&change(LinkEvent::Down, 1));
        let down = LinkStatus { interface: "eth0".into(), up: false, outages: 1 };
        assert_eq!(links.statuses(), vec![down]);
        links.tell(&change(LinkEvent::Up, 1));
        assert_eq!(links.statuses(), vec![LinkStatus { interface: "eth0".into(), up: true, outages: 1 }]);
        assert_eq!(*seen.lock().unwrap(), vec![LinkEvent::Down, LinkEvent::Up]);
    }
}
