//! Several live captures read as one (`-i eth0 -i eth1`, feature `live`):
//! a thread per interface, packets in arrival order, numbered as one
//! stream.

use super::error::CaptureError;
use super::live::LiveCapture;
use super::packet::{LinkType, PacketSource, RawPacket};

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
    /// The captures until the first read: their threads start then, after
    /// `-Z` (a thread keeps the credentials it was created with).
    waiting: Vec<LiveCapture>,
    rx: std::sync::mpsc::Receiver<Result<Owned, CaptureError>>,
    tx: Option<std::sync::mpsc::SyncSender<Result<Owned, CaptureError>>>,
    current: Option<Owned>,
    frame: u64,
}

impl MultiLive {
    pub fn new(captures: Vec<LiveCapture>) -> Self {
        let name = captures.iter().map(|c| c.name()).collect::<Vec<_>>().join("+");
        let (tx, rx) = std::sync::mpsc::sync_channel(4096);
        MultiLive { name, waiting: captures, rx, tx: Some(tx), current: None, frame: 0 }
    }

    /// A thread per capture, each sending what it reads.
    fn start(&mut self) {
        let Some(tx) = self.tx.take() else { return };
        for mut cap in self.waiting.drain(..) {
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
        self.start();
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
