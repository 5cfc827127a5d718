//! The object k6 v1.1.0 passes to `handleSummary(data)`.

use serde_json::{Map, Value};

use crate::model::{GroupSummary, SummaryData};

use super::{check_json, group_head, metric_values};

/// `handleSummary(data)`'s argument:
///
/// * `root_group`: `name`, `path`, `id` (MD5 of the path), `groups` and `checks` as arrays in
///   first-seen order; each check has `name`, `path`, `id`, `passes`, `fails`;
/// * `options`: `summaryTrendStats`, `summaryTimeUnit` (`""` when unset), `noColor`;
/// * `state`: `isStdOutTTY`, `isStdErrTTY`, `testRunDurationMs`;
/// * `metrics`: by name (sub-metrics too, and the ones the text summary hides), each with
///   `type`, `contains`, `values` and, when it has any, `thresholds` as
///   `{ "<source as written>": { "ok": bool } }`;
/// * `setup_data`: what `setup()` returned, only when it returned something (and it parses).
pub fn handle_summary_data(data: &SummaryData) -> Value {
    let mut out = Map::new();
    out.insert("root_group".into(), group_json(&data.root_group));
    out.insert("options".into(), options_json(data));
    let duration_ms = data.test_run_duration.as_nanos() as f64 / 1e6;
    out.insert(
        "state".into(),
        serde_json::json!({
            "isStdOutTTY": data.is_std_out_tty,
            "isStdErrTTY": data.is_std_err_tty,
            "testRunDurationMs": super::num(duration_ms),
        }),
    );
    let metrics: Map<String, Value> = data
        .metrics
        .iter()
        .map(|m| {
            let mut obj = Map::new();
            obj.insert("type".into(), Value::from(m.kind.as_str()));
            obj.insert("contains".into(), Value::from(m.contains.as_str()));
            obj.insert(
                "values".into(),
                Value::Object(metric_values(m, &data.trend_stats)),
            );
            if !m.thresholds.is_empty() {
                let thresholds: Map<String, Value> = m
                    .thresholds
                    .iter()
                    .map(|t| (t.source.clone(), serde_json::json!({ "ok": t.ok })))
                    .collect();
                obj.insert("thresholds".into(), Value::Object(thresholds));
            }
            (m.name.clone(), Value::Object(obj))
        })
        .collect();
    out.insert("metrics".into(), Value::Object(metrics));
    // k6 leaves the key out when setup() returned nothing, or something it cannot read back.
    if let Some(setup) = data.setup_data.as_deref() {
        if let Ok(value) = serde_json::from_str::<Value>(setup) {
            out.insert("setup_data".into(), value);
        }
    }
    Value::Object(out)
}

fn options_json(data: &SummaryData) -> Value {
    let mut options = Map::new();
    options.insert(
        "summaryTrendStats".into(),
        Value::from(data.trend_stats.clone()),
    );
    options.insert(
        "summaryTimeUnit".into(),
        Value::from(data.time_unit.clone().unwrap_or_default()),
    );
    options.insert("noColor".into(), Value::from(data.no_color));
    if let Value::Object(extra) = &data.options {
        for (k, v) in extra {
            options.insert(k.clone(), v.clone());
        }
    }
    Value::Object(options)
}

fn group_json(g: &GroupSummary) -> Value {
    let mut obj = group_head(g);
    obj.insert("groups".into(), g.groups.iter().map(group_json).collect());
    obj.insert("checks".into(), g.checks.iter().map(check_json).collect());
    Value::Object(obj)
}
