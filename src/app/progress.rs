//! A progress bar on stderr while capture files are read: bytes of total,
//! rate, ETA. Only on a terminal, for files (not live, not stdin), never
//! with `--no-progress` or `dump -q`, and drawn only once reading has
//! taken a second. A second thread polls the run's byte counter (the
//! [`BytesRead`] its files count into) ten times a second, so reading is
//! not slowed. Dropping it clears the bar.

use super::config::InputConfig;
use meetgraph::capture::BytesRead;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// A bar for the files of `input` as `bytes_read` counts them (none
    /// when `quiet`, or when nothing above asks for one).
    pub fn start(input: &InputConfig, bytes_read: &BytesRead, quiet: bool) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let total: u64 = input
            .sources
            .iter()
            .filter_map(|s| std::fs::metadata(&s.path).ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        let wanted = !quiet && input.progress && input.live.is_none() && total > 0;
        if !wanted || !std::io::stderr().is_terminal() {
            return Progress { stop, thread: None };
        }
        // Opening a file reads its first bytes: the bar counts from here.
        let base = bytes_read.get();
        let bytes_read = bytes_read.clone();
        let flag = stop.clone();
        // Tests shorten the first second (MEETGRAPH_PROGRESS_DELAY_MS).
        let delay = std::env::var("MEETGRAPH_PROGRESS_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(1), Duration::from_millis);
        let thread = std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let mut bar: Option<indicatif::ProgressBar> = None;
            loop {
                let done = flag.load(Ordering::Relaxed);
                if bar.is_none() && started.elapsed() >= delay {
                    let style = indicatif::ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
                    let b =
                        indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr())
                            .with_style(style);
                    bar = Some(b);
                }
                if let Some(b) = &bar {
                    b.set_position(bytes_read.get().saturating_sub(base).min(total));
                }
                if done {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        });
        Progress { stop, thread: Some(thread) }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
