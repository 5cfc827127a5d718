//! Numbers, times and strings as k6 (Go) writes them in its outputs.

use std::fmt::Write as _;

use chrono::{Local, Offset, TimeZone};
use stampede_metrics::UnixNanos;

/// The shortest decimal digits that read back as `v` (no sign), and the decimal exponent of
/// the first digit: `v = 0.d1d2d3... × 10^(exp + 1)`.
fn shortest_digits(v: f64) -> (String, i32) {
    // Rust's `{:e}` writes the shortest round-trip digits: `1.234567e6`, `5e-324`.
    let s = format!("{:e}", v.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (digits, exp.parse().unwrap_or(0))
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`, what k6's JSON output writes for values:
/// shortest digits, an exponent (`1e+06`) when it is below -4 or at least 6.
pub(crate) fn go_g(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str(if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        });
        return;
    }
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    if v.fract() == 0.0 && v.abs() < 1e6 {
        // Counts and flags, most samples: as an integer, which they print as.
        out.push_str(itoa::Buffer::new().format(v as i64));
        return;
    }
    if v < 0.0 {
        out.push('-');
    }
    let (digits, exp) = shortest_digits(v);
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else {
        push_plain(out, &digits, exp);
    }
}

/// `digits` with the decimal point after the digit of exponent `exp`.
fn push_plain(out: &mut String, digits: &str, exp: i32) {
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
        return;
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        out.push_str(digits);
        for _ in digits.len()..int_len {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..int_len]);
        out.push('.');
        out.push_str(&digits[int_len..]);
    }
}

/// Writes times as Go's `time.RFC3339Nano` (or `RFC3339`) in the local time zone, as k6's
/// outputs do; the date and offset of the last second are kept, as samples come in order.
#[derive(Default)]
pub(crate) struct LocalTime {
    second: Option<i64>,
    /// `2026-12-07T17:32:17`
    prefix: String,
    /// `Z` or `+01:00`
    zone: String,
}

impl LocalTime {
    fn prepare(&mut self, secs: i64) {
        if self.second == Some(secs) {
            return;
        }
        self.second = Some(secs);
        self.prefix.clear();
        self.zone.clear();
        match Local.timestamp_opt(secs, 0).single() {
            Some(t) => {
                let _ = write!(self.prefix, "{}", t.format("%Y-%m-%dT%H:%M:%S"));
                let offset = t.offset().fix().local_minus_utc();
                if offset == 0 {
                    self.zone.push('Z');
                } else {
                    let _ = write!(
                        self.zone,
                        "{}{:02}:{:02}",
                        if offset < 0 { '-' } else { '+' },
                        offset.abs() / 3600,
                        offset.abs() / 60 % 60
                    );
                }
            }
            None => {
                let _ = write!(self.prefix, "{secs}");
            }
        }
    }

    /// `2026-12-07T17:32:17.17829439Z`: the fraction without trailing zeros, none if zero.
    pub(crate) fn rfc3339_nano(&mut self, out: &mut String, t: UnixNanos) {
        self.prepare(t.secs());
        out.push_str(&self.prefix);
        let nanos = t.subsec_nanos();
        if nanos != 0 {
            let mut frac = format!("{nanos:09}");
            while frac.ends_with('0') {
                frac.pop();
            }
            out.push('.');
            out.push_str(&frac);
        }
        out.push_str(&self.zone);
    }

    /// `2026-12-07T17:32:17Z`
    pub(crate) fn rfc3339(&mut self, out: &mut String, t: UnixNanos) {
        self.prepare(t.secs());
        out.push_str(&self.prefix);
        out.push_str(&self.zone);
    }
}

/// A JSON string as k6's JSON encoder (easyjson) writes it: `<`, `>`, `&`, U+2028 and U+2029
/// escaped as `\u003c`..., other non-ASCII characters as they are.
pub(crate) fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(v: f64) -> String {
        let mut s = String::new();
        go_g(&mut s, v);
        s
    }

    #[test]
    fn numbers_as_go_writes_them() {
        // Each pair is what k6 1.1.0 wrote in its JSON output for the value.
        for (v, want) in [
            (1.0, "1"),
            (0.0, "0"),
            (-3.0, "-3"),
            (42.5, "42.5"),
            (123456.0, "123456"),
            (999999.0, "999999"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (100000.5, "100000.5"),
            (123456789.123, "1.23456789123e+08"),
            (9007199254740992.0, "9.007199254740992e+15"),
            (1e20, "1e+20"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (1e-5, "1e-05"),
            (1e-7, "1e-07"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (2.130735, "2.130735"),
        ] {
            assert_eq!(g(v), want, "{v}");
        }
        // InfluxDB's lines use Go's 'f' format, which Rust's own float formatting matches.
        for (v, want) in [
            (1e21, "1000000000000000000000"),
            (0.00001, "0.00001"),
            (42.5, "42.5"),
            (-0.580375, "-0.580375"),
            (1.0, "1"),
        ] {
            assert_eq!(v.to_string(), want);
        }
    }

    #[test]
    fn times_as_go_writes_them() {
        let mut t = LocalTime::default();
        let mut s = String::new();
        t.rfc3339_nano(&mut s, UnixNanos(1_796_664_737_178_294_390));
        // The zone is the process's own: `Z` or `+hh:mm`.
        let (stamp, zone) = s.split_at(19);
        assert!(
            stamp.starts_with("2026-12-0") && stamp.as_bytes()[10] == b'T',
            "{s}"
        );
        let zone = zone
            .strip_prefix(".17829439")
            .expect("fraction without trailing zeros");
        assert!(
            zone == "Z" || (zone.len() == 6 && zone.as_bytes()[3] == b':'),
            "{s}"
        );
        let mut whole = String::new();
        t.rfc3339_nano(&mut whole, UnixNanos(1_796_664_737_000_000_000));
        assert_eq!(whole, format!("{stamp}{zone}"), "no fraction");
        let mut secs = String::new();
        t.rfc3339(&mut secs, UnixNanos(1_796_664_737_178_294_390));
        assert_eq!(secs, whole);
    }

    #[test]
    fn strings_as_easyjson_writes_them() {
        let mut s = String::new();
        json_string(&mut s, "a<b>&\"c\"\\ \t\u{2028}é/");
        // What k6 1.1.0 wrote for the same tag value.
        assert_eq!(s, r#""a\u003cb\u003e\u0026\"c\"\\ \t\u2028é/""#);
    }
}
