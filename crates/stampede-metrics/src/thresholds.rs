//! k6 thresholds: `p(95)<500`, `rate<0.01`, `count>10` on a metric or a sub-metric selector
//! such as `http_req_duration{status:200}`.

use std::time::Duration;

use thiserror::Error;

use crate::totals::{stats_of, trend_stat};
use crate::{Agg, MetricId, MetricType, Registry, Totals};

/// A threshold that cannot be used; reported at start with exit code 104.
#[derive(Debug, Error, PartialEq)]
pub enum ThresholdError {
    #[error("invalid threshold on {metric:?}: {expression:?}: {reason}")]
    Malformed {
        metric: String,
        expression: String,
        reason: String,
    },
    #[error("threshold on metric {metric:?}: no such metric (define it in the init context, or fix the name)")]
    UnknownMetric { metric: String },
    #[error("invalid metric selector {selector:?}: {reason}")]
    Selector { selector: String, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// One parsed expression.
#[derive(Debug, Clone)]
pub struct Threshold {
    pub source: String,
    pub abort_on_fail: bool,
    pub delay_abort_eval: Option<Duration>,
    stat: String,
    op: Op,
    bound: f64,
}

/// All thresholds of one metric key (a metric plus an optional selector).
#[derive(Debug, Clone)]
pub struct MetricThresholds {
    /// As written: `http_req_duration{status:200}`.
    pub key: String,
    pub metric_name: String,
    pub metric: MetricId,
    pub selector: Vec<(String, String)>,
    pub thresholds: Vec<Threshold>,
}

/// The result of evaluating one expression.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdOutcome {
    pub key: String,
    pub metric_name: String,
    pub selector: Vec<(String, String)>,
    pub source: String,
    pub stat: String,
    pub observed: f64,
    pub passed: bool,
    pub abort_on_fail: bool,
}

/// Every threshold of the test.
#[derive(Debug, Clone, Default)]
pub struct ThresholdSet {
    pub metrics: Vec<MetricThresholds>,
}

/// Splits `name{k:v,k2:v2}` into the name and its selector.
pub fn parse_selector(key: &str) -> Result<(String, Vec<(String, String)>), ThresholdError> {
    let Some(open) = key.find('{') else {
        return Ok((key.trim().to_string(), Vec::new()));
    };
    let name = key[..open].trim().to_string();
    let rest = &key[open + 1..];
    let inner = rest
        .strip_suffix('}')
        .ok_or_else(|| ThresholdError::Selector {
            selector: key.into(),
            reason: "missing closing '}'".into(),
        })?;
    let mut sel = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once(':')
            .ok_or_else(|| ThresholdError::Selector {
                selector: key.into(),
                reason: format!("{part:?} is not tag:value"),
            })?;
        let v = v.trim().trim_matches('"').trim_matches('\'');
        sel.push((k.trim().to_string(), v.to_string()));
    }
    if sel.is_empty() {
        return Err(ThresholdError::Selector {
            selector: key.into(),
            reason: "empty selector".into(),
        });
    }
    Ok((name, sel))
}

fn parse_expression(
    metric: &str,
    kind: MetricType,
    src: &str,
) -> Result<(String, Op, f64), ThresholdError> {
    let bad = |reason: &str| ThresholdError::Malformed {
        metric: metric.into(),
        expression: src.into(),
        reason: reason.into(),
    };
    let s = src.trim();
    let ops = [
        ("===", Op::Eq),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let (pos, len, op) = ops
        .iter()
        .filter_map(|(t, op)| s.find(t).map(|p| (p, t.len(), *op)))
        .min_by_key(|(p, l, _)| (*p, usize::MAX - l))
        .ok_or_else(|| bad("expected `aggregation operator value`, e.g. p(95)<500"))?;
    let stat = s[..pos].trim().to_string();
    let bound: f64 = s[pos + len..]
        .trim()
        .parse()
        .map_err(|_| bad("the right side is not a number"))?;
    let ok = match kind {
        MetricType::Counter => matches!(stat.as_str(), "count" | "rate"),
        MetricType::Gauge => matches!(stat.as_str(), "value"),
        MetricType::Rate => matches!(stat.as_str(), "rate"),
        MetricType::Trend => {
            matches!(stat.as_str(), "avg" | "min" | "max" | "med")
                || stat
                    .strip_prefix("p(")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|p| p.trim().parse::<f64>().ok())
                    .is_some_and(|p| (0.0..=100.0).contains(&p))
        }
    };
    if !ok {
        let allowed = match kind {
            MetricType::Counter => "count, rate",
            MetricType::Gauge => "value",
            MetricType::Rate => "rate",
            MetricType::Trend => "avg, min, max, med, p(N)",
        };
        return Err(bad(&format!(
            "{stat:?} is not an aggregation of a {} metric (use {allowed})",
            kind.as_str()
        )));
    }
    Ok((stat, op, bound))
}

