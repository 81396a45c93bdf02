//! One input of a run: a packet source, its pipeline, and its clock
//! shift onto the reference clock.

use super::driver::Pipeline;
use super::sink::BusSink;
use crate::capture::{CaptureError, PacketSource, RawPacket};

/// One input of a run.
pub struct Input {
    pub file: Box<dyn PacketSource>,
    pub pipeline: Pipeline,
    /// Set when reading stopped on damage (truncated or corrupt file).
    pub error: Option<CaptureError>,
    /// Subtracted from every capture time: this input's clock offset
    /// against the reference clock.
    pub shift_us: i64,
    /// A packet is loaded (`advance` said so).
    loaded: bool,
}

impl Input {
    pub fn new(source: impl PacketSource + 'static, pipeline: Pipeline) -> Self {
        Input::boxed(Box::new(source), pipeline)
    }

    pub fn boxed(file: Box<dyn PacketSource>, pipeline: Pipeline) -> Self {
        Input { file, pipeline, error: None, shift_us: 0, loaded: false }
    }

    /// Loads the next packet; `false` at the end of the input (reading
    /// stopped on damage: [`Input::error`] says why).
    pub fn advance(&mut self) -> bool {
        match self.file.advance() {
            Ok(true) => self.loaded = true,
            Ok(false) => {
                self.loaded = false;
                self.error = self.file.take_error();
            }
            Err(e) => {
                self.loaded = false;
                self.error = Some(e);
            }
        }
        self.loaded
    }

    /// The loaded packet's time on the reference clock (`None`: none
    /// loaded).
    pub fn next_ts(&self) -> Option<i64> {
        if !self.loaded {
            return None;
        }
        self.file.current().map(|p| p.ts_us - self.shift_us)
    }

    /// Runs the loaded packet through the pipeline, on the reference
    /// clock; its time there.
    pub fn process<K: BusSink>(&mut self, sink: &mut K) -> Option<i64> {
        if !self.loaded {
            return None;
        }
        let pkt = self.file.current()?;
        let pkt = RawPacket { ts_us: pkt.ts_us - self.shift_us, ..pkt };
        self.pipeline.packet(&pkt, sink);
        Some(pkt.ts_us)
    }
}
