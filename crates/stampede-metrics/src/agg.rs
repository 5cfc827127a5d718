//! Aggregates: what a (metric, tag set) pair keeps instead of its samples.

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::MetricType;

/// Trend values are stored in the histogram in thousandths (µs for time metrics), with three
/// significant digits: percentiles are within 0.1% of the exact value; avg, min and max are exact.
const SCALE: f64 = 1000.0;

/// Up to this many samples a trend also keeps the exact values, so short tests report the same
/// percentiles as k6 (which interpolates between sorted samples); past it, only the histogram.
const EXACT_CAP: usize = 256;

/// A trend's constant-size summary of its samples.
#[derive(Debug, Clone)]
pub struct TrendAgg {
    hist: Histogram<u64>,
    /// All samples while there are at most [`EXACT_CAP`] of them; `None` after that.
    exact: Option<Vec<f64>>,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Default for TrendAgg {
    fn default() -> Self {
        TrendAgg {
            hist: new_histogram(),
            exact: Some(Vec::new()),
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    // Three significant digits, auto-resizing: construction cannot fail for sigfig 3.
    Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits is a valid histogram"))
}

impl TrendAgg {
    pub fn add(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if let Some(exact) = &mut self.exact {
            if exact.len() < EXACT_CAP {
                exact.push(value);
            } else {
                self.exact = None;
            }
        }
        let scaled = (value.max(0.0) * SCALE).round() as u64;
        // Auto-resizing histograms only fail on values past u64::MAX / 2; saturate instead.
        let _ = self.hist.record(scaled.min(u64::MAX / 4));
    }

    pub fn merge(&mut self, other: &TrendAgg) {
        if other.count == 0 {
            return;
        }
        match (&mut self.exact, &other.exact) {
            (Some(mine), Some(theirs)) if mine.len() + theirs.len() <= EXACT_CAP => {
                mine.extend_from_slice(theirs)
            }
            _ => self.exact = None,
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        let _ = self.hist.add(&other.hist);
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The `pct`-th percentile (0-100). Exact at the ends (min, max).
    pub fn percentile(&self, pct: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        if pct <= 0.0 {
            return self.min;
        }
        if pct >= 100.0 {
            return self.max;
        }
        if let Some(exact) = self.exact.as_ref().filter(|e| e.len() as u64 == self.count) {
            // k6's definition: linear interpolation between the sorted samples.
            let mut v = exact.clone();
            v.sort_by(f64::total_cmp);
            let i = pct / 100.0 * (v.len() as f64 - 1.0);
            let (lo, hi) = (v[i.floor() as usize], v[i.ceil() as usize]);
            return lo + (hi - lo) * (i - i.floor());
        }
        let v = self.hist.value_at_quantile(pct / 100.0);
        let v = self.hist.median_equivalent(v) as f64 / SCALE;
        v.clamp(self.min, self.max)
    }

    /// The histogram itself, for outputs that serialize it.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }
}

/// How a [`TrendAgg`] crosses a process boundary: the exact fields as they are, the histogram in
/// HdrHistogram's V2 encoding (base64), which any HdrHistogram implementation reads.
#[derive(Serialize, Deserialize)]
struct TrendWire<'a> {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    hist: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exact: Option<std::borrow::Cow<'a, [f64]>>,
}

impl Serialize for TrendAgg {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(&self.hist, &mut bytes)
            .map_err(|e| serde::ser::Error::custom(format!("histogram: {e:?}")))?;
        TrendWire {
            count: self.count,
            sum: self.sum,
            min: self.min,
            max: self.max,
            hist: base64::engine::general_purpose::STANDARD.encode(bytes),
            exact: self.exact.as_deref().map(std::borrow::Cow::Borrowed),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for TrendAgg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TrendAgg, D::Error> {
        use serde::de::Error;
        let w = TrendWire::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(w.hist.as_bytes())
            .map_err(|e| D::Error::custom(format!("trend histogram: {e}")))?;
        let mut hist: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| D::Error::custom(format!("trend histogram: {e:?}")))?;
        hist.auto(true);
        if hist.len() != w.count {
            return Err(D::Error::custom(format!(
                "trend histogram holds {} samples, its count says {}",
                hist.len(),
                w.count
            )));
        }
        Ok(TrendAgg {
            hist,
            exact: w.exact.map(|e| e.into_owned()),
            count: w.count,
            sum: w.sum,
            min: w.min,
            max: w.max,
        })
    }
}

/// The running aggregate of one (metric, tag set) pair.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Agg {
    Counter { sum: f64 },
    Gauge { last: f64, min: f64, max: f64 },
    Rate { trues: u64, total: u64 },
    Trend(Box<TrendAgg>),
}

impl Agg {
    pub fn new(kind: MetricType) -> Agg {
        match kind {
            MetricType::Counter => Agg::Counter { sum: 0.0 },
            MetricType::Gauge => Agg::Gauge {
                last: 0.0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
            },
            MetricType::Rate => Agg::Rate { trues: 0, total: 0 },
            MetricType::Trend => Agg::Trend(Box::default()),
        }
    }

    #[inline]
    pub fn add(&mut self, value: f64) {
        match self {
            Agg::Counter { sum } => *sum += value,
            Agg::Gauge { last, min, max } => {
                *last = value;
                *min = min.min(value);
                *max = max.max(value);
            }
            Agg::Rate { trues, total } => {
                *total += 1;
                if value != 0.0 {
                    *trues += 1;
                }
            }
            Agg::Trend(t) => t.add(value),
        }
    }

    /// Folds `other` (a later delta of the same pair) into `self`.
    pub fn merge(&mut self, other: &Agg) {
        match (self, other) {
            (Agg::Counter { sum }, Agg::Counter { sum: s }) => *sum += s,
            (
                Agg::Gauge { last, min, max },
                Agg::Gauge {
                    last: l,
                    min: mi,
                    max: ma,
                },
            ) if mi.is_finite() => {
                *last = *l;
                *min = min.min(*mi);
                *max = max.max(*ma);
            }
            (Agg::Rate { trues, total }, Agg::Rate { trues: t, total: n }) => {
                *trues += t;
                *total += n;
            }
            (Agg::Trend(a), Agg::Trend(b)) => a.merge(b),
            _ => {}
        }
    }

    /// Whether no sample was added.
    pub fn is_empty(&self) -> bool {
        match self {
            Agg::Counter { .. } => false,
            Agg::Gauge { min, .. } => !min.is_finite(),
            Agg::Rate { total, .. } => *total == 0,
            Agg::Trend(t) => t.count == 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trend_percentiles_are_close() {
        let mut t = TrendAgg::default();
        for i in 1..=1000 {
            t.add(i as f64);
        }
        assert!(
            (t.percentile(50.0) - 500.0).abs() <= 1.0,
            "{}",
            t.percentile(50.0)
        );
        assert!((t.percentile(95.0) - 950.0).abs() <= 1.0);
        assert_eq!(t.percentile(100.0), 1000.0);
        assert_eq!(t.min, 1.0);
        assert!((t.avg() - 500.5).abs() < 1e-9);
    }

    #[test]
    fn small_samples_interpolate_like_k6() {
        let mut t = TrendAgg::default();
        for v in [1.0, 2.0, 3.0, 4.0, 10.0] {
            t.add(v);
        }
        assert_eq!(t.percentile(50.0), 3.0);
        // k6: i = 0.9 * 4 = 3.6 -> 4 + (10 - 4) * 0.6
        assert!((t.percentile(90.0) - 7.6).abs() < 1e-9);
        for i in 0..300 {
            t.add(i as f64);
        }
        assert!(t.exact.is_none());
        assert!(
            (t.percentile(50.0) - 147.0).abs() <= 1.0,
            "{}",
            t.percentile(50.0)
        );
    }

    #[test]
    fn merging_equals_adding() {
        let mut a = TrendAgg::default();
        let mut b = TrendAgg::default();
        let mut all = TrendAgg::default();
        for i in 0..500 {
            a.add(i as f64 * 0.37);
            all.add(i as f64 * 0.37);
        }
        for i in 0..500 {
            b.add(i as f64 * 1.9);
            all.add(i as f64 * 1.9);
        }
        a.merge(&b);
        assert_eq!(a.count, all.count);
        assert_eq!(a.percentile(90.0), all.percentile(90.0));
    }

    #[test]
    fn aggregates_round_trip_through_json() {
        let mut small = Agg::new(MetricType::Trend);
        let mut big = Agg::new(MetricType::Trend);
        for i in 0..10 {
            small.add(i as f64 * 1.5);
        }
        for i in 0..5000 {
            big.add(i as f64 * 0.25);
        }
        let mut gauge = Agg::new(MetricType::Gauge);
        gauge.add(3.0);
        let mut rate = Agg::new(MetricType::Rate);
        rate.add(1.0);
        rate.add(0.0);
        for agg in [small, big, gauge, rate, Agg::Counter { sum: 12.5 }] {
            let json = serde_json::to_string(&agg).unwrap();
            let back: Agg = serde_json::from_str(&json).unwrap();
            let stats = ["avg", "min", "med", "max", "p(90)", "p(99.9)", "count"].map(String::from);
            assert_eq!(
                crate::stats_of(&agg, &stats, 2.0),
                crate::stats_of(&back, &stats, 2.0),
                "{json}"
            );
            // A merged copy still merges exactly.
            let mut twice = back.clone();
            twice.merge(&agg);
            let mut expect = agg.clone();
            expect.merge(&agg);
            assert_eq!(
                crate::stats_of(&twice, &stats, 2.0),
                crate::stats_of(&expect, &stats, 2.0)
            );
        }
        let bad = r#"{"type":"trend","count":3,"sum":1,"min":0,"max":1,"hist":"!!"}"#;
        assert!(serde_json::from_str::<Agg>(bad).is_err());
    }

    #[test]
    fn rate_and_gauge() {
        let mut r = Agg::new(MetricType::Rate);
        r.add(1.0);
        r.add(0.0);
        r.add(1.0);
        assert!(matches!(r, Agg::Rate { trues: 2, total: 3 }));
        let mut g = Agg::new(MetricType::Gauge);
        assert!(g.is_empty());
        g.add(5.0);
        g.add(2.0);
        assert!(
            matches!(g, Agg::Gauge { last, min, max } if last == 2.0 && min == 2.0 && max == 5.0)
        );
    }
}
