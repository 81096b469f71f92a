//! A file as chunks of whole lines, read in parallel in fixed-size buffers.
//!
//! The byte range `[start, end)` of a file (the data after the header) is cut into chunks of
//! [`CHUNK_BYTES`]. A chunk owns the lines that *start* inside it: it skips the tail of a line begun
//! in the chunk before and reads past its own end to finish its last line. Every line is therefore
//! handed to exactly one chunk, whole, without any coordination between the threads.
//!
//! Each worker thread opens the file itself, claims chunks of its own run of consecutive chunks
//! (then helps with the others' by taking the back half of what is left of them), reads each into
//! its own buffer (seek + read, so memory stays at one buffer per worker whatever the file's size,
//! and nothing is mapped) and passes it on. A line that runs more than [`MAX_LINE_BYTES`] past its
//! chunk's end gives up the pass. The first worker to give up stops the others at their next
//! chunk.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::MAX_LINE_BYTES;
use super::progress::Progress;

/// Bytes per chunk: large enough that a read costs little per byte, small enough that a buffer per
/// worker stays far below the memory budget.
pub const CHUNK_BYTES: u64 = 2 << 20;

/// At most this many worker threads, each with one chunk buffer.
pub const MAX_WORKERS: usize = 8;

/// The address space reserved for a buffer that lives only while a file is read (a worker's chunk
/// buffer, a fast reader's window): 33 MiB, past the 32 MiB up to which glibc's allocator raises
/// its mmap threshold, and twice that its trim threshold, to the size of each large block freed.
/// Below it, freeing such a buffer after reading would make the allocator keep up to twice its
/// size of freed memory in each thread's pool from then on, out of the system's reach: 15 to 20
/// MiB more resident through detection on wide streams. Only the pages written are resident; the
/// rest is address space, given back whole when the buffer is freed.
pub(super) const READING_BUFFER_RESERVE: usize = 33 << 20;

/// Why a pass over the chunks stopped early: a reason for the caller, not an error for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GaveUp(pub &'static str);

/// The number of workers to use: the available cores, at most [`MAX_WORKERS`], at most one per
/// chunk.
pub fn workers_for(bytes: u64) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks = bytes.div_ceil(CHUNK_BYTES).max(1);
    cores.min(MAX_WORKERS).min(usize::try_from(chunks).unwrap_or(usize::MAX))
}

/// Runs `parse(state, offset, lines)` over every chunk of `path`'s bytes `[start, end)` on
/// `workers` threads and returns the states used, each made by `new_state`. `offset` is the file
/// offset of `lines[0]`; `lines` is a run of whole lines, the last one ending in `\n` unless it is
/// the end of the file.
///
/// The chunks are split into one run of consecutive chunks per thread, which its thread reads in
/// file order into a state of its own; so a time-ordered stream gives each state its own stretch
/// of time, and their counters do not overlap. A thread done with its run helps with the others':
/// it takes the back half of what their owner has not yet claimed, in a new state each time, so no
/// thread idles while chunks remain, and every state still reads a stretch of consecutive chunks
/// (a time-ordered stream's states cover stretches of time that meet but do not overlap). Every
/// state sees its chunks in increasing file order.
pub fn for_each_chunk<S, N, F>(
    path: &Path,
    start: u64,
    end: u64,
    workers: usize,
    new_state: N,
    progress: &Progress,
    parse: F,
) -> Result<Vec<S>, GaveUp>
where
    S: Send,
    N: Fn() -> S + Sync,
    F: Fn(&mut S, u64, &[u8]) -> Result<(), GaveUp> + Sync,
{
    for_each_chunk_then(path, start, end, workers, new_state, progress, parse, |_| {})
}

