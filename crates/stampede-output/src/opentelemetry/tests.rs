use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, HistogramDataPoint, Metric, NumberDataPoint,
};
use prost::Message as _;
use stampede_metrics::{
    builtin, Agg, Delta, DeltaEntry, MetricId, MetricType, SharedRegistry, TagSet, UnixNanos,
    ValueType,
};

use super::config::{parse_headers, Config, Exporter};
use super::encode::{self, BOUNDS};
use super::*;

// ---- helpers -------------------------------------------------------------------------------

fn params(env: &[(&str, &str)], config: Option<serde_json::Value>) -> OutputParams {
    OutputParams {
        arg: None,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        config,
    }
}

fn config_err(env: &[(&str, &str)], config: Option<serde_json::Value>) -> String {
    match Config::from(&params(env, config)) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

struct Run {
    registry: SharedRegistry,
    counter: MetricId,
    gauge: MetricId,
    rate: MetricId,
    trend: MetricId,
    time_trend: MetricId,
}

fn run() -> Run {
    let registry = SharedRegistry::new();
    let (counter, gauge, rate, trend, time_trend) = {
        let mut r = registry.lock();
        (
            r.register("my_counter", MetricType::Counter, ValueType::Default)
                .unwrap(),
            r.register("my_gauge", MetricType::Gauge, ValueType::Default)
                .unwrap(),
            r.register("my_rate", MetricType::Rate, ValueType::Default)
                .unwrap(),
            r.register("my_trend", MetricType::Trend, ValueType::Default)
                .unwrap(),
            r.register("my_time_trend", MetricType::Trend, ValueType::Time)
                .unwrap(),
        )
    };
    Run {
        registry,
        counter,
        gauge,
        rate,
        trend,
        time_trend,
    }
}

fn tags(pairs: &[(&str, &str)]) -> TagSet {
    TagSet::from_pairs(pairs.iter().copied())
}

fn agg(kind: MetricType, values: &[f64]) -> Agg {
    let mut a = Agg::new(kind);
    for v in values {
        a.add(*v);
    }
    a
}

fn delta(entries: Vec<(MetricId, TagSet, Agg)>) -> Delta {
    Delta {
        start: UnixNanos(1),
        end: UnixNanos(2),
        entries: entries
            .into_iter()
            .map(|(metric, tags, agg)| DeltaEntry { metric, tags, agg })
            .collect(),
    }
}

/// The metrics an output would export now.
fn exported(output: &mut OtelOutput) -> Vec<Metric> {
    output
        .batches(UnixNanos(5_000))
        .into_iter()
        .flat_map(|b| b.request.resource_metrics)
        .flat_map(|rm| rm.scope_metrics)
        .flat_map(|sm| sm.metrics)
        .collect()
}

fn find<'a>(metrics: &'a [Metric], name: &str) -> &'a Metric {
    metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric {name} in {:?}", names(metrics)))
}

fn names(metrics: &[Metric]) -> Vec<&str> {
    metrics.iter().map(|m| m.name.as_str()).collect()
}

fn numbers(m: &Metric) -> &[NumberDataPoint] {
    match &m.data {
        Some(metric::Data::Sum(s)) => &s.data_points,
        Some(metric::Data::Gauge(g)) => &g.data_points,
        other => panic!("{} is not a number metric: {other:?}", m.name),
    }
}

fn histogram_points(m: &Metric) -> &[HistogramDataPoint] {
    match &m.data {
        Some(metric::Data::Histogram(h)) => &h.data_points,
        other => panic!("{} is not a histogram: {other:?}", m.name),
    }
}

fn double(p: &NumberDataPoint) -> f64 {
    match p.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        other => panic!("not a double: {other:?}"),
    }
}

fn int(p: &NumberDataPoint) -> i64 {
    match p.value {
        Some(number_data_point::Value::AsInt(v)) => v,
        other => panic!("not an integer: {other:?}"),
    }
}

