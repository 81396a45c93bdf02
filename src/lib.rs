//! meetgraph: a forensic analyzer for the Redis / Valkey Cluster bus.
//!
//! Layers, each knowing only the one below it:
//! capture → decode → reassembly → clusterbus (framer + nom parser) →
//! events → analysis → output. `app` wires them for the binary.

#![forbid(unsafe_code)]

pub mod analysis;
pub mod capture;
pub mod clusterbus;
pub mod decode;
pub mod events;
pub mod output;
pub mod pipeline;
pub mod reassembly;
pub mod resp;
pub mod run;
pub mod time;