impl ThresholdSet {
    /// Parses and validates `options.thresholds` against the registry.
    pub fn parse(
        defs: &[(String, Vec<stampede_core::ThresholdDef>)],
        registry: &Registry,
    ) -> Result<ThresholdSet, ThresholdError> {
        let mut metrics = Vec::new();
        for (key, list) in defs {
            let (name, selector) = parse_selector(key)?;
            let metric = registry
                .get(&name)
                .ok_or_else(|| ThresholdError::UnknownMetric {
                    metric: name.clone(),
                })?;
            let kind = registry.def(metric).kind;
            let thresholds = list
                .iter()
                .map(|d| {
                    let (stat, op, bound) = parse_expression(key, kind, &d.expression)?;
                    Ok(Threshold {
                        source: d.expression.clone(),
                        abort_on_fail: d.abort_on_fail,
                        delay_abort_eval: d.delay_abort_eval,
                        stat,
                        op,
                        bound,
                    })
                })
                .collect::<Result<Vec<_>, ThresholdError>>()?;
            metrics.push(MetricThresholds {
                key: key.clone(),
                metric_name: name,
                metric,
                selector,
                thresholds,
            });
        }
        Ok(ThresholdSet { metrics })
    }

    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// Evaluates every expression on the totals. A metric with no samples passes, as in k6,
    /// unless the expression fails on the zero value.
    pub fn evaluate(
        &self,
        totals: &Totals,
        registry: &Registry,
        elapsed_secs: f64,
    ) -> Vec<ThresholdOutcome> {
        let mut out = Vec::new();
        for m in &self.metrics {
            let kind = registry.def(m.metric).kind;
            let agg = totals.aggregate(m.metric, kind, &m.selector);
            for t in &m.thresholds {
                let observed = match &agg {
                    Some(Agg::Trend(tr)) => trend_stat(tr, &t.stat).unwrap_or(0.0),
                    Some(a) => stats_of(a, &[], elapsed_secs)
                        .get(&t.stat)
                        .copied()
                        .unwrap_or(0.0),
                    None => 0.0,
                };
                let passed = match t.op {
                    Op::Lt => observed < t.bound,
                    Op::Le => observed <= t.bound,
                    Op::Gt => observed > t.bound,
                    Op::Ge => observed >= t.bound,
                    Op::Eq => observed == t.bound,
                    Op::Ne => observed != t.bound,
                };
                out.push(ThresholdOutcome {
                    key: m.key.clone(),
                    metric_name: m.metric_name.clone(),
                    selector: m.selector.clone(),
                    source: t.source.clone(),
                    stat: t.stat.clone(),
                    observed,
                    passed,
                    abort_on_fail: t.abort_on_fail,
                });
            }
        }
        out
    }

    /// Whether an `abortOnFail` threshold failed, respecting `delayAbortEval`.
    pub fn should_abort(&self, outcomes: &[ThresholdOutcome], elapsed: Duration) -> Option<String> {
        let mut i = 0;
        for m in &self.metrics {
            for t in &m.thresholds {
                let o = &outcomes[i];
                i += 1;
                if t.abort_on_fail && !o.passed && t.delay_abort_eval.is_none_or(|d| elapsed >= d) {
                    return Some(format!("{}: {}", m.key, t.source));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{builtin, TagFilter, WorkerMetrics};
    use stampede_core::ThresholdDef;

    fn def(s: &str) -> ThresholdDef {
        ThresholdDef {
            expression: s.into(),
            abort_on_fail: false,
            delay_abort_eval: None,
            source: s.into(),
        }
    }

    #[test]
    fn selectors() {
        assert_eq!(parse_selector("a").unwrap(), ("a".into(), vec![]));
        assert_eq!(
            parse_selector("http_req_duration{status:200, method:GET}")
                .unwrap()
                .1,
            vec![
                ("status".into(), "200".into()),
                ("method".into(), "GET".into())
            ]
        );
        assert_eq!(
            parse_selector("checks{group:::a}").unwrap().1,
            vec![("group".into(), "::a".into())]
        );
        assert!(parse_selector("x{status}").is_err());
    }

    #[test]
    fn validation() {
        let r = Registry::new();
        assert!(matches!(
            ThresholdSet::parse(&[("nope".into(), vec![def("rate<1")])], &r),
            Err(ThresholdError::UnknownMetric { .. })
        ));
        assert!(
            ThresholdSet::parse(&[("http_req_failed".into(), vec![def("p(95)<1")])], &r).is_err()
        );
        assert!(
            ThresholdSet::parse(&[("http_req_duration".into(), vec![def("p(95)<<")])], &r).is_err()
        );
        assert!(ThresholdSet::parse(
            &[(
                "http_req_duration".into(),
                vec![def("p(95) < 500"), def("avg<=3")]
            )],
            &r
        )
        .is_ok());
    }

    #[test]
    fn evaluation_with_selector() {
        let r = Registry::new();
        let set = ThresholdSet::parse(
            &[
                ("http_req_duration".into(), vec![def("max<500")]),
                (
                    "http_req_duration{status:200}".into(),
                    vec![def("max<500"), def("p(95)<11")],
                ),
                ("vus".into(), vec![def("value==3")]),
            ],
            &r,
        )
        .unwrap();
        let mut w = WorkerMetrics::new(std::sync::Arc::new(TagFilter::for_thresholds(&set)), false);
        for i in 0..99 {
            // Distinct URLs: dropped before aggregation, the selector's key kept.
            let url = format!("http://a/{i}");
            w.add(
                builtin::HTTP_REQ_DURATION,
                MetricType::Trend,
                &[("status", "200"), ("url", &url)],
                10.0,
            );
        }
        w.add(
            builtin::HTTP_REQ_DURATION,
            MetricType::Trend,
            &[("status", "500"), ("url", "http://a/1")],
            900.0,
        );
        let mut totals = Totals::default();
        w.add(builtin::VUS, MetricType::Gauge, &[], 3.0);
        totals.merge(&w.take_delta(crate::UnixNanos::now()));
        // One aggregate per status (with `expected_response` absent), not one per URL.
        assert_eq!(totals.tag_sets(builtin::HTTP_REQ_DURATION).count(), 2);
        let o = set.evaluate(&totals, &r, 1.0);
        assert_eq!(
            o.iter().map(|o| o.passed).collect::<Vec<_>>(),
            vec![false, true, true, true]
        );
        assert_eq!(o[0].observed, 900.0);
    }
}