fn attrs(kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> Vec<(String, String)> {
    kvs.iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                other => panic!("not a string: {other:?}"),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

fn started_output(r: &Run, env: &[(&str, &str)]) -> OtelOutput {
    let mut env = env.to_vec();
    env.push(("K6_OTEL_GRPC_EXPORTER_INSECURE", "true"));
    let mut o = OtelOutput::new(Config::from(&params(&env, None)).unwrap());
    o.names = Some(Names::new(&r.registry));
    o.start = 1_000;
    o
}

// ---- instruments ---------------------------------------------------------------------------

#[test]
fn maps_each_metric_type_to_k6s_instrument() {
    let r = run();
    let mut o = started_output(&r, &[]);
    let t = tags(&[("scenario", "default")]);
    o.interval(
        &delta(vec![
            (r.counter, t.clone(), agg(MetricType::Counter, &[2.0, 3.0])),
            (r.gauge, t.clone(), agg(MetricType::Gauge, &[7.0, 4.0])),
            (r.rate, t.clone(), agg(MetricType::Rate, &[1.0, 0.0, 1.0])),
            (r.trend, t.clone(), agg(MetricType::Trend, &[1.0, 30.0])),
            (r.time_trend, t.clone(), agg(MetricType::Trend, &[12.5])),
            (
                builtin::DATA_SENT,
                t.clone(),
                agg(MetricType::Counter, &[100.0]),
            ),
        ]),
        &Report::new("test".into()),
    );
    let m = exported(&mut o);
    // Registration order: built-ins first, then the script's; a Rate gives two.
    assert_eq!(
        names(&m),
        [
            "data_sent",
            "my_counter",
            "my_gauge",
            "my_rate.occurred",
            "my_rate.total",
            "my_trend",
            "my_time_trend"
        ]
    );
    let cumulative = AggregationTemporality::Cumulative as i32;
    for name in ["data_sent", "my_counter"] {
        let Some(metric::Data::Sum(s)) = &find(&m, name).data else {
            panic!("{name}: not a sum")
        };
        assert!(s.is_monotonic);
        assert_eq!(s.aggregation_temporality, cumulative);
    }
    assert_eq!(find(&m, "data_sent").unit, "By");
    assert_eq!(double(&numbers(find(&m, "data_sent"))[0]), 100.0);
    assert_eq!(find(&m, "my_counter").unit, "");
    assert_eq!(double(&numbers(find(&m, "my_counter"))[0]), 5.0);

    let gauge = find(&m, "my_gauge");
    assert!(matches!(gauge.data, Some(metric::Data::Gauge(_))));
    assert_eq!(double(&numbers(gauge)[0]), 4.0, "the last value");

    for (name, value) in [("my_rate.occurred", 2), ("my_rate.total", 3)] {
        let rate = find(&m, name);
        let Some(metric::Data::Sum(s)) = &rate.data else {
            panic!("{name}: not a sum")
        };
        assert!(s.is_monotonic);
        assert_eq!(s.aggregation_temporality, cumulative);
        assert_eq!(rate.unit, "", "no unit on the Rate counters");
        assert_eq!(int(&s.data_points[0]), value);
    }

    let trend = find(&m, "my_trend");
    let Some(metric::Data::Histogram(h)) = &trend.data else {
        panic!("not a histogram")
    };
    assert_eq!(h.aggregation_temporality, cumulative);
    assert_eq!(trend.unit, "");
    let p = &h.data_points[0];
    assert_eq!(p.count, 2);
    assert_eq!(p.sum, Some(31.0));
    assert_eq!((p.min, p.max), (Some(1.0), Some(30.0)));
    assert_eq!(p.explicit_bounds, BOUNDS);
    assert_eq!(p.bucket_counts.len(), 16);
    assert_eq!(find(&m, "my_time_trend").unit, "ms");

    for metric in &m {
        for (start, time) in numbers_or_hist_times(metric) {
            assert_eq!((start, time), (1_000, 5_000), "{}", metric.name);
        }
    }
}

fn numbers_or_hist_times(m: &Metric) -> Vec<(u64, u64)> {
    match &m.data {
        Some(metric::Data::Histogram(h)) => h
            .data_points
            .iter()
            .map(|p| (p.start_time_unix_nano, p.time_unix_nano))
            .collect(),
        _ => numbers(m)
            .iter()
            .map(|p| (p.start_time_unix_nano, p.time_unix_nano))
            .collect(),
    }
}

#[test]
fn values_are_cumulative_across_intervals_and_every_stream_is_sent_again() {
    let r = run();
    let mut o = started_output(&r, &[]);
    let report = Report::new("test".into());
    let a = tags(&[("status", "200")]);
    let b = tags(&[("status", "500")]);
    o.interval(
        &delta(vec![
            (r.counter, a.clone(), agg(MetricType::Counter, &[1.0, 1.0])),
            (r.gauge, a.clone(), agg(MetricType::Gauge, &[9.0])),
            (r.trend, a.clone(), agg(MetricType::Trend, &[3.0, 7.0])),
            (r.rate, a.clone(), agg(MetricType::Rate, &[0.0])),
        ]),
        &report,
    );
    o.interval(
        &delta(vec![
            (r.counter, a.clone(), agg(MetricType::Counter, &[5.0])),
            (r.counter, b.clone(), agg(MetricType::Counter, &[1.0])),
            (r.trend, a.clone(), agg(MetricType::Trend, &[100.0])),
            (r.rate, a.clone(), agg(MetricType::Rate, &[1.0, 1.0])),
        ]),
        &report,
    );
    let m = exported(&mut o);
    let counter = numbers(find(&m, "my_counter"));
    assert_eq!(counter.len(), 2, "both tag sets");
    assert_eq!(double(&counter[0]), 7.0);
    assert_eq!(
        attrs(&counter[0].attributes),
        [("status".into(), "200".into())]
    );
    assert_eq!(double(&counter[1]), 1.0);
    // Not updated in the second interval, sent again with its last value.
    assert_eq!(double(&numbers(find(&m, "my_gauge"))[0]), 9.0);
    let h = &histogram_points(find(&m, "my_trend"))[0];
    assert_eq!(
        (h.count, h.sum, h.min, h.max),
        (3, Some(110.0), Some(3.0), Some(100.0))
    );
    assert_eq!(int(&numbers(find(&m, "my_rate.occurred"))[0]), 2);
    assert_eq!(int(&numbers(find(&m, "my_rate.total"))[0]), 3);
}

#[test]
fn rate_occurred_only_for_tag_sets_with_a_non_zero_sample() {
    let r = run();
    let mut o = started_output(&r, &[]);
    o.interval(
        &delta(vec![
            (
                r.rate,
                tags(&[("status", "200")]),
                agg(MetricType::Rate, &[0.0, 0.0]),
            ),
            (
                r.rate,
                tags(&[("status", "404")]),
                agg(MetricType::Rate, &[1.0, 0.0, 5.0]),
            ),
        ]),
        &Report::new("test".into()),
    );
    let m = exported(&mut o);
    let occurred = numbers(find(&m, "my_rate.occurred"));
    assert_eq!(occurred.len(), 1);
    assert_eq!(
        attrs(&occurred[0].attributes),
        [("status".into(), "404".into())]
    );
    assert_eq!(int(&occurred[0]), 2);
    let total = numbers(find(&m, "my_rate.total"));
    assert_eq!(total.iter().map(int).collect::<Vec<_>>(), [2, 3]);
}

#[test]
fn attributes_are_the_non_empty_tags_in_key_order() {
    let t = tags(&[
        ("url", "http://x/"),
        ("group", ""),
        ("Zupper", "U"),
        ("check", "ok"),
        ("", "v"),
    ]);
    assert_eq!(
        attrs(&encode::attributes(&t)),
        [
            ("Zupper".into(), "U".into()),
            ("check".into(), "ok".into()),
            ("url".into(), "http://x/".into())
        ]
    );
}

#[test]
fn the_metric_prefix_is_prepended_to_every_name() {
    let r = run();
    let mut o = started_output(&r, &[("K6_OTEL_METRIC_PREFIX", "k6_")]);
    o.interval(
        &delta(vec![
            (builtin::CHECKS, tags(&[]), agg(MetricType::Rate, &[1.0])),
            (
                builtin::HTTP_REQS,
                tags(&[]),
                agg(MetricType::Counter, &[1.0]),
            ),
        ]),
        &Report::new("test".into()),
    );
    assert_eq!(
        names(&exported(&mut o)),
        ["k6_checks.occurred", "k6_checks.total", "k6_http_reqs"]
    );
}

#[test]
fn empty_aggregates_are_not_sent() {
    let r = run();
    let mut o = started_output(&r, &[]);
    o.interval(
        &delta(vec![
            (r.gauge, tags(&[]), Agg::new(MetricType::Gauge)),
            (r.trend, tags(&[]), Agg::new(MetricType::Trend)),
            (r.rate, tags(&[]), Agg::new(MetricType::Rate)),
        ]),
        &Report::new("test".into()),
    );
    assert!(exported(&mut o).is_empty());
}

// ---- histogram buckets ---------------------------------------------------------------------

fn buckets(values: &[f64]) -> Vec<u64> {
    let Agg::Trend(t) = agg(MetricType::Trend, values) else {
        unreachable!()
    };
    encode::bucket_counts(&t)
}

#[test]
fn bucket_counts_for_known_values() {
    // Bounds: 0 5 10 25 50 75 100 250 500 750 1000 2500 5000 7500 10000.
    let values = [
        -1.0, 0.0, // (-inf, 0]
        0.3, 4.99, 5.0, // (0, 5]
        5.01, 10.0, // (5, 10]
        24.9, 25.0, // (10, 25]
        49.0, // (25, 50]
        99.9, 100.0, // (75, 100]
        777.0, // (750, 1000]
        9999.0, 10000.0, // (7500, 10000]
        10010.0, 123456.0, // (10000, +inf)
    ];
    assert_eq!(
        buckets(&values),
        [2, 3, 2, 2, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 2]
    );
    // Integer values on the bounds, as `new Trend().add(__ITER * 10)` makes them.
    let tens: Vec<f64> = (0..30).map(|i| i as f64 * 10.0).collect();
    assert_eq!(
        buckets(&tens),
        [1, 0, 1, 1, 3, 2, 3, 15, 4, 0, 0, 0, 0, 0, 0, 0]
    );
    // The documented imprecision: less than 0.1% above a bound may count in the bucket below.
    assert_eq!(buckets(&[1.0, 10000.5, 20000.0])[14..], [1, 1]);
    // ... unless the exact minimum shows every value is above it.
    assert_eq!(buckets(&[10000.5, 20000.0])[14..], [0, 2]);
}

#[test]
fn bucket_counts_use_the_exact_min_and_max_at_the_edges() {
    // Stored as 0 in thousandths, but above the 0 bound: the exact minimum says so.
    assert_eq!(buckets(&[0.0003, 0.0004])[..2], [0, 2]);
    // Many values (past the exact samples a trend keeps): still exact away from the bounds, and
    // the counts add up.
    let many: Vec<f64> = (0..5000).map(|i| i as f64 * 0.01).collect(); // 0 .. 49.99
    let b = buckets(&many);
    assert_eq!(b.iter().sum::<u64>(), 5000);
    assert_eq!(b[0], 1, "only 0 is at or below 0");
    assert_eq!(b[1], 500, "0.01 ..= 5.00");
    assert_eq!(b[2], 500, "5.01 ..= 10.00");
    assert_eq!(b[3], 1500, "10.01 ..= 25.00");
    assert_eq!(b[4], 2499, "25.01 ..= 49.99");
}

// ---- requests and the protobuf round trip --------------------------------------------------

#[test]
fn requests_round_trip_through_protobuf_and_split_when_large() {
    let r = run();
    let mut o = started_output(
        &r,
        &[
            ("K6_OTEL_SERVICE_NAME", "svc"),
            ("K6_OTEL_SERVICE_VERSION", "9.9"),
        ],
    );
    let mut entries = Vec::new();
    for i in 0..2000 {
        let url = format!("http://127.0.0.1/item/{i}");
        let t = tags(&[("name", &url), ("scenario", "default"), ("url", &url)]);
        entries.push((
            builtin::HTTP_REQS,
            t.clone(),
            agg(MetricType::Counter, &[1.0]),
        ));
        entries.push((
            builtin::HTTP_REQ_DURATION,
            t,
            agg(MetricType::Trend, &[1.5]),
        ));
    }
    o.interval(&delta(entries), &Report::new("test".into()));

    let one = o.batches(UnixNanos(5_000));
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].points, 4000);
    let req = &one[0].request;
    let back = ExportMetricsServiceRequest::decode(req.encode_to_vec().as_slice()).unwrap();
    assert_eq!(&back, req);
    let rm = &back.resource_metrics[0];
    let resource = attrs(&rm.resource.as_ref().unwrap().attributes);
    assert!(resource.contains(&("service.name".into(), "svc".into())));
    assert!(resource.contains(&("service.version".into(), "9.9".into())));
    assert!(resource.contains(&("telemetry.sdk.name".into(), "stampede".into())));
    assert_eq!(rm.schema_url, encode::SCHEMA_URL);
    assert_eq!(rm.scope_metrics[0].scope.as_ref().unwrap().name, "k6");

    // Under a small limit: several requests, every data point once.
    let metrics = exported(&mut o);
    let size = ExportMetricsServiceRequest::encoded_len(req);
    let split = encode::requests(&encode::resource("svc", "9.9"), metrics, size / 5);
    assert!(split.len() >= 5, "{} requests", split.len());
    assert_eq!(split.iter().map(|b| b.points).sum::<u64>(), 4000);
    for b in &split {
        assert!(
            b.request.encoded_len() <= size / 5 + 1024,
            "{}",
            b.request.encoded_len()
        );
        let n: u64 = b.request.resource_metrics[0].scope_metrics[0]
            .metrics
            .iter()
            .map(encode::points)
            .sum();
        assert_eq!(n, b.points);
    }
}

