//! k6's `options`: every source (script, `--config` file, `K6_*` env, CLI flags) produces an
//! [`Options`] with only what it sets; [`Options::apply`] layers them in k6's order.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::duration::parse_duration;
use crate::net::NetOptions;
use crate::scenario::{as_uint, check_min_duration, parse_stages};
use crate::{parse_go_duration, ConfigError, Executor, Scenario, Stage, SystemTagSet};

/// One threshold expression on a metric, as `options.thresholds` spells it.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdDef {
    pub expression: String,
    pub abort_on_fail: bool,
    pub delay_abort_eval: Option<Duration>,
    /// As the options wrote it (a string or an object), for outputs that list thresholds.
    pub source: Value,
}

/// The test options. `None` means "not set by this source".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    pub vus: Option<i64>,
    pub duration: Option<Duration>,
    pub iterations: Option<i64>,
    pub stages: Option<Vec<Stage>>,
    pub scenarios: Option<Vec<Scenario>>,
    /// Metric name (possibly with a `{tag:value}` selector) to its expressions, in script order.
    pub thresholds: Option<Vec<(String, Vec<ThresholdDef>)>>,
    pub setup_timeout: Option<Duration>,
    pub teardown_timeout: Option<Duration>,
    pub summary_trend_stats: Option<Vec<String>>,
    pub summary_time_unit: Option<String>,
    pub no_connection_reuse: Option<bool>,
    pub no_vu_connection_reuse: Option<bool>,
    pub user_agent: Option<String>,
    pub insecure_skip_tls_verify: Option<bool>,
    pub max_redirects: Option<u32>,
    pub throw: Option<bool>,
    pub discard_response_bodies: Option<bool>,
    pub tags: Option<BTreeMap<String, String>>,
    pub no_setup: Option<bool>,
    pub no_teardown: Option<bool>,
    pub no_thresholds: Option<bool>,
    pub no_summary: Option<bool>,
    pub batch: Option<u32>,
    pub batch_per_host: Option<u32>,
    /// `rps`: the most requests a second for the whole test (0: no limit).
    pub rps: Option<u32>,
    pub min_iteration_duration: Option<Duration>,
    pub system_tags: Option<SystemTagSet>,
    /// `hosts`, `dns`, `blockHostnames`, `blacklistIPs` and the TLS options.
    pub net: NetOptions,
    /// Keep each VU's cookies across iterations (k6's `noCookiesReset`).
    pub no_cookies_reset: Option<bool>,
    /// Log every HTTP request and response: `"headers"` or `"full"` (k6's `httpDebug`).
    pub http_debug: Option<String>,
}

macro_rules! apply_fields {
    ($self:ident, $other:ident; $($f:ident),* $(,)?) => {
        $( if $other.$f.is_some() { $self.$f = $other.$f; } )*
    };
}

impl Options {
    /// Layers `other` (a higher-priority source) over `self`, as k6's `Options.Apply` does:
    /// setting any of duration, iterations, stages or scenarios in a higher tier clears all four
    /// from the lower tiers.
    pub fn apply(&mut self, other: Options) {
        if other.duration.is_some()
            || other.iterations.is_some()
            || other.stages.is_some()
            || other.scenarios.is_some()
        {
            self.duration = None;
            self.iterations = None;
            self.stages = None;
            self.scenarios = None;
        }
        apply_fields!(self, other; vus, duration, iterations, stages, scenarios, thresholds,
            setup_timeout, teardown_timeout, summary_trend_stats, summary_time_unit,
            no_connection_reuse, no_vu_connection_reuse, user_agent, insecure_skip_tls_verify,
            max_redirects, throw, discard_response_bodies, tags, no_setup, no_teardown,
            no_thresholds, no_summary, batch, batch_per_host, rps, min_iteration_duration,
            system_tags, no_cookies_reset, http_debug);
        self.net.apply(other.net);
    }

