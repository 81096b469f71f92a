//! Per-second records: the compact layout per-second counters are held in.
//!
//! A record is one second with events and its (series, count) pairs, a series being one (build,
//! code) pair numbered by whoever counts. Records are kept in time order, each second once, its
//! pairs sorted by series. The fast reader seals the seconds it has counted into records, and the
//! aggregator ([`crate::aggregate`]) takes them over as they are, so a stream's counters are held
//! once, in this layout, from the reader to the detectors.
//!
//! The layout is built for the common case of fewer than 65,535 series and counts below 65,536 per
//! second: a pair is one 32-bit word, the series in its high half and the count in its low half, so
//! the words of a record sort as its series do. Any other pair takes three words: [`ESCAPE`], the
//! series, the count. A second is 8 bytes: its offset from the first second (a span never exceeds
//! [`super::MAX_SPAN_SECONDS`], far below 2^32 seconds) and where its words end. So a triple with
//! events costs 4 bytes, and a second with events 8.

/// The word that says a pair is written out as two more words, series then count.
pub const ESCAPE: u32 = 0xFFFF_0000;

/// Per-second records in time order (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Records {
    /// The first second; every record's second is an offset from it.
    base: i64,
    /// `(second - base, end)`: the record's words are `words[previous end..end]`.
    seconds: Vec<(u32, u32)>,
    words: Vec<u32>,
}

/// Appends the encoding of one pair.
#[inline]
fn encode(words: &mut Vec<u32>, series: u32, count: u32) {
    if series < 0xFFFF && count <= 0xFFFF {
        words.push(series << 16 | count);
    } else {
        words.extend([ESCAPE, series, count]);
    }
}

/// The pairs of one record, decoded in order.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    words: std::slice::Iter<'a, u32>,
}

impl Iterator for Entries<'_> {
    type Item = (u32, u32);

    #[inline]
    fn next(&mut self) -> Option<(u32, u32)> {
        let word = *self.words.next()?;
        if word == ESCAPE {
            let series = *self.words.next().expect("an escaped pair has its series");
            let count = *self.words.next().expect("an escaped pair has its count");
            Some((series, count))
        } else {
            Some((word >> 16, word & 0xFFFF))
        }
    }
}

/// Where a pair is in a record's words, and how it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// One word; the count is its low half.
    Packed(usize),
    /// The count is this word.
    Escaped(usize),
}

impl Records {
    /// No records.
    pub fn new() -> Records {
        Records::default()
    }

    /// Number of records (seconds with events).
    pub fn len(&self) -> usize {
        self.seconds.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.seconds.is_empty()
    }

    /// Bytes held (without spare capacity).
    pub fn bytes(&self) -> usize {
        self.seconds.len() * size_of::<(u32, u32)>() + self.words.len() * size_of::<u32>()
    }

    /// The second of record `index`.
    pub fn second(&self, index: usize) -> i64 {
        self.base + i64::from(self.seconds[index].0)
    }

    /// The first second with a record.
    pub fn first_second(&self) -> Option<i64> {
        (!self.is_empty()).then(|| self.second(0))
    }

    /// The last second with a record.
    pub fn last_second(&self) -> Option<i64> {
        self.len().checked_sub(1).map(|last| self.second(last))
    }

    fn range(&self, index: usize) -> std::ops::Range<usize> {
        let start = if index == 0 { 0 } else { self.seconds[index - 1].1 as usize };
        start..self.seconds[index].1 as usize
    }

