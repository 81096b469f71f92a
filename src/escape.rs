//! Untrusted text made safe to show a person.
//!
//! Error codes, build versions and input paths come from client applications and their users, so
//! they may hold anything: `ESC [2J` clears a terminal, `ESC ] 0 ; title BEL` retitles its window,
//! a newline followed by `::warning::` is a GitHub Actions workflow command, U+202E reverses the
//! text after it, and most C0 characters make an XML document (the SVG heatmap, JUnit) not
//! well-formed. Every human-facing output passes such text through [`visible`] first, the way git's
//! `quote_c_style` and GNU `ls` show control characters on a terminal; machine formats (JSON) keep
//! the exact string and let their own escaping carry it.
//!
//! What is escaped, each character as a visible sequence:
//!
//! - C0 controls (U+0000-U+001F, newline and tab included) and DEL (U+007F) as `\x1b`;
//! - C1 controls (U+0080-U+009F) and the characters that reorder or hide text (bidi embeddings,
//!   overrides and isolates U+202A-U+202E and U+2066-U+2069, the marks U+200E, U+200F, U+061C,
//!   the line and paragraph separators U+2028, U+2029, and U+FEFF) as `\u{202e}`;
//! - a backslash, as `\\`, but only in text that has something else escaped, so that an escape
//!   sequence is never ambiguous there while ordinary labels with a backslash are left as written.
//!
//! Everything else, printable Unicode included, passes unchanged.

use std::borrow::Cow;
use std::fmt::{Display, Write};

/// `text` with every control, bidi and invisible-ordering character shown as an escape sequence
/// (see the module docs); borrowed when nothing needed escaping.
pub fn visible(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// [`visible`] for text that may hold parts already escaped (an error message built from escaped
/// labels and other text): every character [`visible`] escapes is escaped, but backslashes are
/// left alone, so what was escaped once is not escaped again. The last guard before stderr.
pub fn inert(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// The escaping of [`visible`] and [`inert`]; `backslashes` doubles them.
fn escape(text: &str, backslashes: bool) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '\\' if backslashes => out.push_str("\\\\"),
            ch if needs_escape(ch) && (ch as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", ch as u32);
            }
            ch if needs_escape(ch) => {
                let _ = write!(out, "\\u{{{:x}}}", ch as u32);
            }
            ch => out.push(ch),
        }
    }
    Cow::Owned(out)
}

/// Whether [`visible`] escapes `ch`.
fn needs_escape(ch: char) -> bool {
    matches!(ch,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}')
}

/// The most items a message lists before it says how many more there are.
pub const MAX_LISTED: usize = 10;

/// `items` joined with `, `, cut after [`MAX_LISTED`] with "and N more" (N with thousands
/// separators), so a message about 100,000 builds stays one short line.
pub fn list_cut<T: Display>(items: impl ExactSizeIterator<Item = T>) -> String {
    let total = items.len();
    let mut out = String::new();
    for (i, item) in items.take(MAX_LISTED).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{item}");
    }
    if total > MAX_LISTED {
        let _ = write!(out, " and {} more", thousands(total - MAX_LISTED));
    }
    out
}

/// `n` with a comma every three digits: `99990` as `99,990`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_labels_pass_unchanged_and_borrowed() {
        for label in ["E_TIMEOUT", "5.0007.610.011", "código-ß", "a\\b", "日本語 ok"] {
            assert!(matches!(visible(label), Cow::Borrowed(s) if s == label), "{label}");
        }
    }

    #[test]
    fn terminal_escapes_are_shown_not_sent() {
        assert_eq!(visible("\u{1b}[2J"), "\\x1b[2J");
        assert_eq!(visible("\u{1b}]0;title\u{7}"), "\\x1b]0;title\\x07");
        assert_eq!(visible("a\0b\u{7f}"), "a\\x00b\\x7f");
        assert_eq!(visible("x\u{9b}31m"), "x\\u{9b}31m");
    }

    #[test]
    fn a_newline_cannot_start_a_workflow_command() {
        let shown = visible("E1\n::warning::x");
        assert_eq!(shown, "E1\\x0a::warning::x");
        assert!(!shown.contains('\n'));
        assert_eq!(visible("a\r\tb"), "a\\x0d\\x09b");
    }

    #[test]
    fn characters_that_reorder_text_are_shown() {
        assert_eq!(visible("abc\u{202e}def"), "abc\\u{202e}def");
        assert_eq!(visible("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(visible("\u{feff}x"), "\\u{feff}x");
    }

    #[test]
    fn a_backslash_beside_an_escape_is_doubled_so_the_escape_is_unambiguous() {
        // The label `\x1b` (four characters) and ESC look different once escaped.
        assert_eq!(visible("\\x1b\u{1b}"), "\\\\x1b\\x1b");
    }

    proptest::proptest! {
        /// Whatever the input, the output holds no character that a terminal, a workflow-command
        /// parser or XML 1.0 would act on.
        #[test]
        fn the_output_is_always_inert(text in "\\PC*|[\\x00-\\x7f\u{80}-\u{9f}\u{202a}-\u{202e}]*") {
            let shown = visible(&text);
            proptest::prop_assert!(!shown.chars().any(needs_escape), "{shown:?}");
        }
    }

    #[test]
    fn inert_escapes_controls_but_not_what_was_escaped_before() {
        assert_eq!(inert("x\u{1b}]0;t\u{7}: seen a\\x1b"), "x\\x1b]0;t\\x07: seen a\\x1b");
        assert!(matches!(inert("plain \\ text"), Cow::Borrowed(_)));
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        assert_eq!(list_cut(["a", "b"].iter()), "a, b");
        let many: Vec<usize> = (0..100_000).collect();
        let line = list_cut(many.iter());
        assert_eq!(line, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 99,990 more");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
