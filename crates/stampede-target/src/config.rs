//! [`TargetConfig`] and its `STAMPEDE_TARGET_*` environment knobs.
//!
//! | variable | example | meaning |
//! | --- | --- | --- |
//! | `STAMPEDE_TARGET_HASH_COST` | `1000` | sha256 rounds of the password hash done by signup and login |
//! | `STAMPEDE_TARGET_FLASH_SALE_STOCK` | `100` | units of the flash-sale product before orders get 409 |
//! | `STAMPEDE_TARGET_LATENCY` | `/api/products=50ms,/jobs=10ms` | added latency per path prefix |
//! | `STAMPEDE_TARGET_ERROR_RATE` | `/api/orders=0.05` | share of requests answered with an injected error, per path prefix |
//! | `STAMPEDE_TARGET_FAULT_STATUS` | `503` | status of injected errors (500..=599) |
//! | `STAMPEDE_TARGET_RATE_LIMITS` | `free=10,starter=50,professional=200` | requests per second per tier token on `/api/*` (0 = unlimited) |
//! | `STAMPEDE_TARGET_WORKER_THREADS` | `1` | tokio worker threads of [`crate::TargetServer`] |
//! | `STAMPEDE_TARGET_MAX_BODY` | `10MiB` | request body cap (bytes, or with `KiB`/`MiB` suffix); larger bodies get 413 |
//! | `STAMPEDE_TARGET_REPORT_DELAY` | `200ms..400ms` | delay range of `GET /api/reports/inventory` (one value = fixed) |
//! | `STAMPEDE_TARGET_SEED_USERS` | `100` | number of pre-seeded `userN@example.com` accounts |
//!
//! Durations take `us`, `ms`, `s` or `m` suffixes; a bare number means milliseconds.
//! Prefixes match whole path segments: `/api/products` matches `/api/products/7` but not
//! `/api/productsX`; the longest matching prefix wins.

use std::time::Duration;

/// A fault (added latency, error rate) applied to requests whose path starts with `prefix`.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteFault<T> {
    /// Path prefix, e.g. `/api/orders`. `/` matches every path.
    pub prefix: String,
    /// The fault's value: a [`Duration`] for latency, a probability in `0.0..=1.0` for errors.
    pub value: T,
}

impl<T> RouteFault<T> {
    /// A fault for every path under `prefix`.
    pub fn new(prefix: impl Into<String>, value: T) -> Self {
        RouteFault {
            prefix: prefix.into(),
            value,
        }
    }
}

/// The value of the longest prefix of `faults` that matches `path` on a segment boundary.
pub(crate) fn lookup<'a, T>(faults: &'a [RouteFault<T>], path: &str) -> Option<&'a T> {
    faults
        .iter()
        .filter(|f| prefix_matches(&f.prefix, path))
        .max_by_key(|f| f.prefix.len())
        .map(|f| &f.value)
}

fn prefix_matches(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || prefix.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// Requests per second allowed per bearer token of each tier on `/api/*` routes (0 = unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierLimits {
    /// Free tier, default 10 req/s.
    pub free: u32,
    /// Starter tier, default 50 req/s.
    pub starter: u32,
    /// Professional tier, default 200 req/s.
    pub professional: u32,
}

impl Default for TierLimits {
    fn default() -> Self {
        TierLimits {
            free: 10,
            starter: 50,
            professional: 200,
        }
    }
}

/// Everything tunable about the target server. `Default` gives a fast, fault-free server.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetConfig {
    /// sha256 rounds of the deliberately costly password hash (signup, login). Default 1000.
    pub hash_cost: u32,
    /// Stock of the flash-sale product [`crate::fixtures::FLASH_SALE_PRODUCT_ID`]. Default 100.
    pub flash_sale_stock: u32,
    /// Added latency per path prefix.
    pub latency: Vec<RouteFault<Duration>>,
    /// Probability of an injected error per path prefix.
    pub error_rate: Vec<RouteFault<f64>>,
    /// Status code of injected errors. Default 503.
    pub fault_status: u16,
    /// Per-tier rate limits on `/api/*`.
    pub rate_limits: TierLimits,
    /// Worker threads of the runtime [`crate::TargetServer::start`] builds. Default 1.
    pub worker_threads: usize,
    /// Largest accepted request body in bytes; larger ones get 413. Default 10 MiB.
    pub max_body_bytes: usize,
    /// Shortest delay of `GET /api/reports/inventory`. Default 200 ms.
    pub report_delay_min: Duration,
    /// Longest delay of `GET /api/reports/inventory`. Default 400 ms.
    pub report_delay_max: Duration,
    /// Number of pre-seeded `user{1..=N}@example.com` accounts. Default 100.
    pub seed_users: u32,
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig {
            hash_cost: 1000,
            flash_sale_stock: 100,
            latency: Vec::new(),
            error_rate: Vec::new(),
            fault_status: 503,
            rate_limits: TierLimits::default(),
            worker_threads: 1,
            max_body_bytes: 10 * 1024 * 1024,
            report_delay_min: Duration::from_millis(200),
            report_delay_max: Duration::from_millis(400),
            seed_users: 100,
        }
    }
}

