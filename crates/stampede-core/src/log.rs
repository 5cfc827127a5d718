//! k6's log lines: `time="..." level=info msg="..." source=console`, on stderr unless
//! `--log-output`, `--log-format`, `--console-output` and `-v` say otherwise ([`configure`]).

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

/// A log level as k6 prints it (ordered from the most verbose).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

/// How log lines are written: k6's `--log-format` (`text` or anything unknown, `json`, `raw`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
    Raw,
}

impl LogFormat {
    /// k6's `--log-format` value; like k6, anything unknown means text.
    pub fn parse(s: &str) -> LogFormat {
        match s {
            "json" => LogFormat::Json,
            "raw" => LogFormat::Raw,
            _ => LogFormat::Text,
        }
    }
}

/// Where log lines go: k6's `--log-output`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LogOutput {
    #[default]
    Stderr,
    Stdout,
    None,
    /// `file=PATH[,level=LEVEL]`: appended to, from `level` up.
    File {
        path: PathBuf,
        level: LogLevel,
    },
}

impl LogOutput {
    /// Parses k6's `--log-output` value. Loki is refused (stampede sends nothing but the test's
    /// own traffic and its configured outputs).
    pub fn parse(s: &str) -> Result<LogOutput, String> {
        let (kind, rest) = s.split_once('=').unwrap_or((s, ""));
        match kind {
            "stderr" => Ok(LogOutput::Stderr),
            "stdout" => Ok(LogOutput::Stdout),
            "none" => Ok(LogOutput::None),
            "file" => {
                let mut path = None;
                let mut level = LogLevel::Debug;
                for (i, part) in rest.split(',').enumerate() {
                    match part.split_once('=') {
                        Some(("level", l)) => {
                            level = LogLevel::parse(l).ok_or_else(|| {
                                format!("unknown log level {l:?} in --log-output {s:?}")
                            })?
                        }
                        Some(("path", p)) => path = Some(p),
                        None if i == 0 && !part.is_empty() => path = Some(part),
                        _ => return Err(format!("unknown log-output setting {part:?} in {s:?}")),
                    }
                }
                let path = path.ok_or_else(|| format!("--log-output {s:?} names no file"))?;
                Ok(LogOutput::File {
                    path: PathBuf::from(path),
                    level,
                })
            }
            "loki" => Err(format!(
                "unsupported log output '{s}': stampede does not send logs to Loki; use \
                 --log-output=file=PATH or stdout and ship the lines from there"
            )),
            _ => Err(format!("unsupported log output '{s}'")),
        }
    }
}

impl LogLevel {
    fn parse(s: &str) -> Option<LogLevel> {
        Some(match s {
            "debug" | "trace" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warning" | "warn" => LogLevel::Warning,
            "error" | "fatal" | "panic" => LogLevel::Error,
            _ => return None,
        })
    }
}

/// The logger's settings for the process.
#[derive(Debug, Clone, Default)]
pub struct LogConfig {
    pub format: LogFormat,
    pub output: LogOutput,
    /// `-v`: debug lines (`console.debug`) too.
    pub verbose: bool,
    /// `--console-output`: `console.*` lines go to this file (appended) instead.
    pub console_output: Option<PathBuf>,
}

enum Sink {
    Stderr,
    Stdout,
    None,
    File(Mutex<File>),
}

struct Logger {
    format: LogFormat,
    sink: Sink,
    min: LogLevel,
    verbose: bool,
    console: Option<Mutex<File>>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

fn open_append(path: &std::path::Path, what: &str) -> Result<Mutex<File>, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(Mutex::new)
        .map_err(|e| format!("can't open the {what} {}: {e}", path.display()))
}

/// Sets where and how the process logs; until then (and if never called) lines go to stderr
/// as text from `info` up. Errors name the file that can't be opened.
pub fn configure(cfg: &LogConfig) -> Result<(), String> {
    let verbose_min = if cfg.verbose {
        LogLevel::Debug
    } else {
        LogLevel::Info
    };
    let (sink, min) = match &cfg.output {
        LogOutput::Stderr => (Sink::Stderr, verbose_min),
        LogOutput::Stdout => (Sink::Stdout, verbose_min),
        LogOutput::None => (Sink::None, LogLevel::Error),
        // (nothing is written to Sink::None whatever the level)
        LogOutput::File { path, level } => (
            Sink::File(open_append(path, "log file")?),
            (*level).max(verbose_min),
        ),
    };
    let console = cfg
        .console_output
        .as_deref()
        .map(|p| open_append(p, "console output file"))
        .transpose()?;
    let _ = LOGGER.set(Logger {
        format: cfg.format,
        sink,
        min,
        verbose: cfg.verbose,
        console,
    });
    Ok(())
}

/// Formats a line in `format` (with its newline).
fn format_line(format: LogFormat, level: LogLevel, msg: &str, fields: &[(&str, &str)]) -> String {
    let mut line = match format {
        LogFormat::Text => log_line(level, msg, fields),
        LogFormat::Raw => msg.to_string(),
        LogFormat::Json => {
            let mut m = serde_json::Map::new();
            for (k, v) in fields {
                m.insert((*k).to_string(), (*v).into());
            }
            m.insert("level".into(), level.as_str().into());
            m.insert("msg".into(), msg.into());
            m.insert(
                "time".into(),
                humantime::format_rfc3339_seconds(SystemTime::now())
                    .to_string()
                    .into(),
            );
            serde_json::Value::Object(m).to_string()
        }
    };
    line.push('\n');
    line
}

/// Writes a whole line at once, so concurrent threads don't interleave.
fn write(sink: &Sink, line: &str) {
    match sink {
        Sink::Stderr => {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        Sink::Stdout => {
            let _ = std::io::stdout().lock().write_all(line.as_bytes());
        }
        Sink::None => {}
        Sink::File(f) => {
            if let Ok(mut f) = f.lock() {
                let _ = f.write_all(line.as_bytes());
            }
        }
    }
}

/// Writes a log line where the process logs (stderr unless configured otherwise).
pub fn log(level: LogLevel, msg: &str, fields: &[(&str, &str)]) {
    match LOGGER.get() {
        Some(l) if level >= l.min && !matches!(l.sink, Sink::None) => {
            write(&l.sink, &format_line(l.format, level, msg, fields));
        }
        Some(_) => {}
        None if level >= LogLevel::Info => write(
            &Sink::Stderr,
            &format_line(LogFormat::Text, level, msg, fields),
        ),
        None => {}
    }
}

/// A `console.*` line: to the `--console-output` file when there is one (as k6: without the
/// `source` field), else logged with `source=console`.
pub fn console(level: LogLevel, msg: &str) {
    match LOGGER.get() {
        Some(Logger {
            console: Some(file),
            format,
            verbose,
            ..
        }) => {
            if level >= LogLevel::Info || *verbose {
                let line = format_line(*format, level, msg, &[]);
                if let Ok(mut f) = file.lock() {
                    let _ = f.write_all(line.as_bytes());
                }
            }
        }
        _ => log(level, msg, &[("source", "console")]),
    }
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
