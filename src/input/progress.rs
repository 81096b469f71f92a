//! A progress bar on stderr while a file is read: bytes read, rate and time left.
//!
//! It is drawn only when stderr is a terminal (never into a log or a pipe) and the caller asked
//! for it (`--quiet` does not); otherwise every call is a no-op. The bar is cleared when the read
//! ends, so the report and any message after it start on a clean line.

use std::io::{self, IsTerminal, Read};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a visible bar is redrawn, also while no bytes arrive (a slow disk).
const TICK: Duration = Duration::from_millis(200);

/// Progress of one file's read.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// No bar.
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }

    /// A bar over `total` bytes when `wanted` and stderr is a terminal; hidden otherwise.
    pub fn bytes(total: u64, wanted: bool) -> Progress {
        if !wanted || !io::stderr().is_terminal() {
            return Progress::hidden();
        }
        let style = ProgressStyle::with_template(
            "{bytes:>10} / {total_bytes} [{wide_bar}] {bytes_per_sec:>12}, {eta} left",
        )
        .expect("the template is valid")
        .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(style);
        bar.enable_steady_tick(TICK);
        Progress { bar: Some(bar) }
    }

    /// Counts `bytes` more as read.
    pub fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// Starts over from zero bytes (the read is starting again on another path).
    pub fn restart(&self) {
        if let Some(bar) = &self.bar {
            bar.reset();
        }
    }

    /// Wraps a reader so that what it reads advances the bar.
    pub fn reader<R: Read>(&self, inner: R) -> ProgressReader<'_, R> {
        ProgressReader { inner, progress: self }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A reader that advances a [`Progress`] by the bytes it reads.
pub struct ProgressReader<'a, R> {
    inner: R,
    progress: &'a Progress,
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}
