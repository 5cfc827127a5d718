use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use prost::Message as _;
use stampede_metrics::{
    builtin, Agg, Delta, DeltaEntry, MetricType, SharedRegistry, TagSet, TrendAgg, UnixNanos,
    ValueType,
};

use super::config::Config;
use super::native::{bucket_index, buckets, histogram, Buckets, SCHEMA, ZERO_THRESHOLD};
use super::proto::{histogram as h, Histogram, Label, TimeSeries, WriteRequest};
use super::series::{labels, series_name, Store, TrendStat, STALE_NAN};
use super::{encode, make};
use crate::testing::{params, run_info};
use crate::{Names, Output, OutputParams, Report, RunInfo};

const S: i64 = 1_000_000_000;
/// 2026-12-07T17:32:17Z
const T0: i64 = 1_796_664_737 * S;

fn stats(list: &[&str]) -> Vec<TrendStat> {
    list.iter().map(|s| TrendStat::parse(s).unwrap()).collect()
}

fn entry(metric: stampede_metrics::MetricId, tags: &[(&str, &str)], agg: Agg) -> DeltaEntry {
    DeltaEntry {
        metric,
        tags: TagSet::from_pairs(tags.iter().copied()),
        agg,
    }
}

fn trend(values: &[f64]) -> Agg {
    let mut a = Agg::new(MetricType::Trend);
    for v in values {
        a.add(*v);
    }
    a
}

fn delta(end: i64, entries: Vec<DeltaEntry>) -> Delta {
    Delta {
        start: UnixNanos(end - S),
        end: UnixNanos(end),
        entries,
    }
}

/// name -> (labels without __name__, sample value, timestamp)
type Pushed = Vec<(Vec<(String, String)>, f64, i64)>;

fn by_name(series: &[TimeSeries]) -> BTreeMap<String, Pushed> {
    let mut out: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for s in series {
        let name = s
            .labels
            .iter()
            .find(|l| l.name == "__name__")
            .map(|l| l.value.clone())
            .unwrap();
        let rest = s
            .labels
            .iter()
            .filter(|l| l.name != "__name__")
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect();
        let (v, ts) = s
            .samples
            .first()
            .map(|x| (x.value, x.timestamp))
            .unwrap_or_else(|| (f64::NAN, s.histograms[0].timestamp));
        out.entry(name).or_default().push((rest, v, ts));
    }
    out
}

fn value(series: &[TimeSeries], name: &str) -> f64 {
    let m = by_name(series);
    let v = m
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", m.keys()));
    assert_eq!(v.len(), 1, "{name}: {v:?}");
    v[0].1
}

#[test]
fn names_follow_k6() {
    let suffixes: Vec<String> = stats(&[
        "p(99)", "p(99.9)", "p(0.95)", "med", "count", "sum", "avg", "min", "max", "p(90)",
        "p(100)",
    ])
    .into_iter()
    .map(|t| t.suffix)
    .collect();
    assert_eq!(
        suffixes,
        ["p99", "p999", "p095", "med", "count", "sum", "avg", "min", "max", "p90", "p100"]
    );
    assert_eq!(series_name("http_reqs", "total"), "k6_http_reqs_total");
    assert_eq!(series_name("vus", ""), "k6_vus");
    assert_eq!(
        series_name("http_req_duration", "p999"),
        "k6_http_req_duration_p999"
    );
}

#[test]
fn trend_stats_are_validated_like_k6() {
    let e = |s: &str| TrendStat::parse(s).unwrap_err();
    assert_eq!(e("tavg"), "invalid trend stat 'tavg', unknown format");
    // Not trimmed: "p(99), med" splits into "p(99)" and " med".
    assert_eq!(e(" med"), "invalid trend stat ' med', unknown format");
    assert_eq!(e(""), "invalid trend stat '', unknown format");
    assert_eq!(
        e("p(abc)"),
        "invalid percentile trend stat value 'p(abc)', provide a number between 0 and 100"
    );
    assert_eq!(
        e("p(100.5)"),
        "invalid percentile trend stat value 'p(100.5)', provide a number between 0 and 100"
    );
    assert!(TrendStat::parse("p(0)").is_ok());
}

