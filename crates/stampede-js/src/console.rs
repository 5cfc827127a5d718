//! Log lines from scripts and natives (the format lives in `stampede_core::log`).

pub use stampede_core::{log, log_line, LogLevel};

/// Writes a log line to stderr.
pub(crate) fn emit(level: LogLevel, msg: &str, fields: &[(&str, &str)]) {
    stampede_core::log(level, msg, fields);
}