/// One OTLP/HTTP request, received on a loopback socket: its head and body.
fn receive_one(listener: TcpListener) -> (String, Vec<u8>) {
    let (stream, _) = listener.accept().unwrap();
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap();
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let resp = ExportMetricsServiceResponse::default().encode_to_vec();
    let mut stream = reader.into_inner();
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
        resp.len()
    )
    .unwrap();
    stream.write_all(&resp).unwrap();
    (head, body)
}

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;

#[test]
fn sends_otlp_http_with_headers_and_counts_what_it_delivered() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || receive_one(listener));
    let endpoint = format!("127.0.0.1:{port}");
    let p = params(
        &[
            ("K6_OTEL_EXPORTER_TYPE", "http"),
            ("K6_OTEL_HTTP_EXPORTER_ENDPOINT", &endpoint),
            ("K6_OTEL_HTTP_EXPORTER_INSECURE", "true"),
            ("K6_OTEL_HTTP_EXPORTER_URL_PATH", "/custom/path"),
            (
                "K6_OTEL_HEADERS",
                "X-Scope-OrgID=abc,Authorization=Bearer%20xyz",
            ),
        ],
        None,
    );
    let mut output = make(&p).unwrap();
    assert_eq!(
        output.description(),
        format!("opentelemetry (http, http://{endpoint}/custom/path)")
    );
    let r = run();
    let info = RunInfo {
        registry: r.registry.clone(),
        ..RunInfo::default()
    };
    let report = Report::new("test".into());
    output.start(&info, &report).unwrap();
    output.interval(
        &delta(vec![(
            r.counter,
            tags(&[("a", "b")]),
            agg(MetricType::Counter, &[4.0]),
        )]),
        &report,
    );
    output.flush(&report, true);
    let (head, body) = server.join().unwrap();
    assert!(head.starts_with("POST /custom/path HTTP/1.1"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/x-protobuf"),
        "{head}"
    );
    assert!(lower.contains("x-scope-orgid: abc"), "{head}");
    assert!(lower.contains("authorization: bearer xyz"), "{head}");
    let req = ExportMetricsServiceRequest::decode(body.as_slice()).unwrap();
    let m = &req.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(names(m), ["my_counter"]);
    assert_eq!(double(&numbers(&m[0])[0]), 4.0);
    assert_eq!(
        attrs(&numbers(&m[0])[0].attributes),
        [("a".into(), "b".into())]
    );
}