#[test]
fn labels_drop_empty_tags_and_sort_bytewise() {
    let tags = TagSet::from_pairs([
        ("scenario", "default"),
        ("group", ""),
        ("", "x"),
        ("Zupper", "U"),
        ("ctag", "x"),
        ("my-tag", "v"),
        ("__name__", "spoof"),
    ]);
    let l = labels("k6_my_counter_total", &tags);
    let pairs: Vec<(&str, &str)> = l.iter().map(|l| (&*l.name, &*l.value)).collect();
    assert_eq!(
        pairs,
        [
            ("Zupper", "U"),
            ("__name__", "k6_my_counter_total"),
            ("ctag", "x"),
            ("my-tag", "v"),
            ("scenario", "default"),
        ]
    );
}

#[test]
fn values_are_cumulative_and_only_updated_series_are_pushed() {
    let reg = SharedRegistry::new();
    let my_trend = reg
        .lock()
        .register("my_trend", MetricType::Trend, ValueType::Default)
        .unwrap();
    let mut names = Names::new(&reg);
    let mut store = Store::new(
        stats(&["p(99)", "count", "sum", "avg", "min", "max", "med"]),
        false,
    );
    let http = [("scenario", "default"), ("status", "200"), ("group", "")];
    store.add(
        &delta(
            T0 + S,
            vec![
                entry(builtin::HTTP_REQS, &http, Agg::Counter { sum: 4.0 }),
                entry(
                    builtin::VUS,
                    &[],
                    Agg::Gauge {
                        last: 2.0,
                        min: 1.0,
                        max: 2.0,
                    },
                ),
                entry(
                    builtin::CHECKS,
                    &[("check", "ok")],
                    Agg::Rate { trues: 3, total: 4 },
                ),
                entry(
                    builtin::ITERATION_DURATION,
                    &[("scenario", "default")],
                    trend(&[100.0, 300.0]),
                ),
                entry(my_trend, &[], trend(&[10.0, 20.0])),
            ],
        ),
        &mut names,
    );
    let first = store.take_updated();
    let t1 = (T0 + S) / 1_000_000;
    assert_eq!(value(&first, "k6_http_reqs_total"), 4.0);
    assert_eq!(value(&first, "k6_vus"), 2.0);
    assert_eq!(value(&first, "k6_checks_rate"), 0.75);
    // Times in seconds, the count a count (k6 1.1.0 would send 0.002).
    assert_eq!(value(&first, "k6_iteration_duration_count"), 2.0);
    assert_eq!(value(&first, "k6_iteration_duration_sum"), 0.4);
    assert_eq!(value(&first, "k6_iteration_duration_avg"), 0.2);
    assert_eq!(value(&first, "k6_iteration_duration_min"), 0.1);
    assert_eq!(value(&first, "k6_iteration_duration_max"), 0.3);
    assert_eq!(value(&first, "k6_iteration_duration_med"), 0.2);
    assert!((value(&first, "k6_iteration_duration_p99") - 0.298).abs() < 1e-12);
    assert_eq!(value(&first, "k6_my_trend_count"), 2.0);
    assert_eq!(value(&first, "k6_my_trend_sum"), 30.0);
    let m = by_name(&first);
    assert_eq!(
        m["k6_http_reqs_total"][0].0,
        [
            ("scenario".to_string(), "default".to_string()),
            ("status".into(), "200".into())
        ]
    );
    assert!(first.iter().all(|s| s.samples[0].timestamp == t1));
    assert!(
        store.take_updated().is_empty(),
        "nothing new, nothing pushed"
    );

    // The next second touches the counter and the trend only.
    store.add(
        &delta(
            T0 + 2 * S,
            vec![
                entry(builtin::HTTP_REQS, &http, Agg::Counter { sum: 3.0 }),
                entry(
                    builtin::ITERATION_DURATION,
                    &[("scenario", "default")],
                    trend(&[200.0]),
                ),
            ],
        ),
        &mut names,
    );
    let second = store.take_updated();
    let m = by_name(&second);
    assert!(
        !m.contains_key("k6_vus") && !m.contains_key("k6_checks_rate"),
        "{:?}",
        m.keys()
    );
    assert_eq!(value(&second, "k6_http_reqs_total"), 7.0);
    assert_eq!(value(&second, "k6_iteration_duration_count"), 3.0);
    assert!((value(&second, "k6_iteration_duration_sum") - 0.6).abs() < 1e-12);
    assert!(second.iter().all(|s| s.samples[0].timestamp == t1 + 1000));

    // A late interval (ending before the last push) still moves time forward.
    store.add(
        &delta(
            T0 + S,
            vec![entry(builtin::HTTP_REQS, &http, Agg::Counter { sum: 1.0 })],
        ),
        &mut names,
    );
    let late = store.take_updated();
    assert_eq!(value(&late, "k6_http_reqs_total"), 8.0);
    assert_eq!(late[0].samples[0].timestamp, t1 + 1001);
    assert_eq!(store.len(), 5);

    // Stale markers: every series ever pushed, after everything pushed.
    let stale = store.stale_markers(0);
    assert_eq!(stale.len(), 1 + 1 + 1 + 7 + 7);
    for s in &stale {
        assert_eq!(s.samples.len(), 1);
        assert_eq!(s.samples[0].value.to_bits(), STALE_NAN);
        assert_eq!(s.samples[0].timestamp, t1 + 1002);
    }
    let now = t1 + 60_000;
    assert!(store
        .stale_markers(now)
        .iter()
        .all(|s| s.samples[0].timestamp == now + 1));
}

