//! The drawn grid: bins merged into columns and codes into rows, so that the image stays bounded.

use crate::bins::Bins;

/// Merge factors up to this many are taken from [`NICE_FACTORS`]; larger ones are rounded up to a
/// multiple of it, so a merged column spans a round number of bins.
const NICE_FACTOR_STEP: usize = 60;

/// Merge factors that divide time evenly (seconds per minute, minutes per hour).
const NICE_FACTORS: [usize; 12] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60];

/// The cells as drawn: `bins_per_col` adjacent bins form a column and `codes_per_row` adjacent codes
/// a row; a cell's value is the sum of the differential buckets it covers.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Grid {
    /// Bins per drawn column (1: no merging).
    pub bins_per_col: usize,
    /// Codes per drawn row (1: no merging).
    pub codes_per_row: usize,
    /// Drawn columns.
    pub n_cols: usize,
    /// Drawn rows.
    pub n_rows: usize,
    /// `values[row * n_cols + col]`.
    pub values: Vec<f64>,
}

impl Grid {
    /// Merges every `bins_per_col` adjacent bins of `bins` into a column and every
    /// `codes_per_row` adjacent codes into a row.
    pub fn new(bins: &Bins, bins_per_col: usize, codes_per_row: usize) -> Grid {
        let n_bins = bins.len();
        let n_codes = bins.codes.len();
        let (bins_per_col, codes_per_row) = (bins_per_col.max(1), codes_per_row.max(1));
        let n_cols = n_bins.div_ceil(bins_per_col);
        let n_rows = n_codes.div_ceil(codes_per_row);
        let mut values = vec![0.0; n_cols * n_rows];
        for code in 0..n_codes {
            let row = &mut values[code / codes_per_row * n_cols..][..n_cols];
            for bin in 0..n_bins {
                row[bin / bins_per_col] += bins.diff(code, bin);
            }
        }
        Grid { bins_per_col, codes_per_row, n_cols, n_rows, values }
    }

    /// The value of the cell at `row`, `col`.
    pub fn value(&self, row: usize, col: usize) -> f64 {
        self.values[row * self.n_cols + col]
    }
}

/// The smallest nice factor that folds `n` items into at most `max` groups.
pub(super) fn merge_factor(n: usize, max: usize) -> usize {
    let max = max.max(1);
    if n <= max {
        return 1;
    }
    let needed = n.div_ceil(max);
    NICE_FACTORS
        .iter()
        .copied()
        .find(|&f| f >= needed)
        .unwrap_or_else(|| needed.div_ceil(NICE_FACTOR_STEP) * NICE_FACTOR_STEP)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::labels::Code;

    #[test]
    fn merge_factors_are_nice_and_fit() {
        assert_eq!(merge_factor(37, 100), 1);
        assert_eq!(merge_factor(0, 0), 1);
        assert_eq!(merge_factor(86_400, 3_800), 30);
        assert_eq!(merge_factor(7, 3), 3);
        assert_eq!(merge_factor(1_000_000, 100), 10_020);
        for (n, max) in [(86_400usize, 3_800), (1_000_000, 100), (101, 100), (5, 1)] {
            assert!(n.div_ceil(merge_factor(n, max)) <= max, "{n} into {max}");
        }
    }

    #[test]
    fn merged_cells_sum_the_buckets() {
        let bins = Bins {
            first_second: 0,
            last_second: 49,
            bin_seconds: 10,
            canary_share: 0.5,
            codes: vec![Code::Int(1), Code::Int(2), Code::Int(3)],
            canary: vec![vec![1, 2, 3, 4, 5], vec![0, 0, 0, 0, 9], vec![1, 1, 1, 1, 1]],
            baseline: vec![vec![0; 5], vec![1, 0, 0, 0, 0], vec![0; 5]],
        };
        let grid = Grid::new(&bins, merge_factor(5, 3), merge_factor(3, 2));
        assert_eq!((grid.bins_per_col, grid.codes_per_row), (2, 2));
        assert_eq!((grid.n_cols, grid.n_rows), (3, 2));
        assert_eq!(grid.values, vec![2.0, 7.0, 14.0, 2.0, 2.0, 1.0]);
        let unmerged = Grid::new(&bins, 1, 1);
        assert_eq!(unmerged.value(1, 4), 9.0);
        assert_eq!(unmerged.value(1, 0), -1.0);
    }
}