/// [`for_each_chunk`], giving each state to `done` once it has had its last chunk, on its thread:
/// so it can let go of what it needed only while parsing, while other states are still parsed.
#[allow(clippy::too_many_arguments)]
pub fn for_each_chunk_then<S, N, F, D>(
    path: &Path,
    start: u64,
    end: u64,
    workers: usize,
    new_state: N,
    progress: &Progress,
    parse: F,
    done: D,
) -> Result<Vec<S>, GaveUp>
where
    S: Send,
    N: Fn() -> S + Sync,
    F: Fn(&mut S, u64, &[u8]) -> Result<(), GaveUp> + Sync,
    D: Fn(&mut S) + Sync,
{
    let workers = workers.max(1) as u64;
    let chunks = (end.saturating_sub(start)).div_ceil(CHUNK_BYTES);
    if chunks > u64::from(u32::MAX) {
        return Err(GaveUp("a file of more chunks than the reader numbers"));
    }
    // Run r is chunks [r * chunks / workers, (r + 1) * chunks / workers) at first.
    let left: Vec<Left> =
        (0..workers).map(|r| Left::new(r * chunks / workers, (r + 1) * chunks / workers)).collect();
    let stop = AtomicBool::new(false);
    let results: Vec<Result<Vec<S>, GaveUp>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers as usize)
            .map(|worker| {
                let (left, stop, new_state, parse, done) =
                    (&left, &stop, &new_state, &parse, &done);
                scope.spawn(move || {
                    let mut states = Vec::new();
                    let outcome = (|| {
                        let mut file = File::open(path).map_err(|_| GaveUp("cannot reopen"))?;
                        let mut buf = Vec::with_capacity(READING_BUFFER_RESERVE);
                        let mut read = |index: u64, state: &mut Option<S>| {
                            let lo = start + index * CHUNK_BYTES;
                            let hi = (lo + CHUNK_BYTES).min(end);
                            if let Some((offset, from)) =
                                read_chunk(&mut file, &mut buf, lo, hi, start, end)?
                            {
                                parse(state.get_or_insert_with(new_state), offset, &buf[from..])?;
                            }
                            progress.advance(hi - lo);
                            Ok::<(), GaveUp>(())
                        };
                        let mut keep = |state: Option<S>| {
                            if let Some(mut state) = state {
                                done(&mut state);
                                states.push(state);
                            }
                        };
                        let mut state = None;
                        while let Some(index) = left[worker].front() {
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            read(index, &mut state)?;
                        }
                        keep(state);
                        for run in (1..left.len()).map(|k| (worker + k) % left.len()) {
                            while let Some(stolen) = left[run].back_half() {
                                let mut state = None;
                                for index in stolen {
                                    if stop.load(Ordering::Relaxed) {
                                        break;
                                    }
                                    read(index, &mut state)?;
                                }
                                keep(state);
                            }
                        }
                        Ok(())
                    })();
                    if outcome.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    outcome.map(|()| states)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(Err(GaveUp("a worker panicked")))).collect()
    });
    let mut states = Vec::new();
    for result in results {
        states.extend(result?);
    }
    Ok(states)
}

/// The chunks of a run not yet claimed, `[next, end)`, packed in one word (`next << 32 | end`) so
/// that its owner and a helper claim them without a lock.
struct Left(AtomicU64);

impl Left {
    fn new(next: u64, end: u64) -> Left {
        Left(AtomicU64::new(next << 32 | end))
    }

    /// Claims `[next, end)` as `[next, at)` left and returns what `split` makes of it: the
    /// claimed chunks, or `None` when nothing is left.
    fn claim(&self, split: impl Fn(u64, u64) -> u64) -> Option<std::ops::Range<u64>> {
        let mut word = self.0.load(Ordering::Relaxed);
        loop {
            let (next, end) = (word >> 32, word & u64::from(u32::MAX));
            if next >= end {
                return None;
            }
            let at = split(next, end);
            let claimed = if at == next { next..next + 1 } else { at..end };
            let rest = if at == next { (next + 1) << 32 | end } else { next << 32 | at };
            match self.0.compare_exchange_weak(word, rest, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(claimed),
                Err(now) => word = now,
            }
        }
    }

    /// The owner's next chunk, from the front.
    fn front(&self) -> Option<u64> {
        self.claim(|next, _| next).map(|claimed| claimed.start)
    }

    /// A helper's share: the back half of what is left (its last chunk when one is left), so that
    /// the owner and the helper each read a stretch of consecutive chunks.
    fn back_half(&self) -> Option<std::ops::Range<u64>> {
        self.claim(|next, end| if end - next == 1 { next } else { next + (end - next).div_ceil(2) })
    }
}

