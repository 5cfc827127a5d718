//! k6's exit codes, and the error type that carries one.

use std::fmt;

pub const OK: u8 = 0;
pub const THRESHOLDS_FAILED: u8 = 99;
pub const INVALID_CONFIG: u8 = 104;
pub const INTERRUPTED: u8 = 105;
pub const SCRIPT_EXCEPTION: u8 = 107;
pub const SCRIPT_ABORTED: u8 = 108;
pub const MARKED_FAILED: u8 = 110;
pub const USAGE: u8 = 255;

/// A failure that ends the command with a message and an exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    /// k6 adds `hint="script exception"` to script errors.
    pub hint: Option<&'static str>,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
            hint: None,
        }
    }

    pub fn script(message: impl Into<String>) -> Failure {
        Failure {
            code: SCRIPT_EXCEPTION,
            message: message.into(),
            hint: Some("script exception"),
        }
    }

    pub fn config(message: impl fmt::Display) -> Failure {
        Failure::new(
            INVALID_CONFIG,
            format!("There were problems with the specified script configuration:\n\t- {message}"),
        )
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::new(USAGE, e.to_string())
    }
}

/// Prints the failure as a k6 log line on stderr and returns its code.
pub fn report(f: Failure) -> u8 {
    let fields: Vec<(&str, &str)> = f.hint.iter().map(|h| ("hint", *h)).collect();
    stampede_js::log(stampede_js::LogLevel::Error, &f.message, &fields);
    f.code
}
