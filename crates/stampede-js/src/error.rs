use std::fmt;

/// What went wrong in a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsErrorKind {
    /// The script (or a module it imports) does not parse.
    Syntax,
    /// An exception was thrown (init context, setup, teardown or an iteration).
    Exception,
    /// A module or file could not be found or read.
    Module,
    /// The iteration was interrupted by the end of the test.
    Interrupted,
    /// The QuickJS runtime could not be created.
    Runtime,
}

/// A script error with its message and, for exceptions, the JS stack
/// (`at default (file:///path/script.js:2:3)`).
#[derive(Debug, Clone, PartialEq)]
pub struct JsError {
    pub kind: JsErrorKind,
    pub message: String,
    pub stack: String,
}

impl JsError {
    pub fn new(kind: JsErrorKind, message: impl Into<String>) -> JsError {
        JsError {
            kind,
            message: message.into(),
            stack: String::new(),
        }
    }

    /// The message followed by the stack, one `\tat ...` line per frame, as k6 logs it.
    pub fn with_stack(&self) -> String {
        if self.stack.is_empty() {
            self.message.clone()
        } else {
            format!("{}\n{}", self.message, self.stack)
        }
    }
}

impl fmt::Display for JsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.with_stack())
    }
}

impl std::error::Error for JsError {}

/// Turns QuickJS's `    at f (path:line:col)` stack lines into k6's `\tat f (file:///path:line:col)`
/// (`\tat f (native)` for the embedded k6 modules' functions).
pub(crate) fn format_stack(stack: &str) -> String {
    stack
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains("<stampede>"))
        .map(|l| {
            let l = l.strip_prefix("at ").unwrap_or(l);
            let l = if let Some(f) = l.strip_suffix("(<null>:0:1)") {
                // A function of an embedded k6 module (its bytecode has no line table); k6
                // marks its own Go functions the same way.
                format!("{f}(native)")
            } else if let Some(i) = l.find("(/") {
                format!("{}(file://{}", &l[..i], &l[i + 1..])
            } else if l.starts_with('/') {
                format!("file://{l}")
            } else {
                l.to_string()
            };
            format!("\tat {l}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_lines_become_k6_style() {
        let s = "    at default (/tmp/x.js:2:3)\n    at /tmp/x.js:7:1\n";
        assert_eq!(
            format_stack(s),
            "\tat default (file:///tmp/x.js:2:3)\n\tat file:///tmp/x.js:7:1"
        );
        let s = "    at request (<null>:0:1)\n    at default (/tmp/x.js:4:18)\n";
        assert_eq!(
            format_stack(s),
            "\tat request (native)\n\tat default (file:///tmp/x.js:4:18)"
        );
    }
}
