//! Outputs: formatting only, no analysis. Every renderer writes to a
//! `Write` so tests can render into memory, and passes peer-controlled
//! text through [`printable`]. May import `analysis` (results), `pipeline`
//! (dump, stats), `clusterbus` (dump) and `time`; never the reverse.

pub mod annotate;
pub mod chart;
pub mod chart_axis;
pub mod chart_legend;
pub mod chart_png;
pub mod chart_scene;
pub mod dissector;
pub mod dot;
pub mod dump;
pub mod html;
pub mod html_graph;
pub mod metrics;
pub mod printable;
pub mod report;
pub mod stats;
pub mod watch;
