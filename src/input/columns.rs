//! Which columns (CSV) or keys (JSON lines) hold the timestamp, the build, the code and the count.
//!
//! The defaults are the seed's column names, `Timestamp`, `Build_Version`, `Error_Code` and an
//! optional `Count`; `--timestamp-column`, `--build-column`, `--code-column` and `--count-column`
//! name others. Names are matched case-insensitively, in CSV headers as in JSON keys; a CSV or
//! Parquet column named so nowhere is also found without spaces, underscores, hyphens and dots
//! ([`position`]: `Build Version`, `build-version`, `BuildVersion`). In JSON lines a
//! name is a dotted path into nested objects (`app.version` is the key `version` of the object
//! under `app`); in CSV the dots are part of the column's name. A count column named on the
//! command line is required; the default `Count` is used when present.
//!
//! A field no flag names whose seed name the header lacks is looked for among the names other
//! exporters give it ([`TIMESTAMP_CANDIDATES`], [`BUILD_CANDIDATES`], [`CODE_CANDIDATES`]), in their
//! order, compared as [`position`] compares ([`ColumnNames::resolved`]): `time,version,code` or
//! `event_time,app_version,error_type` need no flags. The columns so chosen are said on stderr.
//!
//! A fifth, optional column names the *unit* an event comes from (a client, user, device or
//! session): `--unit-column NAME`, or by default the header (JSON lines: key path) named as the
//! earliest of [`UNIT_CANDIDATES`], compared without spaces, underscores, hyphens and dots, case
//! ignored ([`unit_rank`]: `client_id`, `ClientId`, `client-id`, `Client ID` and, in JSON
//! lines, `client.id` are one name); `--unit-column none` turns that off.

use anyhow::{Result, bail};

/// The default column names.
pub const DEFAULT_TIMESTAMP: &str = "Timestamp";
/// The default build column.
pub const DEFAULT_BUILD: &str = "Build_Version";
/// The default code column.
pub const DEFAULT_CODE: &str = "Error_Code";
/// The default (optional) count column.
pub const DEFAULT_COUNT: &str = "Count";

/// The names tried for the timestamp when no flag names it and the header has no `Timestamp`, the
/// earlier preferred.
pub const TIMESTAMP_CANDIDATES: [&str; 12] = [
    "time",
    "ts",
    "event_time",
    "event_timestamp",
    "datetime",
    "date_time",
    "time_stamp",
    "created_at",
    "occurred_at",
    "@timestamp",
    "_time",
    "timestamp_utc",
];

/// The names tried for the build version, as [`TIMESTAMP_CANDIDATES`] are.
pub const BUILD_CANDIDATES: [&str; 10] = [
    "build",
    "version",
    "app_version",
    "build_id",
    "build_number",
    "release",
    "release_version",
    "client_version",
    "app_build",
    "sdk_version",
];

/// The names tried for the error code, as [`TIMESTAMP_CANDIDATES`] are.
pub const CODE_CANDIDATES: [&str; 11] = [
    "code",
    "error",
    "error_type",
    "error_id",
    "error_name",
    "error_class",
    "exception",
    "exception_type",
    "status_code",
    "fault_code",
    "event_code",
];

/// The unit column's names tried when none is named, the earlier preferred (matched as
/// [`unit_rank`] says).
pub const UNIT_CANDIDATES: [&str; 17] = [
    "client_id",
    "user_id",
    "device_id",
    "session_id",
    "installation_id",
    "install_id",
    "account_id",
    "customer_id",
    "visitor_id",
    // What analytics SDKs call a client: Segment's anonymousId, Mixpanel's and PostHog's
    // distinct_id, Google Analytics 4's exported user_pseudo_id.
    "anonymous_id",
    "distinct_id",
    "user_pseudo_id",
    "uid",
    "client",
    "user",
    "device",
    "session",
];

/// Where a column name stands among [`UNIT_CANDIDATES`] (0 first), compared without spaces,
/// underscores, hyphens and dots, case ignored ([`folded`]), so that a header's spelling
/// (`ClientId`, `client-id`, `Client ID`, a JSON path `client.id`) does not hide the unit; `None`
/// when it is none of them.
pub fn unit_rank(name: &str) -> Option<usize> {
    let name = folded(name);
    UNIT_CANDIDATES.iter().position(|candidate| folded(candidate) == name)
}

