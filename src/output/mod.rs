//! Outputs: formatting only, no analysis. Every renderer writes to a
//! `Write` so tests can render into memory, and passes peer-controlled
//! text through [`printable`]. May import `analysis` (results), `pipeline`
//! (dump, stats), `clusterbus` (dump) and `time`; never the reverse.
//!
//! | file | writes |
//! |---|---|
//! | `audit.rs` | `audit`'s hazards (text, JSON) and "What to do now" (report, HTML) |
//! | `report_lines.rs` | report lines that gather several facts: a first-screen incident line, the damage's time line |
//! | `report.rs` | `analyze`'s report (story first; plain or coloured, [`report::Style`]), the JSON, a node's `CLUSTER NODES` view |
//! | `html.rs`, `html_graph.rs` | the self-contained HTML report and its introduction graph |
//! | `chart.rs` | the timeline chart, laid out once ([`chart_scene`]) with its axis ([`chart_axis`]), lanes ([`chart_plot`]), glyphs ([`chart_glyphs`]) and legend ([`chart_legend`]); SVG, or PNG ([`chart_png`]); its error ([`chart_error`]) |
//! | `dot.rs` | the introduction graph as Graphviz DOT and Mermaid |
//! | `watch.rs`, `metrics.rs` | `watch`'s event lines and its Prometheus exposition |
//! | `dump.rs`, `dump_cut.rs`, `stats.rs` | `dump`'s message lines (`dump_cut.rs`: messages whose header was cut) and `--stats` counters |
//! | `printable.rs` | peer-controlled text made safe for a terminal, XML and HTML |
//! | `dissector.rs` | the Wireshark Lua dissector, compiled in for `meetgraph dissector` |

pub mod annotate;
pub mod audit;
pub mod chart;
pub mod chart_axis;
pub mod chart_error;
pub mod chart_glyphs;
pub mod chart_legend;
pub mod chart_plot;
pub mod chart_png;
pub mod chart_scene;
pub mod dissector;
pub mod dot;
pub mod dump;
mod dump_cut;
pub mod html;
pub mod html_graph;
pub mod metrics;
pub mod printable;
pub mod report;
pub mod report_lines;
pub mod stats;
pub mod watch;
