//! The analysis and every output on arbitrary message sequences:
//! structure-aware (names, IPs, counts, flags, epochs, slots and
//! extensions take hostile values), written as a capture of connections
//! between a few hosts so the whole chain runs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meetgraph_fuzz::scenario::Scenario;

fuzz_target!(|s: Scenario| {
    meetgraph_fuzz::everything(&s.to_pcap(200));
});