/// Reads the lines starting in `[lo, hi)` into `buf`; returns the file offset of the first one and
/// its index in `buf`, or `None` when no line starts in the chunk (one long line spans it).
fn read_chunk(
    file: &mut File,
    buf: &mut Vec<u8>,
    lo: u64,
    hi: u64,
    start: u64,
    end: u64,
) -> Result<Option<(u64, usize)>, GaveUp> {
    // One byte of look-behind tells whether a line starts exactly at `lo`.
    let from = if lo == start { lo } else { lo - 1 };
    buf.clear();
    file.seek(SeekFrom::Start(from)).map_err(|_| GaveUp("cannot seek"))?;
    read_up_to(file, buf, hi - from)?;
    if buf.len() as u64 != hi - from {
        return Err(GaveUp("the file shrank while being read"));
    }
    if hi < end && buf.last() != Some(&b'\n') {
        // Finish the last line, which runs into the next chunk.
        let own = buf.len();
        loop {
            let before = buf.len();
            read_up_to(file, buf, 64 << 10)?;
            if let Some(newline) = memchr::memchr(b'\n', &buf[before..]) {
                buf.truncate(before + newline + 1);
                break;
            }
            if buf.len() == before {
                break; // the end of the file
            }
            if (buf.len() - own) as u64 > MAX_LINE_BYTES {
                return Err(GaveUp("a line longer than the longest line a chunk finishes"));
            }
        }
    }
    let first = if lo == start {
        0
    } else {
        match memchr::memchr(b'\n', buf) {
            Some(newline) => newline + 1,
            None => return Ok(None),
        }
    };
    if from + first as u64 >= hi {
        return Ok(None);
    }
    Ok(Some((from + first as u64, first)))
}

/// Appends up to `limit` bytes from `file` to `buf` (fewer only at the end of the file).
fn read_up_to(file: &mut File, buf: &mut Vec<u8>, limit: u64) -> Result<(), GaveUp> {
    file.take(limit).read_to_end(buf).map(drop).map_err(|_| GaveUp("cannot read"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::Mutex;

    /// Every line of the file reaches exactly one chunk, whole, with its file offset.
    #[test]
    fn every_line_is_seen_once_whole() {
        let mut text = Vec::new();
        let mut expected = Vec::new();
        // Lines of many lengths, some longer than a chunk's tail, so boundaries fall everywhere.
        for i in 0..200_000u64 {
            let offset = text.len() as u64;
            let line = format!("{i},{}\n", "x".repeat((i * 7919 % 97) as usize));
            expected.push((offset, line.clone().into_bytes()));
            text.extend_from_slice(line.as_bytes());
        }
        text.extend_from_slice(b"last line without newline");
        expected.push((text.len() as u64 - 25, b"last line without newline".to_vec()));
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&text).unwrap();

        let seen = Mutex::new(Vec::new());
        let states = for_each_chunk(
            file.path(),
            0,
            text.len() as u64,
            3,
            Vec::new,
            &Progress::hidden(),
            |offsets: &mut Vec<u64>, at, lines| {
                offsets.push(at);
                let mut offset = at;
                for line in lines.split_inclusive(|&b| b == b'\n') {
                    seen.lock().unwrap().push((offset, line.to_vec()));
                    offset += line.len() as u64;
                }
                Ok(())
            },
        )
        .unwrap();
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        assert_eq!(seen.len(), expected.len());
        assert!(seen == expected);
        // Each state saw its chunks in file order.
        assert!(states.len() >= 3, "a state per run");
        for offsets in &states {
            assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
        }
    }

    #[test]
    fn a_range_after_a_header_starts_at_its_first_byte() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"header\na\nb\n").unwrap();
        let seen = Mutex::new(Vec::new());
        for_each_chunk(
            file.path(),
            7,
            11,
            1,
            || (),
            &Progress::hidden(),
            |_, at, lines| {
                seen.lock().unwrap().push((at, lines.to_vec()));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen.into_inner().unwrap(), vec![(7, b"a\nb\n".to_vec())]);
    }

    #[test]
    fn a_worker_giving_up_stops_the_pass() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&vec![b'\n'; 3 * CHUNK_BYTES as usize]).unwrap();
        let outcome = for_each_chunk(
            file.path(),
            0,
            3 * CHUNK_BYTES,
            2,
            || (),
            &Progress::hidden(),
            |_, _, _| Err(GaveUp("test")),
        );
        assert_eq!(outcome.err(), Some(GaveUp("test")));
    }
}
