//! Metric definitions: name, type, and what the values contain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// k6's four metric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    Counter,
    Gauge,
    Rate,
    Trend,
}

impl MetricType {
    /// The type k6 calls `name` (`counter`, `gauge`, `rate`, `trend`).
    pub fn from_name(name: &str) -> Option<MetricType> {
        Some(match name {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "rate" => MetricType::Rate,
            "trend" => MetricType::Trend,
            _ => return None,
        })
    }

    /// The name k6 uses in its JSON outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Rate => "rate",
            MetricType::Trend => "trend",
        }
    }
}

/// What a metric's values mean (controls formatting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    Default,
    /// Milliseconds.
    Time,
    /// Bytes.
    Data,
}

impl ValueType {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Default => "default",
            ValueType::Time => "time",
            ValueType::Data => "data",
        }
    }
}

/// A metric's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: MetricType,
    pub contains: ValueType,
}

/// Index of a metric in the [`Registry`]; stable for the whole run (another process's ids
/// differ: what crosses a process boundary carries the [`Registry::defs`] with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MetricId(pub u32);

/// A metric could not be registered.
#[derive(Debug, Error, PartialEq)]
pub enum MetricError {
    #[error("invalid metric name {0:?}: names must be 2 to 129 ASCII letters, digits or underscores, starting with a letter or an underscore")]
    InvalidName(String),
    #[error(
        "metric {name:?} already exists as a {existing}, it can't be redefined as a {requested}"
    )]
    TypeMismatch {
        name: String,
        existing: &'static str,
        requested: &'static str,
    },
}

/// The built-in metrics, registered first and in this order, so their ids are constants.
pub mod builtin {
    use super::{MetricId, MetricType::*, ValueType::*};

    macro_rules! builtins {
        ($($id:ident = $n:literal, $name:literal, $kind:expr, $contains:expr;)*) => {
            $(#[doc = concat!("`", $name, "`")] pub const $id: MetricId = MetricId($n);)*
            pub(super) const ALL: &[(&str, super::MetricType, super::ValueType)] = &[$(($name, $kind, $contains)),*];
        };
    }

    builtins! {
        VUS = 0, "vus", Gauge, Default;
        VUS_MAX = 1, "vus_max", Gauge, Default;
        ITERATIONS = 2, "iterations", Counter, Default;
        ITERATION_DURATION = 3, "iteration_duration", Trend, Time;
        DROPPED_ITERATIONS = 4, "dropped_iterations", Counter, Default;
        DATA_SENT = 5, "data_sent", Counter, Data;
        DATA_RECEIVED = 6, "data_received", Counter, Data;
        CHECKS = 7, "checks", Rate, Default;
        GROUP_DURATION = 8, "group_duration", Trend, Time;
        HTTP_REQS = 9, "http_reqs", Counter, Default;
        HTTP_REQ_FAILED = 10, "http_req_failed", Rate, Default;
        HTTP_REQ_DURATION = 11, "http_req_duration", Trend, Time;
        HTTP_REQ_BLOCKED = 12, "http_req_blocked", Trend, Time;
        HTTP_REQ_CONNECTING = 13, "http_req_connecting", Trend, Time;
        HTTP_REQ_TLS_HANDSHAKING = 14, "http_req_tls_handshaking", Trend, Time;
        HTTP_REQ_SENDING = 15, "http_req_sending", Trend, Time;
        HTTP_REQ_WAITING = 16, "http_req_waiting", Trend, Time;
        HTTP_REQ_RECEIVING = 17, "http_req_receiving", Trend, Time;
        WS_SESSIONS = 18, "ws_sessions", Counter, Default;
        WS_MSGS_SENT = 19, "ws_msgs_sent", Counter, Default;
        WS_MSGS_RECEIVED = 20, "ws_msgs_received", Counter, Default;
        WS_CONNECTING = 21, "ws_connecting", Trend, Time;
        WS_SESSION_DURATION = 22, "ws_session_duration", Trend, Time;
        WS_PING = 23, "ws_ping", Trend, Time;
        ITERATION_DURATION_CORRECTED = 24, "iteration_duration_corrected", Trend, Time;
    }
}

/// All metrics known to the run.
#[derive(Debug, Clone)]
pub struct Registry {
    defs: Vec<MetricDef>,
    by_name: HashMap<String, MetricId>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// A registry holding k6's built-in metrics.
    pub fn new() -> Registry {
        let mut r = Registry {
            defs: Vec::new(),
            by_name: HashMap::new(),
        };
        for (name, kind, contains) in builtin::ALL {
            r.by_name
                .insert(name.to_string(), MetricId(r.defs.len() as u32));
            r.defs.push(MetricDef {
                name: name.to_string(),
                kind: *kind,
                contains: *contains,
            });
        }
        r
    }