#[test]
fn requests_round_trip_through_snappy_and_protobuf() {
    let series = vec![
        TimeSeries {
            labels: vec![
                Label {
                    name: "__name__".into(),
                    value: "k6_vus".into(),
                },
                Label {
                    name: "testid".into(),
                    value: "x".into(),
                },
            ],
            samples: vec![super::proto::Sample {
                value: 0.0,
                timestamp: 1_796_664_737_000,
            }],
            histograms: Vec::new(),
        },
        TimeSeries {
            labels: vec![Label {
                name: "__name__".into(),
                value: "k6_stale".into(),
            }],
            samples: vec![super::proto::Sample {
                value: f64::from_bits(STALE_NAN),
                timestamp: 5,
            }],
            histograms: Vec::new(),
        },
        TimeSeries {
            labels: vec![Label {
                name: "__name__".into(),
                value: "k6_t_seconds".into(),
            }],
            samples: Vec::new(),
            histograms: vec![histogram(
                &Buckets {
                    zero: 2,
                    positive: [(-27, 3), (-26, 1), (-10, 4)].into(),
                },
                10,
                1.25,
                7,
            )],
        },
    ];
    let body = encode(series.clone()).unwrap();
    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
    let back = WriteRequest::decode(raw.as_slice()).unwrap();
    assert_eq!(back.timeseries.len(), 3);
    assert_eq!(back.timeseries[0], series[0]);
    assert_eq!(back.timeseries[1].samples[0].value.to_bits(), STALE_NAN);
    assert_eq!(back.timeseries[2], series[2]);
    let hist = &back.timeseries[2].histograms[0];
    assert_eq!(hist.schema, 3);
    assert_eq!(hist.count, Some(h::Count::CountInt(10)));
    assert_eq!(hist.zero_count, Some(h::ZeroCount::ZeroCountInt(2)));
    assert_eq!(decode_buckets(hist), [(-27, 3), (-26, 1), (-10, 4)].into());
}

/// Bucket index -> count, from spans and deltas.
fn decode_buckets(hist: &Histogram) -> BTreeMap<i32, u64> {
    let mut out = BTreeMap::new();
    let (mut index, mut count, mut deltas) = (0i32, 0i64, hist.positive_deltas.iter());
    for (n, span) in hist.positive_spans.iter().enumerate() {
        index = if n == 0 {
            span.offset
        } else {
            index + span.offset
        };
        for _ in 0..span.length {
            count += deltas.next().unwrap();
            if count > 0 {
                out.insert(index, count as u64);
            }
            index += 1;
        }
    }
    assert!(deltas.next().is_none());
    out
}