/// A `STAMPEDE_TARGET_*` variable that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}={value:?}: {reason}")]
pub struct ConfigError {
    /// The variable's name.
    pub var: String,
    /// Its value.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl TargetConfig {
    /// Defaults overridden by the `STAMPEDE_TARGET_*` environment variables (see the module
    /// table). A variable that cannot be parsed is reported on stderr and ignored.
    pub fn from_env() -> Self {
        let (config, errors) = Self::from_vars(|name| std::env::var(name).ok());
        for e in errors {
            eprintln!("stampede-target: ignoring {e}");
        }
        config
    }

    /// Like [`TargetConfig::from_env`] but fails on the first unparsable variable.
    pub fn try_from_env() -> Result<Self, ConfigError> {
        let (config, errors) = Self::from_vars(|name| std::env::var(name).ok());
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(config),
        }
    }

    /// Defaults overridden by the variables `get` returns, with every error found.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> (Self, Vec<ConfigError>) {
        let mut c = TargetConfig::default();
        let mut errors = Vec::new();
        let mut knob = |name: &str, apply: &mut dyn FnMut(&str) -> Result<(), String>| {
            let var = format!("STAMPEDE_TARGET_{name}");
            if let Some(value) = get(&var) {
                if let Err(reason) = apply(value.trim()) {
                    errors.push(ConfigError { var, value, reason });
                }
            }
        };
        knob("HASH_COST", &mut |v| parse_num(v).map(|n| c.hash_cost = n));
        knob("FLASH_SALE_STOCK", &mut |v| {
            parse_num(v).map(|n| c.flash_sale_stock = n)
        });
        knob("LATENCY", &mut |v| {
            parse_faults(v, parse_duration).map(|f| c.latency = f)
        });
        knob("ERROR_RATE", &mut |v| {
            parse_faults(v, parse_rate).map(|f| c.error_rate = f)
        });
        knob("FAULT_STATUS", &mut |v| {
            let s: u16 = parse_num(v)?;
            if !(500..=599).contains(&s) {
                return Err("expected a 5xx status".into());
            }
            c.fault_status = s;
            Ok(())
        });
        knob("RATE_LIMITS", &mut |v| parse_tiers(v, &mut c.rate_limits));
        knob("WORKER_THREADS", &mut |v| {
            let n: usize = parse_num(v)?;
            c.worker_threads = n.clamp(1, 256);
            Ok(())
        });
        knob("MAX_BODY", &mut |v| {
            parse_size(v).map(|n| c.max_body_bytes = n)
        });
        knob("REPORT_DELAY", &mut |v| {
            let (lo, hi) = match v.split_once("..") {
                Some((a, b)) => (parse_duration(a)?, parse_duration(b)?),
                None => (parse_duration(v)?, parse_duration(v)?),
            };
            if hi < lo {
                return Err("the range's end is below its start".into());
            }
            c.report_delay_min = lo;
            c.report_delay_max = hi;
            Ok(())
        });
        knob("SEED_USERS", &mut |v| {
            parse_num(v).map(|n| c.seed_users = n)
        });
        (c, errors)
    }
}

fn parse_num<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| "expected a non-negative integer".to_string())
}

/// Parses `50ms`, `1.5s`, `250us`, `2m`, or a bare number of milliseconds.
pub(crate) fn parse_duration(v: &str) -> Result<Duration, String> {
    let v = v.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("bad duration {v:?}"))?;
    let secs = match unit.trim() {
        "" | "ms" => n / 1000.0,
        "us" | "µs" => n / 1_000_000.0,
        "s" => n,
        "m" => n * 60.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} (use us, ms, s, m)"
            ))
        }
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("duration out of range: {v:?}"))
}

fn parse_rate(v: &str) -> Result<f64, String> {
    let v = v.trim();
    let rate = match v.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => v.parse::<f64>(),
    }
    .map_err(|_| format!("bad rate {v:?}"))?;
    if !(0.0..=1.0).contains(&rate) {
        return Err(format!("rate {v:?} is outside 0..=1"));
    }
    Ok(rate)
}