    /// Parses k6's options object (from a script's exported `options` or a `--config` file).
    /// Unknown keys are ignored, as k6 does; a known key with a bad value is an error naming it.
    pub fn from_json(value: &Value) -> Result<Options, ConfigError> {
        let obj = match value {
            Value::Null => return Ok(Options::default()),
            Value::Object(o) => o,
            other => {
                return Err(ConfigError::invalid(
                    "options",
                    format!("expected an object, got {other}"),
                ))
            }
        };
        let get = |k: &str| obj.get(k).filter(|v| !v.is_null());
        let int = |k: &str| -> Result<Option<i64>, ConfigError> {
            get(k)
                .map(|v| match v.as_f64() {
                    Some(n) if n.fract() == 0.0 => Ok(n as i64),
                    _ => Err(ConfigError::invalid(
                        k,
                        format!("expected a whole number, got {v}"),
                    )),
                })
                .transpose()
        };
        let uint = |k: &str| get(k).map(|v| as_uint(v, k)).transpose();
        let boolean = |k: &str| {
            get(k)
                .map(|v| {
                    v.as_bool().ok_or_else(|| {
                        ConfigError::invalid(k, format!("expected true or false, got {v}"))
                    })
                })
                .transpose()
        };
        let string = |k: &str| {
            get(k)
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        ConfigError::invalid(k, format!("expected a string, got {v}"))
                    })
                })
                .transpose()
        };
        let duration = |k: &str| get(k).map(|v| parse_duration(v, k)).transpose();

        let mut o = Options {
            vus: int("vus")?,
            duration: duration("duration")?,
            iterations: int("iterations")?,
            stages: get("stages")
                .map(|v| parse_stages(v, "stages"))
                .transpose()?,
            setup_timeout: duration("setupTimeout")?,
            teardown_timeout: duration("teardownTimeout")?,
            summary_time_unit: string("summaryTimeUnit")?,
            no_connection_reuse: boolean("noConnectionReuse")?,
            no_vu_connection_reuse: boolean("noVUConnectionReuse")?,
            user_agent: string("userAgent")?,
            insecure_skip_tls_verify: boolean("insecureSkipTLSVerify")?,
            max_redirects: uint("maxRedirects")?.map(|n| n.min(u32::MAX as u64) as u32),
            throw: boolean("throw")?,
            discard_response_bodies: boolean("discardResponseBodies")?,
            no_setup: boolean("noSetup")?,
            no_teardown: boolean("noTeardown")?,
            batch: uint("batch")?.map(|n| n as u32),
            batch_per_host: uint("batchPerHost")?.map(|n| n as u32),
            rps: uint("rps")?.map(|n| n.min(u32::MAX as u64) as u32),
            min_iteration_duration: duration("minIterationDuration")?,
            no_cookies_reset: boolean("noCookiesReset")?,
            http_debug: string("httpDebug")?,
            ..Options::default()
        };
        if let Some(v) = get("summaryTrendStats") {
            let arr = v.as_array().ok_or_else(|| {
                ConfigError::invalid("summaryTrendStats", "expected an array of strings")
            })?;
            o.summary_trend_stats = Some(
                arr.iter()
                    .map(|s| {
                        s.as_str().map(str::to_string).ok_or_else(|| {
                            ConfigError::invalid(
                                "summaryTrendStats",
                                format!("{s} is not a string"),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
            );
        }
        if let Some(v) = get("tags") {
            let m = v
                .as_object()
                .ok_or_else(|| ConfigError::invalid("tags", "expected an object"))?;
            o.tags = Some(
                m.iter()
                    .map(|(k, v)| match v.as_str() {
                        Some(s) => Ok((k.clone(), s.to_string())),
                        None => Err(ConfigError::invalid(
                            format!("tags.{k}"),
                            format!("expected a string, got {v}"),
                        )),
                    })
                    .collect::<Result<_, _>>()?,
            );
        }
        if let Some(v) = get("systemTags") {
            let names = v
                .as_array()
                .ok_or_else(|| ConfigError::invalid("systemTags", "expected an array of strings"))?
                .iter()
                .map(|n| {
                    n.as_str().ok_or_else(|| {
                        ConfigError::invalid("systemTags", format!("{n} is not a string"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            o.system_tags = Some(SystemTagSet::parse(names, "systemTags")?);
        }
        if let Some(v) = get("scenarios") {
            let m = v.as_object().ok_or_else(|| {
                ConfigError::invalid("scenarios", "expected an object of named scenarios")
            })?;
            o.scenarios = Some(
                m.iter()
                    .map(|(name, s)| Scenario::from_json(name, s))
                    .collect::<Result<_, _>>()?,
            );
        }
        if let Some(v) = get("thresholds") {
            o.thresholds = Some(parse_thresholds(v)?);
        }
        o.net = NetOptions::from_json(obj)?;
        Ok(o)
    }

    /// Reads the `K6_*` environment variables k6 understands (and `STAMPEDE_*` aliases).
    pub fn from_env(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Options, ConfigError> {
        let mut o = Options::default();
        for (key, value) in vars {
            let Some(name) = key
                .strip_prefix("K6_")
                .or_else(|| key.strip_prefix("STAMPEDE_"))
            else {
                continue;
            };
            let bool_of = |v: &str| -> Result<bool, ConfigError> {
                match v {
                    "true" | "1" | "yes" => Ok(true),
                    "false" | "0" | "no" | "" => Ok(false),
                    _ => Err(ConfigError::invalid(
                        key.clone(),
                        format!("{v:?} is not a boolean"),
                    )),
                }
            };
            let int_of = |v: &str| -> Result<i64, ConfigError> {
                v.parse().map_err(|_| {
                    ConfigError::invalid(key.clone(), format!("{v:?} is not a whole number"))
                })
            };
            let dur_of = |v: &str| {
                parse_go_duration(v).map_err(|e| ConfigError::invalid(key.clone(), e.to_string()))
            };
            match name {
                "VUS" => o.vus = Some(int_of(&value)?),
                "DURATION" => o.duration = Some(dur_of(&value)?),
                "ITERATIONS" => o.iterations = Some(int_of(&value)?),
                "STAGES" => o.stages = Some(parse_stage_list(&value, &key)?),
                "SETUP_TIMEOUT" => o.setup_timeout = Some(dur_of(&value)?),
                "TEARDOWN_TIMEOUT" => o.teardown_timeout = Some(dur_of(&value)?),
                "NO_CONNECTION_REUSE" => o.no_connection_reuse = Some(bool_of(&value)?),
                "NO_VU_CONNECTION_REUSE" => o.no_vu_connection_reuse = Some(bool_of(&value)?),
                "NO_COOKIES_RESET" => o.no_cookies_reset = Some(bool_of(&value)?),
                "HTTP_DEBUG" => o.http_debug = Some(value.clone()),
                "USER_AGENT" => o.user_agent = Some(value.clone()),
                "INSECURE_SKIP_TLS_VERIFY" => o.insecure_skip_tls_verify = Some(bool_of(&value)?),
                "MAX_REDIRECTS" => o.max_redirects = Some(int_of(&value)?.max(0) as u32),
                "THROW" => o.throw = Some(bool_of(&value)?),
                "RPS" => o.rps = Some(int_of(&value)?.clamp(0, u32::MAX as i64) as u32),
                "BATCH" => o.batch = Some(int_of(&value)?.clamp(0, u32::MAX as i64) as u32),
                "BATCH_PER_HOST" => {
                    o.batch_per_host = Some(int_of(&value)?.clamp(0, u32::MAX as i64) as u32)
                }
                "MIN_ITERATION_DURATION" => o.min_iteration_duration = Some(dur_of(&value)?),
                "DISCARD_RESPONSE_BODIES" => o.discard_response_bodies = Some(bool_of(&value)?),
                "NO_SETUP" => o.no_setup = Some(bool_of(&value)?),
                "NO_TEARDOWN" => o.no_teardown = Some(bool_of(&value)?),
                "NO_THRESHOLDS" => o.no_thresholds = Some(bool_of(&value)?),
                "NO_SUMMARY" => o.no_summary = Some(bool_of(&value)?),
                "SUMMARY_TREND_STATS" => o.summary_trend_stats = Some(split_list(&value)),
                "SUMMARY_TIME_UNIT" => o.summary_time_unit = Some(value.clone()),
                "TAGS" => o.tags = Some(tag_map(&value, &key)?),
                "SYSTEM_TAGS" => o.system_tags = Some(SystemTagSet::parse(value.split(','), &key)?),
                other => {
                    o.net.from_env(other, &value)?;
                }
            }
        }
        Ok(o)
    }

    /// The scenarios to execute: the explicit ones, or those k6 derives from the shortcuts.
    /// Validates VU counts and conflicting shortcuts the way k6 does (`warnings` says what k6
    /// warns about the same options).
    pub fn scenarios_resolved(&self) -> Result<Vec<Scenario>, ConfigError> {
        for (key, timeout) in [
            ("setupTimeout", self.setup_timeout),
            ("teardownTimeout", self.teardown_timeout),
        ] {
            if timeout.is_some_and(|t| t.is_zero()) {
                return Err(ConfigError::invalid(key, format!("{key} must be positive")));
            }
        }
        let conflict = |a: &str, b: &str| {
            ConfigError::invalid(
                a,
                format!("using `{a}` and `{b}` options simultaneously is not allowed"),
            )
        };
        let has_stages = self.stages.as_ref().is_some_and(|s| !s.is_empty());
        let one_iteration = || {
            vec![Scenario::new(
                "default",
                Executor::SharedIterations {
                    vus: 1,
                    iterations: 1,
                    max_duration: Duration::from_secs(600),
                },
            )]
        };
        let vus = self.vus.unwrap_or(1);
        let positive_vus = || {
            if vus <= 0 {
                return Err(ConfigError::scenario(
                    "default",
                    format!("the number of VUs must be more than 0 (vus: {vus})"),
                ));
            }
            Ok(vus as u64)
        };
        let executor = if let Some(iterations) = self.iterations {
            if has_stages {
                return Err(conflict("iterations", "stages"));
            }
            if self.scenarios.is_some() {
                return Err(conflict("iterations", "scenarios"));
            }
            let vus = positive_vus()?;
            if iterations < vus as i64 {
                return Err(ConfigError::scenario(
                    "default",
                    format!("the number of iterations ({iterations}) can't be less than the number of VUs ({vus})"),
                ));
            }
            let max_duration = self.duration.unwrap_or(Duration::from_secs(600));
            check_min_duration("default", "maxDuration", max_duration)?;
            Executor::SharedIterations {
                vus,
                iterations: iterations as u64,
                max_duration,
            }
        } else if let Some(duration) = self.duration {
            if has_stages {
                return Err(conflict("duration", "stages"));
            }
            if self.scenarios.is_some() {
                return Err(conflict("duration", "scenarios"));
            }
            if duration.is_zero() {
                return Err(ConfigError::invalid(
                    "duration",
                    "`duration` option should be more than 0, for infinite duration use the externally-controlled executor",
                ));
            }
            let vus = positive_vus()?;
            check_min_duration("default", "duration", duration)?;
            Executor::ConstantVus { vus, duration }
        } else if let Some(stages) = &self.stages {
            if self.scenarios.is_some() {
                return Err(conflict("stages", "scenarios"));
            }
            if stages.is_empty() {
                return Ok(one_iteration());
            }
            let start_vus = self.vus.unwrap_or(1);
            if start_vus < 0 {
                return Err(ConfigError::scenario(
                    "default",
                    format!("the number of start VUs can't be negative (vus: {start_vus})"),
                ));
            }
            if start_vus == 0 && stages.iter().all(|s| s.target == 0) {
                return Err(ConfigError::scenario(
                    "default",
                    "either startVUs or one of the stages' target values must be greater than 0",
                ));
            }
            Executor::RampingVus {
                start_vus: start_vus as u64,
                stages: stages.clone(),
                graceful_ramp_down: Duration::from_secs(30),
            }
        } else if let Some(scenarios) = &self.scenarios {
            if scenarios.is_empty() {
                return Ok(one_iteration());
            }
            return Ok(scenarios.clone());
        } else {
            return Ok(one_iteration());
        };
        Ok(vec![Scenario::new("default", executor)])
    }

    /// Checks `summaryTrendStats` as k6 does before the run (k6 exits with 255, not 104).
    pub fn check_trend_stats(&self) -> Result<(), String> {
        for stat in self.summary_trend_stats.iter().flatten() {
            if let Some(p) = stat.strip_prefix("p(").and_then(|r| r.strip_suffix(')')) {
                if !p.parse::<f64>().is_ok_and(|p| (0.0..=100.0).contains(&p)) {
                    return Err(format!(
                        "invalid percentile trend stat value '{stat}', provide a number between 0 and 100"
                    ));
                }
            } else if !matches!(stat.as_str(), "avg" | "min" | "med" | "max" | "count") {
                return Err(format!("invalid trend stat '{stat}', unknown format"));
            }
        }
        Ok(())
    }

    /// What k6 warns about these options at start (it runs anyway).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.vus_ignored() {
            out.push(format!(
                "`vus={}` option will be ignored, it only works in conjunction with `iterations`, `duration`, or `stages`",
                self.vus.unwrap_or(0)
            ));
        }
        let shortcut = self.iterations.is_some() || self.duration.is_some();
        if !shortcut && self.stages.as_ref().is_some_and(Vec::is_empty) {
            out.push("`stages` was explicitly set to an empty value, running the script with 1 iteration in 1 VU".into());
        } else if !shortcut
            && self.stages.is_none()
            && self.scenarios.as_ref().is_some_and(Vec::is_empty)
        {
            out.push("`scenarios` was explicitly set to an empty value, running the script with 1 iteration in 1 VU".into());
        }
        out
    }

    /// Whether `vus` was given without anything it could apply to (k6 warns and ignores it).
    pub fn vus_ignored(&self) -> bool {
        self.vus.is_some()
            && self.iterations.is_none()
            && self.duration.is_none()
            && self.stages.is_none()
            && self.scenarios.is_none()
    }

    /// The trend statistics shown in the summary (k6's default when unset).
    pub fn trend_stats(&self) -> Vec<String> {
        self.summary_trend_stats.clone().unwrap_or_else(|| {
            ["avg", "min", "med", "max", "p(90)", "p(95)"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        })
    }

    /// The options as k6 shows them (for `stampede inspect` and `exec.test.options`).
    /// The consolidated options as k6's `exec.test.options` shows them: every key of k6's
    /// options object in k6's order, `null` where unset, the shortcuts folded into `scenarios`
    /// and the default `systemTags` spelled out.
    pub fn to_k6_json(&self, scenarios: &[Scenario]) -> Value {
        let dur = |d: &Option<Duration>| match d {
            Some(d) => Value::String(crate::format_duration(*d)),
            None => Value::Null,
        };
        let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
        let set = self.to_json();
        let from_set = |k: &str| set.get(k).cloned().unwrap_or(Value::Null);
        let net = &self.net;
        let strings = |v: &Option<Vec<String>>| opt(v.as_ref().map(|l| l.clone().into()));
        let scen: serde_json::Map<String, Value> = scenarios
            .iter()
            .map(|s| (s.name.clone(), s.to_json()))
            .collect();
        let tls_version = net
            .tls_version
            .as_ref()
            .map(|(min, max)| serde_json::json!({"min": min, "max": max}));
        let hosts = net.hosts.as_ref().map(|h| {
            Value::Object(
                h.iter()
                    .map(|(k, v)| (k.clone(), v.clone().into()))
                    .collect(),
            )
        });
        let ttl = net.dns.ttl.map(|t| match t {
            None => Value::String("inf".into()),
            Some(d) => Value::String(crate::format_duration(d)),
        });
        let select = net.dns.select.map(|s| {
            Value::String(
                match s {
                    crate::DnsSelect::First => "first",
                    crate::DnsSelect::Random => "random",
                    crate::DnsSelect::RoundRobin => "roundRobin",
                }
                .into(),
            )
        });
        let policy = net.dns.policy.map(|p| {
            Value::String(
                match p {
                    crate::DnsPolicy::PreferIpv4 => "preferIPv4",
                    crate::DnsPolicy::PreferIpv6 => "preferIPv6",
                    crate::DnsPolicy::OnlyIpv4 => "onlyIPv4",
                    crate::DnsPolicy::OnlyIpv6 => "onlyIPv6",
                    crate::DnsPolicy::Any => "any",
                }
                .into(),
            )
        });
        let system_tags: Vec<&str> = self.system_tags.unwrap_or_default().names().collect();
        serde_json::json!({
            "paused": null,
            "scenarios": scen,
            "executionSegment": null,
            "executionSegmentSequence": null,
            "noSetup": self.no_setup,
            "setupTimeout": dur(&self.setup_timeout),
            "noTeardown": self.no_teardown,
            "teardownTimeout": dur(&self.teardown_timeout),
            "rps": self.rps,
            "dns": {"ttl": opt(ttl), "select": opt(select), "policy": opt(policy)},
            "maxRedirects": self.max_redirects,
            "userAgent": self.user_agent,
            "batch": self.batch,
            "batchPerHost": self.batch_per_host,
            "httpDebug": self.http_debug,
            "insecureSkipTLSVerify": self.insecure_skip_tls_verify,
            "tlsCipherSuites": strings(&net.tls_cipher_suites),
            "tlsVersion": opt(tls_version),
            "tlsAuth": opt(net.tls_auth.as_ref().map(|a| {
                a.iter()
                    .map(|a| serde_json::json!({"domains": a.domains, "cert": a.cert, "key": a.key}))
                    .collect()
            })),
            "throw": self.throw,
            "thresholds": from_set("thresholds"),
            "blacklistIPs": opt(net.blacklist_ips.as_ref().map(|l| {
                l.iter().map(|n| Value::String(n.to_string())).collect()
            })),
            "blockHostnames": strings(&net.block_hostnames),
            "hosts": opt(hosts),
            "noConnectionReuse": self.no_connection_reuse,
            "noVUConnectionReuse": self.no_vu_connection_reuse,
            "minIterationDuration": dur(&self.min_iteration_duration),
            "ext": null,
            "summaryTrendStats": strings(&self.summary_trend_stats),
            "summaryTimeUnit": self.summary_time_unit,
            "systemTags": system_tags,
            "tags": from_set("tags"),
            "metricSamplesBufferSize": null,
            "noCookiesReset": self.no_cookies_reset,
            "discardResponseBodies": self.discard_response_bodies,
            "consoleOutput": null,
            "localIPs": null,
        })
    }

    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        let dur = |d: &Duration| Value::String(crate::format_duration(*d));
        if let Some(v) = self.vus {
            m.insert("vus".into(), v.into());
        }
        if let Some(v) = &self.duration {
            m.insert("duration".into(), dur(v));
        }
        if let Some(v) = self.iterations {
            m.insert("iterations".into(), v.into());
        }
        if let Some(stages) = &self.stages {
            m.insert("stages".into(), stages.iter().map(|s| serde_json::json!({"duration": crate::format_duration(s.duration), "target": s.target})).collect());
        }
        if let Some(t) = &self.thresholds {
            let obj: serde_json::Map<String, Value> = t
                .iter()
                .map(|(k, defs)| {
                    (
                        k.clone(),
                        defs.iter()
                            .map(|d| Value::String(d.expression.clone()))
                            .collect(),
                    )
                })
                .collect();
            m.insert("thresholds".into(), Value::Object(obj));
        }
        if let Some(v) = &self.setup_timeout {
            m.insert("setupTimeout".into(), dur(v));
        }
        if let Some(v) = &self.teardown_timeout {
            m.insert("teardownTimeout".into(), dur(v));
        }
        if let Some(v) = &self.summary_trend_stats {
            m.insert("summaryTrendStats".into(), v.clone().into());
        }
        if let Some(v) = &self.tags {
            m.insert("tags".into(), serde_json::to_value(v).unwrap_or_default());
        }
        if let Some(v) = self.insecure_skip_tls_verify {
            m.insert("insecureSkipTLSVerify".into(), v.into());
        }
        if let Some(v) = self.max_redirects {
            m.insert("maxRedirects".into(), v.into());
        }
        if let Some(v) = &self.user_agent {
            m.insert("userAgent".into(), v.clone().into());
        }
        if let Some(v) = self.discard_response_bodies {
            m.insert("discardResponseBodies".into(), v.into());
        }
        if let Some(v) = self.system_tags {
            m.insert("systemTags".into(), v.names().collect::<Vec<_>>().into());
        }
        if let Some(v) = self.no_cookies_reset {
            m.insert("noCookiesReset".into(), v.into());
        }
        if let Some(v) = &self.http_debug {
            m.insert("httpDebug".into(), v.clone().into());
        }
        Value::Object(m)
    }
}

/// k6's `K6_TAGS`: `name:value` pairs separated by commas (envconfig's map syntax).
fn tag_map(s: &str, key: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    split_list(s)
        .iter()
        .map(|item| {
            item.split_once(':')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        key,
                        format!("invalid map item {item:?}, expected name:value"),
                    )
                })
        })
        .collect()
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Parses k6's CLI/env stage list: `30s:10,1m:20` (a missing target means 0).
pub fn parse_stage_list(s: &str, field: &str) -> Result<Vec<Stage>, ConfigError> {
    split_list(s)
        .iter()
        .map(|part| parse_stage(part, field))
        .collect()
}

/// Parses one `--stage` value, `duration:target`.
pub fn parse_stage(part: &str, field: &str) -> Result<Stage, ConfigError> {
    let (d, t) = part.split_once(':').unwrap_or((part, ""));
    let duration = parse_go_duration(d).map_err(|e| ConfigError::invalid(field, e.to_string()))?;
    let target = if t.is_empty() {
        0
    } else {
        t.parse()
            .map_err(|_| ConfigError::invalid(field, format!("{t:?} is not a valid VU target")))?
    };
    Ok(Stage { duration, target })
}

fn parse_thresholds(v: &Value) -> Result<Vec<(String, Vec<ThresholdDef>)>, ConfigError> {
    let m = v
        .as_object()
        .ok_or_else(|| ConfigError::invalid("thresholds", "expected an object of metric names"))?;
    m.iter()
        .map(|(metric, defs)| {
            let field = format!("thresholds.{metric}");
            let one = |d: &Value| -> Result<ThresholdDef, ConfigError> {
                match d {
                    Value::String(s) => Ok(ThresholdDef {
                        expression: s.clone(),
                        abort_on_fail: false,
                        delay_abort_eval: None,
                        source: d.clone(),
                    }),
                    Value::Object(o) => {
                        let expression =
                            o.get("threshold").and_then(Value::as_str).ok_or_else(|| {
                                ConfigError::missing(
                                    field.clone(),
                                    "a threshold object needs a `threshold` string",
                                )
                            })?;
                        let abort_on_fail = o
                            .get("abortOnFail")
                            .and_then(Value::as_bool)
                            .unwrap_or(false);
                        let delay_abort_eval = o
                            .get("delayAbortEval")
                            .map(|d| parse_duration(d, &format!("{field}.delayAbortEval")))
                            .transpose()?;
                        Ok(ThresholdDef {
                            expression: expression.to_string(),
                            abort_on_fail,
                            delay_abort_eval,
                            source: d.clone(),
                        })
                    }
                    other => Err(ConfigError::invalid(
                        field.clone(),
                        format!("expected a string or an object, got {other}"),
                    )),
                }
            };
            let list = match defs {
                Value::Array(a) => a.iter().map(one).collect::<Result<Vec<_>, _>>()?,
                single => vec![one(single)?],
            };
            Ok((metric.clone(), list))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cookie_reset_and_http_debug_options() {
        let o = Options::from_json(&json!({"noCookiesReset": true, "httpDebug": "full"})).unwrap();
        assert_eq!(o.no_cookies_reset, Some(true));
        assert_eq!(o.http_debug.as_deref(), Some("full"));
        assert_eq!(o.to_json()["noCookiesReset"], json!(true));
        assert_eq!(o.to_json()["httpDebug"], json!("full"));
        assert!(Options::from_json(&json!({"noCookiesReset": "yes"}))
            .unwrap_err()
            .to_string()
            .contains("noCookiesReset"));
        let env = Options::from_env([
            ("K6_NO_COOKIES_RESET".to_string(), "true".to_string()),
            ("K6_HTTP_DEBUG".to_string(), "headers".to_string()),
        ])
        .unwrap();
        assert_eq!(env.no_cookies_reset, Some(true));
        assert_eq!(env.http_debug.as_deref(), Some("headers"));
    }

    #[test]
    fn shortcuts_become_scenarios_like_k6() {
        let o = Options {
            vus: Some(5),
            duration: Some(Duration::from_secs(10)),
            ..Default::default()
        };
        let s = o.scenarios_resolved().unwrap();
        assert_eq!(
            s[0].executor,
            Executor::ConstantVus {
                vus: 5,
                duration: Duration::from_secs(10)
            }
        );
        let o = Options {
            vus: Some(2),
            iterations: Some(6),
            ..Default::default()
        };
        assert_eq!(
            o.scenarios_resolved().unwrap()[0].describe(),
            "6 iterations shared among 2 VUs (maxDuration: 10m0s, gracefulStop: 30s)"
        );
        let o = Options::default();
        assert_eq!(o.scenarios_resolved().unwrap()[0].executor.max_vus(), 1);
        let o = Options {
            vus: Some(-1),
            duration: Some(Duration::from_secs(1)),
            ..Default::default()
        };
        assert!(o
            .scenarios_resolved()
            .unwrap_err()
            .to_string()
            .contains("vus"));
        let o = Options {
            vus: Some(0),
            duration: Some(Duration::from_secs(1)),
            ..Default::default()
        };
        assert!(o
            .scenarios_resolved()
            .unwrap_err()
            .to_string()
            .contains("more than 0"));
    }

    #[test]
    fn higher_tier_shortcuts_replace_lower_scenarios() {
        let mut script = Options::from_json(&json!({
            "vus": 3,
            "scenarios": {"a": {"executor": "constant-vus", "duration": "1s"}}
        }))
        .unwrap();
        script.apply(Options {
            duration: Some(Duration::from_secs(2)),
            ..Default::default()
        });
        assert!(script.scenarios.is_none());
        assert_eq!(script.vus, Some(3));
        let s = script.scenarios_resolved().unwrap();
        assert_eq!(
            s[0].executor,
            Executor::ConstantVus {
                vus: 3,
                duration: Duration::from_secs(2)
            }
        );
    }

    #[test]
    fn parses_thresholds_in_both_forms() {
        let o = Options::from_json(&json!({"thresholds": {
            "http_req_duration": ["p(95)<500", {"threshold": "p(99)<1500", "abortOnFail": true, "delayAbortEval": "10s"}],
            "errors": ["rate<0.1"]
        }}))
        .unwrap();
        let t = o.thresholds.unwrap();
        assert_eq!(t.len(), 2);
        let (_, defs) = t.iter().find(|(k, _)| k == "http_req_duration").unwrap();
        assert!(defs[1].abort_on_fail);
        assert_eq!(defs[1].delay_abort_eval, Some(Duration::from_secs(10)));
    }

    #[test]
    fn bad_values_name_the_option() {
        let e = Options::from_json(&json!({"vus": "many"})).unwrap_err();
        assert!(e.to_string().contains("`vus`"), "{e}");
        let e = Options::from_json(&json!({"duration": "10x"})).unwrap_err();
        assert!(e.to_string().contains("`duration`"), "{e}");
        let e = Options::from_json(&json!({"stages": [{"duration": "1s", "target": "ten"}]}))
            .unwrap_err();
        assert!(e.to_string().contains("stages[0].target"), "{e}");
    }

    #[test]
    fn env_overrides() {
        let o = Options::from_env(vec![
            ("K6_VUS".into(), "4".into()),
            ("K6_DURATION".into(), "3s".into()),
            ("HOME".into(), "/".into()),
        ])
        .unwrap();
        assert_eq!(o.vus, Some(4));
        assert_eq!(o.duration, Some(Duration::from_secs(3)));
        assert!(Options::from_env(vec![("K6_VUS".into(), "x".into())]).is_err());
        let tags = Options::from_env(vec![("K6_TAGS".into(), "a:1,b:2".into())])
            .unwrap()
            .tags
            .unwrap();
        assert_eq!(tags.get("b").map(String::as_str), Some("2"));
        assert!(Options::from_env(vec![("K6_TAGS".into(), "a=1".into())]).is_err());
        assert_eq!(
            parse_stage_list("10s:5,20s", "stage").unwrap()[1],
            Stage {
                duration: Duration::from_secs(20),
                target: 0
            }
        );
    }
}
