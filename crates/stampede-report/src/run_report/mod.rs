//! The model the HTML report and the live dashboard render (`ReportModel` JSON, version 1; see
//! `docs/report.md`), built from the run's one-second metrics stream.
//!
//! [`ReportBuilder::add`] takes each interval as it comes (live, or replayed from a result
//! file): it keeps one point per second for the time series and the merged totals for the
//! tables, so its size grows with the test's length (a few hundred bytes a second), not with
//! its requests.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use stampede_metrics::{
    builtin, Agg, Delta, MetricId, MetricType, Registry, ThresholdSet, Totals, TrendAgg, UnixNanos,
};

/// The tags the report reads: endpoints (`name`, `method`), failures (`status`, `error_code`,
/// `expected_response`), scenarios, checks and groups. An output that feeds a report asks the
/// workers to keep these on every metric.
pub const REPORT_TAGS: &[&str] = &[
    "check",
    "error_code",
    "expected_response",
    "group",
    "method",
    "name",
    "scenario",
    "status",
];

/// What the report says about the run besides its metrics.
#[derive(Debug, Clone, Default)]
pub struct RunMeta {
    /// The tool and its version (`stampede 0.1.0`).
    pub tool: String,
    /// The script's file name.
    pub script: String,
    /// The resolved options as JSON.
    pub options: Value,
    /// `(name, executor, description)` of each scenario.
    pub scenarios: Vec<(String, String, String)>,
}

/// One second of the run.
#[derive(Debug, Default, Clone)]
struct Second {
    vus: Option<f64>,
    vus_max: Option<f64>,
    http_reqs: f64,
    iterations: f64,
    data_sent: f64,
    data_received: f64,
    failed: (u64, u64),
    checks: (u64, u64),
    duration: Option<TrendAgg>,
    iteration: Option<TrendAgg>,
    corrected: Option<TrendAgg>,
    ws_sessions: f64,
    ws_sent: f64,
    ws_received: f64,
    ws_connecting: Option<TrendAgg>,
    /// `(status, error_code)` of unexpected responses -> requests.
    failures: BTreeMap<(String, String), f64>,
}

/// Builds the report of a run from its intervals.
pub struct ReportBuilder {
    registry: Registry,
    thresholds: ThresholdSet,
    meta: RunMeta,
    seconds: BTreeMap<i64, Second>,
    totals: Totals,
    started: Option<UnixNanos>,
    ended: Option<UnixNanos>,
}

impl ReportBuilder {
    pub fn new(registry: Registry, thresholds: ThresholdSet, meta: RunMeta) -> ReportBuilder {
        ReportBuilder {
            registry,
            thresholds,
            meta,
            seconds: BTreeMap::new(),
            totals: Totals::default(),
            started: None,
            ended: None,
        }
    }

