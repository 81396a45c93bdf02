//! Outputs: formatting only, no analysis. Every renderer writes to a
//! `Write` so tests can render into memory.

pub mod chart;
pub mod dot;
pub mod dump;
pub mod html;
pub mod report;
pub mod stats;
