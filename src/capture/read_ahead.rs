//! A capture file read ahead on another thread's idle time. The reading
//! thread of one capture is the slower of a run's two threads on a small
//! cluster (at 30 nodes: 0.17 s against the analysis' 0.15 s, nearly half
//! of it the kernel's copy of the file), and the analysis waits for it in
//! between; while it waits it reads the next chunks of the file instead
//! ([`Helper::help`]), which the reading thread then takes from memory.
//!
//! Reads stay in file order (one lock over the source); what a read
//! returns, an error included, reaches the reading thread at the place it
//! would have met it. [`super::CaptureFile`] reads ahead only regular,
//! uncompressed files: a pipe could block the helping thread, and a
//! gzip stream would be inflated there holding the lock the reader
//! waits on.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Bytes read ahead at a time (the helper holds the source while it
/// reads: 256 KB chunks were slower, 64 KB no faster, on the 30-node lab
/// capture).
const CHUNK: usize = 128 << 10;
/// Chunks read ahead and not taken yet, at most (512 KB).
const AHEAD: usize = 4;

struct State {
    src: Box<dyn Read + Send>,
    /// Chunks read ahead, in file order: (buffer, taken so far, filled).
    ready: VecDeque<(Vec<u8>, usize, usize)>,
    /// Emptied chunks, to be filled again.
    spare: Vec<Vec<u8>>,
    /// The source's answer after the last chunk read ahead, when it was
    /// not more bytes: its end (`Ok`) or an error, told once.
    after: Option<io::Result<()>>,
}

fn lock(s: &Mutex<State>) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The reading thread's side: reads what was read ahead, else the source.
pub struct ReadAhead(Arc<Mutex<State>>);

/// The idle thread's side.
#[derive(Clone)]
pub struct Helper(Arc<Mutex<State>>);

impl ReadAhead {
    pub fn new(src: Box<dyn Read + Send>) -> ReadAhead {
        ReadAhead(Arc::new(Mutex::new(State { src, ready: VecDeque::new(), spare: Vec::new(), after: None })))
    }

    /// A handle to read ahead with from another thread.
    pub fn helper(&self) -> Helper {
        Helper(self.0.clone())
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut st = lock(&self.0);
        let st = &mut *st;
        if let Some((chunk, taken, filled)) = st.ready.front_mut() {
            let n = buf.len().min(*filled - *taken);
            buf[..n].copy_from_slice(&chunk[*taken..*taken + n]);
            *taken += n;
            if *taken == *filled
                && let Some((c, _, _)) = st.ready.pop_front()
            {
                st.spare.push(c);
            }
            return Ok(n);
        }
        match st.after.take() {
            Some(Err(e)) => Err(e),
            // An end is not for good (a file still being written grows):
            // the source is asked again, as a plain reader would.
            Some(Ok(())) | None => st.src.read(buf),
        }
    }
}

impl Helper {
    /// Reads one chunk ahead, unless the reading thread holds the source,
    /// enough wait already, or the source ended or failed; whether it read.
    pub fn help(&self) -> bool {
        let Ok(mut st) = self.0.try_lock() else { return false };
        let st = &mut *st;
        if st.after.is_some() || st.ready.len() >= AHEAD {
            return false;
        }
        let mut chunk = st.spare.pop().unwrap_or_else(|| vec![0; CHUNK]);
        let mut filled = 0;
        while filled < chunk.len() {
            match st.src.read(&mut chunk[filled..]) {
                Ok(0) => {
                    st.after = Some(Ok(()));
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    st.after = Some(Err(e));
                    break;
                }
            }
        }
        if filled > 0 {
            st.ready.push_back((chunk, 0, filled));
        } else {
            st.spare.push(chunk);
        }
        filled > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that yields its bytes a few at a time, then fails once,
    /// then yields the rest.
    struct Uneven {
        data: Vec<u8>,
        at: usize,
        fail_at: usize,
        failed: bool,
    }

    impl Read for Uneven {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.at == self.fail_at && !self.failed {
                self.failed = true;
                return Err(io::Error::other("bad sector"));
            }
            let end = if self.at < self.fail_at { self.fail_at } else { self.data.len() };
            let n = buf.len().min(end - self.at).min(7919);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// Everything `r` gives, read `size` bytes at a time (`help` called
    /// before each read): the bytes, and where errors came.
    fn drain(r: &mut dyn Read, size: usize, mut help: impl FnMut(usize)) -> (Vec<u8>, Vec<usize>) {
        let (mut bytes, mut errors) = (Vec::new(), Vec::new());
        let mut buf = vec![0u8; size];
        for k in 0.. {
            help(k);
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => bytes.extend(&buf[..n]),
                Err(_) => errors.push(bytes.len()),
            }
        }
        (bytes, errors)
    }

    /// Read with help now and then, the reader gets every byte in order,
    /// the error at its place, and the end, as without help.
    #[test]
    fn helped_reads_give_what_plain_reads_give() {
        let data: Vec<u8> = (0..3 * CHUNK + 12_345).map(|i| (i * 31 % 251) as u8).collect();
        let source = || Uneven { data: data.clone(), at: 0, fail_at: CHUNK + 999, failed: false };
        let plain = drain(&mut source(), 100_000, |_| {});
        assert_eq!(plain, (data.clone(), vec![CHUNK + 999]));
        for size in [4096, 100_000, 1 << 20] {
            let mut helped = ReadAhead::new(Box::new(source()));
            let helper = helped.helper();
            let got = drain(&mut helped, size, |k| {
                if k % 3 == 0 {
                    helper.help();
                    helper.help();
                }
            });
            assert_eq!(got, plain, "reads of {size}");
        }
    }
}
