//! From the run's cumulative aggregates to OTLP messages, as k6's OpenTelemetry output (through
//! the OpenTelemetry Go SDK) makes them: every stream seen so far, cumulative since the start.
//!
//! | k6 type | OTLP |
//! |---|---|
//! | Counter | `Sum`, monotonic, cumulative, double |
//! | Gauge | `Gauge`, double, the last value |
//! | Trend | `Histogram`, cumulative, the SDK's default bounds, with min and max |
//! | Rate | two `Sum`s, monotonic, cumulative, integer: `<name>.occurred` (non-zero samples; only for tag sets that had one) and `<name>.total` |
//!
//! Histogram buckets come from the trend's HDR histogram (values kept in thousandths of the
//! unit, three significant digits). A value at or below a bound is always counted in that
//! bound's bucket; a value less than 0.1% (plus 0.0005 of the unit) above a bound may be counted
//! in the bucket below. Where the exact minimum or maximum decides a bucket (all values above a
//! bound, or all at or below it) the count is exact. `count`, `sum`, `min` and `max` are exact.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, AggregationTemporality, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use stampede_metrics::{Agg, MetricId, TagSet, TrendAgg, ValueType};

/// The streams of a run: per metric and full tag set, everything since the start.
pub(crate) type Streams = BTreeMap<(MetricId, TagSet), Agg>;

/// The OpenTelemetry SDK's default explicit bucket bounds, which k6 keeps.
pub(crate) const BOUNDS: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// How the metrics stream stores trend values in its histograms (see `stampede_metrics::agg`).
const HDR_SCALE: f64 = 1000.0;

/// The instrumentation scope k6 names its meter with, so queries by scope match.
pub(crate) const SCOPE: &str = "k6";

/// The semantic conventions the resource's attributes follow (the one k6's SDK reports).
pub(crate) const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.26.0";

/// One request's worth of metrics, and how many data points it holds.
pub(crate) struct Batch {
    pub request: ExportMetricsServiceRequest,
    pub points: u64,
}

/// The resource every export describes: the service, and what produced the data.
pub(crate) fn resource(service_name: &str, service_version: &str) -> Resource {
    Resource {
        attributes: vec![
            string_kv("service.name", service_name),
            string_kv("service.version", service_version),
            string_kv("telemetry.sdk.language", "rust"),
            string_kv("telemetry.sdk.name", "stampede"),
            string_kv("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        ],
        ..Resource::default()
    }
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        ..KeyValue::default()
    }
}

/// The data point attributes of a tag set: every tag with a non-empty key and value (k6 drops
/// the root group's empty `group`), in key order.
pub(crate) fn attributes(tags: &TagSet) -> Vec<KeyValue> {
    tags.iter()
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .map(|(k, v)| string_kv(k, v))
        .collect()
}

/// k6's unit for what a metric contains.
pub(crate) fn unit(contains: ValueType) -> &'static str {
    match contains {
        ValueType::Time => "ms",
        ValueType::Data => "By",
        ValueType::Default => "",
    }
}

