//! Scenarios and their executors, parsed from k6's `options.scenarios` JSON with errors that
//! name the field (`scenarios.api.rate: ...`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::duration::parse_duration;
use crate::ConfigError;

/// One stage of a ramping executor: reach `target` (VUs or iterations per time unit) linearly
/// over `duration`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: u64,
}

/// The seven k6 executors and their parameters, defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Executor {
    SharedIterations {
        vus: u64,
        iterations: u64,
        max_duration: Duration,
    },
    PerVuIterations {
        vus: u64,
        iterations: u64,
        max_duration: Duration,
    },
    ConstantVus {
        vus: u64,
        duration: Duration,
    },
    RampingVus {
        start_vus: u64,
        stages: Vec<Stage>,
        graceful_ramp_down: Duration,
    },
    ConstantArrivalRate {
        rate: u64,
        time_unit: Duration,
        duration: Duration,
        pre_allocated_vus: u64,
        max_vus: u64,
    },
    RampingArrivalRate {
        start_rate: u64,
        time_unit: Duration,
        stages: Vec<Stage>,
        pre_allocated_vus: u64,
        max_vus: u64,
    },
    ExternallyControlled {
        vus: u64,
        max_vus: u64,
        duration: Duration,
    },
}

impl Executor {
    /// k6's executor name.
    pub fn name(&self) -> &'static str {
        match self {
            Executor::SharedIterations { .. } => "shared-iterations",
            Executor::PerVuIterations { .. } => "per-vu-iterations",
            Executor::ConstantVus { .. } => "constant-vus",
            Executor::RampingVus { .. } => "ramping-vus",
            Executor::ConstantArrivalRate { .. } => "constant-arrival-rate",
            Executor::RampingArrivalRate { .. } => "ramping-arrival-rate",
            Executor::ExternallyControlled { .. } => "externally-controlled",
        }
    }

    /// The most VUs this executor may ever need.
    pub fn max_vus(&self) -> u64 {
        match self {
            Executor::SharedIterations { vus, .. }
            | Executor::PerVuIterations { vus, .. }
            | Executor::ConstantVus { vus, .. } => *vus,
            Executor::RampingVus {
                start_vus, stages, ..
            } => stages
                .iter()
                .map(|s| s.target)
                .max()
                .unwrap_or(0)
                .max(*start_vus),
            Executor::ConstantArrivalRate {
                pre_allocated_vus,
                max_vus,
                ..
            }
            | Executor::RampingArrivalRate {
                pre_allocated_vus,
                max_vus,
                ..
            } => (*max_vus).max(*pre_allocated_vus),
            Executor::ExternallyControlled { max_vus, vus, .. } => (*max_vus).max(*vus),
        }
    }

    /// How long the executor runs before graceful stop, when that is known in advance.
    pub fn max_duration(&self) -> Duration {
        match self {
            Executor::SharedIterations { max_duration, .. }
            | Executor::PerVuIterations { max_duration, .. } => *max_duration,
            Executor::ConstantVus { duration, .. }
            | Executor::ConstantArrivalRate { duration, .. }
            | Executor::ExternallyControlled { duration, .. } => *duration,
            Executor::RampingVus { stages, .. } | Executor::RampingArrivalRate { stages, .. } => {
                stages.iter().map(|s| s.duration).sum()
            }
        }
    }
}

/// A named scenario: an executor plus the options every executor shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub executor: Executor,
    pub start_time: Duration,
    pub graceful_stop: Duration,
    /// The exported function each iteration calls (`default` unless `exec` says otherwise).
    pub exec: String,
    pub env: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

