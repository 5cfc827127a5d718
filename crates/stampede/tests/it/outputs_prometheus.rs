//! `-o experimental-prometheus-rw` against a real Prometheus 2.42 (its remote-write receiver),
//! compared with real k6 sending to the same server.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// A Prometheus server of its own, killed when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Prometheus {
    fn start(native_histograms: bool) -> Prometheus {
        let bin = support::require("prometheus", "apt-get install prometheus");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 15s\n").unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver");
        if native_histograms {
            cmd.arg("--enable-feature=native-histograms");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let p = Prometheus { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if matches!(p.get_raw("/-/ready"), Some((200, _))) {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus did not get ready within 60 s:\n{}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn write_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/write", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// A GET on the server: its status and body, `None` if it can't be reached.
    fn get_raw(&self, path: &str) -> Option<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).ok()?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, body.to_string()))
    }

    /// An API call's `data`.
    fn api(&self, path: &str, params: &[(&str, &str)]) -> serde_json::Value {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let url = format!("{path}?{}", query.join("&"));
        let (status, body) = self
            .get_raw(&url)
            .unwrap_or_else(|| panic!("GET {url}: no answer"));
        assert_eq!(status, 200, "GET {url}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "success", "GET {url}: {body}");
        v["data"].clone()
    }

    /// Series name -> the label names its series have (besides `__name__`).
    fn series(&self, selector: &str) -> BTreeMap<String, BTreeSet<String>> {
        let data = self.api("/api/v1/series", &[("match[]", selector)]);
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in data.as_array().unwrap() {
            let s = s.as_object().unwrap();
            let name = s["__name__"].as_str().unwrap().to_string();
            out.entry(name)
                .or_default()
                .extend(s.keys().filter(|k| *k != "__name__").cloned());
        }
        out
    }

    /// The result vector of an instant query.
    fn query(&self, expr: &str) -> Vec<serde_json::Value> {
        let data = self.api("/api/v1/query", &[("query", expr)]);
        data["result"].as_array().unwrap().clone()
    }

    /// The single number an instant query gives.
    fn number(&self, expr: &str) -> f64 {
        let r = self.query(expr);
        assert_eq!(r.len(), 1, "{expr}: {r:?}");
        r[0]["value"][1].as_str().unwrap().parse().unwrap()
    }
}

/// Percent-encodes a query parameter value.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

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
