//! Reading k6's NDJSON (from k6 or from stampede's json output) back into the one-second
//! intervals the reports are built from.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use stampede_metrics::{DeltaMerger, MetricType, Registry, TagSet, UnixNanos, ValueType};

use crate::result::{Header, ReadError, Recorded};

/// Reads a json output file (`.gz` or not): its points summed up per second of their time,
/// keeping the tags in `keep`. The header holds the thresholds the `Metric` lines name.
pub fn read(path: &Path, keep: &[&str]) -> Result<Recorded, ReadError> {
    let shown = path.display().to_string();
    let io = |source| ReadError::Io {
        path: shown.clone(),
        source,
    };
    let reader = crate::result::lines_of(path)?;
    let mut registry = Registry::new();
    let mut thresholds = serde_json::Map::new();
    let mut seconds: BTreeMap<i64, DeltaMerger> = BTreeMap::new();
    let mut end = None;
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| ReadError::Bad {
            path: shown.clone(),
            line: n + 1,
            reason,
        };
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        let data = &v["data"];
        match v["type"].as_str() {
            Some("Metric") => {
                let name = data["name"]
                    .as_str()
                    .ok_or_else(|| bad("a Metric line without a name".into()))?;
                let kind = MetricType::from_name(data["type"].as_str().unwrap_or(""))
                    .ok_or_else(|| bad(format!("metric {name}: unknown type {}", data["type"])))?;
                let contains = match data["contains"].as_str() {
                    Some("time") => ValueType::Time,
                    Some("data") => ValueType::Data,
                    _ => ValueType::Default,
                };
                registry
                    .register(name, kind, contains)
                    .map_err(|e| bad(e.to_string()))?;
                if let Some(list) = data["thresholds"].as_array().filter(|l| !l.is_empty()) {
                    thresholds.insert(name.to_string(), serde_json::Value::Array(list.clone()));
                }
            }
            Some("Point") => {
                let name = v["metric"]
                    .as_str()
                    .ok_or_else(|| bad("a Point without a metric".into()))?;
                let id = registry
                    .get(name)
                    .ok_or_else(|| bad(format!("a point of {name} before its Metric line")))?;
                let kind = registry.def(id).kind;
                let value = data["value"]
                    .as_f64()
                    .ok_or_else(|| bad("a Point without a value".into()))?;
                let time = data["time"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .ok_or_else(|| bad(format!("unreadable time {}", data["time"])))?;
                let at = UnixNanos(time.timestamp_nanos_opt().unwrap_or(0));
                let tags = data["tags"].as_object();
                let kept = TagSet::from_pairs(keep.iter().filter_map(|k| {
                    tags.and_then(|t| t.get(*k))
                        .and_then(|v| v.as_str())
                        .map(|v| (*k, v))
                }));
                seconds
                    .entry(at.ceil_second().secs())
                    .or_default()
                    .add_value(id, kind, kept, at, value);
                end = Some(end.map_or(at, |e: UnixNanos| e.max(at)));
            }
            _ => {
                return Err(bad(
                    "not a k6 json output line (its type is neither Metric nor Point)".into(),
                ))
            }
        }
    }
    // Each second's span is that of its samples, within the second.
    let intervals = seconds
        .into_values()
        .filter_map(DeltaMerger::finish)
        .collect();
    Ok(Recorded {
        header: Header {
            version: crate::result::VERSION,
            tool: "k6 json output".into(),
            script: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            options: serde_json::json!({ "thresholds": thresholds }),
            scenarios: Vec::new(),
        },
        registry,
        intervals,
        end,
    })
}
