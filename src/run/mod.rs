//! Driving captures: inputs read (on one thread, or a reading thread each)
//! and merged in capture-time order, straight into the analysis
//! (streaming: events are consumed as they are produced). Used by the
//! binary and the tests.
//!
//! | file | holds |
//! |---|---|
//! | `merge.rs` | both time merges: [`run_merged`] (one thread, any sink) and the merge of the reading threads' streams |
//! | `threads.rs` | a reading thread: what it sends, and its stream as the analysing thread receives it |
//! | `batch/` | events in transit between those threads, packed |
//! | `open.rs` | [`open_plan`]: a vantage plan's inputs and the analysis settings naming them |
//! | `replay.rs` | [`replay`]: every packet again after the analysis, through its pipeline, handed on owned once no message can still complete in it (`--annotate`) |
//! | `watch.rs` | [`watch`]: provisional analyses every interval, new events told |
//! | `read.rs` | [`Threads`], every event in time order to a closure, and the façade: [`analyze_inputs`], [`analyze`] |

mod batch;
mod merge;
mod open;
mod read;
mod replay;
mod threads;
mod watch;

pub use merge::run_merged;
pub use open::{OpenError, open_plan};
pub use read::{Threads, analyze, analyze_inputs, analyze_inputs_with};
pub use replay::{Held, Replay, ReplayStats, replay};
pub use threads::run_single;
pub use watch::watch;
