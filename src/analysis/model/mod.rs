//! The analysis result: plain data, serialisable, documented as the JSON
//! schema (`schema_version` 1; see README.md "analyze --json"). Nothing
//! here decides: the verdicts fill these types and the views and outputs
//! read them; the only code says how they read (an introduction's
//! sentence, the story's sentences, addresses and slots as text).
//!
//! Closed sets are enums (`Via`, `FindingKind`, `AddressSource`, `Role`,
//! `Generation`, …) serialised as the snake_case strings of the schema, so
//! a new kind is a compile error wherever it must be handled; logic never
//! reads display text. Node ids are [`NodeId`] (40 wire bytes, serialised
//! as the same 40-character string); addresses are [`NodeAddr`] and slots
//! [`SlotRanges`] (the events' types), serialised as the text the servers
//! print (`text.rs`).
//!
//! | file | holds |
//! |---|---|
//! | `analysis.rs` | [`Analysis`] (the whole result), captures and their clocks, what the bounds dropped |
//! | `evidence.rs` | [`Evidence`]: capture name and frame number, carried by every part of the result |
//! | `nodes.rs` | one summary per node, the addresses it was seen at ([`SeenAddress`]), the clusters before any merge |
//! | `introductions.rs` | first introductions, joins, merges; the sentence of an introduction (`describe`) |
//! | `findings.rs` | findings and the damage (role changes, slot moves) |
//! | `conflicts.rs` | an id conflict over time: its instances and the flapping of its address in peers' views |
//! | `coverage.rs` | how much of the bus could be read: encrypted flows, connection bursts, limits |
//! | `hazards.rs` | the audit's hazards (kind, severity, verdict for the versions seen) and "What to do now" |
//! | `story.rs` | the story in parts (overview, each merge and its root cause, near misses, damage, …) |
//! | `text.rs` | how typed values read: addresses `ip:port@cport`, slot ranges `0-5460,5462`, the bus key `ip:cport` |
//! | `kinds.rs` | the closed sets: `Via`, `FindingKind`, `Severity`, `Phase`, `AddressSource`, `Role`, `DialKind`, `Generation` |

#[macro_use]
mod kinds;
mod analysis;
mod conflicts;
mod coverage;
mod evidence;
mod findings;
mod hazards;
mod introductions;
mod nodes;
mod story;
mod text;

pub use analysis::{Analysis, CaptureInfo, CaptureWire, ClockOffset, Dropped, Retention, SCHEMA_VERSION};
pub use conflicts::{FLAP_GAP_US, Flapping, IdConflict, InstanceSeen, add_flap};
pub use coverage::{ConnectionBurst, Coverage, EncryptedFlow};
pub use evidence::{Evidence, capture_name};
pub use findings::{AddressFate, Damage, Election, Finding, RoleChange, SlotMove};
pub use hazards::{Audit, Hazard, HazardKind, HazardSeverity, MergeVerdict, Step, WhatToDo};
pub use introductions::{BestAddresses, Introduction, Join, Merge, describe};
pub(in crate::analysis) use introductions::{who, who_opt};
pub use kinds::{AddressSource, DialKind, FindingKind, Generation, Phase, Role, Severity, Via};
pub use nodes::{AddressSeen, Cluster, InferredMember, NodeSummary, SeenAddress};
pub use story::{MergeStory, Sentence, Story};

pub use crate::events::{IpText, NodeAddr, NodeId, SlotRanges};
pub use crate::time::clocks::{Alignment, Method};
pub use text::bus_key;
pub(in crate::analysis) use text::slots_as_text;