#[test]
fn bucket_indices_are_schema_3() {
    // Bucket i is (2^((i-1)/8), 2^(i/8)].
    assert_eq!(bucket_index(1.0), 0);
    assert_eq!(bucket_index(1.05), 1);
    assert_eq!(bucket_index(2.0), 8);
    assert_eq!(bucket_index(2.0001), 9);
    assert_eq!(bucket_index(0.5), -8);
    assert_eq!(bucket_index(0.1), -26);
    assert_eq!(bucket_index(1000.0), 80);
    for i in -200..200 {
        let upper = (i as f64 / 8.0).exp2();
        assert_eq!(
            bucket_index(upper * (1.0 - 1e-9)),
            i,
            "just under 2^({i}/8)"
        );
        assert_eq!(
            bucket_index(upper * (1.0 + 1e-9)),
            i + 1,
            "just over 2^({i}/8)"
        );
    }
    assert!(ZERO_THRESHOLD == (-128f64).exp2());
    assert_eq!(SCHEMA, 3);
}

#[test]
fn native_histograms_put_every_observation_in_its_bucket() {
    // Time values in ms, sent in seconds.
    let mut t = TrendAgg::default();
    let values = [
        0.0, 0.0, 1.0, 1.5, 100.0, 100.0, 123.5, 250.0, 1000.0, 5000.0, 60_000.0,
    ];
    for v in values {
        t.add(v);
    }
    let b = buckets(&t, 1000.0);
    assert_eq!(b.zero, 2);
    let mut expect: BTreeMap<i32, u64> = BTreeMap::new();
    for v in values.iter().filter(|v| **v > 0.0) {
        *expect.entry(bucket_index(v / 1000.0)).or_default() += 1;
    }
    assert_eq!(b.positive, expect);
    assert_eq!(b.zero + b.positive.values().sum::<u64>(), t.count);
    assert_eq!(b.positive[&bucket_index(0.1)], 2);
    assert_eq!(b.positive[&0], 1, "1 s is the upper bound of bucket 0");

    // Powers of two are bucket boundaries: they stay in the bucket they close, as in k6.
    let mut t = TrendAgg::default();
    for v in [4.0, 8.0, 16.0, 1024.0, 65536.0, 3.0] {
        t.add(v);
    }
    let b = buckets(&t, 1.0);
    assert_eq!(
        b.positive,
        [(13, 1), (16, 1), (24, 1), (32, 1), (80, 1), (128, 1)].into()
    );

    // Many values: every bucket count within one HDR bin of the truth, and the total exact.
    let mut t = TrendAgg::default();
    let mut exact: BTreeMap<i32, u64> = BTreeMap::new();
    for i in 1..=20_000u32 {
        let v = f64::from(i) * 0.37;
        t.add(v);
        *exact.entry(bucket_index(v)).or_default() += 1;
    }
    let b = buckets(&t, 1.0);
    assert_eq!(b.zero, 0);
    assert_eq!(b.positive.values().sum::<u64>(), 20_000);
    let off: u64 = exact
        .iter()
        .map(|(i, n)| n.abs_diff(b.positive.get(i).copied().unwrap_or(0)))
        .sum();
    assert!(off <= 20_000 / 100, "{off} observations in another bucket");

    // The message: counts by span, sum and count exact.
    let hist = histogram(&b, t.count, t.sum, 42);
    assert_eq!(decode_buckets(&hist), b.positive);
    assert_eq!(hist.sum, t.sum);
}

