//! Error codes and build versions: how they are named and how they sort.
//!
//! An error code is any non-empty label; integer codes (`-17`, `3`) sort numerically and come
//! first, other labels follow in text order.
//!
//! # Build versions
//!
//! The baseline is the older of two builds, so errwatch must know which is newer when neither is
//! named; it only ever answers from labels it can read as versions, and refuses to guess
//! otherwise ([`order_versions`]). A label is **a version** when it is, in order:
//!
//! 1. an optional `v` or `V`;
//! 2. the release: one or more components separated by `.`, each one or more ASCII digits
//!    (`2`, `1.10`, `5.0007.510.011`, `20261201`);
//! 3. optionally `-` and a pre-release: one or more identifiers separated by `.`, each one or more
//!    ASCII letters and digits (`rc1`, `beta.2`), none of them hex-commit-like (7 to 40 hex digits
//!    with at least one letter `a`-`f`, as in `1.0.0-3f9a2c1`);
//! 4. optionally `+` and build metadata: one or more identifiers separated by `.`, each one or
//!    more ASCII letters, digits and `-` (`+build.7`, `+3f9a2c1`).
//!
//! So a git SHA (`3f9a2c1`, `b71e0d4`) is not a version, nor a name (`blue`), a date written with
//! dashes (`2026-12-01`), or `git describe` output (`v1.2.3-14-g3f9a2c1`, which names a commit
//! *after* its tag although it reads as a pre-release before it). This is semver 2.0.0 with a
//! release of any length, leading zeros allowed, and no `-` inside pre-release identifiers.
//!
//! Versions order as semver orders them, with the existing forms kept: release components
//! numerically, leading zeros ignored (`1.9 < 1.10`, `2 < 10`, `5.0007.510.011 < 5.0007.610.011`);
//! a release that is a prefix of another is lower (`1.2 < 1.2.1`, `1.2 < 1.2.0`); a pre-release is
//! lower than its release (`2.0.0-rc1 < 2.0.0`); pre-releases compare identifier by identifier,
//! numeric ones numerically, a numeric one below an alphanumeric one, others in ASCII order, and
//! with an equal prefix the one with fewer identifiers is lower
//! (`alpha < alpha.1 < alpha.beta < beta < beta.2 < beta.11 < rc.1`). The prefix and the build
//! metadata take no part: two different labels that order equal (`1.2.3+a` and `1.2.3+b`,
//! `v1.2` and `1.2`, `1.02` and `1.2`) cannot be told apart and are refused too.
//!
//! For listing builds in messages and files, [`compare_versions`] extends this to a total order.

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

/// A build label read as a version (see the module docs). Equality is the order's: labels that
/// differ only in their prefix, leading zeros or build metadata are equal versions.
#[derive(Debug, Clone)]
pub struct Version<'a> {
    /// The release components, digits only.
    release: Vec<&'a str>,
    /// The pre-release identifiers; empty for a release.
    pre_release: Vec<&'a str>,
}

/// Fewest and most hex digits of an abbreviated or full git commit id.
const COMMIT_ID_DIGITS: std::ops::RangeInclusive<usize> = 7..=40;

impl<'a> Version<'a> {
    /// Reads `label` as a version, or `None` when it is not one.
    pub fn parse(label: &'a str) -> Option<Version<'a>> {
        let rest = label.strip_prefix(['v', 'V']).unwrap_or(label);
        let rest = match rest.split_once('+') {
            Some((rest, metadata)) => {
                let metadata_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
                identifiers(metadata, metadata_char)?;
                rest
            }
            None => rest,
        };
        let (release, pre_release) = match rest.split_once('-') {
            Some((release, pre_release)) => {
                let pre_release = identifiers(pre_release, |c| c.is_ascii_alphanumeric())?;
                if pre_release.iter().any(|id| is_commit_like(id)) {
                    return None;
                }
                (release, pre_release)
            }
            None => (rest, Vec::new()),
        };
        let release = identifiers(release, |c| c.is_ascii_digit())?;
        Some(Version { release, pre_release })
    }
}

/// The `.`-separated identifiers of `text`, if each is non-empty and made of `allowed` characters.
fn identifiers(text: &str, allowed: impl Fn(char) -> bool) -> Option<Vec<&str>> {
    text.split('.').map(|id| (!id.is_empty() && id.chars().all(&allowed)).then_some(id)).collect()
}

/// Whether an identifier looks like a git commit id: 7 to 40 hex digits, a letter among them.
fn is_commit_like(id: &str) -> bool {
    COMMIT_ID_DIGITS.contains(&id.len())
        && id.chars().all(|c| c.is_ascii_hexdigit())
        && id.chars().any(|c| c.is_ascii_alphabetic())
}

impl Ord for Version<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let release = compare_identifiers(&self.release, &other.release);
        let pre_release = || match (self.pre_release.is_empty(), other.pre_release.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => compare_identifiers(&self.pre_release, &other.pre_release),
        };
        release.then_with(pre_release)
    }
}

