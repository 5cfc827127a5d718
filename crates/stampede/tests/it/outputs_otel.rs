//! `-o experimental-opentelemetry`: the same script on stampede and on real k6, each sending to a
//! real OTLP receiver (Python, `opentelemetry-proto` + `grpcio`) over HTTP and over gRPC. Both
//! tools must produce the same metric names, instrument types and attribute keys; stampede's
//! last export must hold every request the target answered (k6 v1.1.0 loses its last second).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{k6_run_env, require, run_env, script, target};

const SCRIPT: &str = r#"
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
const myCounter = new Counter('my_counter');
const myGauge = new Gauge('my_gauge');
const myRate = new Rate('my_rate');
const myTrend = new Trend('my_trend');
const myTimeTrend = new Trend('my_time_trend', true);
export const options = { vus: 2, duration: '3s' };
export default function () {
  const r = http.get(`${__ENV.BASE_URL}/get`, { tags: { mytag: 'a' } });
  check(r, { 'status is 200': (x) => x.status === 200 });
  myCounter.add(2, { ctag: 'x', empty: '' });
  myGauge.add(__ITER);
  myRate.add(__ITER % 2 === 0);
  myTrend.add(__ITER * 10);
  myTimeTrend.add(12.5);
  sleep(0.05);
}
"#;

/// The receiver script, started once per test on free ports of 127.0.0.1.
struct Receiver {
    child: Child,
    dir: tempfile::TempDir,
    http_port: u16,
    grpc_port: u16,
}

impl Receiver {
    fn start() -> Receiver {
        Receiver::start_with(&[])
    }