#[test]
fn native_histogram_series_are_named_by_unit() {
    let reg = SharedRegistry::new();
    let plain = reg
        .lock()
        .register("my_trend", MetricType::Trend, ValueType::Default)
        .unwrap();
    let data = reg
        .lock()
        .register("my_bytes", MetricType::Trend, ValueType::Data)
        .unwrap();
    let mut names = Names::new(&reg);
    let mut store = Store::new(stats(&["p(99)"]), true);
    store.add(
        &delta(
            T0 + S,
            vec![
                entry(
                    builtin::HTTP_REQ_DURATION,
                    &[("scenario", "default")],
                    trend(&[100.0, 200.0]),
                ),
                entry(plain, &[], trend(&[3.0])),
                entry(data, &[], trend(&[2048.0])),
            ],
        ),
        &mut names,
    );
    let out = store.take_updated();
    let names: Vec<&str> = out
        .iter()
        .map(|s| {
            s.labels
                .iter()
                .find(|l| l.name == "__name__")
                .unwrap()
                .value
                .as_str()
        })
        .collect();
    assert_eq!(
        names,
        [
            "k6_http_req_duration_seconds",
            "k6_my_trend",
            "k6_my_bytes_bytes"
        ]
    );
    let d = &out[0].histograms[0];
    assert!(out[0].samples.is_empty());
    assert_eq!(d.count, Some(h::Count::CountInt(2)));
    assert!((d.sum - 0.3).abs() < 1e-12);
    assert_eq!(d.timestamp, (T0 + S) / 1_000_000);
    assert_eq!(
        decode_buckets(d),
        [(bucket_index(0.1), 1), (bucket_index(0.2), 1)].into()
    );
    assert_eq!(decode_buckets(&out[2].histograms[0]), [(88, 1)].into());
}

fn config(env: &[(&str, &str)], json: Option<serde_json::Value>) -> Result<Config, String> {
    let mut p = params(Some("ignored=arg"), env);
    p.config = json;
    Config::from(&p).map_err(|e| e.to_string())
}

#[test]
fn configuration_follows_k6() {
    let c = config(&[], None).unwrap();
    assert_eq!(c.url, "http://localhost:9090/api/v1/write");
    assert_eq!(c.push_interval, std::time::Duration::from_secs(5));
    assert_eq!(c.trend_stats, stats(&["p(99)"]));
    assert!(!c.native_histograms && !c.stale_markers && !c.insecure_skip_tls_verify);
    assert_eq!(
        make(&params(Some("url=http://elsewhere"), &[]))
            .unwrap()
            .description(),
        "Prometheus remote write (http://localhost:9090/api/v1/write)"
    );

    let json = serde_json::json!({
        "url": "http://json:1/w",
        "pushInterval": "2s",
        "trendStats": ["avg", "p(95)"],
        "staleMarkers": true,
        "headers": {"X-From-Json": "j", "X-Both": "json"},
        "username": "u",
        "password": "p",
    });
    let c = config(
        &[
            (
                "K6_PROMETHEUS_RW_SERVER_URL",
                "http://127.0.0.1:9/api/v1/write",
            ),
            ("K6_PROMETHEUS_RW_TREND_STATS", "p(99),p(99.9),med,p(9.9)"),
            ("K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM", "TRUE"),
            ("K6_PROMETHEUS_RW_HEADERS_X-Both", "env"),
            ("K6_PROMETHEUS_RW_HTTP_HEADERS", "X-A:1,X-B:2"),
        ],
        Some(json),
    )
    .unwrap();
    assert_eq!(c.url, "http://127.0.0.1:9/api/v1/write");
    assert_eq!(c.push_interval, std::time::Duration::from_secs(2));
    // p(9.9) is `_p99` too: one series per name.
    assert_eq!(c.trend_stats, stats(&["p(99)", "p(99.9)", "med"]));
    assert!(c.native_histograms && c.stale_markers);
    let headers = c.request_headers();
    let get = |k: &str| {
        headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("X-Both"), Some("env"));
    assert_eq!(get("X-From-Json"), Some("j"));
    assert_eq!((get("X-A"), get("X-B")), (Some("1"), Some("2")));
    // Basic authentication survives other headers (k6 1.1.0 drops it).
    assert_eq!(get("Authorization"), Some("Basic dTpw"));
    assert_eq!(get("Content-Encoding"), Some("snappy"));
    assert_eq!(get("Content-Type"), Some("application/x-protobuf"));
    assert_eq!(get("X-Prometheus-Remote-Write-Version"), Some("0.1.0"));

    let c = config(
        &[
            ("K6_PROMETHEUS_RW_USERNAME", "u"),
            ("K6_PROMETHEUS_RW_BEARER_TOKEN", "tok"),
            ("K6_PROMETHEUS_RW_HEADERS_Content-Type", "text/plain"),
        ],
        None,
    )
    .unwrap();
    let headers = c.request_headers();
    let auth: Vec<_> = headers
        .iter()
        .filter(|(k, _)| k == "Authorization")
        .collect();
    assert_eq!(
        auth,
        [&("Authorization".to_string(), "Bearer tok".to_string())]
    );
    let ct: Vec<_> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .collect();
    assert_eq!(ct.len(), 1);
    assert_eq!(ct[0].1, "application/x-protobuf");
}

