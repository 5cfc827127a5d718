//! `-o experimental-prometheus-rw` against a real Prometheus 2.42 (its remote-write receiver),
//! compared with real k6 sending to the same server.

use crate::servers::{free_port, Prometheus};
use crate::support;

/// A small bounded load: two VUs for three seconds, an HTTP request, a check and a custom
/// trend per iteration.
const SCRIPT: &str = r#"
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Trend } from 'k6/metrics';

const myTrend = new Trend('my_trend');

export const options = { vus: 2, duration: '3s' };

export default function () {
  const res = http.get(`${__ENV.BASE_URL}/`);
  check(res, { 'status is 200': (r) => r.status === 200 });
  myTrend.add(__ITER % 10);
  sleep(0.02);
}
"#;

fn unique(tool: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tool}-{}-{nanos}", std::process::id())
}

fn stampede_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("K6_PROMETHEUS_RW_SERVER_URL", url.to_string()),
        ("K6_PROMETHEUS_RW_PUSH_INTERVAL", "1s".to_string()),
    ]
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn same_series_as_k6_and_every_request_counted() {
    let prom = Prometheus::start(false);
    let s = support::script(SCRIPT);
    let env = stampede_env(&prom.write_url());

    // stampede, against a target of its own so its request count is stampede's alone.
    let target = support::target();
    let ours = unique("stampede");
    let tag = format!("testid={ours}");
    let r = support::run_env(
        &s,
        &target.base_url(),
        &["-o", "experimental-prometheus-rw", "--tag", &tag],
        &as_refs(&env),
    );
    assert_eq!(r.code, 0, "stampede failed:\n{}", r.stderr);
    assert!(!r.stderr.contains("could not be delivered"), "{}", r.stderr);
    let served = target.stats().total_requests;
    assert!(served > 10, "only {served} requests");

    // k6 on the same script, to the same Prometheus.
    let k6_target = support::target();
    let theirs = unique("k6");
    let k6_tag = format!("testid={theirs}");
    let out = support::k6_run_env(
        &s,
        &k6_target.base_url(),
        &["-o", "experimental-prometheus-rw", "--tag", &k6_tag],
        &as_refs(&env),
    );
    assert!(
        out.status.success(),
        "k6 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mine = prom.series(&format!("{{testid=\"{ours}\"}}"));
    let k6 = prom.series(&format!("{{testid=\"{theirs}\"}}"));
    assert!(k6.contains_key("k6_http_reqs_total"), "{k6:?}");
    assert!(k6.contains_key("k6_my_trend_p99"), "{k6:?}");
    assert_eq!(
        mine.keys().collect::<Vec<_>>(),
        k6.keys().collect::<Vec<_>>(),
        "series names differ"
    );
    for (name, labels) in &k6 {
        assert_eq!(&mine[name], labels, "label names of {name}");
    }

    // Every request the target served is in stampede's counter, pushed at the end.
    let counted = prom.number(&format!("sum(k6_http_reqs_total{{testid=\"{ours}\"}})"));
    assert_eq!(counted, served as f64);
    // Times are in seconds, counts are counts (k6 1.1.0 divides these by 1000 too).
    let p99 = prom.number(&format!(
        "max(k6_http_req_duration_p99{{testid=\"{ours}\"}})"
    ));
    assert!(p99 > 0.0 && p99 < 1.0, "p99 {p99} s");
    let trend = prom.number(&format!("k6_my_trend_p99{{testid=\"{ours}\"}}"));
    assert!((8.0..=9.0).contains(&trend), "my_trend p99 {trend}");
    let checks = prom.number(&format!("k6_checks_rate{{testid=\"{ours}\"}}"));
    assert_eq!(checks, 1.0);
}

#[test]
fn native_histograms_count_every_request_and_stale_markers_end_the_series() {
    let prom = Prometheus::start(true);
    let s = support::script(SCRIPT);
    let mut env = stampede_env(&prom.write_url());
    env.push(("K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM", "true".into()));
    env.push(("K6_PROMETHEUS_RW_STALE_MARKERS", "true".into()));
    let target = support::target();
    let ours = unique("stampede-native");
    let tag = format!("testid={ours}");
    let r = support::run_env(
        &s,
        &target.base_url(),
        &["-o", "experimental-prometheus-rw", "--tag", &tag],
        &as_refs(&env),
    );
    assert_eq!(r.code, 0, "stampede failed:\n{}", r.stderr);
    assert!(!r.stderr.contains("could not be delivered"), "{}", r.stderr);
    let served = target.stats().total_requests;

    let names = prom.series(&format!("{{testid=\"{ours}\"}}"));
    for name in [
        "k6_http_req_duration_seconds",
        "k6_iteration_duration_seconds",
        "k6_my_trend",
        "k6_http_reqs_total",
    ] {
        assert!(names.contains_key(name), "no {name} in {names:?}");
    }
    assert!(!names.contains_key("k6_http_req_duration_p99"), "{names:?}");

    // The stale markers end every series: an instant query finds nothing any more.
    assert!(prom
        .query(&format!("k6_http_reqs_total{{testid=\"{ours}\"}}"))
        .is_empty());
    // The last histogram of each series holds every request.
    let data = prom.api(
        "/api/v1/query",
        &[(
            "query",
            &format!("k6_http_req_duration_seconds{{testid=\"{ours}\"}}[10m]"),
        )],
    );
    let mut count = 0.0;
    for series in data["result"].as_array().unwrap() {
        let points = series["histograms"].as_array().unwrap();
        let last = &points.last().unwrap()[1];
        count += last["count"].as_str().unwrap().parse::<f64>().unwrap();
        let in_buckets: f64 = last["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b[3].as_str().unwrap().parse::<f64>().unwrap())
            .sum();
        assert_eq!(
            in_buckets,
            last["count"].as_str().unwrap().parse::<f64>().unwrap()
        );
    }
    assert_eq!(count, served as f64);
}

#[test]
fn a_closed_receiver_loses_samples_not_the_test() {
    let s = support::script(SCRIPT);
    let target = support::target();
    // Nothing listens there any more.
    let url = format!("http://127.0.0.1:{}/api/v1/write", free_port());
    let r = support::run_env(
        &s,
        &target.base_url(),
        &["-o", "experimental-prometheus-rw", "-d", "2s"],
        &[
            ("K6_PROMETHEUS_RW_SERVER_URL", url.as_str()),
            ("K6_PROMETHEUS_RW_PUSH_INTERVAL", "1s"),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("output experimental-prometheus-rw:")
            && r.stderr.contains("could not be delivered"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("Connection refused"), "{}", r.stderr);
    assert!(target.stats().total_requests > 10);
}
