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

    /// Parses one entry of `options.scenarios`.
    pub fn from_json(name: &str, value: &Value) -> Result<Scenario, ConfigError> {
        let obj = value.as_object().ok_or_else(|| {
            ConfigError::invalid(format!("scenarios.{name}"), "expected an object")
        })?;
        let f = Fields {
            obj,
            prefix: format!("scenarios.{name}"),
        };
        let executor_name = f.string("executor")?.ok_or_else(|| {
            ConfigError::missing(
                format!("scenarios.{name}.executor"),
                "every scenario needs an executor",
            )
        })?;
        let executor = match executor_name.as_str() {
            "shared-iterations" => {
                let vus = f.uint("vus")?.unwrap_or(1);
                let iterations = f.uint("iterations")?.unwrap_or(1);
                f.positive("vus", vus)?;
                if iterations < vus {
                    return Err(ConfigError::invalid(
                        f.field("iterations"),
                        format!("the number of iterations ({iterations}) can't be less than the number of VUs ({vus})"),
                    ));
                }
                Executor::SharedIterations {
                    vus,
                    iterations,
                    max_duration: f.duration("maxDuration")?.unwrap_or(Duration::from_secs(600)),
                }
            }
            "per-vu-iterations" => {
                let vus = f.uint("vus")?.unwrap_or(1);
                f.positive("vus", vus)?;
                let iterations = f.uint("iterations")?.unwrap_or(1);
                f.positive("iterations", iterations)?;
                Executor::PerVuIterations {
                    vus,
                    iterations,
                    max_duration: f.duration("maxDuration")?.unwrap_or(Duration::from_secs(600)),
                }
            }
            "constant-vus" => {
                let vus = f.uint("vus")?.unwrap_or(1);
                f.positive("vus", vus)?;
                let duration = f.duration("duration")?.ok_or_else(|| {
                    ConfigError::missing(f.field("duration"), "constant-vus needs a duration")
                })?;
                f.positive_duration("duration", duration)?;
                Executor::ConstantVus { vus, duration }
            }
            "ramping-vus" => {
                let stages = f.stages("stages")?;
                Executor::RampingVus {
                    start_vus: f.uint("startVUs")?.unwrap_or(1),
                    stages,
                    graceful_ramp_down: f
                        .duration("gracefulRampDown")?
                        .unwrap_or(Duration::from_secs(30)),
                }
            }
            "constant-arrival-rate" => {
                let rate = f.uint("rate")?.ok_or_else(|| {
                    ConfigError::missing(f.field("rate"), "constant-arrival-rate needs a rate")
                })?;
                f.positive("rate", rate)?;
                let duration = f.duration("duration")?.ok_or_else(|| {
                    ConfigError::missing(f.field("duration"), "constant-arrival-rate needs a duration")
                })?;
                f.positive_duration("duration", duration)?;
                let pre = f.uint("preAllocatedVUs")?.ok_or_else(|| {
                    ConfigError::missing(f.field("preAllocatedVUs"), "arrival-rate executors need preAllocatedVUs")
                })?;
                Executor::ConstantArrivalRate {
                    rate,
                    time_unit: f.time_unit()?,
                    duration,
                    pre_allocated_vus: pre,
                    max_vus: f.uint("maxVUs")?.unwrap_or(pre).max(pre),
                }
            }
            "ramping-arrival-rate" => {
                let pre = f.uint("preAllocatedVUs")?.ok_or_else(|| {
                    ConfigError::missing(f.field("preAllocatedVUs"), "arrival-rate executors need preAllocatedVUs")
                })?;
                Executor::RampingArrivalRate {
                    start_rate: f.uint("startRate")?.unwrap_or(0),
                    time_unit: f.time_unit()?,
                    stages: f.stages("stages")?,
                    pre_allocated_vus: pre,
                    max_vus: f.uint("maxVUs")?.unwrap_or(pre).max(pre),
                }
            }
            "externally-controlled" => {
                let vus = f.uint("vus")?.unwrap_or(1);
                Executor::ExternallyControlled {
                    vus,
                    max_vus: f.uint("maxVUs")?.unwrap_or(vus),
                    duration: f.duration("duration")?.unwrap_or(Duration::ZERO),
                }
            }
            other => {
                return Err(ConfigError::invalid(
                    f.field("executor"),
                    format!("unknown executor {other:?} (known: shared-iterations, per-vu-iterations, constant-vus, ramping-vus, constant-arrival-rate, ramping-arrival-rate, externally-controlled)"),
                ))
            }
        };
        let mut scenario = Scenario::new(name, executor);
        if let Some(d) = f.duration("startTime")? {
            scenario.start_time = d;
        }
        if let Some(d) = f.duration("gracefulStop")? {
            scenario.graceful_stop = d;
        }
        if let Some(exec) = f.string("exec")? {
            scenario.exec = exec;
        }
        scenario.env = f.string_map("env")?;
        scenario.tags = f.string_map("tags")?;
        Ok(scenario)
    }
}

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
                None | Some(Value::Null) => 0,
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
}

impl Fields<'_> {
    fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.prefix)
    }
    fn get(&self, key: &str) -> Option<&Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }
    fn uint(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        self.get(key)
            .map(|v| as_uint(v, &self.field(key)))
            .transpose()
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
    fn stages(&self, key: &str) -> Result<Vec<Stage>, ConfigError> {
        match self.get(key) {
            None => Err(ConfigError::missing(
                self.field(key),
                "this executor needs stages",
            )),
            Some(v) => parse_stages(v, &self.field(key)),
        }
    }
    fn time_unit(&self) -> Result<Duration, ConfigError> {
        let unit = self.duration("timeUnit")?.unwrap_or(Duration::from_secs(1));
        if unit.is_zero() {
            return Err(ConfigError::invalid(
                self.field("timeUnit"),
                "must be more than 0",
            ));
        }
        Ok(unit)
    }
    fn string_map(&self, key: &str) -> Result<BTreeMap<String, String>, ConfigError> {
        match self.get(key) {
            None => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => Ok(m
                .iter()
                .map(|(k, v)| {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), s)
                })
                .collect()),
            Some(v) => Err(ConfigError::invalid(
                self.field(key),
                format!("expected an object, got {v}"),
            )),
        }
    }
    fn positive(&self, key: &str, n: u64) -> Result<(), ConfigError> {
        if n == 0 {
            return Err(ConfigError::invalid(self.field(key), "must be more than 0"));
        }
        Ok(())
    }
    fn positive_duration(&self, key: &str, d: Duration) -> Result<(), ConfigError> {
        if d.is_zero() {
            return Err(ConfigError::invalid(self.field(key), "must be more than 0"));
        }
        Ok(())
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
        assert!(e.to_string().contains("scenarios.x.rate"), "{e}");
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
}
