//! The field length limit, enforced on the bytes before the csv parser sees them.
//!
//! [`super::LineLimit`] bounds a line at 1 MiB, but a quoted field may hold newlines, so a line
//! limit alone lets a field of any length through (and the csv crate buffers it whole). So every
//! field, quoted or not, is limited to [`MAX_FIELD_BYTES`] raw bytes, quotes included; build
//! versions, error codes and counts are far shorter in any real stream, and the timestamp has a
//! tighter limit of its own ([`MAX_TIMESTAMP_BYTES`], checked on the parsed record).
//!
//! [`FieldLimit`] tracks the CSV quoting state byte by byte (the csv crate's rules: a field that
//! starts with `"` is quoted, `""` inside it is a quote, a `"` elsewhere is data) and drops the
//! bytes of a field past the limit, so the parser gets at most the limit of any field, in one
//! pass, in bounded memory. A field cut inside its quotes gets its closing quote at the cut, so
//! the parser's quoting state stays the reader's. Each cut is recorded as an [`Overlong`] with the
//! index of the record it belongs to (the csv crate's numbering: non-empty lines, the header
//! first) and the newlines dropped with it; the row reader turns it into an error of that row
//! (or a skipped row, reason `field_length`) and adds the dropped newlines back to later line
//! numbers.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Mutex};

/// The longest field, in raw bytes (quotes included): 4 KiB.
pub const MAX_FIELD_BYTES: u64 = 4 << 10;

/// The longest timestamp, in bytes once trimmed: an RFC 3339 instant with nanoseconds and an
/// offset is 35.
pub const MAX_TIMESTAMP_BYTES: usize = 64;

/// One field cut at the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlong {
    /// The record's index in the csv crate's numbering (the header is 0).
    pub record: u64,
    /// The field's index in the record.
    pub field: usize,
    /// The field's whole length in raw bytes.
    pub bytes: u64,
    /// Newlines inside the field that the parser did not see.
    pub dropped_newlines: u64,
}

/// The cuts made so far and not yet taken by the row reader.
pub type Cuts = Arc<Mutex<VecDeque<Overlong>>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field.
    Start,
    /// In a field without quotes.
    Unquoted,
    /// Inside quotes.
    Quoted,
    /// Just after a quote inside quotes: the end of the quotes, or the first of `""`.
    QuoteInQuoted,
}

/// A reader that cuts every field at [`MAX_FIELD_BYTES`] (see the module docs).
pub struct FieldLimit<R> {
    inner: R,
    state: State,
    /// At the start of a record: no byte of it seen yet (empty lines make no record).
    record_start: bool,
    /// The current record's index, once it has begun.
    record: u64,
    /// The current field's index and raw length.
    field: usize,
    field_bytes: u64,
    /// The cut of the current field, if it was cut.
    cut: Option<Overlong>,
    cuts: Cuts,
}

impl<R: Read> FieldLimit<R> {
    /// Wraps a reader; the cuts are recorded in `cuts`.
    pub fn new(inner: R, cuts: Cuts) -> FieldLimit<R> {
        FieldLimit {
            inner,
            state: State::Start,
            record_start: true,
            record: 0,
            field: 0,
            field_bytes: 0,
            cut: None,
            cuts,
        }
    }

    /// Ends the current field; `record_ends` when a line terminator ended it.
    fn end_field(&mut self, record_ends: bool) {
        if let Some(cut) = self.cut.take() {
            let mut cuts = self.cuts.lock().unwrap_or_else(|p| p.into_inner());
            cuts.push_back(Overlong { bytes: self.field_bytes, ..cut });
        }
        self.state = State::Start;
        self.field_bytes = 0;
        if record_ends {
            if !self.record_start {
                self.record += 1;
            }
            self.record_start = true;
            self.field = 0;
        } else {
            self.field += 1;
        }
    }

    /// How many bytes at the start of `bytes` are plain field content that changes no state (in
    /// a field without quotes: up to a delimiter; inside quotes: up to a quote).
    #[inline]
    fn plain_run(&self, bytes: &[u8]) -> usize {
        match self.state {
            State::Unquoted => memchr::memchr3(b',', b'\n', b'\r', bytes).unwrap_or(bytes.len()),
            State::Quoted => memchr::memchr(b'"', bytes).unwrap_or(bytes.len()),
            State::Start | State::QuoteInQuoted => 0,
        }
    }

