//! Outputs: formatting only, no analysis. Every renderer writes to a
//! `Write` so tests can render into memory.

pub mod dump;
pub mod report;
pub mod stats;
pub mod time;
