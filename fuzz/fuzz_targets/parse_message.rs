//! The bus message parser on arbitrary bytes: `probe_header`,
//! `parse_message`, `parse_prefix`, every gossip entry and extension, the
//! owned copy, and the dump text of each extension.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meetgraph::clusterbus::{parse_message, parse_prefix, probe_header};
use meetgraph::events::to_owned_message;
use meetgraph::output::dump::ext_text;

fuzz_target!(|data: &[u8]| {
    let _ = probe_header(data, 1 << 20);
    let _ = probe_header(data, u32::MAX);
    for m in parse_message(data).into_iter().chain(parse_prefix(data)) {
        assert!(m.gossip().count() <= data.len() / 104);
        for e in m.extensions() {
            let _ = ext_text(&e);
        }
        let owned = to_owned_message(&m);
        let _ = serde_json::to_string(&owned);
    }
});
