//! The framer on arbitrary bytes in arbitrary chunks, with gaps: it never
//! panics, never buffers more than it was given, and frames the same
//! messages whatever the chunking when there is no gap.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use meetgraph::clusterbus::Message;
use meetgraph::clusterbus::framer::{BusFramer, FrameAnomaly, FrameInfo, FrameSink, FramerConfig};

#[derive(Default)]
struct Sink {
    messages: Vec<(u64, u32)>,
}

impl FrameSink for Sink {
    fn message(&mut self, info: &FrameInfo, m: &Message<'_>) {
        self.messages.push((info.offset, m.totlen));
    }
    fn anomaly(&mut self, _: &FrameInfo, _: FrameAnomaly) {}
}

#[derive(Arbitrary, Debug)]
enum Op {
    Feed(u16),
    Gap(u16),
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(midstream) = bool::arbitrary(&mut u) else { return };
    let Ok(small) = bool::arbitrary(&mut u) else { return };
    let Ok(ops) = Vec::<Op>::arbitrary(&mut u) else { return };
    let stream = u.take_rest();
    let cfg = if small { FramerConfig { max_totlen: 4096, hunt_limit: 3000 } } else { FramerConfig::default() };
    // Whole, in one chunk.
    let mut one = BusFramer::new(midstream);
    let mut s1 = Sink::default();
    one.feed(&cfg, 0, 1, 0, stream, &mut s1);
    one.finish(2, 0, &mut s1);
    // In the chunks the ops say, gaps included.
    let mut fr = BusFramer::new(midstream);
    let mut s2 = Sink::default();
    let (mut at, mut offset, mut frame, mut gaps) = (0usize, 0u64, 1u64, false);
    for op in ops {
        match op {
            Op::Feed(n) => {
                let n = usize::from(n).min(stream.len() - at);
                fr.feed(&cfg, offset, frame, frame as i64, &stream[at..at + n], &mut s2);
                at += n;
                offset += n as u64;
            }
            Op::Gap(n) => {
                fr.gap(&cfg, offset, frame, frame as i64, u64::from(n), &mut s2);
                offset += u64::from(n);
                gaps = true;
            }
        }
        assert!(fr.buffered() <= at + 64, "buffered {} of {at} bytes", fr.buffered());
        frame += 1;
    }
    fr.feed(&cfg, offset, frame, frame as i64, &stream[at..], &mut s2);
    fr.finish(frame + 1, 0, &mut s2);
    if !gaps {
        assert_eq!(s1.messages, s2.messages, "the chunking changed what was framed");
    }
});
