//! Units affected: each unit (client, user, device, session) counts at most once per code, per
//! build, per slot; and, to recount an alarm, the distinct units over any stretch.
//!
//! A slot is `floor(second / slot_seconds)` (`--unit-slot`, by default `--bins`), counted from
//! second 0 of the input's clock, so the slots do not depend on where the input starts or on the
//! order of its rows, and are the same in batch and live runs. The first row of a (unit, build,
//! code, slot) counts 1 at its second, whatever its `Count`; later rows of it count nothing. A
//! burst of one client's events in one slot is so one event to the detectors.
//!
//! Units are known by the 64-bit hash of their label ([`crate::input::unit_hash`]); each (hash,
//! build, code, slot) key seen is kept with the earliest second of its rows, 32 bytes a key plus
//! the hash table's overhead (about 48 bytes a key in all). [`Units::distinct`] counts the units
//! of some codes of a build with a row in a stretch, from an index of those codes' keys sorted by
//! build and slot, made the first time a code is asked about (one pass over the keys for all the
//! codes of one question) and made again when keys have changed since (a batch run makes each
//! code's once, after its last row, so it holds only the keys of the codes that alarmed). A batch
//! run keeps every key; a live run forgets the slots that no row and no recount can reach any more
//! ([`Units::forget_before`]).

use std::collections::HashMap;

/// A key's fields in a code's index, in order: build, slot, its earliest second, unit.
type Indexed = (u32, i64, i64, u64);

/// The (unit, build, code, slot) keys seen, with the earliest second of each.
#[derive(Debug, Clone)]
pub struct Units {
    slot_seconds: i64,
    seen: HashMap<(u64, u32, u32, i64), i64>,
    /// The keys of the codes asked about, by code, sorted; cleared when a key changes.
    index: HashMap<u32, Vec<Indexed>>,
}

impl Units {
    /// No key seen yet; slots of `slot_seconds` seconds (at least 1).
    pub fn new(slot_seconds: u64) -> Units {
        let slot_seconds = i64::try_from(slot_seconds.max(1)).unwrap_or(i64::MAX);
        Units { slot_seconds, seen: HashMap::new(), index: HashMap::new() }
    }

    /// The slot of `second`.
    pub fn slot(&self, second: i64) -> i64 {
        second.div_euclid(self.slot_seconds)
    }

