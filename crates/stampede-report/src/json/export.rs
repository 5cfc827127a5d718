//! The legacy `--summary-export=file.json` format.

use serde_json::{Map, Value};
use stampede_metrics::MetricType;

use crate::model::{GroupSummary, SummaryData};

use super::{check_json, group_head, metric_values};

/// What k6 writes to `--summary-export`: handleSummary's data without `options` and `state`,
/// reshaped the old way:
///
/// * `metrics`: by name, the bare statistics (no `type`/`contains`); a rate's `rate` is called
///   `value`; thresholds sit among the statistics as `"thresholds": {"p(95)<500": false}`
///   where the boolean says whether the threshold FAILED (the opposite of handleSummary's
///   `ok`);
/// * `root_group`: `groups` and `checks` are objects keyed by name instead of arrays;
/// * `setup_data` when there is any.
pub fn summary_export(data: &SummaryData) -> Value {
    let mut out = Map::new();
    let metrics: Map<String, Value> = data
        .metrics
        .iter()
        .map(|m| {
            let mut values = metric_values(m, &data.trend_stats);
            if m.kind == MetricType::Rate {
                if let Some(rate) = values.remove("rate") {
                    values.insert("value".into(), rate);
                }
            }
            if !m.thresholds.is_empty() {
                let thresholds: Map<String, Value> = m
                    .thresholds
                    .iter()
                    .map(|t| (t.source.clone(), Value::from(!t.ok)))
                    .collect();
                values.insert("thresholds".into(), Value::Object(thresholds));
            }
            (m.name.clone(), Value::Object(values))
        })
        .collect();
    out.insert("metrics".into(), Value::Object(metrics));
    out.insert("root_group".into(), group_json(&data.root_group));
    if let Some(setup) = data.setup_data.as_deref() {
        if let Ok(value) = serde_json::from_str::<Value>(setup) {
            out.insert("setup_data".into(), value);
        }
    }
    Value::Object(out)
}

/// [`summary_export`] as the file's text: JSON indented by four spaces, as k6 writes it
/// (key order aside: k6's follows Go map order, which is random).
pub fn summary_export_string(data: &SummaryData) -> String {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    match serde::Serialize::serialize(&summary_export(data), &mut ser) {
        Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
        // Serializing a `Value` to memory cannot fail; keep a valid document regardless.
        Err(_) => summary_export(data).to_string(),
    }
}

/// A group with `groups` and `checks` keyed by name (a later duplicate name wins, as in k6).
fn group_json(g: &GroupSummary) -> Value {
    let mut obj = group_head(g);
    let groups: Map<String, Value> = g
        .groups
        .iter()
        .map(|sub| (sub.name.clone(), group_json(sub)))
        .collect();
    let checks: Map<String, Value> = g
        .checks
        .iter()
        .map(|c| (c.name.clone(), check_json(c)))
        .collect();
    obj.insert("groups".into(), Value::Object(groups));
    obj.insert("checks".into(), Value::Object(checks));
    Value::Object(obj)
}
