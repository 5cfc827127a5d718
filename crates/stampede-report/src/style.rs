//! ANSI decoration (only when k6 would colour: stdout is a terminal and colours are not
//! disabled) and display width.

use unicode_normalization::UnicodeNormalization;

/// The colours k6's summary uses.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Color {
    Red,
    Green,
    Yellow,
    Cyan,
    White,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Red => "31",
            Color::Green => "32",
            Color::Yellow => "33",
            Color::Cyan => "36",
            Color::White => "37",
        }
    }
}

/// Decorates text with ANSI codes, or leaves it alone when colours are off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub(crate) colors: bool,
}

impl Style {
    /// `text` in `color`.
    pub(crate) fn paint(self, text: &str, color: Color) -> String {
        if !self.colors {
            return text.to_owned();
        }
        format!("\x1b[{}m{text}\x1b[0m", color.code())
    }

    /// `text` in a faint `color` (k6 puts the style code first: `ESC[2;36m`).
    pub(crate) fn faint(self, text: &str, color: Color) -> String {
        if !self.colors {
            return text.to_owned();
        }
        format!("\x1b[2;{}m{text}\x1b[0m", color.code())
    }

    /// Bold `text`.
    pub(crate) fn bold(self, text: &str) -> String {
        if !self.colors {
            return text.to_owned();
        }
        format!("\x1b[1m{text}\x1b[0m")
    }
}

/// The width of `s` on a terminal as k6 counts it: characters after NFKC normalization,
/// not counting ANSI escape sequences.
pub(crate) fn str_width(s: &str) -> usize {
    let mut in_esc = false;
    let mut in_long_esc = false;
    let mut width = 0;
    for c in s.nfkc() {
        if c == '\x1b' {
            in_esc = true;
            continue;
        }
        if in_esc && c == '[' {
            in_long_esc = true;
            continue;
        }
        let code = c as u32;
        if in_esc && in_long_esc && (0x40..=0x7e).contains(&code) {
            in_esc = false;
            in_long_esc = false;
            continue;
        }
        if in_esc && !in_long_esc && (0x40..=0x5f).contains(&code) {
            in_esc = false;
            continue;
        }
        if !in_esc && !in_long_esc {
            width += 1;
        }
    }
    width
}

/// What k6's console writer does on a terminal: clear the rest of each line (`ESC[0K`) before
/// its newline, so nothing of the progress bar is left behind.
pub fn clear_line_ends(text: &str) -> String {
    text.replace('\n', "\x1b[0K\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_skips_escapes_and_counts_chars() {
        assert_eq!(str_width("abc"), 3);
        assert_eq!(str_width("849.59µs"), 8);
        assert_eq!(str_width("\x1b[2;37m....:\x1b[0m"), 5);
        assert_eq!(str_width("e\u{301}"), 1);
    }

    #[test]
    fn plain_style_leaves_text_alone() {
        let s = Style { colors: false };
        assert_eq!(s.paint("x", Color::Red), "x");
        let c = Style { colors: true };
        assert_eq!(c.faint("....:", Color::White), "\x1b[2;37m....:\x1b[0m");
        assert_eq!(c.bold("HTTP"), "\x1b[1mHTTP\x1b[0m");
    }
}
