//! Error codes and build versions: how they are named and how they sort.
//!
//! An error code is any non-empty label; integer codes (`-17`, `3`) sort numerically and come
//! first, other labels follow in text order. Build versions compare by dotted components, numeric
//! components as numbers (`5.0007.510.011 < 5.0007.610.011`, `10 > 9`), so the lower of two
//! builds is taken as the baseline.

use std::cmp::Ordering;
use std::fmt;

/// One error code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Code {
    /// An integer code, as in the seed data.
    Int(i64),
    /// Any other non-empty label.
    Label(String),
}

impl Code {
    /// Reads a (trimmed, non-empty) code field: an integer if it is one, a label otherwise.
    pub fn parse(field: &str) -> Code {
        match field.parse::<i64>() {
            // `+3` and `03` parse as 3; keep them as written unless the text is canonical, so
            // distinct labels never silently merge.
            Ok(n) if n.to_string() == field => Code::Int(n),
            _ => Code::Label(field.to_string()),
        }
    }
}

impl Ord for Code {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Code::Int(a), Code::Int(b)) => a.cmp(b),
            (Code::Int(_), Code::Label(_)) => Ordering::Less,
            (Code::Label(_), Code::Int(_)) => Ordering::Greater,
            (Code::Label(a), Code::Label(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Code {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Code::Int(n) => write!(f, "{n}"),
            Code::Label(s) => f.write_str(s),
        }
    }
}

/// Compares two build versions by dotted components: numeric components as numbers (leading
/// zeros ignored), others as text, a numeric component before a textual one; a version that is a
/// prefix of another is lower. Equal-valued versions fall back to text order so the order is
/// total.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = compare_component(x, y);
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

fn compare_component(x: &str, y: &str) -> Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match (numeric(x), numeric(y)) {
        (true, true) => {
            let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
            x.len().cmp(&y.len()).then_with(|| x.cmp(y))
        }
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.cmp(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_codes_sort_numerically_before_labels() {
        let mut codes: Vec<Code> = ["10", "-17", "E_TIMEOUT", "3", "9", "ABORT", "-3"]
            .iter()
            .map(|s| Code::parse(s))
            .collect();
        codes.sort();
        let shown: Vec<String> = codes.iter().map(Code::to_string).collect();
        assert_eq!(shown, ["-17", "-3", "3", "9", "10", "ABORT", "E_TIMEOUT"]);
    }

    #[test]
    fn non_canonical_integers_stay_labels() {
        assert_eq!(Code::parse("3"), Code::Int(3));
        assert_eq!(Code::parse("03"), Code::Label("03".into()));
        assert_eq!(Code::parse("+3"), Code::Label("+3".into()));
    }

    #[test]
    fn versions_compare_by_numeric_components() {
        assert_eq!(compare_versions("5.0007.510.011", "5.0007.610.011"), Ordering::Less);
        assert_eq!(compare_versions("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare_versions("2", "10"), Ordering::Less);
        assert_eq!(compare_versions("1.2", "1.2.1"), Ordering::Less);
        assert_eq!(compare_versions("1.2-beta", "1.2-alpha"), Ordering::Greater);
        assert_eq!(compare_versions("1.02", "1.2"), Ordering::Less, "ties fall back to text");
        assert_eq!(compare_versions("1.2", "1.2"), Ordering::Equal);
    }
}