// ---- configuration -------------------------------------------------------------------------

#[test]
fn defaults_as_k6_except_the_service_name() {
    let c = Config::from(&params(&[], None)).unwrap();
    assert_eq!(c.exporter, Exporter::Grpc);
    assert_eq!(c.grpc_endpoint, "localhost:4317");
    assert!(!c.grpc_insecure);
    assert_eq!(c.http_endpoint, "localhost:4318");
    assert_eq!(c.http_url_path, "/v1/metrics");
    assert_eq!(c.export_interval, Duration::from_secs(10));
    assert_eq!(c.flush_interval, Duration::from_secs(1));
    assert_eq!(c.metric_prefix, "");
    assert_eq!(c.service_name, "stampede");
    assert_eq!(c.service_version, env!("CARGO_PKG_VERSION"));
    assert!(c.headers.is_empty());
    assert!(!c.tls.any());
    assert_eq!(c.description(), "opentelemetry (grpc, localhost:4317)");
}

#[test]
fn banner_descriptions_match_k6() {
    let d = |env: &[(&str, &str)]| Config::from(&params(env, None)).unwrap().description();
    assert_eq!(
        d(&[
            ("K6_OTEL_GRPC_EXPORTER_ENDPOINT", "127.0.0.1:14317"),
            ("K6_OTEL_GRPC_EXPORTER_INSECURE", "true")
        ]),
        "opentelemetry (grpc (insecure), 127.0.0.1:14317)"
    );
    assert_eq!(
        d(&[
            ("K6_OTEL_EXPORTER_TYPE", "http"),
            ("K6_OTEL_HTTP_EXPORTER_ENDPOINT", "127.0.0.1:14318")
        ]),
        "opentelemetry (http, https://127.0.0.1:14318/v1/metrics)"
    );
    assert_eq!(
        d(&[
            ("K6_OTEL_EXPORTER_TYPE", "http"),
            ("K6_OTEL_HTTP_EXPORTER_ENDPOINT", "127.0.0.1:14318"),
            ("K6_OTEL_HTTP_EXPORTER_INSECURE", "true")
        ]),
        "opentelemetry (http, http://127.0.0.1:14318/v1/metrics)"
    );
}

