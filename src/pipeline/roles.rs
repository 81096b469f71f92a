//! Build roles: which build is the baseline and which the canary.
//!
//! `--baseline` and `--canary` name them; one name implies the other when there are exactly two
//! builds; with no names, of exactly two builds one whose label says its role (`baseline`,
//! `canary`, `old`, `new`, ... [`role_of`]) takes it, and otherwise the older of two versions is
//! the baseline, as [`order_versions`] reads them (also after a name both labels share,
//! `build_7` and `build_12`). When the two labels are not both versions (git
//! SHAs, names) or are the same version written differently, errwatch refuses to guess and asks
//! for a name: a wrong guess swaps the roles, and a regression then reads as an improvement and
//! passes. How the roles were told apart goes into the report ([`ChosenBy`]). A build whose every
//! row was skipped as invalid was never really seen, so it takes no part.
//!
//! One function decides for batch and live runs alike ([`choose_builds`]). A batch run knows all
//! its builds; a live run asks as its rows arrive ([`choose_builds_so_far`]) and is told to wait
//! while the builds seen so far cannot settle the roles yet, then asks [`choose_builds`] at the
//! end of its input. Whenever it gets an answer, it is the answer a batch run over the rows so
//! far would give, errors included.

use anyhow::{Result, bail};

use crate::escape::visible;
use crate::input::labels::{Unordered, order_versions};
use crate::input::{BuildStats, list_builds};
use crate::report::ChosenBy;

/// Who is who among the builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// The baseline's build id.
    pub baseline: usize,
    /// The canary's build id.
    pub canary: usize,
    /// How they were told apart.
    pub chosen_by: ChosenBy,
}

/// Picks the baseline and the canary among all the builds of an input (`builds`, by interned id),
/// as named by `--baseline` and `--canary`. Errors do not name the input; the caller does.
pub fn choose_builds(
    baseline: Option<&str>,
    canary: Option<&str>,
    builds: &[BuildStats],
) -> Result<Roles> {
    let present = present(builds);
    let find = |version: &str| present.iter().copied().find(|&id| builds[id].version == version);
    if present.is_empty() {
        bail!("no data rows after the header");
    }
    let seen = || {
        let builds: Vec<BuildStats> = present.iter().map(|&id| builds[id].clone()).collect();
        list_builds(&builds)
    };
    let named = |flag: &str, version: Option<&str>| {
        version
            .map(|v| {
                find(v).ok_or_else(|| {
                    anyhow::anyhow!("{flag} {v} is not in the data; builds seen: {}", seen())
                })
            })
            .transpose()
    };
    let named = (named("--baseline", baseline)?, named("--canary", canary)?);
    let roles = match (named, present.as_slice()) {
        ((Some(baseline), Some(canary)), _) => {
            Roles { baseline, canary, chosen_by: ChosenBy::Named }
        }
        ((Some(known), None) | (None, Some(known)), &[x, y]) => {
            let other = if known == x { y } else { x };
            if named.0.is_some() {
                Roles { baseline: known, canary: other, chosen_by: ChosenBy::NamedBaseline }
            } else {
                Roles { baseline: other, canary: known, chosen_by: ChosenBy::NamedCanary }
            }
        }
        ((None, None), &[x, y]) => {
            let (a, b) = (&builds[x].version, &builds[y].version);
            // Whether `x` is the baseline, and how that was told.
            let told = match by_role(a, b) {
                Some(x_is_baseline) => Ok((x_is_baseline, ChosenBy::RoleNames)),
                None => order_versions(a, b).map(|order| (order.is_lt(), ChosenBy::VersionOrder)),
            };
            match told {
                Ok((x_is_baseline, chosen_by)) => {
                    let (baseline, canary) = if x_is_baseline { (x, y) } else { (y, x) };
                    Roles { baseline, canary, chosen_by }
                }
                Err(why) => bail!(
                    "cannot tell which build is newer: \"{}\" and \"{}\" {}; name the new one \
                     with --canary (or the old one with --baseline)",
                    visible(a),
                    visible(b),
                    match why {
                        Unordered::NotVersions => "are not both versions",
                        Unordered::EqualVersions => "are the same version written differently",
                    }
                ),
            }
        }
        _ => bail!(
            "cannot tell the baseline from the canary: {} builds seen ({}); name both with --baseline and --canary",
            present.len(),
            seen()
        ),
    };
    Ok(roles)
}

