//! Loading fixtures and rebuilding the summary model from k6's handleSummary data.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use stampede_metrics::{MetricType, ValueType};
use stampede_report::{CheckSummary, GroupSummary, MetricSummary, SummaryData, ThresholdResult};

/// One recorded k6 run.
pub struct Fixture {
    /// What k6 printed on stdout.
    pub text: String,
    /// What `handleSummary(data)` received.
    pub data: Value,
    /// The `--summary-export` file.
    pub export: Value,
}

pub fn fixture_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file)
}

pub fn read(file: &str) -> String {
    std::fs::read_to_string(fixture_path(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn read_json(file: &str) -> Value {
    serde_json::from_str(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

pub fn load(name: &str) -> Fixture {
    Fixture {
        text: read(&format!("{name}.txt")),
        data: read_json(&format!("{name}.data.json")),
        export: read_json(&format!("{name}.export.json")),
    }
}

/// What k6's JSON does not say and the engine would: the script order of thresholds, the
/// first-seen order of checks, and values k6 computes for a threshold but does not export.
#[derive(Default)]
pub struct Extra<'a> {
    /// Per metric with more than one threshold: the sources in script order.
    pub threshold_order: &'a [(&'a str, &'a [&'a str])],
    /// `(metric, source, value)`: a threshold's observed value when its aggregation is not
    /// among the exported values (a percentile outside `summaryTrendStats`).
    pub observed: &'a [(&'a str, &'a str, f64)],
    /// Check names in first-seen order.
    pub check_order: &'a [&'a str],
}

fn kind(s: &str) -> MetricType {
    match s {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "rate" => MetricType::Rate,
        "trend" => MetricType::Trend,
        other => panic!("metric type {other}"),
    }
}

fn contains(s: &str) -> ValueType {
    match s {
        "time" => ValueType::Time,
        "data" => ValueType::Data,
        "default" => ValueType::Default,
        other => panic!("contains {other}"),
    }
}

fn aggregation(source: &str) -> &str {
    source.split(['<', '>', '=']).next().unwrap().trim()
}

fn thresholds(
    name: &str,
    metric: &Value,
    values: &BTreeMap<String, f64>,
    extra: &Extra<'_>,
) -> Vec<ThresholdResult> {
    let Some(map) = metric.get("thresholds").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut sources: Vec<&str> = map.keys().map(String::as_str).collect();
    if let Some((_, order)) = extra.threshold_order.iter().find(|(m, _)| *m == name) {
        let mut want = order.to_vec();
        want.sort_unstable();
        sources.sort_unstable();
        assert_eq!(sources, want, "threshold order for {name}");
        sources = order.to_vec();
    } else {
        assert!(sources.len() < 2, "{name} needs a threshold order");
    }
    sources
        .into_iter()
        .map(|source| {
            let stat = aggregation(source);
            let observed = values.get(stat).copied().unwrap_or_else(|| {
                extra
                    .observed
                    .iter()
                    .find(|(m, s, _)| *m == name && *s == source)
                    .map(|(_, _, v)| *v)
                    .unwrap_or(f64::NAN)
            });
            ThresholdResult {
                source: source.to_owned(),
                stat: stat.to_owned(),
                observed,
                ok: map[source]["ok"].as_bool().unwrap(),
            }
        })
        .collect()
}

fn group(v: &Value) -> GroupSummary {
    let path = v["path"].as_str().unwrap().to_owned();
    GroupSummary {
        name: v["name"].as_str().unwrap().to_owned(),
        groups: v["groups"].as_array().unwrap().iter().map(group).collect(),
        checks: v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| CheckSummary {
                name: c["name"].as_str().unwrap().to_owned(),
                group_path: path.clone(),
                passes: c["passes"].as_u64().unwrap(),
                fails: c["fails"].as_u64().unwrap(),
            })
            .collect(),
        path,
    }
}

/// The model the engine would hand over for this run.
pub fn summary_data(fx: &Fixture, extra: &Extra<'_>) -> SummaryData {
    let data = &fx.data;
    let mut metrics: Vec<MetricSummary> = data["metrics"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, m)| {
            let values: BTreeMap<String, f64> = m["values"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
                .collect();
            MetricSummary {
                name: name.clone(),
                kind: kind(m["type"].as_str().unwrap()),
                contains: contains(m["contains"].as_str().unwrap()),
                thresholds: thresholds(name, m, &values, extra),
                values,
            }
        })
        .collect();
    metrics.sort_by(|a, b| a.name.cmp(&b.name));
    let options = &data["options"];
    let state = &data["state"];
    let time_unit = options["summaryTimeUnit"].as_str().unwrap();
    let duration_ms = state["testRunDurationMs"].as_f64().unwrap();
    SummaryData {
        metrics,
        root_group: group(&data["root_group"]),
        trend_stats: options["summaryTrendStats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect(),
        time_unit: (!time_unit.is_empty()).then(|| time_unit.to_owned()),
        test_run_duration: Duration::from_nanos((duration_ms * 1e6).round() as u64),
        is_std_out_tty: state["isStdOutTTY"].as_bool().unwrap(),
        is_std_err_tty: state["isStdErrTTY"].as_bool().unwrap(),
        no_color: options["noColor"].as_bool().unwrap(),
        check_order: extra.check_order.iter().map(|s| (*s).to_owned()).collect(),
        setup_data: data.get("setup_data").map(Value::to_string),
        options: Value::Null,
        undelivered: Vec::new(),
        sections: None,
    }
}

/// Panics at the first line that differs, showing both lines with escapes visible.
pub fn assert_same_text(got: &str, want: &str, what: &str) {
    if got == want {
        return;
    }
    let got_lines: Vec<&str> = got.split('\n').collect();
    let want_lines: Vec<&str> = want.split('\n').collect();
    for i in 0..got_lines.len().max(want_lines.len()) {
        let (g, w) = (got_lines.get(i), want_lines.get(i));
        if g != w {
            panic!(
                "{what}: line {} differs\n  got:  {g:?}\n  want: {w:?}\n--- got ---\n{got}\n--- want ---\n{want}",
                i + 1
            );
        }
    }
    panic!("{what}: texts differ");
}
