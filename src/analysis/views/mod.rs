//! Views of a finished [`Analysis`](super::model::Analysis): they read the
//! model only (`tests/architecture.rs`), so any output can use them.
//!
//! | file | holds |
//! |---|---|
//! | `timeline.rs` | chart-ready data (lanes, markers, arrows, merges, the overview strip) |
//! | `annotations.rs` | what each evidence packet proves, in words: every merge chain step and every finding (`analyze --annotate`) |
//! | `alerts.rs` | every event as one flat record for `watch`, and which are new since the last look |

pub mod alerts;
pub mod annotations;
pub mod timeline;
