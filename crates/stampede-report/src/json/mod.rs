//! The JSON reports: the object `handleSummary(data)` receives and the legacy
//! `--summary-export` file derived from it. Both share the helpers here.

mod export;
mod handle_summary;

pub use export::{summary_export, summary_export_string};
pub use handle_summary::handle_summary_data;

use md5::{Digest, Md5};
use serde_json::{Map, Value};
use stampede_metrics::MetricType;

use crate::model::{CheckSummary, GroupSummary, MetricSummary};

/// A number as `JSON.stringify` writes it: integers without a fraction (so they compare equal
/// to parsed k6 output), NaN and infinities as `null`.
pub(crate) fn num(x: f64) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    if x.fract() == 0.0 && x.abs() < 1e21 {
        if x >= 0.0 && x <= u64::MAX as f64 {
            return Value::from(x as u64);
        }
        if x < 0.0 && x >= i64::MIN as f64 {
            return Value::from(x as i64);
        }
    }
    Value::from(x)
}

/// k6's group and check ids: the hex MD5 of the path.
pub(crate) fn md5_hex(text: &str) -> String {
    let digest = Md5::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A check as k6 exports it: `name`, `path` (`::name`, `::group::name`), `id`, `passes`, `fails`.
pub(crate) fn check_json(c: &CheckSummary) -> Value {
    let path = format!("{}::{}", c.group_path, c.name);
    let mut obj = Map::new();
    obj.insert("name".into(), Value::from(c.name.as_str()));
    obj.insert("id".into(), Value::from(md5_hex(&path)));
    obj.insert("path".into(), Value::from(path));
    obj.insert("passes".into(), Value::from(c.passes));
    obj.insert("fails".into(), Value::from(c.fails));
    Value::Object(obj)
}

/// A group's `name`, `path` and `id`, without its children.
pub(crate) fn group_head(g: &GroupSummary) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("name".into(), Value::from(g.name.as_str()));
    obj.insert("path".into(), Value::from(g.path.as_str()));
    obj.insert("id".into(), Value::from(md5_hex(&g.path)));
    obj
}

/// A metric's statistics as k6 computes them: trends the `summaryTrendStats`, the other types
/// their fixed set (counters `count`, `rate`; gauges `value`, `min`, `max`; rates `rate`,
/// `passes`, `fails`). Statistics missing from the model are left out.
pub(crate) fn metric_values(m: &MetricSummary, trend_stats: &[String]) -> Map<String, Value> {
    let fixed: &[&str] = match m.kind {
        MetricType::Counter => &["count", "rate"],
        MetricType::Gauge => &["value", "min", "max"],
        MetricType::Rate => &["rate", "passes", "fails"],
        MetricType::Trend => &[],
    };
    let stats = fixed.iter().copied().chain(
        trend_stats
            .iter()
            .map(String::as_str)
            .filter(|_| m.kind == MetricType::Trend),
    );
    stats
        .filter_map(|stat| m.values.get(stat).map(|v| (stat.to_owned(), num(*v))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_md5_of_paths() {
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex("::g1"), "9ccb03cc5acd728a2fe595bbd1f14da3");
    }

    #[test]
    fn numbers_like_json_stringify() {
        assert_eq!(num(5.0), serde_json::json!(5));
        assert_eq!(num(-3.0), serde_json::json!(-3));
        assert_eq!(num(0.5), serde_json::json!(0.5));
        assert_eq!(num(f64::NAN), Value::Null);
    }
}