    /// Folds one interval in.
    pub fn add(&mut self, delta: &Delta) {
        if delta.entries.is_empty() {
            return;
        }
        self.started = Some(self.started.map_or(delta.start, |s| s.min(delta.start)));
        self.ended = Some(self.ended.map_or(delta.end, |e| e.max(delta.end)));
        self.totals.merge(delta);
        let second = self
            .seconds
            .entry(delta.end.ceil_second().secs())
            .or_default();
        for e in &delta.entries {
            let m = e.metric;
            match &e.agg {
                Agg::Counter { sum } => {
                    let slot = match m {
                        _ if m == builtin::HTTP_REQS => {
                            if e.tags.get("expected_response") == Some("false") {
                                let key = (
                                    e.tags.get("status").unwrap_or("").to_string(),
                                    e.tags.get("error_code").unwrap_or("").to_string(),
                                );
                                *second.failures.entry(key).or_default() += sum;
                            }
                            &mut second.http_reqs
                        }
                        _ if m == builtin::ITERATIONS => &mut second.iterations,
                        _ if m == builtin::DATA_SENT => &mut second.data_sent,
                        _ if m == builtin::DATA_RECEIVED => &mut second.data_received,
                        _ if m == builtin::WS_SESSIONS => &mut second.ws_sessions,
                        _ if m == builtin::WS_MSGS_SENT => &mut second.ws_sent,
                        _ if m == builtin::WS_MSGS_RECEIVED => &mut second.ws_received,
                        _ => continue,
                    };
                    *slot += sum;
                }
                Agg::Gauge { last, .. } => {
                    if m == builtin::VUS {
                        second.vus = Some(*last);
                    } else if m == builtin::VUS_MAX {
                        second.vus_max = Some(*last);
                    }
                }
                Agg::Rate { trues, total } => {
                    let slot = match m {
                        _ if m == builtin::HTTP_REQ_FAILED => &mut second.failed,
                        _ if m == builtin::CHECKS => &mut second.checks,
                        _ => continue,
                    };
                    slot.0 += trues;
                    slot.1 += total;
                }
                Agg::Trend(t) => {
                    let slot = match m {
                        _ if m == builtin::HTTP_REQ_DURATION => &mut second.duration,
                        _ if m == builtin::ITERATION_DURATION => &mut second.iteration,
                        _ if m == builtin::ITERATION_DURATION_CORRECTED => &mut second.corrected,
                        _ if m == builtin::WS_CONNECTING => &mut second.ws_connecting,
                        _ => continue,
                    };
                    match slot {
                        Some(s) => s.merge(t),
                        None => *slot = Some((**t).clone()),
                    }
                }
            }
        }
    }

    /// The report as it stands: `live` while the test runs.
    pub fn model(&self, live: bool) -> Value {
        let secs = |t: Option<UnixNanos>| t.map(|t| t.0 as f64 / 1e9);
        let duration = match (self.started, self.ended) {
            (Some(s), Some(e)) => s.until(e).as_secs_f64(),
            _ => 0.0,
        };
        json!({
            "version": 1,
            "meta": {
                "tool": self.meta.tool,
                "script": self.meta.script,
                "started": secs(self.started),
                "ended": if live { None } else { secs(self.ended) },
                "live": live,
                "period": 1,
                "options": self.meta.options,
                "scenarios": self.meta.scenarios.iter().map(|(name, executor, description)| json!({
                    "name": name, "executor": executor, "description": description,
                })).collect::<Vec<_>>(),
            },
            "series": self.series(),
            "failures": self.failures(),
            "endpoints": self.endpoints(),
            "scenarios": self.scenarios(),
            "thresholds": self.thresholds(duration),
            "checks": self.checks(),
            "totals": self.totals_json(duration),
        })
    }