#[test]
fn environment_overrides_the_config_file() {
    let json = serde_json::json!({
        "exporterType": "http",
        "httpExporterEndpoint": "collector:4318",
        "httpExporterInsecure": true,
        "exportInterval": "2s",
        "flushInterval": 500,
        "metricPrefix": "json_",
        "serviceName": "from-json",
        "HEADERS": "a=1",
    });
    let c = Config::from(&params(&[], Some(json.clone()))).unwrap();
    assert_eq!(c.exporter, Exporter::Http);
    assert_eq!(c.http_url(), "http://collector:4318/v1/metrics");
    assert_eq!(c.export_interval, Duration::from_secs(2));
    assert_eq!(
        c.flush_interval,
        Duration::from_millis(500),
        "a JSON number is milliseconds"
    );
    assert_eq!(c.metric_prefix, "json_");
    assert_eq!(c.service_name, "from-json");
    assert_eq!(
        c.headers,
        [("a".to_string(), "1".to_string())],
        "keys match ignoring case, as Go's"
    );

    let env = [
        ("K6_OTEL_EXPORTER_TYPE", "grpc"),
        ("K6_OTEL_EXPORT_INTERVAL", "250ms"),
        ("OTEL_SERVICE_NAME", "from-otel"),
    ];
    let c = Config::from(&params(&env, Some(json.clone()))).unwrap();
    assert_eq!(c.exporter, Exporter::Grpc);
    assert_eq!(c.export_interval, Duration::from_millis(250));
    assert_eq!(c.service_name, "from-otel");
    let mut env = env.to_vec();
    env.push(("K6_OTEL_SERVICE_NAME", "from-k6"));
    assert_eq!(
        Config::from(&params(&env, Some(json)))
            .unwrap()
            .service_name,
        "from-k6",
        "K6_OTEL_SERVICE_NAME wins over OTEL_SERVICE_NAME"
    );
    // Later k6 versions' spelling of the exporter.
    let c = Config::from(&params(
        &[("K6_OTEL_EXPORTER_PROTOCOL", "http/protobuf")],
        None,
    ))
    .unwrap();
    assert_eq!(c.exporter, Exporter::Http);
}