impl Scenario {
    /// The scenario as k6 shows it in `exec.test.options`: the shared fields, then the
    /// executor's, in k6's order (resolved values where k6 shows `null` for an unset one).
    pub fn to_json(&self) -> Value {
        let d = |d: &Duration| Value::String(crate::format_duration(*d));
        let stages = |st: &[Stage]| -> Value {
            st.iter()
                .map(|s| serde_json::json!({"duration": d(&s.duration), "target": s.target}))
                .collect()
        };
        let mut m = serde_json::Map::new();
        m.insert("executor".into(), self.executor.name().into());
        m.insert("startTime".into(), d(&self.start_time));
        m.insert("gracefulStop".into(), d(&self.graceful_stop));
        m.insert(
            "env".into(),
            serde_json::to_value(&self.env).unwrap_or(Value::Null),
        );
        m.insert("exec".into(), self.exec.clone().into());
        m.insert(
            "tags".into(),
            serde_json::to_value(&self.tags).unwrap_or(Value::Null),
        );
        let mut put = |k: &str, v: Value| {
            m.insert(k.into(), v);
        };
        match &self.executor {
            Executor::SharedIterations {
                vus,
                iterations,
                max_duration,
            }
            | Executor::PerVuIterations {
                vus,
                iterations,
                max_duration,
            } => {
                put("vus", (*vus).into());
                put("iterations", (*iterations).into());
                put("maxDuration", d(max_duration));
            }
            Executor::ConstantVus { vus, duration } => {
                put("vus", (*vus).into());
                put("duration", d(duration));
            }
            Executor::RampingVus {
                start_vus,
                stages: st,
                graceful_ramp_down,
            } => {
                put("startVUs", (*start_vus).into());
                put("stages", stages(st));
                put("gracefulRampDown", d(graceful_ramp_down));
            }
            Executor::ConstantArrivalRate {
                rate,
                time_unit,
                duration,
                pre_allocated_vus,
                max_vus,
            } => {
                put("rate", (*rate).into());
                put("timeUnit", d(time_unit));
                put("duration", d(duration));
                put("preAllocatedVUs", (*pre_allocated_vus).into());
                put("maxVUs", (*max_vus).into());
            }
            Executor::RampingArrivalRate {
                start_rate,
                time_unit,
                stages: st,
                pre_allocated_vus,
                max_vus,
            } => {
                put("startRate", (*start_rate).into());
                put("timeUnit", d(time_unit));
                put("preAllocatedVUs", (*pre_allocated_vus).into());
                put("maxVUs", (*max_vus).into());
                put("stages", stages(st));
            }
            Executor::ExternallyControlled {
                vus,
                max_vus,
                duration,
            } => {
                put("vus", (*vus).into());
                put("maxVUs", (*max_vus).into());
                put("duration", d(duration));
            }
        }
        Value::Object(m)
    }

