//! JSON lines: one JSON object per line, its fields found by key path.
//!
//! An input is read as JSON lines when its name ends in `.jsonl` or `.ndjson` (`.gz` after it
//! too), or when its first non-blank byte is `{`. Each non-blank line must be one JSON object;
//! the four fields are found by the key paths of [`super::columns::ColumnNames`], split at the
//! dots (`app.version` is the key `version` of the object under `app`), each key matched
//! case-insensitively. Other keys are skipped unread. A key that matches twice in one object is
//! refused: which one was meant is a guess.
//!
//! The line is parsed once, borrowing: the wanted values are taken as raw JSON text
//! (`serde_json::value::RawValue`), so no `serde_json::Value` is built, a string without escapes
//! is used in place, and a number keeps the digits it was written with (`1.10` as a build version
//! stays `1.10`, `500` as a code is the label `500`). A nested object holding a wanted key is
//! parsed again from its raw text, which costs only the lines that have one.
//!
//! This module only finds the values; what they must be (a timestamp, a non-negative count,
//! non-empty labels within the length limits) is checked by [`super::Rows`], as for CSV.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::Invalid;
use super::columns::{ColumnNames, UnitColumn};

/// The five fields, in this order: timestamp, build, code, count, unit.
pub const FIELDS: usize = 5;

/// The unit's place in [`FIELDS`].
const UNIT: usize = 4;

