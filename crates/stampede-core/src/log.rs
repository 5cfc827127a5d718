//! k6's log lines: `time="..." level=info msg="..." source=console`, on stderr.

use std::io::Write;
use std::time::SystemTime;

/// A log level as k6 prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
        }
    }
}

/// Whether logrus' text formatter quotes `s`: anything outside `[A-Za-z0-9-._/@^+]` (an
/// empty value is written bare).
fn needs_quoting(s: &str) -> bool {
    !s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._/@^+".contains(&b))
}

/// Appends `s` quoted as Go's `%q` does (logrus quotes with it): printable characters as they
/// are, the usual escapes, other control characters as `\xNN` or `\uNNNN`.
fn push_quoted(out: &mut String, s: &str) {
    use std::fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends ` key=value`, the value quoted when logrus would.
fn push_field(line: &mut String, key: &str, value: &str) {
    line.push(' ');
    line.push_str(key);
    line.push('=');
    if needs_quoting(value) {
        push_quoted(line, value);
    } else {
        line.push_str(value);
    }
}

/// Formats one log line; `fields` follow `msg` as `key=value`. As in logrus, an empty message
/// leaves out `msg` altogether.
pub fn log_line(level: LogLevel, msg: &str, fields: &[(&str, &str)]) -> String {
    let time = humantime::format_rfc3339_seconds(SystemTime::now());
    let mut line = format!("time=\"{time}\" level={}", level.as_str());
    if !msg.is_empty() {
        push_field(&mut line, "msg", msg);
    }
    for (k, v) in fields {
        push_field(&mut line, k, v);
    }
    line
}

/// Writes a log line to stderr (whole line at once, so concurrent threads don't interleave).
pub fn log(level: LogLevel, msg: &str, fields: &[(&str, &str)]) {
    let mut line = log_line(level, msg, fields);
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_logrus() {
        let l = log_line(LogLevel::Info, "hello {\"a\":1}", &[("source", "console")]);
        assert!(l.starts_with("time=\""), "{l}");
        assert!(
            l.ends_with(" level=info msg=\"hello {\\\"a\\\":1}\" source=console"),
            "{l}"
        );
    }

    #[test]
    fn quotes_only_what_logrus_quotes() {
        let msg = |m: &str| {
            let l = log_line(LogLevel::Info, m, &[("source", "console")]);
            l.split_once(" level=info").unwrap().1.to_string()
        };
        // Each expected text is what k6 1.1.0 printed for console.log of the same value.
        assert_eq!(msg(""), " source=console");
        assert_eq!(msg("false"), " msg=false source=console");
        assert_eq!(
            msg("a/b@c^d+e-f.g_h"),
            " msg=a/b@c^d+e-f.g_h source=console"
        );
        assert_eq!(msg("a b"), " msg=\"a b\" source=console");
        assert_eq!(msg("x=y"), " msg=\"x=y\" source=console");
        assert_eq!(msg("héllo"), " msg=\"héllo\" source=console");
        assert_eq!(msg("tab\there"), " msg=\"tab\\there\" source=console");
        assert_eq!(msg("q\"q"), " msg=\"q\\\"q\" source=console");
        assert_eq!(msg("b\\s"), " msg=\"b\\\\s\" source=console");
        assert_eq!(msg("ctl\u{1}x"), " msg=\"ctl\\x01x\" source=console");
    }
}
