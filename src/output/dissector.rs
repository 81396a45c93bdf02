//! The Wireshark Lua dissector for the cluster bus (`wireshark/rcmb.lua`),
//! compiled in so that `meetgraph dissector` can print it: protocol
//! `rcmb`, every generation the parser reads (header V0 and V1, Valkey's
//! light header, every type and body, ping extensions), a TCP heuristic
//! plus the usual bus ports, reassembly of messages split over segments,
//! one tree per message. Install steps and the field list are in
//! `wireshark/README.md`; `tests/dissector.rs` checks that tshark with it
//! sees exactly the messages `meetgraph dump` sees on every sample.

/// The dissector's source, as shipped in `wireshark/rcmb.lua`.
pub const LUA: &str = include_str!("../../wireshark/rcmb.lua");