/// A wanted value as written in the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// A string, unescaped.
    Text(Cow<'a, str>),
    /// A number, as written.
    Number(&'a str),
    /// `null`.
    Null,
    /// `true`, `false`, an array or an object.
    Other(&'a str),
}

/// One non-blank line's wanted values, `None` where the key is missing.
#[derive(Debug)]
pub struct Line<'a> {
    /// The line's number, from 1.
    pub line: u64,
    /// The line's text, for messages.
    pub text: &'a str,
    /// The values, as [`FIELDS`] orders them.
    pub values: [Option<Value<'a>>; FIELDS],
    /// The unit's key path, when units are read.
    pub unit_path: Option<&'a str>,
}

/// Why a line gave no values.
pub enum LineError {
    /// The input cannot be read on.
    Fatal(io::Error),
    /// The line is invalid: its number, the reason, and what is wrong.
    Row(u64, Invalid, String),
}

/// Reads JSON lines from `R` one at a time.
pub struct JsonLines<R> {
    reader: R,
    buf: Vec<u8>,
    line: u64,
    paths: [Vec<String>; FIELDS],
    /// The unit's key path (empty in `paths` when there is none).
    unit: Option<String>,
    /// Whether the unit key is still to be found among the first line's key paths
    /// (auto-detection).
    unit_auto: bool,
    /// The fields' key paths as the first line writes them ([`ColumnNames::resolved`]), and
    /// whether that line is still to come.
    names: ColumnNames,
    unresolved: bool,
    /// The fields found by another exporter's name: `(seed name, key path)`.
    chosen: Vec<(&'static str, String)>,
}

impl<R: BufRead> JsonLines<R> {
    /// Reads lines from `reader`, looking for the fields `names` names. An auto-detected unit key
    /// is the earliest of [`super::columns::UNIT_CANDIDATES`] among the first line's key paths
    /// ([`unit_key`]).
    pub fn new(reader: R, names: &ColumnNames) -> JsonLines<R> {
        let unit = match &names.unit {
            UnitColumn::Named(name) => Some(name.clone()),
            UnitColumn::Off | UnitColumn::Auto => None,
        };
        let mut paths = split_paths(names);
        paths[UNIT] = unit.as_deref().map_or_else(Vec::new, split_path);
        JsonLines {
            reader,
            buf: Vec::with_capacity(256),
            line: 0,
            paths,
            unit,
            unit_auto: names.unit == UnitColumn::Auto,
            names: names.clone(),
            unresolved: true,
            chosen: Vec::new(),
        }
    }

    /// The fields found by another exporter's name for them, once the first line has shown its
    /// keys: `(seed name, key path)`.
    pub fn chosen(&self) -> &[(&'static str, String)] {
        &self.chosen
    }

    /// The unit's key path, once known.
    pub fn unit_path(&self) -> Option<&str> {
        self.unit.as_deref()
    }

    /// The next non-blank line's values, `None` at the end of the input, with the fields' key
    /// paths as the first line wrote them.
    pub fn next_line(&mut self) -> Result<Option<(Line<'_>, &ColumnNames)>, LineError> {
        let (start, end) = loop {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(e) => return Err(LineError::Fatal(e)),
            }
            self.line += 1;
            let bom = if self.line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
            if let Some((start, end)) = content(&self.buf[bom..]) {
                break (bom + start, bom + end);
            }
        };
        let line = self.line;
        let text = object_text(line, &self.buf[start..end])?;
        if std::mem::take(&mut self.unresolved) {
            let (names, chosen) = self.names.resolved(&key_paths(text));
            let unit = std::mem::take(&mut self.paths[UNIT]);
            self.paths = split_paths(&names);
            self.paths[UNIT] = unit;
            (self.names, self.chosen) = (names, chosen);
        }
        if std::mem::take(&mut self.unit_auto)
            && let Some(key) = unit_key(text, &self.names)
        {
            self.paths[UNIT] = split_path(&key);
            self.unit = Some(key);
        }
        let line = parse_line(line, text, &self.paths, self.unit.as_deref())?;
        Ok(Some((line, &self.names)))
    }
}

/// A key path split at its dots.
fn split_path(name: &str) -> Vec<String> {
    name.split('.').map(str::to_string).collect()
}

/// The key paths of the four fields `names` names, split at their dots, in [`FIELDS`] order; the
/// unit's is empty (no unit is read).
pub fn split_paths(names: &ColumnNames) -> [Vec<String>; FIELDS] {
    [
        split_path(&names.timestamp),
        split_path(&names.build),
        split_path(&names.code),
        split_path(&names.count),
        Vec::new(),
    ]
}

/// The range of `line` between its first and last bytes that are not ASCII whitespace, `None`
/// for a blank line.
pub fn content(line: &[u8]) -> Option<(usize, usize)> {
    let first = line.iter().position(|b| !b.is_ascii_whitespace())?;
    let last = line.iter().rposition(|b| !b.is_ascii_whitespace()).unwrap_or(first);
    Some((first, last + 1))
}

/// A non-blank line's text (trimmed, as [`content`] cuts it), checked to be UTF-8 and to start
/// as an object; `line` is its number, for the error.
pub fn object_text(line: u64, text: &[u8]) -> Result<&str, LineError> {
    let text = std::str::from_utf8(text).map_err(|_| {
        LineError::Row(
            line,
            Invalid::Utf8,
            format!(
                "the line is not valid UTF-8 ({})",
                super::quote(&String::from_utf8_lossy(text))
            ),
        )
    })?;
    if !text.starts_with('{') {
        return Err(LineError::Row(
            line,
            Invalid::Json,
            format!("not a JSON object ({})", super::quote(text)),
        ));
    }
    Ok(text)
}

/// The unit key path auto-detection finds in a line: the earliest of
/// [`super::columns::UNIT_CANDIDATES`] among its key paths ([`super::columns::unit_rank`]), as
/// the line spells it, other than the paths `names` reads the other fields from.
pub fn unit_key(text: &str, names: &ColumnNames) -> Option<String> {
    let taken = [&names.timestamp, &names.build, &names.code, &names.count];
    key_paths(text)
        .into_iter()
        .filter(|key| !taken.iter().any(|name| key.eq_ignore_ascii_case(name)))
        .filter_map(|key| super::columns::unit_rank(&key).map(|rank| (rank, key)))
        .min()
        .map(|(_, key)| key)
}

/// The wanted values of one line, `text` as [`object_text`] returns it, found by `paths` (the
/// unit's among them when `unit_path` names it); `line` is the line's number.
pub fn parse_line<'a>(
    line: u64,
    text: &'a str,
    paths: &[Vec<String>; FIELDS],
    unit_path: Option<&'a str>,
) -> Result<Line<'a>, LineError> {
    let bad = |what: String| LineError::Row(line, Invalid::Json, what);
    let mut raw: [Option<&RawValue>; FIELDS] = [None; FIELDS];
    let mut twice = None;
    let mut parser = serde_json::Deserializer::from_str(text);
    let parsed = Level {
        paths,
        depth: 0,
        active: if unit_path.is_some() { (1 << FIELDS) - 1 } else { (1 << UNIT) - 1 },
        raw: &mut raw,
        twice: &mut twice,
    }
    .deserialize(&mut parser)
    .and_then(|()| parser.end());
    if let Err(e) = parsed {
        let hint = if line == 1 && text == "{" {
            "; JSON lines hold one object per line (`jq -c .` writes a document so)"
        } else {
            ""
        };
        return Err(bad(format!(
            "malformed JSON at column {}: {}{hint} ({})",
            e.column(),
            without_position(&e),
            super::quote(text)
        )));
    }
    if let Some(field) = twice {
        return Err(bad(format!(
            "the key {} appears twice in the object",
            crate::escape::visible(&paths[field].join("."))
        )));
    }
    let mut values: [Option<Value<'_>>; FIELDS] = [None, None, None, None, None];
    for (value, raw) in values.iter_mut().zip(raw) {
        if let Some(raw) = raw {
            *value = Some(value_of(raw.get()).ok_or_else(|| {
                bad(format!("a string with a bad escape ({})", super::quote(raw.get())))
            })?);
        }
    }
    Ok(Line { line, text, values, unit_path })
}

/// The key paths of every value in a JSON object, nested objects flattened with dots
/// (`app.version`), sorted; for messages about a missing key. Empty when `text` is not a JSON
/// object.
pub fn key_paths(text: &str) -> Vec<String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        if let serde_json::Value::Object(map) = value {
            for (key, value) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                match value {
                    serde_json::Value::Object(inner) if !inner.is_empty() => {
                        walk(&path, value, out)
                    }
                    _ => out.push(path),
                }
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        walk("", &value, &mut out);
    }
    out
}

/// A serde_json message without its ` at line L column C` (the line is the file's, given apart).
fn without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message,
    }
}

