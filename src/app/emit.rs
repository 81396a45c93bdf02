//! Where an output goes: a file, or standard output for `-` (buffered;
//! a failed write names what was being written). A file is written whole
//! or not at all: into a temporary file beside it, synced, then renamed
//! over it, so a full disk or a failure midway leaves no half-written
//! output (an earlier file of that name stays as it was).

use super::config::is_stdout;
use meetgraph::error::Error;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes the file `path` through a temporary file renamed over it; a
/// path that is not a regular file (a FIFO), or a descriptor's name
/// (`/dev/stdout`, `/proc/self/fd/N`), is written in place, and a symbolic
/// link's target is the file replaced.
fn write_file(path: &Path, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    let fail = |e| Error::write_file(path, e);
    let descriptor = path.starts_with("/dev") || path.starts_with("/proc");
    let target = match fs::metadata(path) {
        Ok(m) if !m.is_file() || descriptor => return write_in_place(path, f).map_err(fail),
        Ok(_) => fs::canonicalize(path).map_err(fail)?,
        Err(_) => path.to_path_buf(),
    };
    let (tmp, file) = create_temp_beside(&target).map_err(fail)?;
    let written = (|| {
        let mut w = io::BufWriter::new(file);
        f(&mut w)?;
        let file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        // Some file systems report a full disk only when the data is
        // flushed to it.
        file.sync_all()?;
        fs::rename(&tmp, &target)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map_err(fail)
}

fn write_in_place(path: &Path, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut w = io::BufWriter::new(OpenOptions::new().write(true).truncate(true).open(path)?);
    f(&mut w)?;
    w.flush()
}

/// A new file `.NAME.PID.N.tmp` in `target`'s directory.
fn create_temp_beside(target: &Path) -> io::Result<(PathBuf, File)> {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    for n in 0.. {
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

/// Writes to standard output.
pub fn write_stdout(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    f(&mut out).and_then(|_| out.flush()).map_err(|e| Error::write("writing output", e))
}

/// Writes to `path`, or to standard output for `-`.
pub fn emit(path: &Path, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    if is_stdout(path) { write_stdout(f) } else { write_file(path, f) }
}
