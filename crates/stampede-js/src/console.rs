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

/// Quotes a value the way logrus' text formatter does.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Formats one log line; `fields` follow `msg` as `key=value`.
pub fn log_line(level: LogLevel, msg: &str, fields: &[(&str, &str)]) -> String {
    let time = humantime::format_rfc3339_seconds(SystemTime::now());
    let mut line = format!(
        "time=\"{time}\" level={} msg={}",
        level.as_str(),
        quote(msg)
    );
    for (k, v) in fields {
        let needs_quotes =
            v.is_empty() || v.chars().any(|c| c.is_whitespace() || c == '"' || c == '=');
        if needs_quotes {
            line.push_str(&format!(" {k}={}", quote(v)));
        } else {
            line.push_str(&format!(" {k}={v}"));
        }
    }
    line
}

/// Writes a log line to stderr (whole line at once, so concurrent VUs don't interleave).
pub(crate) fn emit(level: LogLevel, msg: &str, fields: &[(&str, &str)]) {
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
}