/// The value of raw JSON text; `None` for a string whose escapes do not decode.
fn value_of(raw: &str) -> Option<Value<'_>> {
    Some(match raw.as_bytes().first() {
        Some(b'"') => {
            let inner = &raw[1..raw.len() - 1];
            if memchr::memchr(b'\\', inner.as_bytes()).is_some() {
                Value::Text(Cow::Owned(serde_json::from_str::<String>(raw).ok()?))
            } else {
                Value::Text(Cow::Borrowed(inner))
            }
        }
        Some(b'-' | b'0'..=b'9') => Value::Number(raw),
        Some(b'n') => Value::Null,
        _ => Value::Other(raw),
    })
}

/// One object level of the walk: the fields in `active` are wanted here, each by the key
/// `paths[field][depth]`.
struct Level<'p, 'r, 'de> {
    paths: &'p [Vec<String>; FIELDS],
    depth: usize,
    active: u8,
    raw: &'r mut [Option<&'de RawValue>; FIELDS],
    twice: &'r mut Option<usize>,
}

impl<'de> DeserializeSeed<'de> for Level<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Level<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Level { paths, depth, active, raw, twice } = self;
        while let Some(matched) = map.next_key_seed(Key { paths, depth, active })? {
            if matched == 0 {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value: &'de RawValue = map.next_value()?;
            let mut deeper = 0;
            for field in (0..FIELDS).filter(|f| matched & (1 << f) != 0) {
                if paths[field].len() == depth + 1 {
                    if raw[field].is_some() {
                        twice.get_or_insert(field);
                    }
                    raw[field] = Some(value);
                } else {
                    deeper |= 1 << field;
                }
            }
            // A path that goes on needs an object here; anything else leaves its field missing.
            if deeper != 0 && value.get().starts_with('{') {
                let mut nested = serde_json::Deserializer::from_str(value.get());
                Level {
                    paths,
                    depth: depth + 1,
                    active: deeper,
                    raw: &mut *raw,
                    twice: &mut *twice,
                }
                .deserialize(&mut nested)
                .map_err(de::Error::custom)?;
            }
        }
        Ok(())
    }
}

