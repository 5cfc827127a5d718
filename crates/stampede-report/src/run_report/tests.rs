use stampede_core::ThresholdDef;
use stampede_metrics::{
    builtin, DeltaMerger, MetricType, Registry, TagSet, ThresholdSet, UnixNanos,
};

use super::{ReportBuilder, RunMeta};

const S: i64 = 1_000_000_000;

/// One second of a run: `n` requests to `name`, `bad` of them 404s, each taking `ms`.
fn second(at: i64, name: &str, n: u32, bad: u32, ms: f64) -> stampede_metrics::Delta {
    let mut m = DeltaMerger::default();
    let t = UnixNanos(at * S + 500);
    for i in 0..n {
        let failed = i < bad;
        let tags = TagSet::from_pairs([
            ("name", name),
            ("method", "GET"),
            ("scenario", "default"),
            ("status", if failed { "404" } else { "200" }),
            ("error_code", if failed { "1404" } else { "" }),
            ("expected_response", if failed { "false" } else { "true" }),
        ]);
        m.add_value(
            builtin::HTTP_REQS,
            MetricType::Counter,
            tags.clone(),
            t,
            1.0,
        );
        m.add_value(
            builtin::HTTP_REQ_DURATION,
            MetricType::Trend,
            tags.clone(),
            t,
            ms,
        );
        m.add_value(
            builtin::HTTP_REQ_FAILED,
            MetricType::Rate,
            tags,
            t,
            if failed { 1.0 } else { 0.0 },
        );
    }
    let check = TagSet::from_pairs([("check", "ok"), ("group", ""), ("scenario", "default")]);
    m.add_value(builtin::CHECKS, MetricType::Rate, check.clone(), t, 1.0);
    m.add_value(builtin::CHECKS, MetricType::Rate, check, t, 0.0);
    m.add_value(builtin::VUS, MetricType::Gauge, TagSet::default(), t, 3.0);
    let scenario = TagSet::from_pairs([("scenario", "default")]);
    m.add_value(
        builtin::ITERATIONS,
        MetricType::Counter,
        scenario.clone(),
        t,
        1.0,
    );
    m.add_value(
        builtin::ITERATION_DURATION,
        MetricType::Trend,
        scenario,
        t,
        50.0,
    );
    let mut d = m.finish().unwrap();
    d.start = UnixNanos((at - 1) * S);
    d.end = UnixNanos(at * S);
    d
}

fn builder() -> ReportBuilder {
    let reg = Registry::new();
    let thresholds = ThresholdSet::parse(
        &[(
            "http_req_duration".into(),
            vec![ThresholdDef {
                expression: "p(95)<20".into(),
                abort_on_fail: false,
                delay_abort_eval: None,
                source: "p(95)<20".into(),
            }],
        )],
        &reg,
    )
    .unwrap();
    ReportBuilder::new(
        reg,
        thresholds,
        RunMeta {
            tool: "stampede test".into(),
            script: "s.js".into(),
            ..RunMeta::default()
        },
    )
}

#[test]
fn a_point_per_second_and_the_run_in_tables() {
    let mut b = builder();
    b.add(&second(10, "products", 8, 2, 10.0));
    b.add(&second(11, "products", 4, 0, 30.0));
    b.add(&second(11, "home", 2, 0, 5.0));
    let m = b.model(false);
    let s = &m["series"];
    assert_eq!(s["t"], serde_json::json!([10, 11]));
    assert_eq!(s["http_reqs"], serde_json::json!([8.0, 6.0]));
    assert_eq!(s["http_req_failed"], serde_json::json!([0.25, 0.0]));
    assert_eq!(s["checks"], serde_json::json!([0.5, 0.5]));
    assert_eq!(s["vus"], serde_json::json!([3.0, 3.0]));
    assert_eq!(s["http_req_duration"]["p50"][0], 10.0);
    assert_eq!(s["iteration_duration_corrected"], serde_json::Value::Null);
    assert_eq!(s["ws"], serde_json::Value::Null);
    assert_eq!(
        m["failures"],
        serde_json::json!([{"status": "404", "error_code": "1404", "per_second": [2.0, 0.0], "total": 2.0}])
    );
    let e = &m["endpoints"];
    assert_eq!(e[0]["name"], "products");
    assert_eq!(e[0]["requests"], 12.0);
    assert_eq!(e[0]["failed"], 2.0);
    assert_eq!(e[1]["name"], "home");
    assert_eq!(e[1]["max"], 5.0);
    assert_eq!(m["totals"]["http_reqs"], 14.0);
    assert_eq!(m["totals"]["duration"], 2.0);
    assert_eq!(m["totals"]["http_reqs_rate"], 7.0);
    assert_eq!(m["thresholds"][0]["ok"], false);
    assert_eq!(
        m["checks"],
        serde_json::json!([{"name": "ok", "group": "", "passes": 3, "fails": 3}])
    );
    assert_eq!(m["meta"]["ended"], 11.0);
    assert_eq!(b.model(true)["meta"]["ended"], serde_json::Value::Null);
    assert_eq!(m["scenarios"][0]["name"], "default");
    assert_eq!(m["scenarios"][0]["iterations"], 3.0);
    assert_eq!(m["scenarios"][0]["p95"], 50.0);
}
