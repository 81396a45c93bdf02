//! The whole pipeline on arbitrary pcap / pcapng (or gzip) bytes: dump,
//! analysis, `nodes` and every output.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    meetgraph_fuzz::everything(data);
});
