//! k6's series as remote write sends them: one per metric and full tag set, holding everything
//! since the start of the test (counters' sums, gauges' last values, rates, trends' stats or
//! native histograms), named `k6_<metric>[_suffix]` and labelled with the non-empty tags.

use std::collections::BTreeMap;

use stampede_metrics::{trend_stat, Agg, Delta, MetricDef, MetricId, TagSet, TrendAgg, ValueType};

use super::native;
use super::proto::{Label, Sample, TimeSeries};
use crate::Names;

const PREFIX: &str = "k6_";
const NAME_LABEL: &str = "__name__";

/// Prometheus' staleness marker: a NaN with this payload.
pub(crate) const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// One trend statistic, by k6's name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stat {
    Avg,
    Min,
    Med,
    Max,
    Count,
    Sum,
    /// 0-100.
    Percentile(f64),
}

/// A trend stat and the suffix of its series' name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrendStat {
    pub stat: Stat,
    /// `p99` for `p(99)`, `p999` for `p(99.9)`, `med` for `med`.
    pub suffix: String,
}

impl TrendStat {
    /// A stat k6 accepts: avg, min, med, max, count, sum or p(N) with 0 <= N <= 100; the
    /// errors are k6's.
    pub(crate) fn parse(s: &str) -> Result<TrendStat, String> {
        let stat = match s {
            "avg" => Stat::Avg,
            "min" => Stat::Min,
            "med" => Stat::Med,
            "max" => Stat::Max,
            "count" => Stat::Count,
            "sum" => Stat::Sum,
            _ => {
                let Some(inner) = s.strip_prefix("p(").and_then(|r| r.strip_suffix(')')) else {
                    return Err(format!("invalid trend stat '{s}', unknown format"));
                };
                match inner.parse::<f64>() {
                    Ok(p) if (0.0..=100.0).contains(&p) => Stat::Percentile(p),
                    _ => {
                        return Err(format!(
                            "invalid percentile trend stat value '{s}', provide a number between 0 and 100"
                        ))
                    }
                }
            }
        };
        let suffix = match s.strip_prefix("p(").and_then(|r| r.strip_suffix(')')) {
            // p(99.9) -> p999, p(0.95) -> p095: the dots go.
            Some(inner) => format!("p{}", inner.replace('.', "")),
            None => s.to_string(),
        };
        Ok(TrendStat { stat, suffix })
    }

    /// The stat of `t` in the unit sent (`divisor` 1000 for times: ms to s).
    pub(crate) fn value(&self, t: &TrendAgg, divisor: f64) -> f64 {
        let v = match &self.stat {
            // k6 1.1.0 divides a time trend's count by 1000 too (9 iterations are sent as
            // 0.009): a bug stampede does not copy. The count is a number of samples.
            Stat::Count => return t.count as f64,
            Stat::Sum => t.sum,
            Stat::Avg => trend_stat(t, "avg").unwrap_or(0.0),
            Stat::Min => trend_stat(t, "min").unwrap_or(0.0),
            Stat::Max => trend_stat(t, "max").unwrap_or(0.0),
            Stat::Med => trend_stat(t, "med").unwrap_or(0.0),
            Stat::Percentile(p) => {
                if t.count == 0 {
                    0.0
                } else {
                    t.percentile(*p)
                }
            }
        };
        v / divisor
    }
}

/// The series name of `metric` with `suffix`: `k6_http_reqs_total`.
pub(crate) fn series_name(metric: &str, suffix: &str) -> String {
    if suffix.is_empty() {
        format!("{PREFIX}{metric}")
    } else {
        format!("{PREFIX}{metric}_{suffix}")
    }
}

/// The labels of a series: `__name__` and every tag with a non-empty name and value, sorted by
/// name byte by byte (so `Zupper` comes before `__name__`). A tag called `__name__` gives way
/// to the series name.
pub(crate) fn labels(name: &str, tags: &TagSet) -> Vec<Label> {
    let mut out: Vec<Label> = tags
        .iter()
        .filter(|(k, v)| !k.is_empty() && !v.is_empty() && *k != NAME_LABEL)
        .map(|(k, v)| Label {
            name: k.to_string(),
            value: v.to_string(),
        })
        .collect();
    out.push(Label {
        name: NAME_LABEL.into(),
        value: name.to_string(),
    });
    out.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    out
}

/// What one sent series carries.
#[derive(Debug, Clone, PartialEq)]
enum What {
    /// A counter's sum, a gauge's last value, a rate's ratio.
    Value,
    Stat(TrendStat),
    Native,
}

struct Sent {
    labels: Vec<Label>,
    what: What,
}

struct Series {
    agg: Agg,
    /// 1000 for time metrics (sent in seconds), else 1.
    divisor: f64,
    sent: Vec<Sent>,
    /// The end of the newest delta that touched it (ms).
    newest: i64,
    /// The timestamp it was last pushed with.
    last_push: Option<i64>,
    /// Touched since its last push.
    dirty: bool,
}