    /// Processes one byte; whether the parser gets it, and the byte it gets instead of it.
    #[inline]
    fn step(&mut self, byte: u8) -> Option<u8> {
        let outside = matches!(self.state, State::Start | State::Unquoted | State::QuoteInQuoted);
        if outside && (byte == b',' || byte == b'\n' || byte == b'\r') {
            let record_ends = byte != b',';
            if record_ends && self.record_start && self.state == State::Start && self.field == 0 {
                return Some(byte); // an empty line: no record
            }
            self.record_start = false;
            self.end_field(record_ends);
            return Some(byte);
        }
        self.record_start = false;
        let before = self.state;
        self.state = match (self.state, byte) {
            (State::Start, b'"') => State::Quoted,
            (State::Start | State::Unquoted, _) => State::Unquoted,
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuoteInQuoted, b'"') => State::Quoted,
            (State::QuoteInQuoted, _) => State::Unquoted,
        };
        self.field_bytes += 1;
        if let Some(cut) = &mut self.cut {
            cut.dropped_newlines += u64::from(byte == b'\n');
            return None;
        }
        if self.field_bytes <= MAX_FIELD_BYTES {
            return Some(byte);
        }
        self.cut = Some(Overlong {
            record: self.record,
            field: self.field,
            bytes: 0,
            dropped_newlines: u64::from(byte == b'\n'),
        });
        // Cut inside quotes: close them, so the parser ends the field at the next delimiter.
        (before == State::Quoted).then_some(b'"')
    }
}

impl<R: Read> Read for FieldLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            let (mut read, mut kept) = (0, 0);
            while read < n {
                // Runs of plain field bytes in bulk; the byte that ends a run goes through `step`.
                let run = self.plain_run(&buf[read..n]);
                if run > 0 {
                    let keep = if self.cut.is_some() {
                        0
                    } else {
                        run.min((MAX_FIELD_BYTES - self.field_bytes) as usize)
                    };
                    buf.copy_within(read..read + keep, kept);
                    kept += keep;
                    if let Some(cut) = &mut self.cut {
                        let newlines = memchr::memchr_iter(b'\n', &buf[read..read + run]).count();
                        cut.dropped_newlines += newlines as u64;
                    }
                    self.field_bytes += keep as u64;
                    read += keep;
                    if self.cut.is_some() {
                        self.field_bytes += run as u64;
                        read += run;
                    }
                    if read >= n {
                        break;
                    }
                }
                if let Some(byte) = self.step(buf[read]) {
                    buf[kept] = byte;
                    kept += 1;
                }
                read += 1;
            }
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(input: &[u8]) -> (Vec<u8>, Vec<Overlong>) {
        let cuts = Cuts::default();
        let mut out = Vec::new();
        FieldLimit::new(input, Arc::clone(&cuts)).read_to_end(&mut out).unwrap();
        let cuts = cuts.lock().unwrap().iter().cloned().collect();
        (out, cuts)
    }

    #[test]
    fn fields_within_the_limit_pass_unchanged() {
        let text = b"a,b,c\r\n\n\"x,\"\"y\n\",2\nq\"r,s\n".to_vec();
        assert_eq!(limited(&text), (text, vec![]));
    }

    #[test]
    fn a_long_quoted_field_is_cut_and_closed_and_its_record_named() {
        let long = "a\n".repeat(5000);
        let text = format!("h1,h2\n\n1,\"{long}\"\n2,x\n");
        let (out, cuts) = limited(text.as_bytes());
        let limit = MAX_FIELD_BYTES as usize;
        let expected = format!("h1,h2\n\n1,\"{}\"\n2,x\n", &long[..limit - 1]);
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        // Record 1 (after the header; the empty line is no record), field 1, 10002 bytes with
        // the quotes; the newlines of the dropped part.
        assert_eq!(
            cuts,
            [Overlong { record: 1, field: 1, bytes: 10_002, dropped_newlines: 5000 - 2047 }]
        );
    }

    /// The reference: every byte through `step`.
    fn limited_bytewise(input: &[u8]) -> (Vec<u8>, Vec<Overlong>) {
        let cuts = Cuts::default();
        let mut limit = FieldLimit::new(&b""[..], Arc::clone(&cuts));
        let out: Vec<u8> = input.iter().filter_map(|&b| limit.step(b)).collect();
        let cuts = cuts.lock().unwrap().iter().cloned().collect();
        (out, cuts)
    }

    /// A reader that hands out a few bytes at a time, so runs are split everywhere.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    proptest::proptest! {
        /// Bulk runs give exactly what byte-by-byte stepping gives, however the reads split.
        #[test]
        fn runs_in_bulk_equal_bytes_one_by_one(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("\"".to_string()),
                    proptest::strategy::Just(",".to_string()),
                    proptest::strategy::Just("\n".to_string()),
                    proptest::strategy::Just("\r".to_string()),
                    "[a-z\n]{0,3000}",
                ],
                0..40,
            ),
            trickle in 1usize..5000,
        ) {
            let input = parts.concat().into_bytes();
            let cuts = Cuts::default();
            let mut out = Vec::new();
            FieldLimit::new(Trickle(&input, trickle), Arc::clone(&cuts))
                .read_to_end(&mut out)
                .unwrap();
            let cuts: Vec<Overlong> = cuts.lock().unwrap().iter().cloned().collect();
            proptest::prop_assert_eq!((out, cuts), limited_bytewise(&input));
        }
    }

    #[test]
    fn a_long_unquoted_field_is_cut() {
        let text = format!("h\n{}\nb\n", "x".repeat(10_000));
        let (out, cuts) = limited(text.as_bytes());
        assert_eq!(out.len(), 2 + MAX_FIELD_BYTES as usize + 3);
        assert_eq!(cuts[0].record, 1);
        assert_eq!(cuts[0].bytes, 10_000);
    }
}
