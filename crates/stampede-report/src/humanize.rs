//! k6's value formatting: durations (`957.1µs`, `1m3s`), data sizes (`2.7 kB`), rates
//! (`66.66%`) and plain numbers (at most six decimals).

use stampede_metrics::{MetricType, ValueType};

use crate::jsnum::{fixed_no_trailing_zeros, js_string, js_to_fixed, trunc_no_trailing_zeros};

/// Formats one statistic of a metric the way k6's summary does.
///
/// Rates are percentages truncated (not rounded) to two decimals; otherwise the metric's
/// `contains` decides: bytes, milliseconds (in `time_unit` when it is `s`, `ms` or `us`), or a
/// number with at most six decimals.
pub fn humanize_value(
    value: f64,
    kind: MetricType,
    contains: ValueType,
    time_unit: Option<&str>,
) -> String {
    if kind == MetricType::Rate {
        return format!(
            "{}%",
            js_to_fixed((value * 100.0 * 100.0).trunc() / 100.0, 2)
        );
    }
    match contains {
        ValueType::Data => humanize_bytes(value),
        ValueType::Time => humanize_duration(value, time_unit),
        ValueType::Default => fixed_no_trailing_zeros(value, 6),
    }
}

/// Decimal (1000-based) byte sizes: `486 B`, `1.2 kB`, `155 kB`, `3.4 MB`.
pub fn humanize_bytes(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    const POWERS: [f64; 9] = [1e0, 1e3, 1e6, 1e9, 1e12, 1e15, 1e18, 1e21, 1e24];
    if bytes < 10.0 || bytes.is_nan() {
        return format!("{} B", js_string(bytes));
    }
    let e = (bytes.ln() / 1000f64.ln()).floor();
    // `e` is at least 0 here; past yottabytes JavaScript would print `undefined`.
    let idx = e as usize;
    let (Some(unit), Some(power)) = (UNITS.get(idx), POWERS.get(idx)) else {
        return format!("{} undefined", js_string(bytes / 1000f64.powf(e)));
    };
    let val = ((bytes / power) * 10.0 + 0.5).floor() / 10.0;
    let digits = if val < 10.0 { 1 } else { 0 };
    format!("{} {unit}", js_to_fixed(val, digits))
}

/// A duration given in milliseconds: in `time_unit` with two decimals when that is `s`, `ms`
/// or `us`, otherwise k6's adaptive form (`400ns`, `849.59µs`, `2.18ms`, `1.2s`, `1m3s`,
/// `1h2m5s`), truncated rather than rounded.
pub fn humanize_duration(ms: f64, time_unit: Option<&str>) -> String {
    let forced = match time_unit {
        Some("s") => Some((0.001, "s")),
        Some("ms") => Some((1.0, "ms")),
        Some("us") => Some((1000.0, "µs")),
        _ => None,
    };
    match forced {
        Some((coef, unit)) => format!("{}{unit}", js_to_fixed(ms * coef, 2)),
        None => humanize_generic_duration(ms),
    }
}

/// k6's adaptive duration. Written with the same comparisons as k6 so that odd inputs (NaN)
/// come out the same too.
fn humanize_generic_duration(ms: f64) -> String {
    if ms == 0.0 {
        return "0s".to_owned();
    }
    if ms < 0.001 {
        return format!("{}ns", js_string((ms * 1_000_000.0).trunc()));
    }
    if ms < 1.0 {
        return format!("{}µs", trunc_no_trailing_zeros(ms * 1000.0, 2));
    }
    if ms < 1000.0 {
        return format!("{}ms", trunc_no_trailing_zeros(ms, 2));
    }
    let prec = if ms > 60_000.0 { 0 } else { 2 };
    let mut out = format!(
        "{}s",
        trunc_no_trailing_zeros((ms % 60_000.0) / 1000.0, prec)
    );
    let minutes = (ms / 60_000.0).trunc();
    if minutes < 1.0 {
        return out;
    }
    out = format!("{}m{out}", js_string(minutes % 60.0));
    let hours = (minutes / 60.0).trunc();
    if hours < 1.0 {
        return out;
    }
    format!("{}h{out}", js_string(hours))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases = [
            (0.0, "0s"),
            (0.0004, "400ns"),
            (0.849591, "849.59µs"),
            (0.364003, "364µs"),
            (1.151, "1.15ms"),
            (503.399, "503.39ms"),
            (1200.0, "1.2s"),
            (60_000.0, "1m0s"),
            (63_003.0, "1m3s"),
            (947_000.125_1, "15m47s"),
            (3_725_000.0, "1h2m5s"),
        ];
        for (ms, want) in cases {
            assert_eq!(humanize_duration(ms, None), want, "{ms}");
        }
    }

    #[test]
    fn forced_time_units() {
        assert_eq!(humanize_duration(0.64, Some("ms")), "0.64ms");
        assert_eq!(humanize_duration(250.0, Some("s")), "0.25s");
        assert_eq!(humanize_duration(0.125, Some("us")), "125.00µs");
        assert_eq!(humanize_duration(1.5, Some("m")), "1.5ms");
    }

    #[test]
    fn bytes() {
        let cases = [
            (0.0, "0 B"),
            (9.0, "9 B"),
            (486.0, "486 B"),
            (1020.0, "1.0 kB"),
            (1234.0, "1.2 kB"),
            (155_400.0, "155 kB"),
            (1e6, "1.0 MB"),
            (999_999.0, "1000 kB"),
        ];
        for (b, want) in cases {
            assert_eq!(humanize_bytes(b), want, "{b}");
        }
    }

    #[test]
    fn rates_truncate() {
        let r = |v| humanize_value(v, MetricType::Rate, ValueType::Default, None);
        assert_eq!(r(2.0 / 3.0), "66.66%");
        assert_eq!(r(1.0), "100.00%");
        assert_eq!(r(0.0), "0.00%");
        assert_eq!(r(14.0 / 18.0), "77.77%");
    }

    #[test]
    fn plain_numbers_keep_six_decimals() {
        let n = |v| humanize_value(v, MetricType::Counter, ValueType::Default, None);
        assert_eq!(n(757.132472_4), "757.132472");
        assert_eq!(n(12.0), "12");
        assert_eq!(n(4901.234166_2), "4901.234166");
    }
}