    /// Registers a custom metric, or returns the existing one of the same type.
    pub fn register(
        &mut self,
        name: &str,
        kind: MetricType,
        contains: ValueType,
    ) -> Result<MetricId, MetricError> {
        if let Some(id) = self.by_name.get(name) {
            let existing = &self.defs[id.0 as usize];
            if existing.kind != kind {
                return Err(MetricError::TypeMismatch {
                    name: name.into(),
                    existing: existing.kind.as_str(),
                    requested: kind.as_str(),
                });
            }
            return Ok(*id);
        }
        // k6's rule: `^[a-zA-Z_][a-zA-Z0-9_]{1,128}$`.
        let valid = (2..=129).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit();
        if !valid {
            return Err(MetricError::InvalidName(name.into()));
        }
        let id = MetricId(self.defs.len() as u32);
        self.defs.push(MetricDef {
            name: name.into(),
            kind,
            contains,
        });
        self.by_name.insert(name.into(), id);
        Ok(id)
    }

    pub fn get(&self, name: &str) -> Option<MetricId> {
        self.by_name.get(name).copied()
    }

    pub fn def(&self, id: MetricId) -> &MetricDef {
        &self.defs[id.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.defs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// Every definition, indexed by [`MetricId`].
    pub fn defs(&self) -> &[MetricDef] {
        &self.defs
    }

    pub fn iter(&self) -> impl Iterator<Item = (MetricId, &MetricDef)> {
        self.defs
            .iter()
            .enumerate()
            .map(|(i, d)| (MetricId(i as u32), d))
    }
}

/// The registry shared by all workers; locked only when a script defines a metric.
#[derive(Debug, Clone, Default)]
pub struct SharedRegistry(Arc<Mutex<Registry>>);

impl SharedRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Locks the registry (a poisoned lock is recovered: the registry has no invariants a panic
    /// elsewhere could break).
    pub fn lock(&self) -> MutexGuard<'_, Registry> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> Registry {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_have_fixed_ids() {
        let r = Registry::new();
        assert_eq!(r.get("http_req_duration"), Some(builtin::HTTP_REQ_DURATION));
        assert_eq!(r.def(builtin::CHECKS).kind, MetricType::Rate);
    }

    #[test]
    fn custom_metrics() {
        let mut r = Registry::new();
        let a = r
            .register("my_trend", MetricType::Trend, ValueType::Time)
            .unwrap();
        assert_eq!(
            r.register("my_trend", MetricType::Trend, ValueType::Time)
                .unwrap(),
            a
        );
        assert!(matches!(
            r.register("my_trend", MetricType::Counter, ValueType::Default),
            Err(MetricError::TypeMismatch { .. })
        ));
        assert!(matches!(
            r.register("bad name", MetricType::Counter, ValueType::Default),
            Err(MetricError::InvalidName(_))
        ));
        for name in ["c", "9x", "a-b"] {
            assert!(r
                .register(name, MetricType::Counter, ValueType::Default)
                .is_err());
        }
        assert!(r
            .register("ab", MetricType::Counter, ValueType::Default)
            .is_ok());
    }
}