/// Every series of the run, cumulative since the start of the test.
pub(crate) struct Store {
    trend_stats: Vec<TrendStat>,
    native_histograms: bool,
    series: BTreeMap<(MetricId, TagSet), Series>,
}

impl Store {
    pub(crate) fn new(trend_stats: Vec<TrendStat>, native_histograms: bool) -> Store {
        Store {
            trend_stats,
            native_histograms,
            series: BTreeMap::new(),
        }
    }

    /// Folds one interval into the series it touches.
    pub(crate) fn add(&mut self, delta: &Delta, names: &mut Names) {
        let end = delta.end.as_millis();
        for e in &delta.entries {
            let key = (e.metric, e.tags.clone());
            match self.series.get_mut(&key) {
                Some(s) => s.agg.merge(&e.agg),
                None => {
                    let def = names.def(e.metric).clone();
                    let s = self.new_series(&def, &e.tags, e.agg.clone());
                    self.series.insert(key.clone(), s);
                }
            }
            if let Some(s) = self.series.get_mut(&key) {
                s.newest = s.newest.max(end);
                s.dirty = true;
            }
        }
    }

    fn new_series(&self, def: &MetricDef, tags: &TagSet, agg: Agg) -> Series {
        let name = &def.name;
        let one = |suffix: &str, what: What| Sent {
            labels: labels(&series_name(name, suffix), tags),
            what,
        };
        let sent = match &agg {
            Agg::Counter { .. } => vec![one("total", What::Value)],
            Agg::Gauge { .. } => vec![one("", What::Value)],
            Agg::Rate { .. } => vec![one("rate", What::Value)],
            Agg::Trend(_) if self.native_histograms => {
                let unit = match def.contains {
                    ValueType::Time => "seconds",
                    ValueType::Data => "bytes",
                    ValueType::Default => "",
                };
                vec![one(unit, What::Native)]
            }
            Agg::Trend(_) => self
                .trend_stats
                .iter()
                .map(|t| one(&t.suffix, What::Stat(t.clone())))
                .collect(),
        };
        Series {
            agg,
            divisor: if def.contains == ValueType::Time {
                1000.0
            } else {
                1.0
            },
            sent,
            newest: i64::MIN,
            last_push: None,
            dirty: false,
        }
    }

    /// The series touched since the last push, with their values since the start of the test.
    /// Each carries the end of the newest interval that touched it as its time, kept strictly
    /// later than the time it was last pushed with (Prometheus refuses a second value at the
    /// same time, and values older than the last one).
    pub(crate) fn take_updated(&mut self) -> Vec<TimeSeries> {
        let mut out = Vec::new();
        for s in self.series.values_mut().filter(|s| s.dirty) {
            let at = match s.last_push {
                Some(last) => s.newest.max(last.saturating_add(1)),
                None => s.newest,
            };
            s.dirty = false;
            s.last_push = Some(at);
            for sent in &s.sent {
                out.push(series_at(&s.agg, s.divisor, sent, at));
            }
        }
        out
    }

    /// Every series ever pushed, marked stale at `now_ms` + 1 ms (or just after the latest time
    /// pushed, if that is later).
    pub(crate) fn stale_markers(&self, now_ms: i64) -> Vec<TimeSeries> {
        let latest = self.series.values().filter_map(|s| s.last_push).max();
        let Some(latest) = latest else {
            return Vec::new();
        };
        let at = now_ms.saturating_add(1).max(latest.saturating_add(1));
        self.series
            .values()
            .filter(|s| s.last_push.is_some())
            .flat_map(|s| s.sent.iter())
            .map(|sent| TimeSeries {
                labels: sent.labels.clone(),
                samples: vec![Sample {
                    value: f64::from_bits(STALE_NAN),
                    timestamp: at,
                }],
                histograms: Vec::new(),
            })
            .collect()
    }

    /// How many series were ever seen.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.series.len()
    }
}

fn series_at(agg: &Agg, divisor: f64, sent: &Sent, at: i64) -> TimeSeries {
    let sample = |value: f64| TimeSeries {
        labels: sent.labels.clone(),
        samples: vec![Sample {
            value,
            timestamp: at,
        }],
        histograms: Vec::new(),
    };
    match (&sent.what, agg) {
        (What::Value, Agg::Counter { sum }) => sample(*sum),
        (What::Value, Agg::Gauge { last, .. }) => sample(*last),
        (What::Value, Agg::Rate { trues, total }) => sample(if *total == 0 {
            0.0
        } else {
            *trues as f64 / *total as f64
        }),
        (What::Stat(stat), Agg::Trend(t)) => sample(stat.value(t, divisor)),
        (What::Native, Agg::Trend(t)) => {
            let b = native::buckets(t, divisor);
            TimeSeries {
                labels: sent.labels.clone(),
                samples: Vec::new(),
                histograms: vec![native::histogram(&b, t.count, t.sum / divisor, at)],
            }
        }
        // A series keeps the kind of its first aggregate (merging another kind does nothing).
        _ => sample(0.0),
    }
}