/// Every stream as OTLP metrics (one per k6 metric, two per Rate), in metric registration
/// order. `def` names a metric and tells what it contains; `start` and `now` are Unix
/// nanoseconds.
pub(crate) fn metrics(
    streams: &Streams,
    prefix: &str,
    mut def: impl FnMut(MetricId) -> (String, ValueType),
    start: u64,
    now: u64,
) -> Vec<Metric> {
    let mut out = Vec::new();
    let mut iter = streams.iter().peekable();
    while let Some(((id, _), _)) = iter.peek() {
        let id = *id;
        let (name, contains) = def(id);
        let name = format!("{prefix}{name}");
        let mut sums = Vec::new();
        let mut gauges = Vec::new();
        let mut hists = Vec::new();
        let mut occurred = Vec::new();
        let mut totals = Vec::new();
        while let Some(((_, tags), agg)) = iter.next_if(|((m, _), _)| *m == id) {
            let number = |value| NumberDataPoint {
                attributes: attributes(tags),
                start_time_unix_nano: start,
                time_unix_nano: now,
                value: Some(value),
                ..NumberDataPoint::default()
            };
            match agg {
                Agg::Counter { sum } => sums.push(number(number_data_point::Value::AsDouble(*sum))),
                Agg::Gauge { last, .. } => {
                    if !agg.is_empty() {
                        gauges.push(number(number_data_point::Value::AsDouble(*last)));
                    }
                }
                Agg::Rate { trues, total } => {
                    if *trues > 0 {
                        occurred.push(number(number_data_point::Value::AsInt(clamp_i64(*trues))));
                    }
                    if *total > 0 {
                        totals.push(number(number_data_point::Value::AsInt(clamp_i64(*total))));
                    }
                }
                Agg::Trend(t) => {
                    if t.count > 0 {
                        hists.push(HistogramDataPoint {
                            attributes: attributes(tags),
                            start_time_unix_nano: start,
                            time_unix_nano: now,
                            count: t.count,
                            sum: Some(t.sum),
                            bucket_counts: bucket_counts(t),
                            explicit_bounds: BOUNDS.to_vec(),
                            min: Some(t.min),
                            max: Some(t.max),
                            ..HistogramDataPoint::default()
                        });
                    }
                }
            }
        }
        let unit = unit(contains);
        let cumulative = AggregationTemporality::Cumulative as i32;
        let sum = |data_points, is_int: bool, name: String| Metric {
            name,
            unit: if is_int {
                String::new()
            } else {
                unit.to_string()
            },
            data: Some(metric::Data::Sum(Sum {
                data_points,
                aggregation_temporality: cumulative,
                is_monotonic: true,
            })),
            ..Metric::default()
        };
        if !sums.is_empty() {
            out.push(sum(sums, false, name.clone()));
        }
        if !gauges.is_empty() {
            out.push(Metric {
                name: name.clone(),
                unit: unit.to_string(),
                data: Some(metric::Data::Gauge(Gauge {
                    data_points: gauges,
                })),
                ..Metric::default()
            });
        }
        if !hists.is_empty() {
            out.push(Metric {
                name: name.clone(),
                unit: unit.to_string(),
                data: Some(metric::Data::Histogram(Histogram {
                    data_points: hists,
                    aggregation_temporality: cumulative,
                })),
                ..Metric::default()
            });
        }
        if !occurred.is_empty() {
            out.push(sum(occurred, true, format!("{name}.occurred")));
        }
        if !totals.is_empty() {
            out.push(sum(totals, true, format!("{name}.total")));
        }
    }
    out
}

fn clamp_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The count per bucket of [`BOUNDS`] (16 buckets: `(-inf, 0]`, `(0, 5]`, ... `(10000, +inf)`).
pub(crate) fn bucket_counts(t: &TrendAgg) -> Vec<u64> {
    let hist = t.histogram();
    let mut counts = vec![0u64; BOUNDS.len() + 1];
    for v in hist.iter_recorded() {
        // The lowest value of the HDR bucket decides: a value at or below a bound is always
        // counted at or below it.
        let lowest = hist.lowest_equivalent(v.value_iterated_to()) as f64;
        let i = BOUNDS
            .iter()
            .position(|b| lowest <= (b * HDR_SCALE).round())
            .unwrap_or(BOUNDS.len());
        counts[i] += v.count_at_value();
    }
    // Cumulative counts, corrected where the exact min and max decide, then per bucket again.
    let mut cumulative = Vec::with_capacity(BOUNDS.len());
    let mut running = 0u64;
    for (i, bound) in BOUNDS.iter().enumerate() {
        running += counts[i];
        let c = if t.min > *bound {
            0
        } else if t.max <= *bound {
            t.count
        } else {
            running.min(t.count)
        };
        cumulative.push(c);
    }
    let mut out = Vec::with_capacity(BOUNDS.len() + 1);
    let mut below = 0u64;
    for c in cumulative {
        let c = c.max(below);
        out.push(c - below);
        below = c;
    }
    out.push(t.count.saturating_sub(below));
    out
}

