//! Standard input read live (`errwatch analyze -`), until its end or a signal.
//!
//! Reading a pipe blocks, and a signal handler that only raises a flag does not interrupt the
//! read, so the bytes are read on a thread of their own ([`LiveStdin::spawn`]) and handed over a
//! bounded channel; the reader side waits on the channel in short slices and looks at the stop
//! flag between them (raised by SIGINT or SIGTERM, see [`super::follow::stop_on_signals`]). When
//! the flag is raised, what has already arrived is read, and then the input ends as if at EOF, so
//! the pipeline closes its last bins, finishes open alerts and writes its summary.
//!
//! Only whole lines are handed on while the input may still grow: the bytes after the last
//! newline wait for the rest of their line. At EOF they are handed on (a last line needs no
//! newline); at a signal they are a line its writer had not finished, so they are left unread and
//! counted ([`LiveStdin::left_behind`]) rather than read as a broken row. A tail longer than
//! [`super::MAX_LINE_BYTES`] is handed on at once, so the line limit still refuses it in bounded
//! memory. Gzip input is decompressed on the reading thread, so lines are lines of text.

use std::io::{self, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::Duration;

use super::{MAX_LINE_BYTES, decompress};

/// How long the reader side waits for bytes before it looks at the stop flag again.
pub const POLL: Duration = Duration::from_millis(50);

/// Bytes the reading thread reads at a time.
const CHUNK_BYTES: usize = 1 << 16;

/// Chunks in flight between the reading thread and the reader side: with [`CHUNK_BYTES`], at most
/// half a megabyte waits in the channel.
const CHUNKS_IN_FLIGHT: usize = 8;

/// Standard input as a reader that ends at EOF or when its stop flag is raised.
pub struct LiveStdin {
    chunks: Receiver<io::Result<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    /// Bytes received and not yet handed on, from `start`; those before `ready` may be.
    pending: Vec<u8>,
    start: usize,
    ready: usize,
    /// No more bytes will be received.
    ended: bool,
    left_behind: Arc<AtomicU64>,
}

impl LiveStdin {
    /// Starts reading standard input on a thread; the reader ends when `stop` is raised.
    pub fn spawn(stop: Arc<AtomicBool>) -> LiveStdin {
        let (send, chunks) = sync_channel(CHUNKS_IN_FLIGHT);
        std::thread::spawn(move || {
            let stdin = BufReader::with_capacity(CHUNK_BYTES, io::stdin());
            let mut reader = match decompress(stdin) {
                Ok(reader) => reader,
                Err(e) => {
                    let _ = send.send(Err(e));
                    return;
                }
            };
            loop {
                let mut chunk = vec![0; CHUNK_BYTES];
                match reader.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(n) => {
                        chunk.truncate(n);
                        if send.send(Ok(chunk)).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = send.send(Err(e));
                        return;
                    }
                }
            }
        });
        LiveStdin {
            chunks,
            stop,
            pending: Vec::new(),
            start: 0,
            ready: 0,
            ended: false,
            left_behind: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The bytes of an unfinished last line left unread at a signal (0 until then); the count
    /// stays readable after the reader itself is handed on.
    pub fn left_behind(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.left_behind)
    }

    /// Takes a chunk in, making ready what ends with a newline.
    fn receive(&mut self, chunk: &[u8]) {
        self.pending.drain(..self.start);
        self.ready -= self.start;
        self.start = 0;
        self.pending.extend_from_slice(chunk);
        if let Some(newline) = memchr::memrchr(b'\n', &self.pending[self.ready..]) {
            self.ready += newline + 1;
        }
        if (self.pending.len() - self.ready) as u64 > MAX_LINE_BYTES {
            // Too long to be a line: the line limit downstream refuses it.
            self.ready = self.pending.len();
        }
    }
}

impl Read for LiveStdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.start < self.ready {
                let n = buf.len().min(self.ready - self.start);
                buf[..n].copy_from_slice(&self.pending[self.start..self.start + n]);
                self.start += n;
                return Ok(n);
            }
            if self.ended || buf.is_empty() {
                return Ok(0);
            }
            if self.stop.load(Ordering::SeqCst) {
                // What has arrived is read; an unfinished last line is not.
                while let Ok(Ok(chunk)) = self.chunks.try_recv() {
                    self.receive(&chunk);
                }
                let left = (self.pending.len() - self.ready) as u64;
                self.left_behind.store(left, Ordering::SeqCst);
                self.ended = true;
                continue;
            }
            match self.chunks.recv_timeout(POLL) {
                Ok(Ok(chunk)) => self.receive(&chunk),
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // The end of the input: a last line needs no newline.
                    self.ready = self.pending.len();
                    self.ended = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::SyncSender;

    /// A reader over a channel the test feeds, as the reading thread would.
    fn fed(stop: &Arc<AtomicBool>) -> (SyncSender<io::Result<Vec<u8>>>, LiveStdin) {
        let (send, chunks) = sync_channel(CHUNKS_IN_FLIGHT);
        let reader = LiveStdin {
            chunks,
            stop: Arc::clone(stop),
            pending: Vec::new(),
            start: 0,
            ready: 0,
            ended: false,
            left_behind: Arc::new(AtomicU64::new(0)),
        };
        (send, reader)
    }

    #[test]
    fn at_the_end_every_byte_is_read_a_last_line_without_newline_too() {
        let stop = Arc::new(AtomicBool::new(false));
        let (send, mut reader) = fed(&stop);
        send.send(Ok(b"a,b\nc,".to_vec())).unwrap();
        send.send(Ok(b"d\ne,f".to_vec())).unwrap();
        drop(send);
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "a,b\nc,d\ne,f");
        assert_eq!(reader.left_behind().load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_signal_ends_the_input_after_the_last_whole_line() {
        let stop = Arc::new(AtomicBool::new(false));
        let (send, mut reader) = fed(&stop);
        let left = reader.left_behind();
        send.send(Ok(b"a,b\nc,d\ne,".to_vec())).unwrap();
        let mut first = [0u8; 64];
        let n = reader.read(&mut first).unwrap();
        assert_eq!(&first[..n], b"a,b\nc,d\n");
        // The writer is still there (the sender lives), but the run is told to stop.
        stop.store(true, Ordering::SeqCst);
        let mut rest = String::new();
        reader.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "");
        assert_eq!(left.load(Ordering::SeqCst), 2, "the half line `e,` is left");
        drop(send);
    }

    #[test]
    fn a_tail_over_the_line_limit_is_handed_on() {
        let stop = Arc::new(AtomicBool::new(false));
        let (send, mut reader) = fed(&stop);
        let long = vec![b'x'; MAX_LINE_BYTES as usize + 1];
        send.send(Ok(long.clone())).unwrap();
        let mut buf = vec![0u8; long.len()];
        let mut got = 0;
        while got < long.len() {
            got += reader.read(&mut buf[got..]).unwrap();
        }
        assert_eq!(buf, long);
        drop(send);
    }

    #[test]
    fn a_read_error_is_passed_on() {
        let stop = Arc::new(AtomicBool::new(false));
        let (send, mut reader) = fed(&stop);
        send.send(Err(io::Error::other("broken"))).unwrap();
        assert_eq!(reader.read(&mut [0u8; 8]).unwrap_err().to_string(), "broken");
    }
}