/// A name without its spaces, underscores, hyphens and dots, ASCII letters lowercased: how
/// spellings of one name compare (any other character stays and must match).
pub fn folded(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Where the column `wanted` is among a header's (trimmed) `names`: the first named as it is,
/// case ignored, else the first that is it without spaces, underscores, hyphens and dots
/// ([`folded`]: `Build Version`, `build-version` and `BuildVersion` for `Build_Version`).
pub fn position<S: AsRef<str>>(names: &[S], wanted: &str) -> Option<usize> {
    names.iter().position(|n| n.as_ref().eq_ignore_ascii_case(wanted)).or_else(|| {
        let wanted = folded(wanted);
        (!wanted.is_empty()).then(|| names.iter().position(|n| folded(n.as_ref()) == wanted))?
    })
}

/// The value of `--unit-column` that turns auto-detection off.
pub const NO_UNIT: &str = "none";

/// Where the unit of each event (a client, user, device, session) is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitColumn {
    /// No unit: every event counts.
    Off,
    /// The earliest of [`UNIT_CANDIDATES`] the header (or a JSON line's key paths) has, as
    /// [`unit_rank`] matches them, other than the columns the other fields read.
    Auto,
    /// This column (CSV) or key path (JSON lines); required.
    Named(String),
}

/// The names of the four fields, validated ([`ColumnNames::new`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnNames {
    /// The timestamp's column or key path.
    pub timestamp: String,
    /// The build version's.
    pub build: String,
    /// The error code's.
    pub code: String,
    /// The count's.
    pub count: String,
    /// Whether the count column must be there (it was named).
    pub count_required: bool,
    /// The unit's column, if any ([`ColumnNames::with_unit`]; off by default).
    pub unit: UnitColumn,
    /// Whether the timestamp, build and code keep the seed's names because no flag named them,
    /// so that another exporter's names may stand in ([`ColumnNames::resolved`]).
    defaulted: [bool; 3],
}

impl Default for ColumnNames {
    fn default() -> ColumnNames {
        ColumnNames {
            timestamp: DEFAULT_TIMESTAMP.into(),
            build: DEFAULT_BUILD.into(),
            code: DEFAULT_CODE.into(),
            count: DEFAULT_COUNT.into(),
            count_required: false,
            unit: UnitColumn::Off,
            defaulted: [true; 3],
        }
    }
}

impl ColumnNames {
    /// The names given on the command line, the defaults for the others. Refuses an empty name, a
    /// dotted path with an empty key (`app..version`, `.code`), and one column named for two
    /// fields (the comparison is case-insensitive, as the matching is).
    pub fn new(
        timestamp: Option<String>,
        build: Option<String>,
        code: Option<String>,
        count: Option<String>,
    ) -> Result<ColumnNames> {
        let defaults = ColumnNames::default();
        let names = ColumnNames {
            defaulted: [timestamp.is_none(), build.is_none(), code.is_none()],
            count_required: count.is_some(),
            timestamp: timestamp.unwrap_or(defaults.timestamp),
            build: build.unwrap_or(defaults.build),
            code: code.unwrap_or(defaults.code),
            count: count.unwrap_or(defaults.count),
            unit: UnitColumn::Off,
        };
        let fields = names.fields();
        for (flag, name) in fields {
            if name.trim().is_empty() {
                bail!("--{flag} must name a column (got an empty name)");
            }
            if name.trim() != name {
                bail!(
                    "--{flag} {:?}: column names are matched trimmed; drop the spaces",
                    crate::escape::visible(name)
                );
            }
            if name.split('.').any(str::is_empty) {
                bail!(
                    "--{flag} {}: a dotted path needs a key between every two dots",
                    crate::escape::visible(name)
                );
            }
        }
        for (i, (flag, name)) in fields.iter().enumerate() {
            for (other_flag, other) in &fields[i + 1..] {
                if name.eq_ignore_ascii_case(other) {
                    bail!(
                        "--{flag} and --{other_flag} name the same column ({})",
                        crate::escape::visible(name)
                    );
                }
            }
        }
        Ok(names)
    }