impl PartialOrd for Version<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Version<'_> {}

/// Identifier by identifier, then the shorter list lower.
fn compare_identifiers(x: &[&str], y: &[&str]) -> Ordering {
    x.iter()
        .zip(y)
        .map(|(a, b)| compare_component(a, b))
        .find(|ord| ord.is_ne())
        .unwrap_or_else(|| x.len().cmp(&y.len()))
}

/// Why two build labels cannot be ordered as versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unordered {
    /// At least one of them is not a version.
    NotVersions,
    /// They are different labels of equal versions (`1.2.3+a` and `1.2.3+b`).
    EqualVersions,
}

/// How build `a` orders against build `b` as versions (`Less`: `a` is older), or why it cannot be
/// told. Two labels that are not both versions but share a name before their versions
/// (`build_7` and `build_12`, `release-2024.11.01` and `release-2024.11.15`, `app-v1.2` and
/// `app-v1.10`) are ordered by what follows it (`shared_name`).
pub fn order_versions(a: &str, b: &str) -> Result<Ordering, Unordered> {
    let parsed = |a, b| Some((Version::parse(a)?, Version::parse(b)?));
    let Some((x, y)) = parsed(a, b).or_else(|| {
        let name = shared_name(a, b)?;
        parsed(&a[name..], &b[name..])
    }) else {
        return Err(Unordered::NotVersions);
    };
    match x.cmp(&y) {
        Ordering::Equal => Err(Unordered::EqualVersions),
        ord => Ok(ord),
    }
}

/// The length of the name two labels share before their versions: their common prefix, cut back
/// to just after its last character that is neither an ASCII digit nor a dot (so `release-2024.11.`
/// of `release-2024.11.01` and `release-2024.11.15` is `release-`), `None` when that leaves
/// nothing or the cut is at the end of one of them.
fn shared_name(a: &str, b: &str) -> Option<usize> {
    let common = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let cut = a.as_bytes()[..common].iter().rposition(|&c| !c.is_ascii_digit() && c != b'.')? + 1;
    (cut < a.len() && cut < b.len()).then_some(cut)
}

/// A total order on build labels, for listing them: versions first, in version order (equal
/// versions in text order), then other labels by dotted components, numeric components as numbers
/// (leading zeros ignored) before textual ones, a prefix lower, ties in text order.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => compare_labels(a, b),
    }
}

