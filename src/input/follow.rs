//! Following a growing file (`--follow`): read to the end, wait for more, until told to stop.
//!
//! [`Follow`] wraps a file as a reader whose end is not the file's current end: when a read finds
//! nothing new it sleeps [`POLL`] and tries again, until the stop flag is raised (SIGINT or
//! SIGTERM, see [`stop_on_signals`]); then it reports the end, so the pipeline closes its last
//! bins, finishes open alerts and writes its summary as at the end of any input.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long to wait before looking for new data at the end of a followed file.
pub const POLL: Duration = Duration::from_millis(100);

/// A file read as it grows.
pub struct Follow {
    file: File,
    stop: Arc<AtomicBool>,
}

impl Follow {
    /// Follows `file` until `stop` is raised.
    pub fn new(file: File, stop: Arc<AtomicBool>) -> Follow {
        Follow { file, stop }
    }
}

impl Read for Follow {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.file.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            if self.stop.load(Ordering::SeqCst) {
                return Ok(0);
            }
            std::thread::sleep(POLL);
        }
    }
}

/// A flag raised by SIGINT or SIGTERM (Ctrl-C on Windows), for a follow to end cleanly.
pub fn stop_on_signals() -> io::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
        .map_err(|e| io::Error::other(format!("cannot watch for signals: {e}")))?;
    Ok(stop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_followed_file_is_read_as_it_grows_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grow.csv");
        std::fs::write(&path, "first\n").unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let mut follow = Follow::new(File::open(&path).unwrap(), Arc::clone(&stop));
        let writer = {
            let (path, stop) = (path.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                std::thread::sleep(POLL * 3);
                let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
                file.write_all(b"second\n").unwrap();
                std::thread::sleep(POLL * 3);
                stop.store(true, Ordering::SeqCst);
            })
        };
        let mut text = String::new();
        follow.read_to_string(&mut text).unwrap();
        writer.join().unwrap();
        assert_eq!(text, "first\nsecond\n");
    }
}