    /// The unit column as `--unit-column` gives it: `None` auto-detects, `none` turns units off,
    /// any other name is required. A name is validated as the other columns' are, and must not
    /// be one of theirs.
    pub fn with_unit(mut self, unit: Option<String>) -> Result<ColumnNames> {
        self.unit = match unit {
            None => UnitColumn::Auto,
            Some(name) if name.eq_ignore_ascii_case(NO_UNIT) => UnitColumn::Off,
            Some(name) => {
                let flag = "unit-column";
                if name.trim().is_empty() {
                    bail!("--{flag} must name a column, or be {NO_UNIT} (got an empty name)");
                }
                if name.trim() != name {
                    bail!(
                        "--{flag} {:?}: column names are matched trimmed; drop the spaces",
                        crate::escape::visible(&name)
                    );
                }
                if name.split('.').any(str::is_empty) {
                    bail!(
                        "--{flag} {}: a dotted path needs a key between every two dots",
                        crate::escape::visible(&name)
                    );
                }
                for (other_flag, other) in self.fields() {
                    if name.eq_ignore_ascii_case(other) {
                        bail!(
                            "--{other_flag} and --{flag} name the same column ({})",
                            crate::escape::visible(&name)
                        );
                    }
                }
                UnitColumn::Named(name)
            }
        };
        Ok(self)
    }

