//! Streaming state: what the analysis learns message by message, one
//! tracker per kind of knowledge. The [`Analyzer`](super::Analyzer)
//! feeds them in a fixed order; the verdicts read them when the analysis
//! finishes. Trackers import the model, the configuration and each other
//! (never a verdict, a view or a node table: `tests/architecture.rs`).
//!
//! | file | holds |
//! |---|---|
//! | `nodes.rs` | `Nodes`: identities, what each node's headers said, addresses per vantage, generation hints |
//! | `connections.rs` | `Connections`: who is behind each side of every connection, held messages, short connections |
//! | `handshakes.rs` | `Handshakes`: operator MEET commands, first answers, who answers at each address, mismatches |
//! | `identities.rs` | `Identities`: one id claimed by two live instances (cloned `nodes.conf`) |
//! | `liveness.rs` | `Liveness`: what shows a node gone (connections it closed, peers calling it PFAIL/FAIL since it was last heard) and its replicas' elections |
//! | `knowledge.rs` | `Knowledge`: what each node heard and expects where, its view of peers, FAIL and UPDATE |
//! | `silence.rs` | whether a node that stopped naming a peer in its gossip dropped it from its table (`CLUSTER FORGET`) |
//! | `news.rs` | what learners heard, kept as numbers, and news by address |
//! | `introductions.rs` | `Introductions`: first introductions (one constructor per mechanism) and merge chains |
//! | `membership.rs` | `Membership`: groups over time, joins, merges, clusters before anything happened |
//! | `roles.rs` | `Roles`: debounced roles, role changes, failovers, epoch bumps |
//! | `slots.rs` | `Slots`: slot claims, conflicts, configEpoch collisions |
//! | `slot_views.rs` | `SlotViews`: who serves each slot in each node's view; the slot moves of the damage |
//! | `reading.rs` | `Reading`: how much of the bus could be read (TLS, snaplen cuts, nothing at all) and what that hides |
//! | `clock.rs` | `Clock`: capture spans and clock offsets between captures |
//! | `retention.rs` | what the bounds keep (the first and latest events of each list, the node ids tracked) and what they dropped |

pub mod clock;
pub mod connections;
pub mod handshakes;
pub mod identities;
pub mod introductions;
pub mod knowledge;
pub mod liveness;
pub mod membership;
pub mod news;
pub mod nodes;
pub mod reading;
pub mod retention;
pub mod roles;
pub mod silence;
pub mod slot_views;
pub mod slots;
