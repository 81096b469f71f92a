//! Units affected: each unit (client, user, device, session) counts at most once per code, per
//! build, per slot.
//!
//! A slot is `floor(second / bin_seconds)`, the `--bins`-second slots counted from second 0 of
//! the input's clock, so the slots do not depend on where the input starts or on the order of
//! its rows, and are the same in batch and live runs. The first row of a (unit, build, code,
//! slot) counts 1 at its second, whatever its `Count`; later rows of it count nothing. A burst of
//! one client's events in one slot is so one event to the detectors.
//!
//! Units are known by the 64-bit hash of their label ([`crate::input::unit_hash`]); the set of
//! (hash, build, code, slot) keys seen costs 24 bytes a key plus the hash table's overhead (about
//! 40 bytes a key in all). A batch run keeps every key; a live run forgets the slots that no
//! row can reach any more ([`Units::forget_before`]).

use std::collections::HashSet;

/// The (unit, build, code, slot) keys seen.
#[derive(Debug, Clone)]
pub struct Units {
    slot_seconds: i64,
    seen: HashSet<(u64, u32, u32, i64)>,
}

impl Units {
    /// No key seen yet; slots of `slot_seconds` seconds (at least 1).
    pub fn new(slot_seconds: u64) -> Units {
        let slot_seconds = i64::try_from(slot_seconds.max(1)).unwrap_or(i64::MAX);
        Units { slot_seconds, seen: HashSet::new() }
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
        self.seen.insert(key)
    }

    /// Forgets the slots that end before `second`: no row before it will be counted.
    pub fn forget_before(&mut self, second: i64) {
        let slot = self.slot(second);
        self.seen.retain(|&(_, _, _, s)| s >= slot);
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
}