    fn series(&self) -> Value {
        let s: Vec<&Second> = self.seconds.values().collect();
        let col = |f: &dyn Fn(&Second) -> Option<f64>| -> Vec<Option<f64>> {
            s.iter().map(|x| f(x)).collect()
        };
        let share = |(trues, total): (u64, u64)| (total > 0).then(|| trues as f64 / total as f64);
        let pcts = |f: &dyn Fn(&Second) -> Option<&TrendAgg>, ps: &[(&str, f64)]| -> Value {
            let mut o = serde_json::Map::new();
            for (name, p) in ps {
                o.insert(
                    (*name).into(),
                    json!(col(&|x| f(x).map(|t| t.percentile(*p)))),
                );
            }
            Value::Object(o)
        };
        let quartet = [("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0)];
        let trio = [("p50", 50.0), ("p95", 95.0), ("p99", 99.0)];
        let has_corrected = s.iter().any(|x| x.corrected.is_some());
        let has_ws = s
            .iter()
            .any(|x| x.ws_sessions > 0.0 || x.ws_sent > 0.0 || x.ws_received > 0.0);
        json!({
            "t": self.seconds.keys().collect::<Vec<_>>(),
            "vus": col(&|x| x.vus),
            "vus_max": col(&|x| x.vus_max),
            "http_reqs": col(&|x| Some(x.http_reqs)),
            "iterations": col(&|x| Some(x.iterations)),
            "http_req_failed": col(&|x| share(x.failed)),
            "data_sent": col(&|x| Some(x.data_sent)),
            "data_received": col(&|x| Some(x.data_received)),
            "checks": col(&|x| share(x.checks)),
            "http_req_duration": pcts(&|x| x.duration.as_ref(), &quartet),
            "iteration_duration": pcts(&|x| x.iteration.as_ref(), &trio),
            "iteration_duration_corrected": if has_corrected {
                pcts(&|x| x.corrected.as_ref(), &trio)
            } else {
                Value::Null
            },
            "ws": if has_ws {
                json!({
                    "sessions": col(&|x| Some(x.ws_sessions)),
                    "msgs_sent": col(&|x| Some(x.ws_sent)),
                    "msgs_received": col(&|x| Some(x.ws_received)),
                    "connecting_p95": col(&|x| x.ws_connecting.as_ref().map(|t| t.percentile(95.0))),
                })
            } else {
                Value::Null
            },
        })
    }

    fn failures(&self) -> Value {
        let mut keys: Vec<&(String, String)> = self
            .seconds
            .values()
            .flat_map(|s| s.failures.keys())
            .collect();
        keys.sort();
        keys.dedup();
        let mut out: Vec<Value> = keys
            .into_iter()
            .map(|key| {
                let per: Vec<f64> = self
                    .seconds
                    .values()
                    .map(|s| s.failures.get(key).copied().unwrap_or(0.0))
                    .collect();
                let total: f64 = per.iter().sum();
                json!({"status": key.0, "error_code": key.1, "per_second": per, "total": total})
            })
            .collect();
        out.sort_by(|a, b| {
            b["total"]
                .as_f64()
                .partial_cmp(&a["total"].as_f64())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Value::Array(out)
    }

    /// Aggregates of `metric` grouped by the values of `keys`.
    fn grouped(
        &self,
        metric: MetricId,
        kind: MetricType,
        keys: &[&str],
    ) -> BTreeMap<Vec<String>, Agg> {
        let mut out: BTreeMap<Vec<String>, Agg> = BTreeMap::new();
        for (tags, agg) in self.totals.tag_sets(metric) {
            let key: Vec<String> = keys
                .iter()
                .map(|k| tags.get(k).unwrap_or("").to_string())
                .collect();
            out.entry(key).or_insert_with(|| Agg::new(kind)).merge(agg);
        }
        out
    }

    fn endpoints(&self) -> Value {
        let keys = ["name", "method"];
        let durations = self.grouped(builtin::HTTP_REQ_DURATION, MetricType::Trend, &keys);
        let reqs = self.grouped(builtin::HTTP_REQS, MetricType::Counter, &keys);
        let failed = self.grouped(builtin::HTTP_REQ_FAILED, MetricType::Rate, &keys);
        let mut rows: Vec<Value> = reqs
            .iter()
            .map(|(key, agg)| {
                let requests = match agg {
                    Agg::Counter { sum } => *sum,
                    _ => 0.0,
                };
                let fails = match failed.get(key) {
                    Some(Agg::Rate { trues, .. }) => *trues as f64,
                    _ => 0.0,
                };
                let mut row = json!({
                    "name": key[0], "method": key[1], "requests": requests, "failed": fails,
                    "error_rate": if requests > 0.0 { fails / requests } else { 0.0 },
                });
                if let Some(Agg::Trend(t)) = durations.get(key) {
                    for (k, v) in trend_stats(t) {
                        row[k] = json!(v);
                    }
                }
                row
            })
            .collect();
        rows.sort_by(|a, b| {
            b["requests"]
                .as_f64()
                .partial_cmp(&a["requests"].as_f64())
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a["name"].as_str().cmp(&b["name"].as_str()))
        });
        Value::Array(rows)
    }

    fn scenarios(&self) -> Value {
        let keys = ["scenario"];
        let durations = self.grouped(builtin::ITERATION_DURATION, MetricType::Trend, &keys);
        let iterations = self.grouped(builtin::ITERATIONS, MetricType::Counter, &keys);
        Value::Array(
            iterations
                .iter()
                .filter(|(key, _)| !key[0].is_empty())
                .map(|(key, agg)| {
                    let n = match agg {
                        Agg::Counter { sum } => *sum,
                        _ => 0.0,
                    };
                    let mut row = json!({"name": key[0], "iterations": n});
                    if let Some(Agg::Trend(t)) = durations.get(key) {
                        row["avg"] = json!(t.avg());
                        row["p95"] = json!(t.percentile(95.0));
                        row["p99"] = json!(t.percentile(99.0));
                    }
                    row
                })
                .collect(),
        )
    }

    fn thresholds(&self, duration: f64) -> Value {
        Value::Array(
            self.thresholds
                .evaluate(&self.totals, &self.registry, duration)
                .into_iter()
                .map(|o| {
                    json!({"metric": o.key, "source": o.source, "ok": o.passed,
                        "observed": o.observed.is_finite().then_some(o.observed)})
                })
                .collect(),
        )
    }

    fn checks(&self) -> Value {
        let mut out = Vec::new();
        for (tags, agg) in self.totals.tag_sets(builtin::CHECKS) {
            let (Some(name), Agg::Rate { trues, total }) = (tags.get("check"), agg) else {
                continue;
            };
            let group = tags.get("group").unwrap_or("");
            match out
                .iter_mut()
                .find(|(n, g, _, _): &&mut (String, String, u64, u64)| n == name && g == group)
            {
                Some(row) => {
                    row.2 += trues;
                    row.3 += total - trues;
                }
                None => out.push((name.to_string(), group.to_string(), *trues, total - trues)),
            }
        }
        Value::Array(
            out.into_iter()
                .map(|(name, group, passes, fails)| {
                    json!({"name": name, "group": group, "passes": passes, "fails": fails})
                })
                .collect(),
        )
    }

    fn totals_json(&self, duration: f64) -> Value {
        let sum = |m: MetricId| match self.totals.aggregate(m, MetricType::Counter, &[]) {
            Some(Agg::Counter { sum }) => sum,
            _ => 0.0,
        };
        let share = |m: MetricId| match self.totals.aggregate(m, MetricType::Rate, &[]) {
            Some(Agg::Rate { trues, total }) if total > 0 => Some(trues as f64 / total as f64),
            _ => None,
        };
        let trend = |m: MetricId| match self.totals.aggregate(m, MetricType::Trend, &[]) {
            Some(Agg::Trend(t)) => Some(
                trend_stats(&t)
                    .into_iter()
                    .collect::<serde_json::Map<_, _>>(),
            ),
            _ => None,
        };
        let vus_max = match self
            .totals
            .aggregate(builtin::VUS_MAX, MetricType::Gauge, &[])
        {
            Some(Agg::Gauge { max, .. }) => max,
            _ => 0.0,
        };
        let per_sec = |n: f64| if duration > 0.0 { n / duration } else { 0.0 };
        let reqs = sum(builtin::HTTP_REQS);
        let iterations = sum(builtin::ITERATIONS);
        json!({
            "duration": duration,
            "http_reqs": reqs, "http_reqs_rate": per_sec(reqs),
            "iterations": iterations, "iterations_rate": per_sec(iterations),
            "http_req_failed": share(builtin::HTTP_REQ_FAILED),
            "checks": share(builtin::CHECKS),
            "data_sent": sum(builtin::DATA_SENT), "data_received": sum(builtin::DATA_RECEIVED),
            "vus_max": vus_max,
            "http_req_duration": trend(builtin::HTTP_REQ_DURATION),
            "iteration_duration_corrected": trend(builtin::ITERATION_DURATION_CORRECTED),
        })
    }
}

/// avg, p50, p90, p95, p99, max of a trend.
fn trend_stats(t: &TrendAgg) -> Vec<(String, Value)> {
    vec![
        ("avg".into(), json!(t.avg())),
        ("p50".into(), json!(t.percentile(50.0))),
        ("p90".into(), json!(t.percentile(90.0))),
        ("p95".into(), json!(t.percentile(95.0))),
        ("p99".into(), json!(t.percentile(99.0))),
        ("max".into(), json!(t.max)),
    ]
}

#[cfg(test)]
mod tests;
