//! Following a growing file (`--follow`): read to the end, wait for more, until told to stop.
//!
//! [`Follow`] wraps a file as a reader whose end is not the file's current end: when a read finds
//! nothing new it sleeps [`POLL`] and tries again, until the stop flag is raised (SIGINT or
//! SIGTERM, see [`stop_on_signals`]); then it reports the end, so the pipeline closes its last
//! bins, finishes open alerts and writes its summary as at the end of any input.
//!
//! It hands the parser whole lines only: the bytes after the last newline read so far wait until
//! their newline arrives. So a line the writer is still writing when the stop comes is not an
//! error but bytes left unread, counted by [`Tail::left_bytes`] for the summary. (A line longer
//! than [`MAX_LINE_BYTES`] is handed on as it is, for the line limit to refuse.)
//!
//! Log rotation is survived as `tail -F` survives it, each time with a warning on stderr:
//!
//! - **copytruncate**: a file shorter than what was read of it has been truncated; it is read
//!   again from its start (an unfinished line read before the truncation is dropped, and said);
//! - **rename and recreate**: when the path names another file than the one open, the old file is
//!   read to its end (what the writer added before the rename is kept), then the new file is
//!   followed from its start. Until the path exists again, the old file is followed.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::MAX_LINE_BYTES;
use crate::escape::visible;

/// How long to wait before looking for new data at the end of a followed file.
pub const POLL: Duration = Duration::from_millis(100);

/// Bytes asked of the file per read.
const READ_BYTES: usize = 64 << 10;

/// What a follow has met, readable after the [`Follow`] itself has moved into a parser.
#[derive(Debug, Clone, Default)]
pub struct Tail(Arc<TailCounts>);

#[derive(Debug, Default)]
struct TailCounts {
    left_bytes: AtomicU64,
    truncations: AtomicU64,
    rotations: AtomicU64,
}

impl Tail {
    /// Bytes of an unfinished last line left unread when the follow stopped (0 if it ended on a
    /// newline): the summary says they were left.
    pub fn left_bytes(&self) -> u64 {
        self.0.left_bytes.load(Ordering::SeqCst)
    }

    /// Times the file was found truncated and read again from its start.
    pub fn truncations(&self) -> u64 {
        self.0.truncations.load(Ordering::SeqCst)
    }

    /// Times the path was found to name a new file, which was then followed.
    pub fn rotations(&self) -> u64 {
        self.0.rotations.load(Ordering::SeqCst)
    }
}

/// A file read as it grows.
pub struct Follow {
    /// The followed path, to notice a rename and recreate (`None`: the open file only).
    path: Option<PathBuf>,
    file: File,
    /// The open file's device and inode.
    identity: (u64, u64),
    /// Bytes read from the open file.
    position: u64,
    stop: Arc<AtomicBool>,
    /// Bytes read and not yet handed on: `data[handed..complete]` are whole lines, ready;
    /// `data[complete..]` is the start of a line still being written.
    data: Vec<u8>,
    handed: usize,
    complete: usize,
    tail: Tail,
}

impl Follow {
    /// Follows the file at `path` until `stop` is raised, across rotations.
    pub fn open(path: &Path, stop: Arc<AtomicBool>) -> io::Result<Follow> {
        let file = File::open(path)?;
        Ok(Follow::with_path(file, Some(path.to_path_buf()), stop))
    }

    /// Follows `file` until `stop` is raised. The path it was opened by is recovered where the
    /// system tells it (Linux's `/proc/self/fd`), for rotations; [`Follow::open`] is the sure way.
    pub fn new(file: File, stop: Arc<AtomicBool>) -> Follow {
        let path = opened_path(&file);
        Follow::with_path(file, path, stop)
    }

    fn with_path(file: File, path: Option<PathBuf>, stop: Arc<AtomicBool>) -> Follow {
        let identity = file.metadata().map_or((0, 0), |m| (m.dev(), m.ino()));
        Follow {
            path,
            file,
            identity,
            position: 0,
            stop,
            data: Vec::new(),
            handed: 0,
            complete: 0,
            tail: Tail::default(),
        }
    }

    /// A handle on what the follow met (bytes left at the stop, rotations), which stays readable
    /// after the follow has moved into a parser.
    pub fn tail(&self) -> Tail {
        self.tail.clone()
    }

    /// Appends what the open file has beyond `position` to `data` (one read); the bytes read.
    fn fill(&mut self) -> io::Result<usize> {
        let before = self.data.len();
        self.data.resize(before + READ_BYTES, 0);
        let read = self.file.read(&mut self.data[before..]);
        let n = *read.as_ref().unwrap_or(&0);
        self.data.truncate(before + n);
        read?;
        self.position += n as u64;
        if let Some(newline) = memchr::memrchr(b'\n', &self.data[before..]) {
            self.complete = before + newline + 1;
        } else if (self.data.len() - self.complete) as u64 > MAX_LINE_BYTES {
            self.complete = self.data.len();
        }
        Ok(n)
    }

