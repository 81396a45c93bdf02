//! The one error a command can end with, and the exit status each maps to
//! (README "Exit status"): the binary prints it once, `meetgraph: {error}`.
//! Damaged inputs are not errors: what precedes the damage is still
//! analysed, and the command ends with [`Status::Damaged`] (or
//! [`Status::Incomplete`] when the verdict rests on incomplete evidence).

use crate::capture::{CaptureError, FilterError};
use crate::output::chart::ChartError;
use crate::run::OpenError;
use std::fmt;
use std::io;

/// Exit status of a command that ran to the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Every input was read.
    Ok,
    /// An input was truncated or corrupt (everything before the damage was
    /// processed).
    Damaged,
    /// The verdict rests on incomplete evidence: the bus was encrypted, cut
    /// by the snaplen, or absent (the report's "Limits" say what).
    Incomplete,
    /// `audit` named hazards.
    Hazards,
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Damaged => 1,
            Status::Incomplete | Status::Hazards => 3,
        }
    }
}

/// A system failure's cause, as the library that met it reported it.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why a command stopped.
#[derive(Debug)]
pub enum Error {
    /// A flag or argument is invalid.
    Usage(String),
    /// An input cannot be opened, is not a capture, or live capture failed.
    Capture(CaptureError),
    /// The filter expression cannot select packets.
    Filter(FilterError),
    /// An output file (or standard output) cannot be written.
    Write {
        what: String,
        source: io::Error,
    },
    Chart(ChartError),
    /// `--metrics ADDR`: nothing can listen there.
    Metrics {
        addr: String,
        source: io::Error,
    },
    /// `-Z USER`: the user cannot be looked up, or the process cannot
    /// become it (`step`: what failed, e.g. `set user`; `None`: the
    /// look-up).
    Privileges {
        user: String,
        step: Option<&'static str>,
        source: Cause,
    },
    /// `-D`: libpcap cannot list the interfaces.
    Interfaces(Cause),
}

impl Error {
    /// The documented exit status: 2 for every error (an input cannot be
    /// opened, a flag is invalid, an output or the metrics endpoint
    /// cannot be opened, privileges cannot be dropped).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_)
            | Error::Capture(_)
            | Error::Filter(_)
            | Error::Write { .. }
            | Error::Chart(_)
            | Error::Metrics { .. }
            | Error::Privileges { .. }
            | Error::Interfaces(_) => 2,
        }
    }

    /// Writing `what` failed.
    pub fn write(what: impl Into<String>, source: io::Error) -> Self {
        Error::Write { what: what.into(), source }
    }

    /// Writing the file `path` failed.
    pub fn write_file(path: &std::path::Path, source: io::Error) -> Self {
        Error::Write { what: format!("cannot write {}", path.display()), source }
    }

    /// A write to a closed pipe (`meetgraph … | head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Write { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(msg) => f.write_str(msg),
            Error::Capture(e) => write!(f, "{e}"),
            Error::Filter(e) => write!(f, "{e}"),
            Error::Write { what, source } => write!(f, "{what}: {source}"),
            Error::Chart(e) => write!(f, "{e}"),
            Error::Metrics { addr, source } => write!(f, "--metrics {addr}: {source}"),
            Error::Privileges { user, step: None, source } => write!(f, "-Z {user}: {source}"),
            Error::Privileges { user, step: Some(step), source } => {
                write!(f, "-Z {user}: cannot {step}: {source} (run as root to drop privileges)")
            }
            Error::Interfaces(e) => write!(f, "cannot list interfaces: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Usage(_) => None,
            Error::Capture(e) => Some(e),
            Error::Filter(e) => Some(e),
            Error::Write { source, .. } | Error::Metrics { source, .. } => Some(source),
            Error::Chart(e) => Some(e),
            Error::Privileges { source, .. } | Error::Interfaces(source) => Some(source.as_ref()),
        }
    }
}

impl From<CaptureError> for Error {
    fn from(e: CaptureError) -> Self {
        Error::Capture(e)
    }
}

impl From<FilterError> for Error {
    fn from(e: FilterError) -> Self {
        Error::Filter(e)
    }
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Capture(e) => Error::Capture(e),
            OpenError::Filter(e) => Error::Filter(e),
        }
    }
}

impl From<ChartError> for Error {
    fn from(e: ChartError) -> Self {
        Error::Chart(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_keep_the_cause() {
        let e = Error::write_file(
            std::path::Path::new("/nonexistent/x.png"),
            io::Error::new(io::ErrorKind::NotFound, "No such file or directory"),
        );
        assert_eq!(e.to_string(), "cannot write /nonexistent/x.png: No such file or directory");
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(e.exit_code(), 2);
        assert!(Error::write("stdout", io::Error::from(io::ErrorKind::BrokenPipe)).is_broken_pipe());
        assert!(Status::Damaged > Status::Ok);
        let metrics = Error::Metrics { addr: "x:1".into(), source: io::Error::from(io::ErrorKind::AddrInUse) };
        assert_eq!((metrics.to_string().as_str(), metrics.exit_code()), ("--metrics x:1: address in use", 2));
        let cause: Cause = "EPERM: Operation not permitted".into();
        let z = Error::Privileges { user: "nobody".into(), step: Some("set user"), source: cause };
        assert_eq!(
            z.to_string(),
            "-Z nobody: cannot set user: EPERM: Operation not permitted (run as root to drop privileges)"
        );
        assert!(std::error::Error::source(&z).is_some());
    }
}
