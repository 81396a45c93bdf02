//! Messages to the user that do not end the command (damaged inputs,
//! copies read once, clocks aligned): one line each on stderr.

/// A message that does not end the command.
pub fn warn(msg: &dyn std::fmt::Display) {
    eprintln!("meetgraph: {msg}");
}
