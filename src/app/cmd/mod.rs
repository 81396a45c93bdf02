//! One file per subcommand, each taking the validated configuration.
//!
//! | file | holds |
//! |---|---|
//! | `analyze.rs` | `analyze`: the report, and JSON, chart, DOT, Mermaid, HTML |
//! | `audit.rs` | `audit`: latent hazards and their verdicts; exit 3 when any |
//! | `dump.rs` | `dump`: one line per message, `--stats` |
//! | `events.rs` | `events`: the events the analysis consumes, as JSON lines |
//! | `nodes.rs` | `nodes --as`: what one node believed at one moment |
//! | `watch.rs` | `watch`: events told as they become known, `--metrics` |
//! | `docs.rs` | `completions`, `man` and `dissector` on standard output |
//! | `man.rs` | the manual pages: meetgraph(1) and one per command, from the flags plus exit status and examples |

pub mod analyze;
pub mod audit;
pub mod docs;
pub mod dump;
pub mod events;
pub mod man;
pub mod nodes;
pub mod watch;