/// A build label's role when the label says it, compared without spaces, underscores, hyphens and
/// dots, case ignored (`Canary`, `new`, `OLD`, `Base-Line`): `Some(true)` for the baseline,
/// `Some(false)` for the canary.
fn role_of(label: &str) -> Option<bool> {
    const BASELINE: [&str; 8] =
        ["baseline", "base", "old", "stable", "control", "current", "production", "prod"];
    const CANARY: [&str; 6] = ["canary", "new", "candidate", "treatment", "experiment", "next"];
    let folded = crate::input::columns::folded(label);
    if BASELINE.contains(&folded.as_str()) {
        Some(true)
    } else if CANARY.contains(&folded.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// Whether of two labels `a` is the baseline (`Some(true)`) or the canary (`Some(false)`) by what
/// they say of themselves ([`role_of`]): both say opposite roles, or one says its role and the
/// other says none; `None` otherwise (neither says, or both say the same).
fn by_role(a: &str, b: &str) -> Option<bool> {
    match (role_of(a), role_of(b)) {
        (Some(ra), Some(rb)) if ra != rb => Some(ra),
        (Some(ra), None) => Some(ra),
        (None, Some(rb)) => Some(!rb),
        _ => None,
    }
}

/// [`choose_builds`] for a stream whose rows are still arriving: `Ok(None)` while the builds seen
/// so far cannot settle the roles (wait for more rows), else what [`choose_builds`] says of them.
pub fn choose_builds_so_far(
    baseline: Option<&str>,
    canary: Option<&str>,
    builds: &[BuildStats],
) -> Result<Option<Roles>> {
    let present = present(builds);
    let found = |version: &str| present.iter().any(|&id| builds[id].version == version);
    let settled = match (baseline, canary) {
        (Some(b), Some(c)) => found(b) && found(c),
        // A third build settles it too: as an error, whichever build it is.
        (Some(named), None) | (None, Some(named)) => {
            present.len() > 2 || (present.len() == 2 && found(named))
        }
        (None, None) => present.len() >= 2,
    };
    if settled { choose_builds(baseline, canary, builds).map(Some) } else { Ok(None) }
}

/// The ids of the builds with at least one valid row.
fn present(builds: &[BuildStats]) -> Vec<usize> {
    (0..builds.len()).filter(|&id| builds[id].rows > 0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builds(versions: &[&str]) -> Vec<BuildStats> {
        let mut builds: Vec<BuildStats> = Vec::new();
        for v in versions {
            match builds.iter_mut().find(|b| b.version == *v) {
                Some(b) => b.rows += 1,
                None => builds.push(BuildStats { version: v.to_string(), rows: 1, events: 1 }),
            }
        }
        builds
    }

    fn choose(baseline: Option<&str>, canary: Option<&str>, versions: &[&str]) -> Result<Roles> {
        choose_builds(baseline, canary, &builds(versions))
    }

    fn ids(roles: Roles) -> (usize, usize) {
        (roles.baseline, roles.canary)
    }

    #[test]
    fn the_lower_of_two_versions_is_the_baseline() {
        assert_eq!(ids(choose(None, None, &["5.0007.610.011", "5.0007.510.011"]).unwrap()), (1, 0));
        assert_eq!(ids(choose(None, None, &["1.9", "1.10"]).unwrap()), (0, 1));
    }

    #[test]
    fn the_older_of_two_versions_is_the_baseline_pre_releases_below_their_release() {
        let roles = choose(None, None, &["v2.0.0", "v2.0.0-rc1"]).unwrap();
        assert_eq!(ids(roles), (1, 0));
        assert_eq!(roles.chosen_by, ChosenBy::VersionOrder);
    }

    #[test]
    fn labels_that_are_not_both_versions_are_refused_naming_both() {
        let e = format!("{:#}", choose(None, None, &["3f9a2c1", "b71e0d4"]).unwrap_err());
        assert_eq!(
            e,
            "cannot tell which build is newer: \"3f9a2c1\" and \"b71e0d4\" are not both versions; \
             name the new one with --canary (or the old one with --baseline)"
        );
        let e = format!("{:#}", choose(None, None, &["blue", "1.0\x1b[2J"]).unwrap_err());
        assert!(e.contains("\"blue\" and \"1.0\\x1b[2J\" are not both versions"), "{e}");
        let e = format!("{:#}", choose(None, None, &["1.2.3+a", "1.2.3+b"]).unwrap_err());
        assert!(e.contains("\"1.2.3+a\" and \"1.2.3+b\" are the same version written"), "{e}");
    }

    #[test]
    fn a_name_settles_what_the_labels_cannot() {
        let roles = choose(None, Some("3f9a2c1"), &["b71e0d4", "3f9a2c1"]).unwrap();
        assert_eq!((ids(roles), roles.chosen_by), ((0, 1), ChosenBy::NamedCanary));
        let roles = choose(Some("3f9a2c1"), None, &["b71e0d4", "3f9a2c1"]).unwrap();
        assert_eq!((ids(roles), roles.chosen_by), ((1, 0), ChosenBy::NamedBaseline));
        let roles = choose(Some("blue"), Some("green"), &["green", "blue"]).unwrap();
        assert_eq!((ids(roles), roles.chosen_by), ((1, 0), ChosenBy::Named));
    }

    #[test]
    fn builds_can_be_named_and_one_name_implies_the_other() {
        let three = ["1.9", "1.10", "2.0"];
        assert_eq!(ids(choose(Some("2.0"), Some("1.9"), &three).unwrap()), (2, 0));
        assert_eq!(ids(choose(None, Some("1.9"), &["1.9", "1.10"]).unwrap()), (1, 0));
    }

    #[test]
    fn other_build_counts_are_refused_with_the_builds_seen() {
        let e = format!("{:#}", choose(None, None, &["2.0", "1.0", "1.0", "3.0"]).unwrap_err());
        assert!(e.contains("3 builds seen (1.0 (2 rows), 2.0 (1 rows), 3.0 (1 rows))"), "{e}");
        let e = format!("{:#}", choose(None, None, &["1.0"]).unwrap_err());
        assert!(e.contains("1 builds seen"), "{e}");
        let e = format!("{:#}", choose(Some("9.9"), Some("1.0"), &["1.0", "2.0"]).unwrap_err());
        assert!(e.contains("--baseline 9.9 is not in the data"), "{e}");
        let e = format!("{:#}", choose(None, None, &[]).unwrap_err());
        assert_eq!(e, "no data rows after the header");
    }

    /// A live run waits while the builds so far cannot settle the roles, and then gets the batch
    /// answer for the rows so far.
    #[test]
    fn an_incomplete_stream_waits_until_the_roles_are_settled() {
        let wait = |b: Option<&str>, c: Option<&str>, versions: &[&str]| {
            choose_builds_so_far(b, c, &builds(versions)).unwrap().is_none()
        };
        assert!(wait(None, None, &["1.0"]));
        assert!(!wait(None, None, &["1.0", "2.0"]));
        assert!(wait(Some("9.9"), None, &["1.0", "2.0"]), "the third build may be 9.9");
        assert!(wait(Some("1.0"), Some("3.0"), &["1.0", "2.0"]));
        assert!(!wait(Some("1.0"), Some("3.0"), &["1.0", "2.0", "3.0"]));
        let third = choose_builds_so_far(Some("9.9"), None, &builds(&["1.0", "2.0", "3.0"]));
        assert!(format!("{:#}", third.unwrap_err()).contains("--baseline 9.9 is not in the data"));
        let third = choose_builds_so_far(None, None, &builds(&["1.0", "2.0", "3.0"]));
        assert!(format!("{:#}", third.unwrap_err()).contains("3 builds seen"));
        let shas = choose_builds_so_far(None, None, &builds(&["3f9a2c1", "b71e0d4"]));
        assert!(format!("{:#}", shas.unwrap_err()).contains("are not both versions"));
    }

    #[test]
    fn labels_that_say_their_role_take_it() {
        for (labels, baseline) in [
            (["baseline", "canary"], 0),
            (["Canary", "Baseline"], 1),
            (["new", "old"], 1),
            (["stable", "3f9a2c1"], 0),
            (["3f9a2c1", "CANDIDATE"], 0),
            (["control", "treatment"], 0),
            (["prod", "v2"], 0),
        ] {
            let roles = choose(None, None, &labels).unwrap();
            assert_eq!(roles.baseline, baseline, "{labels:?}");
            assert_eq!(roles.chosen_by, ChosenBy::RoleNames);
        }
        // Both saying the same role settle nothing; a version pair keeps its order.
        let e = format!("{:#}", choose(None, None, &["old", "stable"]).unwrap_err());
        assert!(e.contains("are not both versions"), "{e}");
        assert_eq!(choose(None, None, &["1.0", "2.0"]).unwrap().chosen_by, ChosenBy::VersionOrder);
        // A name still wins over what a label says.
        let roles = choose(None, Some("old"), &["old", "new"]).unwrap();
        assert_eq!((ids(roles), roles.chosen_by), ((1, 0), ChosenBy::NamedCanary));
        assert_eq!(role_of("canary-7"), None);
        assert_eq!(role_of("canary!"), None);
        assert_eq!(role_of("Base-Line"), Some(true));
    }

    #[test]
    fn a_build_whose_rows_were_all_skipped_takes_no_part() {
        let mut all = builds(&["1.0", "2.0", "3.0"]);
        all[2].rows = 0;
        assert_eq!(ids(choose_builds(None, None, &all).unwrap()), (0, 1));
    }
}