fn parse_faults<T>(
    v: &str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Vec<RouteFault<T>>, String> {
    let mut out = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (prefix, value) = item
            .rsplit_once('=')
            .ok_or_else(|| format!("expected PREFIX=VALUE, got {item:?}"))?;
        let prefix = prefix.trim();
        if !prefix.starts_with('/') {
            return Err(format!("prefix {prefix:?} must start with '/'"));
        }
        out.push(RouteFault::new(prefix, parse(value)?));
    }
    Ok(out)
}

fn parse_tiers(v: &str, limits: &mut TierLimits) -> Result<(), String> {
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (tier, n) = item
            .split_once('=')
            .ok_or_else(|| format!("expected TIER=N, got {item:?}"))?;
        let n: u32 = parse_num(n.trim())?;
        match tier.trim() {
            "free" => limits.free = n,
            "starter" => limits.starter = n,
            "professional" | "pro" => limits.professional = n,
            other => {
                return Err(format!(
                    "unknown tier {other:?} (free, starter, professional)"
                ))
            }
        }
    }
    Ok(())
}

fn parse_size(v: &str) -> Result<usize, String> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("bad size {v:?}"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        other => return Err(format!("unknown size unit {other:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size out of range: {v:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn parses_every_knob() {
        let (c, errors) = TargetConfig::from_vars(vars(&[
            ("STAMPEDE_TARGET_HASH_COST", "5"),
            ("STAMPEDE_TARGET_FLASH_SALE_STOCK", "7"),
            ("STAMPEDE_TARGET_LATENCY", "/api/products=50ms, /jobs=1s"),
            ("STAMPEDE_TARGET_ERROR_RATE", "/api/orders=0.05,/=1%"),
            ("STAMPEDE_TARGET_FAULT_STATUS", "500"),
            ("STAMPEDE_TARGET_RATE_LIMITS", "free=1,pro=3"),
            ("STAMPEDE_TARGET_WORKER_THREADS", "2"),
            ("STAMPEDE_TARGET_MAX_BODY", "1KiB"),
            ("STAMPEDE_TARGET_REPORT_DELAY", "10ms..20ms"),
            ("STAMPEDE_TARGET_SEED_USERS", "3"),
        ]));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(c.hash_cost, 5);
        assert_eq!(c.flash_sale_stock, 7);
        assert_eq!(
            c.latency[0],
            RouteFault::new("/api/products", Duration::from_millis(50))
        );
        assert_eq!(
            c.latency[1],
            RouteFault::new("/jobs", Duration::from_secs(1))
        );
        assert_eq!(c.error_rate[1], RouteFault::new("/", 0.01));
        assert_eq!(c.fault_status, 500);
        assert_eq!(
            c.rate_limits,
            TierLimits {
                free: 1,
                starter: 50,
                professional: 3
            }
        );
        assert_eq!(c.worker_threads, 2);
        assert_eq!(c.max_body_bytes, 1024);
        assert_eq!(c.report_delay_min, Duration::from_millis(10));
        assert_eq!(c.report_delay_max, Duration::from_millis(20));
        assert_eq!(c.seed_users, 3);
    }

    #[test]
    fn bad_values_are_reported_and_ignored() {
        let (c, errors) = TargetConfig::from_vars(vars(&[
            ("STAMPEDE_TARGET_HASH_COST", "lots"),
            ("STAMPEDE_TARGET_ERROR_RATE", "/x=2"),
            ("STAMPEDE_TARGET_LATENCY", "api=5ms"),
            ("STAMPEDE_TARGET_FAULT_STATUS", "200"),
        ]));
        assert_eq!(errors.len(), 4);
        assert_eq!(c, TargetConfig::default());
    }

    #[test]
    fn longest_segment_prefix_wins() {
        let faults = vec![
            RouteFault::new("/", 1),
            RouteFault::new("/api", 2),
            RouteFault::new("/api/products", 3),
        ];
        assert_eq!(lookup(&faults, "/api/products/7"), Some(&3));
        assert_eq!(lookup(&faults, "/api/products"), Some(&3));
        assert_eq!(lookup(&faults, "/api/productsX"), Some(&2));
        assert_eq!(lookup(&faults, "/health"), Some(&1));
        assert_eq!(lookup(&faults[1..], "/apix"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("20us"), Ok(Duration::from_micros(20)));
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("").is_err());
    }
}
