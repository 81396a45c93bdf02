//! End-of-run verdicts: what the trackers gathered, read once when the
//! analysis finishes, becomes the [`Analysis`](super::model::Analysis):
//! findings, address reuse, phases and severity, damage, the story.
//! Verdicts import the model, the configuration and the trackers (never
//! a view: `tests/architecture.rs`).
//!
//! | file | holds |
//! |---|---|
//! | `finish.rs` | assembling the `Analysis`: clusters before anything happened, merges and their sides, clocks, damage, story |
//! | `findings.rs` | end-of-run findings (address collisions, sender mismatches, NAT rewrites, each tracker's own) and their order |
//! | `reuse.rs` | an address of a node that failed or left, answered by another node |
//! | `triage.rs` | each finding's phase and severity; what counts as damage |
//! | `audit.rs` | the audit's hazards: failed nodes never forgotten, translated and ambiguous addresses, one id at two addresses, epoch ties, each with its verdict |
//! | `addresses.rs` | the audit's address hazards: translated (bridge, NAT) and ambiguous addresses |
//! | `dials.rs` | how a node dials a gossiped address (seen, or by its generation): blind MEET or PING |
//! | `advice.rs` | "What to do now": steps for the root cause and the hazards found, what cannot be undone |
//! | `story.rs` | the story and one sentence per introduction |
//! | `failures.rs` | failures told with times (silent since, FAIL, elections, who took the slots); each node's roles and final slots |

pub mod addresses;
pub mod advice;
pub mod audit;
pub mod dials;
pub mod failures;
pub mod findings;
pub mod finish;
pub mod reuse;
pub mod story;
pub mod triage;
