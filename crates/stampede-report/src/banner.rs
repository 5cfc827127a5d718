//! The banner k6 prints before the run: logo, execution, script, output and scenarios.

use std::time::Duration;

use crate::style::{clear_line_ends, Color, Style};

/// stampede's own mark, its name, five lines high like k6's logo.
const LOGO: [&str; 5] = [
    r"        _                           _     ",
    r"  ___ _| |_ __ _ _ __  _ __  ___ __| |___ ",
    r" (_-<|_   _/ _` | '  \| '_ \/ -_) _` / -_)",
    r" /__/  |_| \__,_|_|_|_| .__/\___\__,_\___|",
    r"                      |_|                 ",
];

/// The banner, laid out as k6's when stdout is not a terminal (and `-q` is not given; `-q`
/// drops it), from the leading blank line to the blank line after the scenario list, with
/// stampede's own logo in place of k6's:
///
/// ```text
///
///         _                           _
/// …
///      execution: local
///         script: script.js
///         output: -
///
///      scenarios: (100.00%) 1 scenario, 3 max VUs, 32s max duration (incl. graceful stop):
///               * default: 3 looping VUs for 2s (gracefulStop: 30s)
///
/// ```
///
/// `scenarios` are (name, description) pairs in the order to print them; k6 puts them in
/// start-time order and does not align the names. `max_duration` is printed as Go prints a
/// duration (see [`go_duration`]).
pub fn render_banner(
    script: &str,
    output: &str,
    scenarios: &[(String, String)],
    max_vus: u64,
    max_duration: Duration,
) -> String {
    banner(
        script,
        output,
        scenarios,
        max_vus,
        max_duration,
        Style { colors: false },
    )
}

/// The banner as k6 writes it to a terminal: with `color`, the logo in yellow and the values in
/// cyan; every line ends in `ESC[0K`.
pub fn render_banner_tty(
    script: &str,
    output: &str,
    scenarios: &[(String, String)],
    max_vus: u64,
    max_duration: Duration,
    color: bool,
) -> String {
    let text = banner(
        script,
        output,
        scenarios,
        max_vus,
        max_duration,
        Style { colors: color },
    );
    clear_line_ends(&text)
}

fn banner(
    script: &str,
    output: &str,
    scenarios: &[(String, String)],
    max_vus: u64,
    max_duration: Duration,
    style: Style,
) -> String {
    let logo = style.paint(&LOGO.join("\n"), Color::Yellow);
    let plural = if scenarios.len() == 1 { "" } else { "s" };
    let summary = format!(
        "(100.00%) {} scenario{plural}, {max_vus} max VUs, {} max duration (incl. graceful stop):",
        scenarios.len(),
        go_duration(max_duration)
    );
    let mut out = format!(
        "\n{logo}\n\n     execution: {}\n        script: {}\n        output: {}\n\n     scenarios: {}\n",
        style.paint("local", Color::Cyan),
        style.paint(script, Color::Cyan),
        style.paint(output, Color::Cyan),
        style.paint(&summary, Color::Cyan),
    );
    for (name, description) in scenarios {
        out.push_str(&format!("              * {name}: {description}\n"));
    }
    out.push('\n');
    out
}

/// A duration as Go's `time.Duration.String()` prints it, which is how k6 prints durations in
/// the banner and in scenario descriptions: `0s`, `500ms`, `1.5s`, `33s`, `10m30s`, `1h0m30s`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", decimal(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", decimal(nanos, 1_000_000));
    }
    let secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    let s = decimal((secs % 60) * 1_000_000_000 + frac, 1_000_000_000);
    let minutes = secs / 60;
    let hours = minutes / 60;
    if hours > 0 {
        format!("{hours}h{}m{s}s", minutes % 60)
    } else if minutes > 0 {
        format!("{minutes}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// `value / unit` with the fraction's trailing zeros dropped (`1500, 1000` → `1.5`).
fn decimal(value: u128, unit: u128) -> String {
    let int = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return int.to_string();
    }
    let width = unit.to_string().len() - 1;
    let frac = format!("{frac:0width$}");
    format!("{int}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(42), "42ns"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_nanos(2_500), "2.5µs"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_secs(33), "33s"),
            (Duration::from_secs(630), "10m30s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(3630), "1h0m30s"),
            (Duration::from_millis(90_500), "1m30.5s"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration(d), want);
        }
    }
}