    /// At the end of the open file: switches to its start after a truncation, or to the new file
    /// after a rename; whether it did.
    fn check_rotation(&mut self) -> io::Result<bool> {
        let shown = self.path.as_deref().map_or_else(
            || "the followed file".to_string(),
            |p| visible(&p.to_string_lossy()).into_owned(),
        );
        if self.file.metadata()?.len() < self.position {
            let dropped = self.drop_unfinished();
            eprintln!(
                "errwatch: warning: {shown}: file truncated, reading it again from the start{}",
                dropped_note(dropped)
            );
            self.file.seek(SeekFrom::Start(0))?;
            self.position = 0;
            self.tail.0.truncations.fetch_add(1, Ordering::SeqCst);
            return Ok(true);
        }
        let Some(path) = &self.path else { return Ok(false) };
        let Ok(meta) = std::fs::metadata(path) else { return Ok(false) };
        if (meta.dev(), meta.ino()) == self.identity {
            return Ok(false);
        }
        let Ok(next) = File::open(path) else { return Ok(false) };
        // What the writer added to the old file before it moved on is still ours to read.
        while self.fill()? > 0 {}
        let dropped = self.drop_unfinished();
        eprintln!(
            "errwatch: warning: {shown}: file replaced (rotated), following the new file{}",
            dropped_note(dropped)
        );
        let meta = next.metadata()?;
        (self.file, self.identity, self.position) = (next, (meta.dev(), meta.ino()), 0);
        self.tail.0.rotations.fetch_add(1, Ordering::SeqCst);
        Ok(true)
    }

    /// Forgets the unfinished line of a file that will not finish it; its length.
    fn drop_unfinished(&mut self) -> usize {
        let dropped = self.data.len() - self.complete;
        self.data.truncate(self.complete);
        dropped
    }
}

fn dropped_note(bytes: usize) -> String {
    if bytes == 0 {
        String::new()
    } else {
        format!(" ({bytes} bytes of an unfinished line before it dropped)")
    }
}

/// The path `file` was opened by, where the system tells it.
fn opened_path(file: &File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    let path = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
    path.is_absolute().then_some(path).filter(|p| p.exists())
}

impl Read for Follow {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.handed < self.complete {
                let n = buf.len().min(self.complete - self.handed);
                buf[..n].copy_from_slice(&self.data[self.handed..self.handed + n]);
                self.handed += n;
                return Ok(n);
            }
            if self.handed > 0 {
                self.data.drain(..self.handed);
                self.complete -= self.handed;
                self.handed = 0;
            }
            if self.fill()? > 0 || self.check_rotation()? {
                continue;
            }
            if self.stop.load(Ordering::SeqCst) {
                self.tail.0.left_bytes.store(self.data.len() as u64, Ordering::SeqCst);
                return Ok(0);
            }
            std::thread::sleep(POLL);
        }
    }
}

/// A flag raised by SIGINT or SIGTERM, for a follow to end cleanly (a second signal ends the
/// process; see [`crate::signals`]).
pub fn stop_on_signals() -> io::Result<Arc<AtomicBool>> {
    crate::signals::claim_stop()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, bytes: &[u8]) {
        let mut file = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
        file.write_all(bytes).unwrap();
    }

    /// Runs `writer` on a thread while the follow reads, then raises the stop; what was read.
    fn follow_while(path: &Path, writer: impl FnOnce(&Path) + Send + 'static) -> (String, Tail) {
        let stop = Arc::new(AtomicBool::new(false));
        let mut follow = Follow::open(path, Arc::clone(&stop)).unwrap();
        let tail = follow.tail();
        let thread = {
            let (path, stop) = (path.to_path_buf(), Arc::clone(&stop));
            std::thread::spawn(move || {
                writer(&path);
                std::thread::sleep(POLL * 3);
                stop.store(true, Ordering::SeqCst);
            })
        };
        let mut text = String::new();
        follow.read_to_string(&mut text).unwrap();
        thread.join().unwrap();
        (text, tail)
    }

    #[test]
    fn a_followed_file_is_read_as_it_grows_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grow.csv");
        std::fs::write(&path, "first\n").unwrap();
        let (text, tail) = follow_while(&path, |path| {
            std::thread::sleep(POLL * 3);
            append(path, b"second\n");
        });
        assert_eq!(text, "first\nsecond\n");
        assert_eq!((tail.left_bytes(), tail.truncations(), tail.rotations()), (0, 0, 0));
    }

    #[test]
    fn a_line_unfinished_at_the_stop_is_left_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("half.csv");
        std::fs::write(&path, "first\nsec").unwrap();
        let (text, tail) = follow_while(&path, |path| {
            std::thread::sleep(POLL * 2);
            append(path, b"ond\nthi");
        });
        assert_eq!(text, "first\nsecond\n");
        assert_eq!(tail.left_bytes(), 3);
    }

    #[test]
    fn a_truncated_file_is_read_again_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copytruncate.csv");
        std::fs::write(&path, "one\ntwo\n").unwrap();
        let (text, tail) = follow_while(&path, |path| {
            std::thread::sleep(POLL * 3);
            std::fs::write(path, "").unwrap();
            std::thread::sleep(POLL * 3);
            append(path, b"three\n");
        });
        assert_eq!(text, "one\ntwo\nthree\n");
        assert_eq!(tail.truncations(), 1);
    }

    #[test]
    fn a_renamed_and_recreated_file_is_drained_then_the_new_one_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rotate.csv");
        std::fs::write(&path, "one\n").unwrap();
        let (text, tail) = follow_while(&path, |path| {
            std::thread::sleep(POLL * 3);
            // Written to the old file just before the rename: still read.
            append(path, b"two\n");
            std::fs::rename(path, path.with_extension("csv.1")).unwrap();
            std::fs::write(path, "three\n").unwrap();
        });
        assert_eq!(text, "one\ntwo\nthree\n");
        assert_eq!(tail.rotations(), 1);
    }
}