    /// With the receiver's own options (`--cert`, `--key`, `--client-ca`, `--tls12`).
    fn start_with(options: &[&Path]) -> Receiver {
        let python = require(
            "python3",
            "install Python 3 and the PyPI packages opentelemetry-proto and grpcio",
        );
        let check = Command::new(&python)
            .args(["-c", "import opentelemetry.proto, grpc"])
            .output()
            .expect("run python3");
        assert!(
            check.status.success(),
            "the OTLP receiver of this test needs the PyPI packages opentelemetry-proto and grpcio \
             (pip install opentelemetry-proto grpcio): {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let fixture =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/otlp_receiver.py");
        let log = std::fs::File::create(dir.path().join("receiver.log")).expect("log file");
        let mut child = Command::new(&python)
            .arg(&fixture)
            .arg(dir.path().join("requests.jsonl"))
            .arg(dir.path().join("ready"))
            .args(options)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start the OTLP receiver");
        let ready = dir.path().join("ready");
        let deadline = Instant::now() + Duration::from_secs(20);
        let ports = loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                let ports: Vec<u16> = text
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect();
                if ports.len() == 2 {
                    break ports;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the OTLP receiver exited ({status}): {}",
                    std::fs::read_to_string(dir.path().join("receiver.log")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the OTLP receiver did not start within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Receiver {
            child,
            dir,
            http_port: ports[0],
            grpc_port: ports[1],
        }
    }

    /// The variables that point an OpenTelemetry output at this receiver, exporting every
    /// second, in plain text; `service` tells the runs apart.
    fn env(&self, transport: &str, service: &str) -> Vec<(String, String)> {
        let mut env = vec![
            ("K6_OTEL_EXPORT_INTERVAL", "1s".to_string()),
            ("K6_OTEL_FLUSH_INTERVAL", "1s".to_string()),
            ("K6_OTEL_SERVICE_NAME", service.to_string()),
        ];
        match transport {
            "http" => env.extend([
                ("K6_OTEL_EXPORTER_TYPE", "http".to_string()),
                (
                    "K6_OTEL_HTTP_EXPORTER_ENDPOINT",
                    format!("127.0.0.1:{}", self.http_port),
                ),
                ("K6_OTEL_HTTP_EXPORTER_INSECURE", "true".to_string()),
            ]),
            _ => env.extend([
                ("K6_OTEL_EXPORTER_TYPE", "grpc".to_string()),
                (
                    "K6_OTEL_GRPC_EXPORTER_ENDPOINT",
                    format!("127.0.0.1:{}", self.grpc_port),
                ),
                ("K6_OTEL_GRPC_EXPORTER_INSECURE", "true".to_string()),
            ]),
        }
        env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// Every request received from the run named `service`, in order.
    fn requests(&self, service: &str) -> Vec<Value> {
        let path: PathBuf = self.dir.path().join("requests.jsonl");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
            .filter(|r| r["resource"]["service.name"] == service)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn metrics(req: &Value) -> impl Iterator<Item = &Value> {
    req["metrics"].as_array().into_iter().flatten()
}

fn points(m: &Value) -> impl Iterator<Item = &Value> {
    m["points"].as_array().into_iter().flatten()
}

/// Per metric name: what kind of instrument it is (type, integer or not, temporality,
/// monotonic, unit), over every request.
fn instruments(reqs: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for m in reqs.iter().flat_map(metrics) {
        let is_int = points(m).next().map(|p| p["is_int"].clone());
        let shape = format!(
            "{} int={} temporality={} monotonic={} unit={:?}",
            m["type"].as_str().unwrap_or("?"),
            is_int.unwrap_or(Value::Null),
            m["temporality"],
            m["monotonic"],
            m["unit"].as_str().unwrap_or("")
        );
        let name = m["name"].as_str().unwrap_or("?").to_string();
        let previous = out.insert(name.clone(), shape.clone());
        assert!(
            previous.is_none_or(|p| p == shape),
            "{name} changed shape between exports"
        );
    }
    out
}

/// Per metric name: every attribute key of its data points.
fn attribute_keys(reqs: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in reqs.iter().flat_map(metrics) {
        let keys = out
            .entry(m["name"].as_str().unwrap_or("?").to_string())
            .or_default();
        for p in points(m) {
            keys.extend(
                p["attrs"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone()),
            );
        }
    }
    out
}

/// The sum of a number metric's data points in one request (`None` if it is not there).
fn total(req: &Value, name: &str) -> Option<f64> {
    let m = metrics(req).find(|m| m["name"] == name)?;
    Some(points(m).map(|p| p["value"].as_f64().unwrap_or(0.0)).sum())
}

fn compare_with_k6(transport: &str) {
    let rx = Receiver::start();
    let s = script(SCRIPT);

    let k6_target = target();
    let k6_service = format!("k6-{transport}");
    let k6_env = rx.env(transport, &k6_service);
    let out = k6_run_env(
        &s,
        &k6_target.base_url(),
        &["-o", "experimental-opentelemetry"],
        &env_refs(&k6_env),
    );
    assert!(
        out.status.success(),
        "k6 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let ours_target = target();
    let ours_service = format!("stampede-{transport}");
    let ours_env = rx.env(transport, &ours_service);
    let ours = run_env(
        &s,
        &ours_target.base_url(),
        &["-o", "experimental-opentelemetry"],
        &env_refs(&ours_env),
    );
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert!(
        !ours.stderr.contains("could not be delivered"),
        "{}",
        ours.stderr
    );

    let theirs = rx.requests(&k6_service);
    let mine = rx.requests(&ours_service);
    assert!(
        !theirs.is_empty(),
        "no request from k6 reached the receiver"
    );
    assert!(
        mine.len() >= 3,
        "stampede exports every second and at the end: {} requests",
        mine.len()
    );
    for r in &mine {
        assert_eq!(r["transport"], transport);
        assert_eq!(r["scopes"], serde_json::json!(["k6"]));
        if transport == "http" {
            assert_eq!(r["path"], "/v1/metrics");
            assert_eq!(r["headers"]["content-type"], "application/x-protobuf");
        }
    }

    // Same instruments, same attribute keys.
    let (k6_instruments, our_instruments) = (instruments(&theirs), instruments(&mine));
    assert_eq!(
        our_instruments.keys().collect::<Vec<_>>(),
        k6_instruments.keys().collect::<Vec<_>>(),
        "metric names"
    );
    assert_eq!(our_instruments, k6_instruments, "instrument types");
    assert_eq!(
        attribute_keys(&mine),
        attribute_keys(&theirs),
        "attribute keys"
    );
    assert!(k6_instruments.contains_key("my_rate.occurred"));
    assert_eq!(
        k6_instruments["http_req_duration"],
        "histogram int=null temporality=\"cumulative\" monotonic=null unit=\"ms\""
    );

    // Cumulative: one start time for every stream, totals that never go down, and the last
    // export holds every request the target answered and every iteration of the summary.
    let starts: BTreeSet<u64> = mine
        .iter()
        .flat_map(metrics)
        .flat_map(points)
        .filter_map(|p| p["start"].as_u64())
        .collect();
    assert_eq!(starts.len(), 1, "start times: {starts:?}");
    let reqs: Vec<f64> = mine.iter().filter_map(|r| total(r, "http_reqs")).collect();
    assert!(reqs.windows(2).all(|w| w[0] <= w[1]), "{reqs:?}");
    let last = mine.last().expect("a last export");
    let answered = ours_target.stats().total_requests;
    assert!(answered > 0);
    assert_eq!(total(last, "http_reqs"), Some(answered as f64));
    assert_eq!(
        total(last, "iterations"),
        Some(ours.metric("iterations", "count"))
    );
    assert_eq!(
        total(last, "my_counter"),
        Some(ours.metric("my_counter", "count"))
    );
}

#[test]
fn otlp_http_matches_real_k6() {
    compare_with_k6("http");
}

#[test]
fn otlp_grpc_matches_real_k6() {
    compare_with_k6("grpc");
}

#[test]
fn a_closed_port_loses_samples_but_not_the_run() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 1, duration: '2s' };
export default function () { http.get(`${__ENV.BASE_URL}/get`); sleep(0.1); }
"#,
    );
    for transport in ["grpc", "http"] {
        // A port nothing listens on any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (endpoint_var, insecure_var) = match transport {
            "grpc" => (
                "K6_OTEL_GRPC_EXPORTER_ENDPOINT",
                "K6_OTEL_GRPC_EXPORTER_INSECURE",
            ),
            _ => (
                "K6_OTEL_HTTP_EXPORTER_ENDPOINT",
                "K6_OTEL_HTTP_EXPORTER_INSECURE",
            ),
        };
        let endpoint = format!("127.0.0.1:{port}");
        let started = Instant::now();
        let out = run_env(
            &s,
            &server.base_url(),
            &["-o", "experimental-opentelemetry"],
            &[
                ("K6_OTEL_EXPORTER_TYPE", transport),
                (endpoint_var, &endpoint),
                (insecure_var, "true"),
                ("K6_OTEL_EXPORT_INTERVAL", "1s"),
            ],
        );
        let took = started.elapsed();
        assert_eq!(out.code, 0, "{transport}: {}", out.stderr);
        assert!(
            out.stderr.contains("output experimental-opentelemetry:")
                && out.stderr.contains("could not be delivered"),
            "{transport}: no report of lost samples: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&endpoint),
            "{transport}: the error names the endpoint: {}",
            out.stderr
        );
        assert!(
            took < Duration::from_secs(2 + 15),
            "{transport}: the run took {took:?}"
        );
    }
}

/// A run's service name, receiver, transport, port, `K6_OTEL_TLS_*` variables, and what its
/// failure must mention (`None`: it must deliver).
type TlsCase<'a> = (
    &'a str,
    &'a Receiver,
    &'a str,
    u16,
    Vec<(&'a str, String)>,
    Option<&'a str>,
);

fn tls_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/otlp_tls")
        .join(name)
}

/// `K6_OTEL_TLS_*` as k6 has them: the given root CA, a client certificate, verification
/// skipped, and TLS 1.3 required once any of them is set. The certificates in
/// `fixtures/otlp_tls` are test-only: a CA, a server certificate for 127.0.0.1 and a client
/// certificate, valid until 2126.
#[test]
fn tls_options_are_honoured() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = { vus: 1, iterations: 3 };
export default function () { http.get(`${__ENV.BASE_URL}/get`); }
"#,
    );
    let (ca, cert, key) = (
        tls_file("ca.pem"),
        tls_file("server.pem"),
        tls_file("server.key"),
    );
    let (client_cert, client_key) = (tls_file("client.pem"), tls_file("client.key"));
    let flag = |f: &str| PathBuf::from(f);
    // Requires a client certificate; TLS 1.3 allowed.
    let mtls = Receiver::start_with(&[
        &flag("--cert"),
        &cert,
        &flag("--key"),
        &key,
        &flag("--client-ca"),
        &ca,
    ]);
    // HTTPS limited to TLS 1.2.
    let tls12 = Receiver::start_with(&[
        &flag("--cert"),
        &cert,
        &flag("--key"),
        &key,
        &flag("--tls12"),
    ]);
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let client = [
        ("K6_OTEL_TLS_CLIENT_CERTIFICATE", path(&client_cert)),
        ("K6_OTEL_TLS_CLIENT_KEY", path(&client_key)),
    ];
    let with_ca = [("K6_OTEL_TLS_CERTIFICATE", path(&ca))];
    let skip = [("K6_OTEL_TLS_INSECURE_SKIP_VERIFY", "true".to_string())];
    let cases: Vec<TlsCase<'_>> = vec![
        (
            "http-ca-client",
            &mtls,
            "http",
            mtls.http_port,
            [&with_ca[..], &client[..]].concat(),
            None,
        ),
        (
            "grpc-ca-client",
            &mtls,
            "grpc",
            mtls.grpc_port,
            [&with_ca[..], &client[..]].concat(),
            None,
        ),
        (
            "grpc-skip-client",
            &mtls,
            "grpc",
            mtls.grpc_port,
            [&skip[..], &client[..]].concat(),
            None,
        ),
        (
            "grpc-default",
            &mtls,
            "grpc",
            mtls.grpc_port,
            vec![],
            Some("UnknownIssuer"),
        ),
        (
            "http-default",
            &tls12,
            "http",
            tls12.http_port,
            vec![],
            Some("UnknownIssuer"),
        ),
        (
            "http-ca-tls12",
            &tls12,
            "http",
            tls12.http_port,
            with_ca.to_vec(),
            Some("ProtocolVersion"),
        ),
        (
            "grpc-ca-tls12",
            &tls12,
            "grpc",
            tls12.http_port,
            with_ca.to_vec(),
            Some("TLS 1.3 is required"),
        ),
    ];
    for (service, rx, transport, port, tls_env, failure) in cases {
        let mut env: Vec<(String, String)> = vec![
            ("K6_OTEL_SERVICE_NAME".into(), service.into()),
            ("K6_OTEL_EXPORTER_TYPE".into(), transport.into()),
            (
                format!("K6_OTEL_{}_EXPORTER_ENDPOINT", transport.to_uppercase()),
                format!("127.0.0.1:{port}"),
            ),
        ];
        env.extend(tls_env.into_iter().map(|(k, v)| (k.to_string(), v)));
        let out = run_env(
            &s,
            &server.base_url(),
            &["-o", "experimental-opentelemetry"],
            &env_refs(&env),
        );
        assert_eq!(out.code, 0, "{service}: {}", out.stderr);
        match failure {
            None => {
                assert!(
                    !out.stderr.contains("could not be delivered"),
                    "{service}: {}",
                    out.stderr
                );
                let reqs = rx.requests(service);
                let last = reqs
                    .last()
                    .unwrap_or_else(|| panic!("{service}: nothing received"));
                assert_eq!(last["transport"], transport);
                assert_eq!(
                    total(last, "http_reqs"),
                    Some(out.metric("http_reqs", "count")),
                    "{service}"
                );
            }
            Some(why) => {
                assert!(
                    out.stderr.contains("could not be delivered") && out.stderr.contains(why),
                    "{service}: expected a loss because of {why}: {}",
                    out.stderr
                );
                assert!(rx.requests(service).is_empty(), "{service}");
            }
        }
    }
}