fn compare_labels(a: &str, b: &str) -> Ordering {
    let left: Vec<&str> = a.split('.').collect();
    let right: Vec<&str> = b.split('.').collect();
    compare_identifiers(&left, &right).then_with(|| a.cmp(b))
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

    fn order(a: &str, b: &str) -> Result<Ordering, Unordered> {
        order_versions(a, b)
    }

    #[test]
    fn the_accepted_forms_keep_their_order() {
        assert_eq!(order("5.0007.510.011", "5.0007.610.011"), Ok(Ordering::Less));
        assert_eq!(order("1.9", "1.10"), Ok(Ordering::Less));
        assert_eq!(order("2", "10"), Ok(Ordering::Less));
        assert_eq!(order("1.2", "1.2.1"), Ok(Ordering::Less));
        assert_eq!(order("1.2", "1.2.0"), Ok(Ordering::Less), "a prefix is lower");
        assert_eq!(order("2.10.0", "2.4.0"), Ok(Ordering::Greater));
    }

    #[test]
    fn labels_that_share_a_name_before_their_versions_order_by_them() {
        assert_eq!(order("build_7", "build_12"), Ok(Ordering::Less));
        assert_eq!(order("release-2024.11.15", "release-2024.11.01"), Ok(Ordering::Greater));
        assert_eq!(order("app-v1.2", "app-v1.10"), Ok(Ordering::Less));
        assert_eq!(order("web-1.2.0-rc1", "web-1.2.0"), Ok(Ordering::Less));
        assert_eq!(shared_name("release-2024.11.01", "release-2024.11.15"), Some(8));
        // Nothing shared, nothing after it, or no version after it: not ordered.
        for (a, b) in [("A", "B"), ("abc123f", "abc124f"), ("node-a1", "node-b2"), ("x-", "x-1")] {
            assert_eq!(order(a, b), Err(Unordered::NotVersions), "{a} {b}");
        }
        assert_eq!(order("2025-12-31", "2026-01-01"), Err(Unordered::NotVersions));
        assert_eq!(order("build_1.0", "build_1"), Ok(Ordering::Greater));
        assert_eq!(order("build_01", "build_1"), Err(Unordered::EqualVersions));
    }

    #[test]
    fn a_pre_release_is_below_its_release() {
        assert_eq!(order("v2.0.0-rc1", "v2.0.0"), Ok(Ordering::Less));
        assert_eq!(order("2.0.0", "2.0.0-rc1"), Ok(Ordering::Greater));
        assert_eq!(order("2.0.0-rc1", "1.9.9"), Ok(Ordering::Greater));
    }

    /// Semver 2.0.0's example chain (section 11), then numeric identifiers as numbers.
    #[test]
    fn pre_releases_order_by_semver_rules() {
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in chain.windows(2) {
            assert_eq!(order(pair[0], pair[1]), Ok(Ordering::Less), "{pair:?}");
            assert_eq!(order(pair[1], pair[0]), Ok(Ordering::Greater), "{pair:?}");
        }
        assert_eq!(order("1.0.0-rc.2", "1.0.0-rc.10"), Ok(Ordering::Less));
        assert_eq!(order("1.0.0-1", "1.0.0-a"), Ok(Ordering::Less), "numeric below alphanumeric");
        assert_eq!(order("1.0.0-beta.2", "1.0.0-beta"), Ok(Ordering::Greater));
    }

    #[test]
    fn the_v_prefix_and_leading_zeros_are_ignored() {
        assert_eq!(order("v1.10", "1.9"), Ok(Ordering::Greater));
        assert_eq!(order("V1.9", "v1.10"), Ok(Ordering::Less));
        assert_eq!(order("1.010", "1.9"), Ok(Ordering::Greater));
        assert_eq!(order("v1.2", "1.2"), Err(Unordered::EqualVersions));
        assert_eq!(order("1.02", "1.2"), Err(Unordered::EqualVersions));
    }

    #[test]
    fn build_metadata_takes_no_part_and_alone_cannot_order() {
        assert_eq!(order("1.2.3+build.9", "1.2.4+build.1"), Ok(Ordering::Less));
        assert_eq!(order("1.2.3+3f9a2c1", "1.2.3-rc1"), Ok(Ordering::Greater));
        assert_eq!(order("1.2.3+a", "1.2.3+b"), Err(Unordered::EqualVersions));
        assert_eq!(order("1.2.3", "1.2.3+b"), Err(Unordered::EqualVersions));
    }

    #[test]
    fn git_shas_and_names_are_not_versions() {
        for label in [
            "3f9a2c1",
            "b71e0d4",
            "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
            "blue",
            "green",
            "1.0a",
            "2026-12-01",
            "v1.2.3-14-g3f9a2c1",
            "1.0.0-3f9a2c1",
            "1.0.0-beta-2",
            "v",
            "1..2",
            "1.2-",
            "1.2+",
            "",
        ] {
            assert!(Version::parse(label).is_none(), "{label:?} is not a version");
        }
        assert_eq!(order("3f9a2c1", "b71e0d4"), Err(Unordered::NotVersions));
        assert_eq!(order("1.0", "blue"), Err(Unordered::NotVersions));
    }

    #[test]
    fn digits_only_labels_are_versions() {
        assert!(Version::parse("20261201").is_some());
        assert!(
            Version::parse("1234567").is_some(),
            "a commit id without a letter reads as a number"
        );
        assert_eq!(order("20261201", "20261130"), Ok(Ordering::Greater));
        assert!(Version::parse("1.0.0-deadbee").is_none());
        assert!(Version::parse("1.0.0-rc1.beta").is_some());
    }

    #[test]
    fn the_listing_order_is_total_and_puts_versions_first() {
        let mut labels = ["b71e0d4", "v2.0.0", "1.02", "blue", "v2.0.0-rc1", "1.2", "3f9a2c1"];
        labels.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(labels, ["1.02", "1.2", "v2.0.0-rc1", "v2.0.0", "3f9a2c1", "b71e0d4", "blue"]);
    }
}
