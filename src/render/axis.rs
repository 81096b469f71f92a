//! The time axis: a handful of ticks at round times.

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Tick spacings in seconds, from which the smallest that keeps labels apart is chosen; beyond the
/// last, spacings are whole multiples of it.
const TICK_STEPS: [i64; 22] = [
    1,
    2,
    5,
    10,
    15,
    30,
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
    14 * DAY,
    28 * DAY,
];

/// At most `max_ticks` round seconds within `[first, last]` (at least one: `first` when no round
/// time fits); `shift` is the UTC offset of the labels' clock, so that ticks fall on round local
/// times (on the hour of the writer's clock for RFC 3339 input, of the zone for Unix seconds).
pub(super) fn time_ticks(first: i64, last: i64, max_ticks: usize, shift: i64) -> Vec<i64> {
    let max_ticks = max_ticks.max(1) as i64;
    let span = (last - first).max(0);
    let step =
        TICK_STEPS.iter().copied().find(|&step| span / step < max_ticks).unwrap_or_else(|| {
            let largest = TICK_STEPS[TICK_STEPS.len() - 1];
            (span / max_ticks / largest + 1) * largest
        });
    let start = (first + shift).div_euclid(step) * step - shift;
    let start = if start < first { start + step } else { start };
    let ticks: Vec<i64> = (0..).map(|i| start + i * step).take_while(|&t| t <= last).collect();
    if ticks.is_empty() { vec![first] } else { ticks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fall_on_round_times() {
        // The seed: 37 bins of 100 s from 0:00:00, room for about 9 labels.
        let ticks = time_ticks(0, 3_699, 9, 0);
        assert_eq!(ticks, vec![0, 600, 1_200, 1_800, 2_400, 3_000, 3_600]);
        assert_eq!(time_ticks(7, 49, 10, 0), vec![10, 15, 20, 25, 30, 35, 40, 45]);
        // A day at 1-second bins, room for 20 labels: every 2 hours.
        let day = time_ticks(0, DAY - 1, 20, 0);
        assert_eq!((day.len(), day[1]), (12, 2 * HOUR));
    }

    #[test]
    fn ticks_respect_the_bounds_and_the_offset() {
        assert_eq!(time_ticks(3, 4, 1, 0), vec![4]);
        // No round time in range: the first second.
        assert_eq!(time_ticks(1, 4, 1, 0), vec![1]);
        // UTC+00:30: local hours are 3600 s apart, shifted by the offset.
        let ticks = time_ticks(1_000, 10_000, 4, 1_800);
        assert_eq!(ticks, vec![1_800, 5_400, 9_000]);
        let long = time_ticks(0, 400 * DAY, 5, 0);
        assert!(long.len() <= 5 && !long.is_empty());
        assert!(time_ticks(-50, -10, 3, 0).iter().all(|t| (-50..=-10).contains(t)));
    }
}
