//! The order k6 lists metrics in. k6 sorts names with JavaScript's `localeCompare` (Unicode
//! collation, root locale), not byte order: case is ignored at first (`aB` before `b`), lower
//! case wins ties (`ab` < `aB` < `Ab`), and punctuation sorts before digits before letters
//! (`a_b` < `a1` < `aa`). This is a small model of that collation, exact for the characters
//! metric names and tag selectors use.

use std::cmp::Ordering;

/// Punctuation and symbols in the order the Unicode root collation puts them (all before
/// digits).
const PUNCTUATION: &str = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";

/// Primary weight: what the character is, ignoring case.
fn primary(c: char) -> (u8, u32) {
    if c.is_whitespace() || c.is_control() {
        return (0, c as u32);
    }
    if let Some(pos) = PUNCTUATION.find(c) {
        return (1, pos as u32);
    }
    if c.is_ascii_digit() {
        return (2, c as u32);
    }
    if c.is_ascii_alphabetic() {
        return (3, c.to_ascii_lowercase() as u32);
    }
    if c.is_alphabetic() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        return (4, lower as u32);
    }
    // Other symbols: after the ASCII punctuation and before digits.
    (1, 0x100 + c as u32)
}

/// Tertiary weight: lower case before upper case.
fn tertiary(c: char) -> u8 {
    u8::from(c.is_uppercase())
}

/// Compares two strings as k6's `localeCompare` does.
pub(crate) fn locale_cmp(a: &str, b: &str) -> Ordering {
    a.chars()
        .map(primary)
        .cmp(b.chars().map(primary))
        .then_with(|| a.chars().map(tertiary).cmp(b.chars().map(tertiary)))
        .then_with(|| a.cmp(b))
}

/// k6's metric order: by parent metric name, then by the sub-metric selector, so
/// `http_req_duration{expected_response:true}` follows `http_req_duration` directly.
pub(crate) fn metric_name_cmp(a: &str, b: &str) -> Ordering {
    let (a_parent, a_sub) = split_submetric(a);
    let (b_parent, b_sub) = split_submetric(b);
    locale_cmp(a_parent, b_parent).then_with(|| locale_cmp(a_sub, b_sub))
}

/// `("http_req_duration", "{status:200}")`; the selector part is empty for a plain metric.
pub(crate) fn split_submetric(name: &str) -> (&str, &str) {
    match name.find('{') {
        Some(i) => name.split_at(i),
        None => (name, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_k6() {
        // The order k6 v1.1.0 printed for these counters (tests/fixtures/sort_order.txt).
        let want = [
            "__", "_a", "a__", "a_1", "a_10", "a_9", "a_b", "a_B", "A_b", "a1", "A1", "a10", "a9",
            "aa", "ab", "aB", "Ab", "ab_c", "abc", "bb", "Bb", "zz",
        ];
        let mut names = want.to_vec();
        names.reverse();
        names.sort_by(|a, b| locale_cmp(a, b));
        assert_eq!(names, want);
    }

    #[test]
    fn submetrics_follow_their_parent() {
        let mut names = vec![
            "http_reqs",
            "http_req_duration{status:200}",
            "http_req_failed",
            "http_req_duration",
            "http_req_duration{expected_response:true}",
        ];
        names.sort_by(|a, b| metric_name_cmp(a, b));
        assert_eq!(
            names,
            [
                "http_req_duration",
                "http_req_duration{expected_response:true}",
                "http_req_duration{status:200}",
                "http_req_failed",
                "http_reqs",
            ]
        );
    }
}