    /// The names as the header `found` (trimmed) has them: a field that no flag named takes its
    /// seed name as the header spells it, or when [`position`] does not find it, the first of its
    /// candidates
    /// ([`TIMESTAMP_CANDIDATES`], ...) that it finds in a column no other field reads, written as
    /// the header writes it. Also returns what was so chosen, `(seed name, column)`, for the
    /// message that says it. A field found nowhere keeps its name, for the error that names it.
    pub fn resolved<S: AsRef<str>>(
        &self,
        found: &[S],
    ) -> (ColumnNames, Vec<(&'static str, String)>) {
        let mut names = self.clone();
        let mut chosen = Vec::new();
        let defaults = [DEFAULT_TIMESTAMP, DEFAULT_BUILD, DEFAULT_CODE];
        let candidates: [&[&str]; 3] = [&TIMESTAMP_CANDIDATES, &BUILD_CANDIDATES, &CODE_CANDIDATES];
        let mut taken: Vec<usize> = [&names.timestamp, &names.build, &names.code, &names.count]
            .iter()
            .filter_map(|name| position(found, name))
            .collect();
        let fields = [&mut names.timestamp, &mut names.build, &mut names.code];
        for (field, name) in fields.into_iter().enumerate().filter(|&(i, _)| self.defaulted[i]) {
            if let Some(at) = position(found, name) {
                // The seed's name as the header spells it (`Build Version`; in JSON lines the
                // path `error.code`): not a guess, nothing to say.
                *name = found[at].as_ref().to_string();
                continue;
            }
            let free =
                |candidate: &&str| position(found, candidate).filter(|at| !taken.contains(at));
            let Some(at) = candidates[field].iter().find_map(free) else {
                continue;
            };
            taken.push(at);
            *name = found[at].as_ref().to_string();
            chosen.push((defaults[field], name.clone()));
        }
        (names, chosen)
    }

    /// Each field's flag and name, the count last.
    fn fields(&self) -> [(&'static str, &str); 4] {
        [
            ("timestamp-column", &self.timestamp),
            ("build-column", &self.build),
            ("code-column", &self.code),
            ("count-column", &self.count),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(ts: &str, build: &str, code: &str, count: &str) -> Result<ColumnNames> {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        ColumnNames::new(some(ts), some(build), some(code), some(count))
    }

    #[test]
    fn unit_candidates_match_whatever_their_separators_and_case() {
        for name in ["client_id", "ClientId", "client-id", "Client ID", "client.id", "CLIENT__ID"] {
            assert_eq!(unit_rank(name), Some(0), "{name}");
        }
        assert_eq!(unit_rank("user"), Some(14));
        assert_eq!(unit_rank("uid"), Some(12));
        assert_eq!(unit_rank("anonymousId"), Some(9));
        assert_eq!(unit_rank("distinct_id"), Some(10));
        assert_eq!(unit_rank("user_pseudo_id"), Some(11));
        for name in ["", "_", "client_ids", "clientid2", "Error_Code", "id", "client\u{fffd}id"] {
            assert_eq!(unit_rank(name), None, "{name}");
        }
    }

    #[test]
    fn a_column_is_found_as_named_first_then_whatever_its_separators() {
        let header = ["time", "Build Version", "error-code", "ERROR_CODE", "_"];
        assert_eq!(position(&header, "Build_Version"), Some(1));
        // The exact name, case ignored, wins over a spelling that comes first.
        assert_eq!(position(&header, "Error_Code"), Some(3));
        assert_eq!(position(&header, "Timestamp"), None);
        assert_eq!(position(&header, "__"), None);
        assert_eq!(position(&["Time\u{fffd}stamp"], "Timestamp"), None);
    }

    #[test]
    fn unnamed_fields_keep_the_seeds_names_and_the_count_stays_optional() {
        let names = named("ts", "", "", "").unwrap();
        assert_eq!(
            (names.timestamp.as_str(), names.build.as_str(), names.code.as_str()),
            ("ts", "Build_Version", "Error_Code")
        );
        assert_eq!((names.count.as_str(), names.count_required), ("Count", false));
        assert!(named("", "", "", "n").unwrap().count_required);
        assert_eq!(named("", "", "", "").unwrap(), ColumnNames::default());
    }

    #[test]
    fn empty_names_and_paths_with_empty_keys_are_refused() {
        let e = ColumnNames::new(Some(String::new()), None, None, None).unwrap_err();
        assert!(e.to_string().contains("--timestamp-column"), "{e}");
        for path in ["app..version", ".version", "app."] {
            let e = named("", path, "", "").unwrap_err().to_string();
            assert!(e.contains("--build-column") && e.contains("dotted path"), "{e}");
        }
        let e = named("", "", " code", "").unwrap_err().to_string();
        assert!(e.contains("--code-column") && e.contains("trimmed"), "{e}");
    }

    #[test]
    fn the_unit_column_is_auto_detected_off_or_named_and_validated() {
        let with = |unit: Option<&str>| ColumnNames::default().with_unit(unit.map(String::from));
        assert_eq!(ColumnNames::default().unit, UnitColumn::Off);
        assert_eq!(with(None).unwrap().unit, UnitColumn::Auto);
        assert_eq!(with(Some("None")).unwrap().unit, UnitColumn::Off);
        assert_eq!(with(Some("app.user")).unwrap().unit, UnitColumn::Named("app.user".into()));
        let e = with(Some("")).unwrap_err().to_string();
        assert!(e.contains("--unit-column must name a column"), "{e}");
        let e = with(Some("a..b")).unwrap_err().to_string();
        assert!(e.contains("--unit-column") && e.contains("dotted path"), "{e}");
        let e = with(Some(" user")).unwrap_err().to_string();
        assert!(e.contains("--unit-column") && e.contains("trimmed"), "{e}");
        let e = with(Some("error_code")).unwrap_err().to_string();
        assert!(e.contains("--code-column and --unit-column"), "{e}");
    }

    #[test]
    fn another_exporters_names_stand_in_for_the_seeds() {
        let guess = |header: &[&str]| {
            let (names, chosen) = ColumnNames::default().resolved(header);
            let fields = [names.timestamp, names.build, names.code];
            (fields, chosen.into_iter().map(|(_, column)| column).collect::<Vec<_>>())
        };
        // Written as the header writes them, whatever their separators and case.
        let (fields, chosen) = guess(&["Time", "host", "App Version", "error-type"]);
        assert_eq!(fields, ["Time", "App Version", "error-type"]);
        assert_eq!(chosen, ["Time", "App Version", "error-type"]);
        // The earlier candidate wins; a column the seed's name finds is never taken by another.
        let (fields, chosen) = guess(&["ts", "time", "version", "build", "Error_Code", "code"]);
        assert_eq!(fields, ["time", "build", "Error_Code"]);
        assert_eq!(chosen, ["time", "build"]);
        // The seed's names are taken as the header spells them; nothing is said of them.
        let (fields, chosen) = guess(&["timestamp", "Build Version", "error.code"]);
        assert_eq!(fields, ["timestamp", "Build Version", "error.code"]);
        assert!(chosen.is_empty());
        // None found: the seed's name stays, for the error.
        let (fields, chosen) = guess(&["when", "version", "what"]);
        assert_eq!(fields, ["Timestamp", "version", "Error_Code"]);
        assert_eq!(chosen, ["version"]);
        // A field a flag named is never guessed.
        let named = named("when", "", "", "").unwrap();
        let (names, chosen) = named.resolved(&["time", "build", "code"]);
        assert_eq!(names.timestamp, "when");
        assert_eq!(chosen.len(), 2);
    }

    #[test]
    fn one_column_for_two_fields_is_refused_whatever_its_case() {
        let e = named("", "error_code", "", "").unwrap_err().to_string();
        assert!(e.contains("--build-column and --code-column"), "{e}");
        let e = named("t", "", "", "T").unwrap_err().to_string();
        assert!(e.contains("--timestamp-column and --count-column"), "{e}");
    }
}