    /// Whether this is the first row of `unit` for `code` from `build` in the slot of `second`
    /// (it is then remembered).
    pub fn first(&mut self, unit: u64, build: usize, code: usize, second: i64) -> bool {
        // Ids are interned labels, far below u32::MAX; a wider id would only merge keys.
        let key = (unit, build as u32, code as u32, self.slot(second));
        match self.seen.entry(key) {
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(second);
                self.index.clear();
                true
            }
            std::collections::hash_map::Entry::Occupied(mut entry) => {
                if second < *entry.get() {
                    entry.insert(second);
                    self.index.clear();
                }
                false
            }
        }
    }

    /// The distinct units of any of `codes` from `build` with a row in a slot that meets
    /// `from..=to` at a second up to `to`: a unit with rows of two of the codes counts once.
    /// Whether a row's second is at most `to` is asked of the slot's earliest row, so a live run,
    /// which has every row up to `to` once that second is closed and may have later ones, counts
    /// as a batch run does.
    pub fn distinct(&mut self, codes: &[usize], build: usize, from: i64, to: i64) -> u64 {
        // The codes not indexed yet, in one pass over the keys.
        let missing: Vec<u32> =
            codes.iter().map(|&c| c as u32).filter(|c| !self.index.contains_key(c)).collect();
        if !missing.is_empty() {
            for code in &missing {
                self.index.insert(*code, Vec::new());
            }
            for (&(unit, build, code, slot), &second) in &self.seen {
                if missing.contains(&code) {
                    let keys = self.index.get_mut(&code).expect("inserted above");
                    keys.push((build, slot, second, unit));
                }
            }
            for code in &missing {
                self.index.get_mut(code).expect("inserted above").sort_unstable();
            }
        }
        let (first, last) = (from.div_euclid(self.slot_seconds), to.div_euclid(self.slot_seconds));
        let build = build as u32;
        let mut units: Vec<u64> = Vec::new();
        for code in codes {
            let keys = &self.index[&(*code as u32)];
            let lo = keys.partition_point(|k| (k.0, k.1) < (build, first));
            let hi = keys.partition_point(|k| (k.0, k.1) <= (build, last));
            units.extend(keys[lo..hi].iter().filter(|k| k.2 <= to).map(|k| k.3));
        }
        units.sort_unstable();
        units.dedup();
        units.len() as u64
    }

    /// Forgets the slots that end before `second`: no row before it will be counted, and no
    /// recount reaches it.
    pub fn forget_before(&mut self, second: i64) {
        let slot = self.slot(second);
        let before = self.seen.len();
        self.seen.retain(|&(_, _, _, s), _| s >= slot);
        if self.seen.len() != before {
            self.index.clear();
        }
    }

    /// The largest code id among the keys remembered.
    pub fn last_code(&self) -> Option<usize> {
        self.seen.keys().map(|&(_, _, code, _)| code as usize).max()
    }

    /// Keys remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_counts_once_per_slot_build_and_code() {
        let mut units = Units::new(100);
        assert!(units.first(7, 0, 0, 0));
        assert!(!units.first(7, 0, 0, 99), "same slot");
        assert!(units.first(7, 0, 0, 100), "next slot");
        assert!(units.first(7, 1, 0, 5), "other build");
        assert!(units.first(7, 0, 1, 5), "other code");
        assert!(units.first(8, 0, 0, 5), "other unit");
        assert_eq!(units.slot(-1), -1, "slots are counted from second 0, also before it");
        units.forget_before(100);
        assert_eq!(units.len(), 1);
    }

    #[test]
    fn distinct_units_count_once_over_a_stretch_and_over_codes() {
        let mut units = Units::new(100);
        // Unit 1 sends code 0 in slots 0, 1 and 2 and code 1 in slot 2; unit 2 code 0 in slot 1
        // and code 1 in slot 2; unit 3 code 0 in slot 2 at second 250 only; unit 4 code 0 from
        // the other build.
        for (unit, build, code, second) in [
            (1, 0, 0, 10),
            (1, 0, 0, 150),
            (1, 0, 0, 299),
            (1, 0, 1, 220),
            (2, 0, 0, 120),
            (2, 0, 1, 210),
        ] {
            units.first(unit, build, code, second);
        }
        units.first(3, 0, 0, 250);
        units.first(4, 1, 0, 150);
        assert_eq!(units.distinct(&[0], 0, 0, 299), 3, "units 1, 2, 3");
        assert_eq!(units.distinct(&[0], 0, 100, 199), 2, "units 1 and 2 in slot 1");
        assert_eq!(units.distinct(&[0], 1, 0, 299), 1, "the other build: unit 4");
        assert_eq!(units.distinct(&[0, 1], 0, 200, 299), 3, "units 1, 2, 3: unit 1 once");
        assert_eq!(units.distinct(&[1], 0, 0, 199), 0);
        // A slot that meets the stretch counts, but only its rows up to `to`: unit 3's first row
        // of slot 2 is at 250.
        assert_eq!(units.distinct(&[0], 0, 150, 249), 2, "units 1 and 2, not 3");
        // An earlier row of a slot, read later (a live run's late row), moves its second down,
        // and the index is made again.
        units.first(3, 0, 0, 201);
        assert_eq!(units.distinct(&[0], 0, 150, 249), 3);
        units.forget_before(200);
        assert_eq!(units.distinct(&[0], 0, 0, 299), 2, "slots 0 and 1 forgotten: units 1, 3");
    }
}