    /// The pairs of record `index`.
    pub fn entries(&self, index: usize) -> Entries<'_> {
        Entries { words: self.words[self.range(index)].iter() }
    }

    /// Every record in time order with its pairs.
    pub fn iter(&self) -> impl Iterator<Item = (i64, Entries<'_>)> + '_ {
        (0..self.len()).map(|index| (self.second(index), self.entries(index)))
    }

    /// The number of records before `second`.
    pub fn before(&self, second: i64) -> usize {
        match second.checked_sub(self.base) {
            Some(offset) if offset >= 0 => {
                let offset = u32::try_from(offset).unwrap_or(u32::MAX);
                self.seconds.partition_point(|&(s, _)| s < offset)
            }
            _ => 0,
        }
    }

    /// The record of `second`, if there is one.
    pub fn index_of(&self, second: i64) -> Option<usize> {
        let index = self.before(second);
        (index < self.len() && self.second(index) == second).then_some(index)
    }

    /// Opens the record of `second`, which must come after every record's; the pairs pushed next
    /// are its own.
    pub fn open(&mut self, second: i64) {
        debug_assert!(self.last_second().is_none_or(|last| last < second));
        if self.is_empty() {
            self.base = second;
        }
        let offset = u32::try_from(second - self.base).expect("a span within 2^32 seconds");
        self.seconds.push((offset, self.words.len() as u32));
    }

    /// Appends a pair to the last record; pairs are pushed in series order, each series once.
    #[inline]
    pub fn push(&mut self, series: u32, count: u32) {
        encode(&mut self.words, series, count);
        self.seconds.last_mut().expect("a record is open").1 = self.words.len() as u32;
    }

    /// Where the pair of `series` is in record `index`.
    fn find(&self, index: usize, series: u32) -> Option<Slot> {
        let range = self.range(index);
        let words = &self.words[range.clone()];
        if !words.contains(&ESCAPE) {
            // Packed words sort as their series do.
            let at = words.binary_search_by_key(&series, |&w| w >> 16).ok()?;
            return Some(Slot::Packed(range.start + at));
        }
        let mut at = 0;
        while at < words.len() {
            if words[at] == ESCAPE {
                if words[at + 1] == series {
                    return Some(Slot::Escaped(range.start + at + 2));
                }
                at += 3;
            } else {
                if words[at] >> 16 == series {
                    return Some(Slot::Packed(range.start + at));
                }
                at += 1;
            }
        }
        None
    }

    /// The count of `series` in record `index` (0 without a pair).
    pub fn count(&self, index: usize, series: u32) -> u32 {
        match self.find(index, series) {
            Some(Slot::Packed(at)) => self.words[at] & 0xFFFF,
            Some(Slot::Escaped(at)) => self.words[at],
            None => 0,
        }
    }

    /// Adds `count` to the pair of `series` in record `index` where it is written, if it has one
    /// and the sum fits there: `Some(true)` when added, `Some(false)` when the pair is there but
    /// its word cannot hold the sum (the caller keeps the rest elsewhere), `None` without a pair.
    /// An escaped pair holds any sum that fits 32 bits; the caller checks that first.
    pub fn add_in_place(&mut self, index: usize, series: u32, count: u32) -> Option<bool> {
        match self.find(index, series)? {
            Slot::Packed(at) => {
                let sum = (self.words[at] & 0xFFFF) + count.min(0x1_0000);
                if sum <= 0xFFFF {
                    self.words[at] += count;
                    Some(true)
                } else {
                    Some(false)
                }
            }
            Slot::Escaped(at) => {
                self.words[at] += count;
                Some(true)
            }
        }
    }

    /// Removes the records from index `index` on.
    pub fn truncate(&mut self, index: usize) {
        if index < self.len() {
            let end = self.range(index).start;
            self.seconds.truncate(index);
            self.words.truncate(end);
        }
    }

    /// Removes the first `count` records.
    pub fn drop_front(&mut self, count: usize) {
        if count == 0 {
            return;
        }
        if count >= self.len() {
            *self = Records::new();
            return;
        }
        let base = self.second(count);
        let words = self.seconds[count - 1].1;
        let offset = self.seconds[count].0;
        self.words.drain(..words as usize);
        self.seconds.drain(..count);
        for (second, end) in &mut self.seconds {
            *second -= offset;
            *end -= words;
        }
        self.base = base;
    }

    /// The same records with each series renumbered as `map[series]` (every series must have an
    /// entry), pairs sorted by their new numbers. Done in place when every pair keeps its length,
    /// as it does with fewer than 65,535 series; otherwise written afresh.
    pub fn renumbered(mut self, map: &[u32]) -> Records {
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let mut in_place = true;
        'check: for index in 0..self.len() {
            for (series, count) in self.entries(index) {
                let escaped = series >= 0xFFFF || count > 0xFFFF;
                let renumbered = map[series as usize] >= 0xFFFF || count > 0xFFFF;
                if escaped != renumbered {
                    in_place = false;
                    break 'check;
                }
            }
        }
        if !in_place {
            let mut fresh = Records { base: self.base, seconds: Vec::new(), words: Vec::new() };
            for index in 0..self.len() {
                pairs.clear();
                pairs.extend(self.entries(index).map(|(s, n)| (map[s as usize], n)));
                pairs.sort_unstable();
                fresh.seconds.push((self.seconds[index].0, fresh.words.len() as u32));
                for &(series, count) in &pairs {
                    fresh.push(series, count);
                }
            }
            return fresh;
        }
        for index in 0..self.len() {
            let range = self.range(index);
            let words = &mut self.words[range];
            if words.contains(&ESCAPE) {
                pairs.clear();
                pairs.extend(Entries { words: words.iter() }.map(|(s, n)| (map[s as usize], n)));
                pairs.sort_unstable();
                let mut out = Vec::with_capacity(words.len());
                for &(series, count) in &pairs {
                    encode(&mut out, series, count);
                }
                words.copy_from_slice(&out);
            } else {
                for word in words.iter_mut() {
                    *word = map[(*word >> 16) as usize] << 16 | (*word & 0xFFFF);
                }
                words.sort_unstable();
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(records: &Records) -> Vec<(i64, Vec<(u32, u32)>)> {
        records.iter().map(|(second, pairs)| (second, pairs.collect())).collect()
    }

    #[test]
    fn pairs_too_large_for_a_word_are_written_out() {
        let mut records = Records::new();
        records.open(-5);
        records.push(1, 70_000);
        records.push(3, 2);
        records.push(70_000, 1);
        records.open(7);
        records.push(0xFFFE, 0xFFFF);
        assert_eq!(
            decoded(&records),
            vec![(-5, vec![(1, 70_000), (3, 2), (70_000, 1)]), (7, vec![(0xFFFE, 0xFFFF)])]
        );
        assert_eq!(records.bytes(), 2 * 8 + 8 * 4);
        assert_eq!(records.count(0, 70_000), 1);
        assert_eq!(records.count(0, 3), 2);
        assert_eq!(records.count(1, 3), 0);
        assert_eq!(
            (records.index_of(7), records.index_of(6), records.before(0)),
            (Some(1), None, 1)
        );
    }

    #[test]
    fn a_count_grows_in_place_while_its_word_holds_it() {
        let mut records = Records::new();
        records.open(0);
        records.push(2, 0xFFFE);
        records.push(4, 70_000);
        assert_eq!(records.add_in_place(0, 2, 1), Some(true));
        assert_eq!(records.add_in_place(0, 2, 1), Some(false));
        assert_eq!(records.add_in_place(0, 4, 5), Some(true));
        assert_eq!(records.add_in_place(0, 3, 1), None);
        assert_eq!(decoded(&records), vec![(0, vec![(2, 0xFFFF), (4, 70_005)])]);
    }

    #[test]
    fn renumbering_sorts_the_new_numbers_in_place_or_afresh() {
        let mut records = Records::new();
        for second in [3, 4, 9] {
            records.open(second);
            records.push(0, 1);
            records.push(1, 2);
            records.push(2, 100_000);
        }
        let swapped = records.clone().renumbered(&[2, 0, 1]);
        assert_eq!(decoded(&swapped)[0], (3, vec![(0, 2), (1, 100_000), (2, 1)]));
        let wide = records.clone().renumbered(&[70_000, 0, 1]);
        assert_eq!(decoded(&wide)[2], (9, vec![(0, 2), (1, 100_000), (70_000, 1)]));
        let mut front = wide.clone();
        front.drop_front(1);
        assert_eq!(decoded(&front), decoded(&wide)[1..]);
        front.truncate(1);
        assert_eq!(decoded(&front), decoded(&wide)[1..2]);
    }
}