#[test]
fn refuses_what_k6_refuses_with_its_messages() {
    let prefix = "could not create the 'experimental-opentelemetry' output: ";
    assert_eq!(
        config_err(&[("K6_OTEL_EXPORTER_TYPE", "foo")], None),
        format!("{prefix}error validating OpenTelemetry output config: unsupported exporter type \"foo\", currently only \"grpc\" and \"http\" are supported")
    );
    assert_eq!(
        config_err(
            &[("K6_OTEL_EXPORTER_TYPE", "http"), ("K6_OTEL_HTTP_EXPORTER_ENDPOINT", "http://127.0.0.1:4318")],
            None
        ),
        format!("{prefix}error validating OpenTelemetry output config: HTTP exporter endpoint must only be host and port, no scheme")
    );
    assert!(
        config_err(&[], Some(serde_json::json!({"serviceName": ""})))
            .ends_with("providing service name is required")
    );
    assert!(
        config_err(&[], Some(serde_json::json!({"serviceVersion": ""})))
            .ends_with("providing service version is required")
    );
    assert!(
        config_err(&[], Some(serde_json::json!({"grpcExporterEndpoint": ""})))
            .ends_with("gRPC exporter endpoint is required")
    );
    let e = config_err(&[("K6_OTEL_GRPC_EXPORTER_INSECURE", "yes")], None);
    assert!(
        e.contains("parse environment variables options failed: K6_OTEL_GRPC_EXPORTER_INSECURE"),
        "{e}"
    );
    let e = config_err(&[("K6_OTEL_EXPORT_INTERVAL", "soon")], None);
    assert!(e.contains("K6_OTEL_EXPORT_INTERVAL"), "{e}");
    let e = config_err(
        &[],
        Some(serde_json::json!({"grpcExporterInsecure": "true"})),
    );
    assert!(
        e.contains("parse JSON options failed: grpcExporterInsecure"),
        "{e}"
    );
    assert!(config_err(&[("K6_OTEL_FLUSH_INTERVAL", "0s")], None)
        .ends_with("periodic flusher period should be positive"));
    assert!(config_err(&[("K6_OTEL_EXPORT_INTERVAL", "0")], None).contains("export interval"));
    assert!(
        config_err(&[("K6_OTEL_GRPC_EXPORTER_ENDPOINT", "http://h:1")], None).contains("no scheme")
    );
    assert!(
        config_err(&[("K6_OTEL_SINGLE_COUNTER_FOR_RATE", "true")], None).contains("not supported")
    );
    assert!(config_err(
        &[
            ("K6_OTEL_EXPORTER_TYPE", "http"),
            ("K6_OTEL_EXPORTER_PROTOCOL", "grpc")
        ],
        None
    )
    .contains("disagree"));
    let e = config_err(&[("K6_OTEL_HEADERS", "novalue")], None);
    assert!(
        e.ends_with(
            "failed to parse headers: invalid header \"novalue\", expected format key=value"
        ),
        "{e}"
    );
}

