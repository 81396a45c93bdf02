//! Where an output goes: a file, or standard output for `-` (buffered;
//! a failed write names what was being written).

use super::config::is_stdout;
use meetgraph::error::Error;
use std::io::{self, Write};
use std::path::Path;

/// Writes the file `path`.
fn write_file(path: &Path, f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    std::fs::File::create(path)
        .and_then(|file| {
            let mut w = io::BufWriter::new(file);
            f(&mut w)?;
            w.flush()
        })
        .map_err(|e| Error::write_file(path, e))
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