/// A key, answered with the fields (a bit each) whose path has it at this depth.
struct Key<'p> {
    paths: &'p [Vec<String>; FIELDS],
    depth: usize,
    active: u8,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = u8;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<u8, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Key<'_> {
    type Value = u8;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<u8, E> {
        let mut matched = 0;
        for field in (0..FIELDS).filter(|f| self.active & (1 << f) != 0) {
            if self.paths[field][self.depth].eq_ignore_ascii_case(key) {
                matched |= 1 << field;
            }
        }
        Ok(matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ts: &str, build: &str, code: &str) -> ColumnNames {
        ColumnNames::new(Some(ts.into()), Some(build.into()), Some(code.into()), None).unwrap()
    }

    fn first(text: &str, names: &ColumnNames) -> Result<[Option<Value<'static>>; FIELDS], String> {
        let mut lines = JsonLines::new(text.as_bytes(), names);
        match lines.next_line() {
            Ok(Some((line, _))) => Ok(line.values.map(|v| {
                v.map(|v| match v {
                    Value::Text(t) => Value::Text(Cow::Owned(t.into_owned())),
                    Value::Number(n) => Value::Text(Cow::Owned(format!("#{n}"))),
                    Value::Null => Value::Null,
                    Value::Other(o) => Value::Text(Cow::Owned(format!("?{o}"))),
                })
            })),
            Ok(None) => Err("end".into()),
            Err(LineError::Row(line, reason, what)) => Err(format!("{line} {reason:?} {what}")),
            Err(LineError::Fatal(e)) => Err(e.to_string()),
        }
    }

    fn text(s: &str) -> Option<Value<'static>> {
        Some(Value::Text(Cow::Owned(s.to_string())))
    }

    #[test]
    fn nested_paths_are_followed_and_other_keys_skipped() {
        let line = r#"{"ts":"0:00:01","skip":{"code":[1,{"x":2}]},"app":{"name":"a","version":"1.0"},"error":{"code":"E\u0033"}}"#;
        let values = first(line, &names("ts", "app.version", "error.code")).unwrap();
        assert_eq!(values, [text("0:00:01"), text("1.0"), text("E3"), None, None]);
    }

    #[test]
    fn keys_match_case_insensitively_and_numbers_keep_their_digits() {
        let line = r#"{"TIMESTAMP":1795860005000,"build_version":1.10,"Error_Code":500,"count":2}"#;
        let values = first(line, &ColumnNames::default()).unwrap();
        assert_eq!(values, [text("#1795860005000"), text("#1.10"), text("#500"), text("#2"), None]);
    }

    #[test]
    fn a_key_matching_twice_is_refused() {
        let e = first(r#"{"ts":1,"TS":2}"#, &names("ts", "b", "c")).unwrap_err();
        assert!(e.contains("the key ts appears twice"), "{e}");
    }

    #[test]
    fn a_path_through_a_non_object_leaves_the_field_missing() {
        let values = first(r#"{"app":"1.0","app2":{}}"#, &names("t", "app.version", "c")).unwrap();
        assert_eq!(values, [None, None, None, None, None]);
    }

    #[test]
    fn lines_that_are_not_one_object_are_refused_with_their_number() {
        let e = first("\n\n[1,2]\n", &ColumnNames::default()).unwrap_err();
        assert!(e.starts_with("3 Json not a JSON object"), "{e}");
        let e = first("{\n  \"ts\": 1\n}\n", &ColumnNames::default()).unwrap_err();
        assert!(
            e.contains("malformed JSON at column 1") && e.contains("one object per line"),
            "{e}"
        );
        let e = first(r#"{"ts":1} {"#, &ColumnNames::default()).unwrap_err();
        assert!(e.contains("trailing characters"), "{e}");
    }

    #[test]
    fn key_paths_flatten_nested_objects() {
        assert_eq!(
            key_paths(r#"{"ts":1,"app":{"version":"1","meta":{"x":null}},"e":{}}"#),
            ["app.meta.x", "app.version", "e", "ts"]
        );
        assert!(key_paths("{").is_empty());
    }
}