/// How many data points a metric holds.
pub(crate) fn points(m: &Metric) -> u64 {
    (match &m.data {
        Some(metric::Data::Sum(s)) => s.data_points.len(),
        Some(metric::Data::Gauge(g)) => g.data_points.len(),
        Some(metric::Data::Histogram(h)) => h.data_points.len(),
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(metric::Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }) as u64
}

/// The metrics as requests of at most about `max_bytes` each (OTLP receivers commonly refuse
/// gRPC messages over 4 MiB); a metric with more data points than fit is split across requests.
pub(crate) fn requests(resource: &Resource, metrics: Vec<Metric>, max_bytes: usize) -> Vec<Batch> {
    let wrap = |metrics: Vec<Metric>| {
        let points = metrics.iter().map(points).sum();
        Batch {
            request: ExportMetricsServiceRequest {
                resource_metrics: vec![ResourceMetrics {
                    resource: Some(resource.clone()),
                    scope_metrics: vec![ScopeMetrics {
                        scope: Some(InstrumentationScope {
                            name: SCOPE.to_string(),
                            ..InstrumentationScope::default()
                        }),
                        metrics,
                        schema_url: String::new(),
                    }],
                    schema_url: SCHEMA_URL.to_string(),
                }],
            },
            points,
        }
    };
    let budget = max_bytes
        .saturating_sub(resource.encoded_len() + 64)
        .max(1024);
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut size = 0usize;
    for piece in metrics.into_iter().flat_map(|m| split(m, budget)) {
        let len = piece.encoded_len() + 8;
        if size + len > budget && !current.is_empty() {
            out.push(wrap(std::mem::take(&mut current)));
            size = 0;
        }
        size += len;
        current.push(piece);
    }
    if !current.is_empty() {
        out.push(wrap(current));
    }
    out
}

/// A metric as several, each under `max` bytes (unless one data point alone is larger).
fn split(m: Metric, max: usize) -> Vec<Metric> {
    if m.encoded_len() <= max {
        return vec![m];
    }
    let Metric {
        name,
        description,
        unit,
        metadata,
        data,
    } = m;
    let shell = |data| Metric {
        name: name.clone(),
        description: description.clone(),
        unit: unit.clone(),
        metadata: metadata.clone(),
        data: Some(data),
    };
    let budget = max.saturating_sub(name.len() + description.len() + unit.len() + 64);
    match data {
        Some(metric::Data::Sum(Sum {
            data_points,
            aggregation_temporality,
            is_monotonic,
        })) => chunks(data_points, budget)
            .into_iter()
            .map(|data_points| {
                shell(metric::Data::Sum(Sum {
                    data_points,
                    aggregation_temporality,
                    is_monotonic,
                }))
            })
            .collect(),
        Some(metric::Data::Gauge(Gauge { data_points })) => chunks(data_points, budget)
            .into_iter()
            .map(|data_points| shell(metric::Data::Gauge(Gauge { data_points })))
            .collect(),
        Some(metric::Data::Histogram(Histogram {
            data_points,
            aggregation_temporality,
        })) => chunks(data_points, budget)
            .into_iter()
            .map(|data_points| {
                shell(metric::Data::Histogram(Histogram {
                    data_points,
                    aggregation_temporality,
                }))
            })
            .collect(),
        other => vec![Metric {
            name,
            description,
            unit,
            metadata,
            data: other,
        }],
    }
}

fn chunks<T: prost::Message>(items: Vec<T>, max: usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut size = 0usize;
    for item in items {
        let len = item.encoded_len() + 8;
        if size + len > max && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            size = 0;
        }
        size += len;
        current.push(item);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}
