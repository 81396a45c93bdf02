//! [`EventSink`]: the pipeline's sink that turns everything into owned
//! events and hands them to a closure.

use super::event::{BusEvent, EventKind, Link};
use super::fill::fill_owned_message;
use super::message::BusMessage;
use crate::clusterbus::Message;
use crate::pipeline::{Anomaly, BusSink, CommandMeta, MessageMeta, StreamEnd};

/// A sink that turns everything into owned events and hands them to a
/// closure (e.g. the analysis, or a `Vec`).
pub struct EventSink<F: FnMut(BusEvent)> {
    pub on_event: F,
}

impl<F: FnMut(BusEvent)> EventSink<F> {
    pub fn new(on_event: F) -> Self {
        EventSink { on_event }
    }
}

impl<F: FnMut(BusEvent)> BusSink for EventSink<F> {
    fn message(&mut self, meta: &MessageMeta, msg: &Message<'_>) {
        let mut m = Box::new(BusMessage::empty());
        fill_owned_message(&mut m, msg);
        (self.on_event)(BusEvent {
            ts_us: meta.ts_us,
            frame: meta.frame,
            first_frame: meta.first_frame,
            link: Some(Link::of_message(meta)),
            capture: meta.capture,
            kind: EventKind::Message(m),
        });
    }

    fn anomaly(&mut self, a: &Anomaly) {
        (self.on_event)(BusEvent::from_anomaly(a));
    }

    fn stream_end(&mut self, e: &StreamEnd) {
        (self.on_event)(BusEvent::from_stream_end(e));
    }

    fn command(&mut self, meta: &CommandMeta, args: &[Vec<u8>]) {
        (self.on_event)(BusEvent::from_command(meta, args));
    }
}