    /// A scenario with k6's defaults for the shared options.
    pub fn new(name: &str, executor: Executor) -> Scenario {
        Scenario {
            name: name.to_string(),
            executor,
            start_time: Duration::ZERO,
            graceful_stop: Duration::from_secs(30),
            exec: "default".into(),
            env: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }

    /// The one-line description k6 prints in its banner.
    pub fn describe(&self) -> String {
        use crate::format_duration as f;
        let gs = f(self.graceful_stop);
        match &self.executor {
            Executor::SharedIterations { vus, iterations, max_duration } => format!(
                "{iterations} iterations shared among {vus} VUs (maxDuration: {}, gracefulStop: {gs})",
                f(*max_duration)
            ),
            Executor::PerVuIterations { vus, iterations, max_duration } => format!(
                "{iterations} iterations for each of {vus} VUs (maxDuration: {}, gracefulStop: {gs})",
                f(*max_duration)
            ),
            Executor::ConstantVus { vus, duration } => {
                format!("{vus} looping VUs for {} (gracefulStop: {gs})", f(*duration))
            }
            Executor::RampingVus { start_vus, stages, graceful_ramp_down } => format!(
                "Up to {} looping VUs for {} over {} stages (gracefulRampDown: {}, gracefulStop: {gs})",
                self.executor.max_vus(),
                f(stages.iter().map(|s| s.duration).sum()),
                stages.len(),
                f(*graceful_ramp_down)
            )
            .replace("Up to 0 ", &format!("Up to {start_vus} ")),
            Executor::ConstantArrivalRate { rate, time_unit, duration, pre_allocated_vus, max_vus } => {
                let per_sec = *rate as f64 / time_unit.as_secs_f64();
                format!(
                    "{:.2} iterations/s for {} (maxVUs: {pre_allocated_vus}-{max_vus}, gracefulStop: {gs})",
                    per_sec,
                    f(*duration)
                )
            }
            Executor::RampingArrivalRate { stages, pre_allocated_vus, max_vus, .. } => format!(
                "Up to {:.2} iterations/s for {} over {} stages (maxVUs: {pre_allocated_vus}-{max_vus}, gracefulStop: {gs})",
                self.peak_rate_per_sec(),
                f(stages.iter().map(|s| s.duration).sum()),
                stages.len()
            ),
            Executor::ExternallyControlled { vus, max_vus, duration } => format!(
                "Externally controlled execution with {vus} VUs, {max_vus} max VUs, {} duration",
                f(*duration)
            ),
        }
    }

    fn peak_rate_per_sec(&self) -> f64 {
        match &self.executor {
            Executor::RampingArrivalRate {
                start_rate,
                time_unit,
                stages,
                ..
            } => {
                let peak = stages
                    .iter()
                    .map(|s| s.target)
                    .max()
                    .unwrap_or(0)
                    .max(*start_rate);
                peak as f64 / time_unit.as_secs_f64()
            }
            _ => 0.0,
        }
    }

    /// Parses one entry of `options.scenarios` and validates it as k6 does: unknown fields,
    /// the executor's required fields and their ranges (errors name the scenario and value).
    pub fn from_json(name: &str, value: &Value) -> Result<Scenario, ConfigError> {
        let obj = value.as_object().ok_or_else(|| {
            ConfigError::invalid(format!("scenarios.{name}"), "expected an object")
        })?;
        let f = Fields {
            obj,
            prefix: format!("scenarios.{name}"),
            name,
        };
        let executor_name = f.string("executor")?.ok_or_else(|| {
            ConfigError::missing(
                format!("scenarios.{name}.executor"),
                format!("scenario '{name}' doesn't have a specified executor type"),
            )
        })?;
        let fields = executor_fields(&executor_name).ok_or_else(|| {
            ConfigError::invalid(
                f.field("executor"),
                format!(
                    "unknown executor type '{executor_name}' (known: {})",
                    EXECUTORS.join(", ")
                ),
            )
        })?;
        if let Some(unknown) = obj
            .keys()
            .find(|k| !COMMON_FIELDS.contains(&k.as_str()) && !fields.contains(&k.as_str()))
        {
            return Err(ConfigError::invalid(
                format!("scenarios.{name}"),
                format!(
                    "unknown field {unknown:?}; a {executor_name} scenario takes {}",
                    COMMON_FIELDS
                        .iter()
                        .chain(fields)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            || name.is_empty()
        {
            return Err(f.rule(
                "the scenario name should contain only numbers, latin letters, underscores, and dashes",
            ));
        }
        let executor = f.executor(&executor_name)?;
        let mut scenario = Scenario::new(name, executor);
        if let Some(d) = f.duration("startTime")? {
            scenario.start_time = d;
        }
        if let Some(d) = f.duration("gracefulStop")? {
            scenario.graceful_stop = d;
        }
        if let Some(exec) = f.string("exec")? {
            if exec.is_empty() {
                return Err(f.rule("exec value cannot be empty"));
            }
            scenario.exec = exec;
        }
        scenario.env = f.string_map("env")?;
        scenario.tags = f.string_map("tags")?;
        Ok(scenario)
    }
}

/// k6's executor types.
pub const EXECUTORS: [&str; 7] = [
    "shared-iterations",
    "per-vu-iterations",
    "constant-vus",
    "ramping-vus",
    "constant-arrival-rate",
    "ramping-arrival-rate",
    "externally-controlled",
];

/// The fields every scenario takes (k6's BaseConfig). `options` holds k6/browser's settings,
/// which only a script importing `k6/browser` uses (stampede refuses that module).
const COMMON_FIELDS: &[&str] = &[
    "executor",
    "startTime",
    "gracefulStop",
    "env",
    "exec",
    "tags",
    "options",
];

/// The fields of one executor type, besides the common ones; `None` for an unknown type.
fn executor_fields(executor: &str) -> Option<&'static [&'static str]> {
    Some(match executor {
        "shared-iterations" | "per-vu-iterations" => &["vus", "iterations", "maxDuration"],
        "constant-vus" => &["vus", "duration"],
        "ramping-vus" => &["startVUs", "stages", "gracefulRampDown"],
        "constant-arrival-rate" => &["rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"],
        "ramping-arrival-rate" => &[
            "startRate",
            "timeUnit",
            "stages",
            "preAllocatedVUs",
            "maxVUs",
        ],
        "externally-controlled" => &["vus", "maxVUs", "duration"],
        _ => return None,
    })
}

/// The shortest duration k6 accepts for a `duration` or `maxDuration`.
const MIN_DURATION: Duration = Duration::from_secs(1);

/// Parses a `stages` array.
pub(crate) fn parse_stages(value: &Value, field: &str) -> Result<Vec<Stage>, ConfigError> {
    let items = value.as_array().ok_or_else(|| {
        ConfigError::invalid(field, format!("expected an array of stages, got {value}"))
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("{field}[{i}]");
            let obj = item
                .as_object()
                .ok_or_else(|| ConfigError::invalid(&at, "expected {duration, target}"))?;
            let duration = match obj.get("duration") {
                Some(v) => parse_duration(v, &format!("{at}.duration"))?,
                None => {
                    return Err(ConfigError::missing(
                        format!("{at}.duration"),
                        "every stage needs a duration",
                    ))
                }
            };
            let target = match obj.get("target") {
                None | Some(Value::Null) => {
                    return Err(ConfigError::missing(
                        format!("{at}.target"),
                        format!("stage {} doesn't have a target", i + 1),
                    ))
                }
                Some(v) => as_uint(v, &format!("{at}.target"))?,
            };
            Ok(Stage { duration, target })
        })
        .collect()
}

pub(crate) fn as_uint(v: &Value, field: &str) -> Result<u64, ConfigError> {
    match v.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 => Ok(n as u64),
        Some(n) if n < 0.0 => Err(ConfigError::invalid(
            field,
            format!("{n} must not be negative"),
        )),
        Some(n) => Err(ConfigError::invalid(
            field,
            format!("{n} is not a whole number"),
        )),
        None => Err(ConfigError::invalid(
            field,
            format!("expected a number, got {v}"),
        )),
    }
}

struct Fields<'a> {
    obj: &'a Map<String, Value>,
    prefix: String,
    name: &'a str,
}

/// k6's check that a `duration` or `maxDuration` is at least 1s.
pub(crate) fn check_min_duration(
    scenario: &str,
    what: &str,
    d: Duration,
) -> Result<(), ConfigError> {
    if d < MIN_DURATION {
        return Err(ConfigError::scenario(
            scenario,
            format!("the {what} must be at least 1s, but is {}", sub_second(d)),
        ));
    }
    Ok(())
}

/// A duration under a second as Go prints it (`500ms`, `1.5ms`, `20µs`, `0s`).
fn sub_second(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    let (value, unit) = match d.as_nanos() {
        0 => return "0s".into(),
        n if n < 1_000 => (ns, "ns"),
        n if n < 1_000_000 => (ns / 1e3, "µs"),
        _ => (ns / 1e6, "ms"),
    };
    format!("{value}{unit}")
}

/// k6's rules for a ramping executor's stages: at least one, each with a target.
pub(crate) fn check_stages(scenario: &str, stages: &[Stage]) -> Result<(), ConfigError> {
    if stages.is_empty() {
        return Err(ConfigError::scenario(
            scenario,
            "at least one stage has to be specified",
        ));
    }
    Ok(())
}

impl Fields<'_> {
    /// A violation of one of the executor's rules, in k6's words.
    fn rule(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::scenario(self.name, reason)
    }
    /// A whole number that may be negative (the rules then say why it can't be).
    fn int(&self, key: &str) -> Result<Option<i64>, ConfigError> {
        self.get(key)
            .map(|v| match v.as_f64() {
                Some(n) if n.fract() == 0.0 => Ok(n as i64),
                _ => Err(ConfigError::invalid(
                    self.field(key),
                    format!("expected a whole number, got {v}"),
                )),
            })
            .transpose()
    }
    fn vus_above_zero(&self, key: &str) -> Result<u64, ConfigError> {
        let vus = self.int(key)?.unwrap_or(1);
        if vus <= 0 {
            return Err(self.rule(format!(
                "the number of VUs must be more than 0 ({key}: {vus})"
            )));
        }
        Ok(vus as u64)
    }
    fn required_duration(&self, key: &str) -> Result<Duration, ConfigError> {
        self.duration(key)?
            .ok_or_else(|| self.rule(format!("the {key} is unspecified")))
    }
    fn ramping_stages(&self) -> Result<Vec<Stage>, ConfigError> {
        let stages = match self.get("stages") {
            None => Vec::new(),
            Some(v) => parse_stages(v, &self.field("stages"))?,
        };
        check_stages(self.name, &stages)?;
        Ok(stages)
    }
    /// `preAllocatedVUs` and `maxVUs` of the arrival-rate executors.
    fn arrival_vus(&self) -> Result<(u64, u64), ConfigError> {
        let pre = self
            .int("preAllocatedVUs")?
            .ok_or_else(|| self.rule("the number of preAllocatedVUs isn't specified"))?;
        if pre < 0 {
            return Err(self.rule(format!(
                "the number of preAllocatedVUs can't be negative (preAllocatedVUs: {pre})"
            )));
        }
        let max = self.int("maxVUs")?.unwrap_or(pre);
        if max < pre {
            return Err(self.rule(format!(
                "maxVUs can't be less than preAllocatedVUs (maxVUs: {max}, preAllocatedVUs: {pre})"
            )));
        }
        Ok((pre as u64, max as u64))
    }
    fn executor(&self, executor: &str) -> Result<Executor, ConfigError> {
        let ten_minutes = Duration::from_secs(600);
        Ok(match executor {
            "shared-iterations" => {
                let vus = self.vus_above_zero("vus")?;
                let iterations = self.int("iterations")?.unwrap_or(1);
                if iterations < vus as i64 {
                    return Err(self.rule(format!(
                        "the number of iterations ({iterations}) can't be less than the number of VUs ({vus})"
                    )));
                }
                let max_duration = self.duration("maxDuration")?.unwrap_or(ten_minutes);
                check_min_duration(self.name, "maxDuration", max_duration)?;
                Executor::SharedIterations {
                    vus,
                    iterations: iterations as u64,
                    max_duration,
                }
            }
            "per-vu-iterations" => {
                let vus = self.vus_above_zero("vus")?;
                let iterations = self.int("iterations")?.unwrap_or(1);
                if iterations <= 0 {
                    return Err(self.rule(format!(
                        "the number of iterations must be more than 0 (iterations: {iterations})"
                    )));
                }
                let max_duration = self.duration("maxDuration")?.unwrap_or(ten_minutes);
                check_min_duration(self.name, "maxDuration", max_duration)?;
                Executor::PerVuIterations {
                    vus,
                    iterations: iterations as u64,
                    max_duration,
                }
            }
            "constant-vus" => {
                let vus = self.vus_above_zero("vus")?;
                let duration = self.required_duration("duration")?;
                check_min_duration(self.name, "duration", duration)?;
                Executor::ConstantVus { vus, duration }
            }
            "ramping-vus" => {
                let start_vus = self.int("startVUs")?.unwrap_or(1);
                if start_vus < 0 {
                    return Err(self.rule(format!(
                        "the number of start VUs can't be negative (startVUs: {start_vus})"
                    )));
                }
                let stages = self.ramping_stages()?;
                if start_vus == 0 && stages.iter().all(|s| s.target == 0) {
                    return Err(self.rule(
                        "either startVUs or one of the stages' target values must be greater than 0",
                    ));
                }
                Executor::RampingVus {
                    start_vus: start_vus as u64,
                    stages,
                    graceful_ramp_down: self
                        .duration("gracefulRampDown")?
                        .unwrap_or(Duration::from_secs(30)),
                }
            }
            "constant-arrival-rate" => {
                let duration = self.required_duration("duration")?;
                let rate = self
                    .int("rate")?
                    .ok_or_else(|| self.rule("the iteration rate isn't specified"))?;
                if rate <= 0 {
                    return Err(self.rule(format!(
                        "the iteration rate must be more than 0 (rate: {rate})"
                    )));
                }
                let time_unit = self.time_unit()?;
                check_min_duration(self.name, "duration", duration)?;
                let (pre_allocated_vus, max_vus) = self.arrival_vus()?;
                Executor::ConstantArrivalRate {
                    rate: rate as u64,
                    time_unit,
                    duration,
                    pre_allocated_vus,
                    max_vus,
                }
            }
            "ramping-arrival-rate" => {
                let start_rate = self.int("startRate")?.unwrap_or(0);
                if start_rate < 0 {
                    return Err(self.rule(format!(
                        "the startRate value can't be negative (startRate: {start_rate})"
                    )));
                }
                let time_unit = self.time_unit()?;
                let stages = self.ramping_stages()?;
                let (pre_allocated_vus, max_vus) = self.arrival_vus()?;
                Executor::RampingArrivalRate {
                    start_rate: start_rate as u64,
                    time_unit,
                    stages,
                    pre_allocated_vus,
                    max_vus,
                }
            }
            _ => {
                let vus = self.int("vus")?.unwrap_or(0);
                let max_vus = self.int("maxVUs")?.unwrap_or(vus);
                if vus < 0 || max_vus < 0 {
                    return Err(self.rule("the number of VUs can't be negative"));
                }
                if vus > max_vus {
                    return Err(self.rule(format!(
                        "the number of active VUs ({vus}) must be less than or equal to the number of maxVUs ({max_vus})"
                    )));
                }
                let duration = self.duration("duration")?.ok_or_else(|| {
                    self.rule("the duration must be specified, for infinite duration use 0")
                })?;
                Executor::ExternallyControlled {
                    vus: vus as u64,
                    max_vus: max_vus as u64,
                    duration,
                }
            }
        })
    }
    fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.prefix)
    }
    fn get(&self, key: &str) -> Option<&Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }
    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(ConfigError::invalid(
                self.field(key),
                format!("expected a string, got {v}"),
            )),
        }
    }
    fn duration(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        self.get(key)
            .map(|v| parse_duration(v, &self.field(key)))
            .transpose()
    }
    fn time_unit(&self) -> Result<Duration, ConfigError> {
        let unit = self.duration("timeUnit")?.unwrap_or(Duration::from_secs(1));
        if unit.is_zero() {
            return Err(self.rule("the timeUnit must be more than 0"));
        }
        Ok(unit)
    }
    fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, ConfigError> {
        match self.get(key) {
            None => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    other => Err(ConfigError::invalid(
                        format!("{}.{k}", self.field(key)),
                        format!("expected a string, got {other}"),
                    )),
                })
                .collect(),
            Some(v) => Err(ConfigError::invalid(
                self.field(key),
                format!("expected an object of strings, got {v}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_arrival_rate_with_defaults() {
        let s = Scenario::from_json(
            "api",
            &json!({"executor": "constant-arrival-rate", "rate": 100, "duration": "1m", "preAllocatedVUs": 10}),
        )
        .unwrap();
        assert_eq!(
            s.executor,
            Executor::ConstantArrivalRate {
                rate: 100,
                time_unit: Duration::from_secs(1),
                duration: Duration::from_secs(60),
                pre_allocated_vus: 10,
                max_vus: 10
            }
        );
        assert_eq!(s.exec, "default");
        assert_eq!(s.graceful_stop, Duration::from_secs(30));
    }

    #[test]
    fn errors_name_the_field() {
        let e = Scenario::from_json("x", &json!({"executor": "nope"})).unwrap_err();
        assert!(e.to_string().contains("scenarios.x.executor"), "{e}");
        let e = Scenario::from_json(
            "x",
            &json!({"executor": "constant-arrival-rate", "duration": "1s", "preAllocatedVUs": 1}),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "scenario x has configuration errors: the iteration rate isn't specified"
        );
        let e = Scenario::from_json(
            "x",
            &json!({"executor": "ramping-vus", "stages": [{"duration": "1s", "target": "a"}]}),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("scenarios.x.stages[0].target"),
            "{e}"
        );
        let e = Scenario::from_json("x", &json!({"executor": "constant-vus", "duration": "-1s"}))
            .unwrap_err();
        assert!(e.to_string().contains("scenarios.x.duration"), "{e}");
    }

    /// Each case and its message as k6 1.1.0 words it (the value added where k6 leaves it out).
    #[test]
    fn rules_as_k6() {
        let err = |v: serde_json::Value| Scenario::from_json("a", &v).unwrap_err().to_string();
        let cases = [
            (json!({"executor": "constant-vus", "duration": "1s", "foo": 1}), "unknown field \"foo\""),
            (json!({"executor": "constant-vus", "duration": "500ms"}), "the duration must be at least 1s, but is 500ms"),
            (json!({"executor": "constant-vus"}), "the duration is unspecified"),
            (json!({"executor": "constant-vus", "duration": "1s", "vus": -1}), "the number of VUs must be more than 0"),
            (json!({"executor": "constant-vus", "duration": "1s", "exec": ""}), "exec value cannot be empty"),
            (json!({"executor": "constant-vus", "duration": "1s", "tags": {"x": 1}}), "scenarios.a.tags.x"),
            (json!({"executor": "shared-iterations", "maxDuration": "500ms"}), "the maxDuration must be at least 1s, but is 500ms"),
            (json!({"executor": "shared-iterations", "iterations": -1}), "the number of iterations (-1) can't be less than the number of VUs (1)"),
            (json!({"executor": "per-vu-iterations", "iterations": 0}), "the number of iterations must be more than 0"),
            (json!({"executor": "constant-arrival-rate", "rate": 1, "duration": "1s"}), "the number of preAllocatedVUs isn't specified"),
            (json!({"executor": "constant-arrival-rate", "rate": 1, "duration": "1s", "preAllocatedVUs": -1}), "the number of preAllocatedVUs can't be negative"),
            (json!({"executor": "constant-arrival-rate", "rate": 1, "duration": "1s", "preAllocatedVUs": 2, "maxVUs": 1}), "maxVUs can't be less than preAllocatedVUs"),
            (json!({"executor": "constant-arrival-rate", "rate": 0, "duration": "1s", "preAllocatedVUs": 1}), "the iteration rate must be more than 0"),
            (json!({"executor": "constant-arrival-rate", "rate": 1, "duration": "1s", "preAllocatedVUs": 1, "timeUnit": "0s"}), "the timeUnit must be more than 0"),
            (json!({"executor": "ramping-vus", "startVUs": -1, "stages": [{"duration": "1s", "target": 1}]}), "the number of start VUs can't be negative"),
            (json!({"executor": "ramping-vus", "stages": []}), "at least one stage has to be specified"),
            (json!({"executor": "ramping-vus"}), "at least one stage has to be specified"),
            (json!({"executor": "ramping-vus", "startVUs": 0, "stages": [{"duration": "1s", "target": 0}]}), "either startVUs or one of the stages' target values must be greater than 0"),
            (json!({"executor": "ramping-vus", "stages": [{"duration": "1s"}]}), "stage 1 doesn't have a target"),
            (json!({"executor": "ramping-arrival-rate", "preAllocatedVUs": 1, "startRate": -1, "stages": [{"duration": "1s", "target": 1}]}), "the startRate value can't be negative"),
            (json!({"executor": "externally-controlled", "vus": 2, "maxVUs": 1, "duration": "1s"}), "the number of active VUs (2) must be less than or equal to the number of maxVUs (1)"),
            (json!({"executor": "externally-controlled"}), "the duration must be specified, for infinite duration use 0"),
        ];
        for (config, want) in cases {
            let got = err(config.clone());
            assert!(got.contains(want), "{config}: {got}");
        }
        let e = Scenario::from_json(
            "a b",
            &json!({"executor": "constant-vus", "duration": "1s"}),
        )
        .unwrap_err();
        assert!(e.to_string().contains("only numbers, latin letters"), "{e}");
        // k6/browser's settings are accepted, as k6 does when the script doesn't use them.
        Scenario::from_json(
            "a",
            &json!({"executor": "constant-vus", "duration": "1s", "options": {}}),
        )
        .unwrap();
    }
}
