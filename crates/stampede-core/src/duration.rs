//! Durations as k6 spells them: Go's `time.ParseDuration` (`1h2m3.5s`, `500ms`, `10us`) plus a
//! `d` unit for days; in JSON options a bare number means milliseconds.

use std::time::Duration;

use crate::ConfigError;

/// Parses a Go duration string, as k6's CLI flags do: a unit is required except for `0`.
pub fn parse_go_duration(input: &str) -> Result<Duration, ConfigError> {
    let err = |reason: &str| ConfigError::Duration {
        value: input.to_string(),
        reason: reason.into(),
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err("empty duration"));
    }
    let (neg, mut rest) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(err("empty duration"));
    }
    let mut total_ns: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if num_len == 0 {
            return Err(err("expected a number"));
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| err("bad number"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .bytes()
            .take_while(|b| !(b.is_ascii_digit() || *b == b'.'))
            .count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86_400e9,
            "" => return Err(err("missing unit in duration")),
            _ => return Err(err(&format!("unknown unit {unit:?} in duration"))),
        };
        total_ns += number * scale;
    }
    if neg && total_ns > 0.0 {
        return Err(err("duration must not be negative"));
    }
    Ok(Duration::from_nanos(total_ns.round() as u64))
}

/// Parses a duration from JSON options: a string as [`parse_go_duration`] (a bare number in a
/// string counts as seconds, like k6's extended durations), a number as milliseconds.
pub fn parse_duration(value: &serde_json::Value, field: &str) -> Result<Duration, ConfigError> {
    match value {
        serde_json::Value::String(s) => {
            if let Ok(secs) = s.trim().parse::<f64>() {
                if secs < 0.0 {
                    return Err(ConfigError::invalid(field, format!("{s:?} is negative")));
                }
                return Ok(Duration::from_secs_f64(secs));
            }
            parse_go_duration(s).map_err(|e| ConfigError::invalid(field, e.to_string()))
        }
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(ms) if ms >= 0.0 => Ok(Duration::from_secs_f64(ms / 1000.0)),
            _ => Err(ConfigError::invalid(
                field,
                format!("{n} is not a non-negative duration"),
            )),
        },
        other => Err(ConfigError::invalid(
            field,
            format!("expected a duration string, got {other}"),
        )),
    }
}

/// Formats a duration the way k6 prints them in its banner: `10m0s`, `30s`, `1h0m0s`, `1.5s`.
pub fn format_duration(d: Duration) -> String {
    let total_ms = d.as_millis();
    if total_ms == 0 {
        return "0s".into();
    }
    let hours = total_ms / 3_600_000;
    let minutes = (total_ms / 60_000) % 60;
    let secs_ms = total_ms % 60_000;
    let secs = if secs_ms.is_multiple_of(1000) {
        format!("{}s", secs_ms / 1000)
    } else {
        let s = format!("{:.3}", secs_ms as f64 / 1000.0);
        format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
    };
    if hours > 0 {
        format!("{hours}h{minutes}m{secs}")
    } else if minutes > 0 {
        format!("{minutes}m{secs}")
    } else {
        secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_go_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_go_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            parse_go_duration("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(parse_go_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_go_duration("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_go_duration("30")
            .unwrap_err()
            .to_string()
            .contains("missing unit"));
        assert!(parse_go_duration("10x")
            .unwrap_err()
            .to_string()
            .contains("unknown unit"));
        assert!(parse_go_duration("-5s").is_err());
        assert!(parse_go_duration("").is_err());
    }

    #[test]
    fn json_durations() {
        let v = serde_json::json!(1500);
        assert_eq!(
            parse_duration(&v, "x").unwrap(),
            Duration::from_millis(1500)
        );
        let v = serde_json::json!("2m");
        assert_eq!(parse_duration(&v, "x").unwrap(), Duration::from_secs(120));
        let v = serde_json::json!(true);
        assert!(parse_duration(&v, "x")
            .unwrap_err()
            .to_string()
            .contains("`x`"));
    }

    #[test]
    fn formats_like_k6() {
        assert_eq!(format_duration(Duration::from_secs(600)), "10m0s");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(32)), "32s");
    }
}
