//! Live capture: the interfaces opened (`-i`, several read as one), Ctrl-C
//! and SIGTERM end them, `-w` saves what is read, `-D` lists what can be
//! opened. Without `-f` the capture narrows its kernel filter to the bus
//! as the chain learns it (`--no-auto-filter`: not). An interface going
//! down and coming back is said on stderr as it happens. The count of
//! packets libpcap dropped, what the filter learned and the interfaces'
//! states are handed back to the command that shows them.

use super::config::LiveConfig;
use meetgraph::capture::{BusLearning, LinkChange, LinkEvent, Links};
use meetgraph::error::{Error, Status};
use meetgraph::pipeline::{Input, PipelineConfig};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// What a running live capture shows: libpcap's drops, what the auto
/// filter learned, the interfaces' states (kept current as it runs).
#[derive(Clone, Debug, Default)]
pub struct LiveStatus {
    pub drops: Arc<AtomicU64>,
    pub learning: Option<BusLearning>,
    pub links: Links,
}

/// The stderr line for an interface's change.
pub fn link_line(c: &LinkChange) -> String {
    let secs = |us: i64| us as f64 / 1e6;
    match c.event {
        LinkEvent::Down => format!(
            "iface:{}: the interface went down ({}), outage {}; the analysis is kept and capture resumes when it is back",
            c.interface, c.detail, c.outage
        ),
        LinkEvent::Up => format!(
            "iface:{}: capture resumed after {:.1} s down ({}), outage {}",
            c.interface,
            secs(c.down_us.unwrap_or(0)),
            c.detail,
            c.outage
        ),
        LinkEvent::Retrying => {
            format!("iface:{}: still down, cannot open it again: {}; retrying", c.interface, c.detail)
        }
    }
}

/// A live capture input (capture number `index`); Ctrl-C, SIGTERM, `-c`
/// or `--duration` end it.
#[cfg(feature = "live")]
pub fn open(live: &LiveConfig, index: usize, mut pcfg: PipelineConfig) -> Result<(Input, LiveStatus), Error> {
    use meetgraph::capture::{LiveCapture, LiveOptions, MultiLive, PacketSource, Saved};
    use meetgraph::pipeline::Pipeline;
    let stop = stop_on_signals();
    let status = LiveStatus {
        drops: Arc::default(),
        learning: live.auto_filter.then(BusLearning::default),
        links: Links::default(),
    };
    status.links.listen(|c| super::messages::warn(&link_line(c)));
    pcfg.learn = status.learning.clone();
    let pipeline = Pipeline::new(index, pcfg);
    let mut caps = Vec::new();
    for iface in &live.interfaces {
        let opts = LiveOptions {
            interface: iface.to_string(),
            filter: live.filter.clone(),
            snaplen: live.snaplen,
            buffer_bytes: live.buffer_bytes,
            count: live.count,
            duration: live.duration,
            stop: stop.clone(),
            drops: status.drops.clone(),
            auto: status.learning.clone(),
            links: status.links.clone(),
        };
        caps.push(LiveCapture::open(opts)?);
    }
    let source: Box<dyn PacketSource> = match caps.len() {
        1 => Box::new(caps.remove(0)),
        _ => Box::new(MultiLive::new(caps)),
    };
    let input = match &live.save {
        Some(save) => Input::new(Saved::new(source, save.clone())?, pipeline),
        None => Input::boxed(source, pipeline),
    };
    Ok((input, status))
}

#[cfg(not(feature = "live"))]
pub fn open(live: &LiveConfig, _index: usize, _pcfg: PipelineConfig) -> Result<(Input, LiveStatus), Error> {
    Err(Error::Usage(format!(
        "-i {}: this build has no live capture; rebuild with `cargo build --release --features live` (needs libpcap)",
        live.interfaces.join(" -i ")
    )))
}

/// The flag Ctrl-C and SIGTERM set (the capture loop polls it every
/// 200 ms).
#[cfg(feature = "live")]
fn stop_on_signals() -> Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Only one handler can be installed per process; a second live input
    // shares the first one's.
    if ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)).is_err() {
        super::messages::warn(&"Ctrl-C handler already installed; Ctrl-C ends the first live capture");
    }
    stop
}

/// `-D`: the interfaces libpcap can capture on.
#[cfg(feature = "live")]
pub fn list_interfaces() -> Result<Status, Error> {
    let devices = pcap::Device::list().map_err(|e| Error::Interfaces(Box::new(e)))?;
    super::emit::write_stdout(|w| {
        for (i, d) in devices.iter().enumerate() {
            let desc = d.desc.as_deref().map(|x| format!(" ({x})")).unwrap_or_default();
            writeln!(w, "{}.{}{desc}", i + 1, d.name)?;
        }
        Ok(())
    })?;
    Ok(Status::Ok)
}

#[cfg(not(feature = "live"))]
pub fn list_interfaces() -> Result<Status, Error> {
    Err(Error::Usage("listing interfaces needs libpcap: build meetgraph with `--features live`".into()))
}