#[test]
fn headers_are_unescaped_like_gos_path_unescape() {
    assert_eq!(
        parse_headers("Authorization=Bearer%20xyz,X-Scope-OrgID=a+b,k=v=w").unwrap(),
        [
            ("Authorization".to_string(), "Bearer xyz".to_string()),
            ("X-Scope-OrgID".to_string(), "a+b".to_string()),
            ("k".to_string(), "v=w".to_string())
        ]
    );
    assert_eq!(
        parse_headers("a=1,a=2").unwrap(),
        [("a".to_string(), "2".to_string())]
    );
    assert!(parse_headers("a=%zz")
        .unwrap_err()
        .contains("invalid URL escape \"%zz\""));
    assert!(parse_headers("a b=1")
        .unwrap_err()
        .contains("invalid header name"));
    assert!(parse_headers("").is_err());
}

#[test]
fn tls_files_are_read_and_refused_when_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let e = config_err(&[("K6_OTEL_TLS_CERTIFICATE", missing)], None);
    assert!(
        e.contains(&format!("failed to read root certificate from {missing:?}")),
        "{e}"
    );
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let e = config_err(&[("K6_OTEL_TLS_CERTIFICATE", junk.to_str().unwrap())], None);
    assert!(
        e.ends_with("failed to append root certificate to the pool"),
        "{e}"
    );
    let e = config_err(&[("K6_OTEL_TLS_CLIENT_KEY", junk.to_str().unwrap())], None);
    assert!(e.contains("a client key needs its certificate"), "{e}");
    let e = config_err(
        &[("K6_OTEL_TLS_CLIENT_CERTIFICATE", junk.to_str().unwrap())],
        None,
    );
    assert!(e.contains("K6_OTEL_TLS_CLIENT_KEY is not"), "{e}");
    let c = Config::from(&params(
        &[("K6_OTEL_TLS_INSECURE_SKIP_VERIFY", "true")],
        None,
    ))
    .unwrap();
    assert!(c.tls.any() && c.tls.skip_verify());
}