#[test]
fn configuration_errors_are_k6s_or_clear() {
    let e = |env: &[(&str, &str)]| config(env, None).unwrap_err();
    let prefix = "could not create the 'experimental-prometheus-rw' output: ";
    assert_eq!(
        e(&[("K6_PROMETHEUS_RW_TREND_STATS", "p(99), med")]),
        format!("{prefix}invalid trend stat ' med', unknown format")
    );
    assert_eq!(
        e(&[("K6_PROMETHEUS_RW_TREND_STATS", "p(abc)")]),
        format!("{prefix}invalid percentile trend stat value 'p(abc)', provide a number between 0 and 100")
    );
    assert_eq!(
        e(&[("K6_PROMETHEUS_RW_STALE_MARKERS", "yes")]),
        format!(
            "{prefix}parse environment variables options failed: strconv.ParseBool: parsing \"yes\": invalid syntax"
        )
    );
    assert_eq!(
        e(&[("K6_PROMETHEUS_RW_HTTP_HEADERS", "X-A:1,broken")]),
        format!(
            "{prefix}parse environment variables options failed: the provided header (broken) does not respect the expected format <header key>:<value>"
        )
    );
    assert!(
        e(&[("K6_PROMETHEUS_RW_PUSH_INTERVAL", "soon")]).contains("K6_PROMETHEUS_RW_PUSH_INTERVAL")
    );
    assert!(e(&[("K6_PROMETHEUS_RW_PUSH_INTERVAL", "0s")]).contains("must be more than 0"));
    assert!(e(&[("K6_PROMETHEUS_RW_SERVER_URL", "not a url")]).contains("invalid URL"));
    assert!(e(&[("K6_PROMETHEUS_RW_SERVER_URL", "ftp://h/x")])
        .contains("not an http:// or https:// URL"));
    assert!(e(&[("K6_PROMETHEUS_RW_HEADERS_Bad Name", "x")]).contains("invalid HTTP header name"));
    let cert = e(&[("K6_PROMETHEUS_RW_CLIENT_CERTIFICATE", "/tmp/c.pem")]);
    assert!(
        cert.contains("TLS client certificates") && cert.contains("not supported"),
        "{cert}"
    );
    assert!(e(&[("K6_PROMETHEUS_RW_SIGV4_REGION", "eu-west-1")])
        .contains("sigv4 seems to be partially configured"));
    let sigv4 = e(&[
        ("K6_PROMETHEUS_RW_SIGV4_REGION", "eu-west-1"),
        ("K6_PROMETHEUS_RW_SIGV4_ACCESS_KEY", "a"),
        ("K6_PROMETHEUS_RW_SIGV4_SECRET_KEY", "s"),
    ]);
    assert!(
        sigv4.contains("SigV4") && sigv4.contains("not supported"),
        "{sigv4}"
    );
    let json = |v: serde_json::Value| config(&[], Some(v)).unwrap_err();
    assert!(json(serde_json::json!({"staleMarkers": "yes"})).contains("parse JSON options failed"));
    assert!(json(serde_json::json!({"trendStats": ["tavg"]})).contains("invalid trend stat 'tavg'"));
    assert!(json(serde_json::json!({"clientCertificateKey": "k.pem"})).contains("not supported"));
}

/// A request's head lines and body.
type Request = (Vec<String>, Vec<u8>);

/// A one-shot HTTP server: answers `status` to each request and hands back what it got.
fn receiver(status: u16, requests: usize) -> (String, std::thread::JoinHandle<Vec<Request>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/v1/write", listener.local_addr().unwrap());
    let t = std::thread::spawn(move || {
        let mut got = Vec::new();
        for _ in 0..requests {
            let (stream, _) = listener.accept().unwrap();
            let mut r = BufReader::new(stream);
            let mut headers = Vec::new();
            let mut len = 0;
            loop {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                let line = line.trim_end().to_string();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                headers.push(line);
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let mut s = r.into_inner();
            write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            got.push((headers, body));
        }
        got
    });
    (url, t)
}

fn drive(p: &OutputParams, deltas: &[Delta]) -> (Report, Box<dyn Output>) {
    let mut out = make(p).unwrap();
    let run: RunInfo = run_info();
    let report = Report::new("experimental-prometheus-rw".into());
    out.start(&run, &report).unwrap();
    assert!(out.needs().all_tags && !out.needs().samples);
    for d in deltas {
        out.interval(d, &report);
    }
    out.flush(&report, true);
    (report, out)
}

#[test]
fn pushes_one_snappy_request_and_stale_markers_at_the_end() {
    let (url, server) = receiver(204, 2);
    let p = params(
        None,
        &[
            ("K6_PROMETHEUS_RW_SERVER_URL", &url),
            ("K6_PROMETHEUS_RW_STALE_MARKERS", "true"),
            ("K6_PROMETHEUS_RW_BEARER_TOKEN", "tok"),
        ],
    );
    let d = delta(
        T0 + S,
        vec![
            entry(
                builtin::HTTP_REQS,
                &[("status", "200")],
                Agg::Counter { sum: 2.0 },
            ),
            entry(
                builtin::HTTP_REQ_DURATION,
                &[("status", "200")],
                trend(&[1.0, 3.0]),
            ),
        ],
    );
    let (report, _out) = drive(&p, &[d]);
    let got = server.join().unwrap();
    assert_eq!(got.len(), 2);
    let (headers, body) = &got[0];
    let has = |h: &str| headers.iter().any(|l| l.eq_ignore_ascii_case(h));
    assert!(headers[0].starts_with("POST /api/v1/write "), "{headers:?}");
    assert!(has("content-encoding: snappy"), "{headers:?}");
    assert!(has("content-type: application/x-protobuf"));
    assert!(has("x-prometheus-remote-write-version: 0.1.0"));
    assert!(has("authorization: Bearer tok"));
    let req = WriteRequest::decode(
        snap::raw::Decoder::new()
            .decompress_vec(body)
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let m = by_name(&req.timeseries);
    assert_eq!(
        m.keys().collect::<Vec<_>>(),
        ["k6_http_req_duration_p99", "k6_http_reqs_total"]
    );
    assert_eq!(m["k6_http_reqs_total"][0].1, 2.0);
    let stale = WriteRequest::decode(
        snap::raw::Decoder::new()
            .decompress_vec(&got[1].1)
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    assert_eq!(stale.timeseries.len(), 2);
    assert!(stale
        .timeseries
        .iter()
        .all(|s| s.samples[0].value.to_bits() == STALE_NAN));
    let stats = report.stats();
    assert_eq!((stats.delivered, stats.lost), (4, 0));
}

#[test]
fn failures_count_as_lost() {
    let (url, server) = receiver(500, 1);
    let d = delta(
        T0 + S,
        vec![entry(
            builtin::ITERATIONS,
            &[("scenario", "default")],
            Agg::Counter { sum: 1.0 },
        )],
    );
    let (report, _out) = drive(
        &params(None, &[("K6_PROMETHEUS_RW_SERVER_URL", &url)]),
        std::slice::from_ref(&d),
    );
    server.join().unwrap();
    let s = report.stats();
    assert_eq!((s.delivered, s.lost), (0, 1));
    assert!(s.last_error.unwrap().contains("500"));

    // Nobody listening.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}/api/v1/write");
    let (report, _out) = drive(
        &params(None, &[("K6_PROMETHEUS_RW_SERVER_URL", &url)]),
        &[d],
    );
    let s = report.stats();
    assert_eq!((s.delivered, s.lost), (0, 1));
    assert!(s.last_error.unwrap().contains("sending the time series"));
}