#[test]
fn both_names_are_built() {
    for name in ["experimental-opentelemetry", "opentelemetry"] {
        let out = crate::OutputSpec::parse(name)
            .unwrap()
            .make(&params(&[], None))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            out.needs(),
            Needs {
                samples: false,
                all_tags: true,
                ..Needs::default()
            }
        );
        assert_eq!(out.flush_every(), Some(Duration::from_secs(10)));
    }
}

#[test]
fn a_dead_grpc_collector_fails_fast_and_nothing_panics() {
    // A port nothing listens on: the export fails at once (connection refused).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("127.0.0.1:{port}");
    let mut output = make(&params(
        &[
            ("K6_OTEL_GRPC_EXPORTER_ENDPOINT", &endpoint),
            ("K6_OTEL_GRPC_EXPORTER_INSECURE", "true"),
        ],
        None,
    ))
    .unwrap();
    let r = run();
    let info = RunInfo {
        registry: r.registry.clone(),
        ..RunInfo::default()
    };
    let report = Report::new("test".into());
    output.start(&info, &report).unwrap();
    output.interval(
        &delta(vec![(
            r.counter,
            tags(&[]),
            agg(MetricType::Counter, &[1.0]),
        )]),
        &report,
    );
    let t = std::time::Instant::now();
    output.flush(&report, true);
    assert!(
        t.elapsed() < EXPORT_TIMEOUT + Duration::from_secs(2),
        "{:?}",
        t.elapsed()
    );
}
