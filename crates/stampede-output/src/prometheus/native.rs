//! Trends as Prometheus native histograms, as k6 sends them with
//! `K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM=true`: schema 3 (8 exponential buckets per power
//! of two, each about 9% wide), no negative buckets, the zero bucket up to 2^-128.
//!
//! k6 observes every sample into a Prometheus client histogram. stampede keeps a trend's
//! samples as an HDR histogram (see `stampede_metrics::TrendAgg`: values x1000, rounded to
//! whole numbers, three significant digits), so each push converts that histogram: every
//! recorded HDR bin goes into the exponential bucket that holds its whole range of original
//! values; a bin whose range straddles a bucket boundary goes into the bucket the boundary
//! closes if that is a power of two the bin holds exactly (4, 65536 bytes, 0.25 s), else into
//! the bucket of the bin's roundest value (so 1000 ms or 1.2 s land where k6 puts them). How
//! precise that is:
//! - count and sum are exact (the trend's own count and sum);
//! - an observation lands in a neighbouring bucket only if it lies within its HDR bin's width of
//!   a bucket boundary: within 0.0005 of the metric's unit (0.5 µs for times) for values under
//!   2.048 units, within 0.1% of the value above that; with buckets 9% wide that is well under
//!   1% of the observations, each off by one bucket;
//! - values under 0.0005 of the metric's unit (and negative values) count in the zero bucket,
//!   where k6 puts only exact zeros (k6's own zeros, such as `http_req_connecting` on a reused
//!   connection, are zeros here too).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use stampede_metrics::TrendAgg;

use super::proto::{histogram, BucketSpan, Histogram};

/// 2^3 buckets per power of two (the schema k6's bucket factor of 1.1 gives).
pub(crate) const SCHEMA: i32 = 3;

/// Values up to this count in the zero bucket: 2^-128, the Prometheus client's default.
pub(crate) const ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

const PER_OCTAVE: i32 = 1 << SCHEMA;

/// `TrendAgg`'s histogram records round(value x 1000).
const HDR_SCALE: f64 = 1000.0;

/// Buckets with at most this many empty buckets between them share a span (the empty ones are
/// sent as zero counts), as Prometheus clients do.
const MAX_GAP_IN_SPAN: i32 = 2;

/// The upper bounds of the buckets within one power of two, for mantissas in [1, 2):
/// 2^(k/8) for k = 1..=8.
fn upper_bounds() -> &'static [f64; PER_OCTAVE as usize] {
    static BOUNDS: OnceLock<[f64; PER_OCTAVE as usize]> = OnceLock::new();
    BOUNDS.get_or_init(|| {
        let mut b = [0.0; PER_OCTAVE as usize];
        for (k, slot) in b.iter_mut().enumerate() {
            *slot = ((k as f64 + 1.0) / PER_OCTAVE as f64).exp2();
        }
        // Exactly 2, whatever exp2's rounding.
        b[PER_OCTAVE as usize - 1] = 2.0;
        b
    })
}

/// The index of the schema-3 bucket holding `v` (a finite value above [`ZERO_THRESHOLD`]): the
/// smallest `i` with `v <= 2^(i/8)`, so bucket `i` is `(2^((i-1)/8), 2^(i/8)]`.
pub(crate) fn bucket_index(v: f64) -> i32 {
    let bits = v.to_bits();
    // v > 2^-128 is a normal number: v = mantissa * 2^exponent with the mantissa in [1, 2).
    let exponent = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mantissa = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    if mantissa == 1.0 {
        // A power of two is the upper bound of its bucket.
        return exponent * PER_OCTAVE;
    }
    let k = upper_bounds()
        .iter()
        .position(|&upper| mantissa <= upper)
        .unwrap_or(PER_OCTAVE as usize - 1) as i32;
    exponent * PER_OCTAVE + k + 1
}

/// A trend's observations per bucket.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Buckets {
    pub zero: u64,
    pub positive: BTreeMap<i32, u64>,
}

/// Spreads `trend`'s HDR histogram over the exponential buckets; `divisor` converts the
/// trend's unit to the one sent (1000 for times: ms to s).
pub(crate) fn buckets(trend: &TrendAgg, divisor: f64) -> Buckets {
    let h = trend.histogram();
    let unit = HDR_SCALE * divisor;
    let mut out = Buckets::default();
    for bin in h.iter_recorded() {
        let n = bin.count_at_value();
        let at = bin.value_iterated_to();
        let (lo, hi) = (h.lowest_equivalent(at), h.highest_equivalent(at));
        if hi == 0 {
            out.zero += n;
            continue;
        }
        // round(x * 1000) in [lo, hi] means x in [lo - 0.5, hi + 0.5) / 1000.
        let low = (lo as f64 - 0.5).max(0.0) / unit;
        let high = (hi as f64 + 0.5) / unit;
        if low <= ZERO_THRESHOLD {
            out.zero += n;
            continue;
        }
        let (first, last) = (bucket_index(low), bucket_index(high));
        let index = if first == last || closes_at_power_of_two(first, unit, lo, hi) {
            first
        } else {
            bucket_index(roundest(lo, hi) as f64 / unit)
        };
        *out.positive.entry(index).or_insert(0) += n;
    }
    out
}

/// Whether bucket `index` ends at a power of two that is a whole number of thousandths within
/// `lo..=hi`: then the bin most likely holds that very value (4, 1024, 65536 bytes, 0.25 s),
/// which belongs to the bucket it closes.
fn closes_at_power_of_two(index: i32, unit: f64, lo: u64, hi: u64) -> bool {
    if index.rem_euclid(PER_OCTAVE) != 0 {
        return false;
    }
    let scaled = f64::from(index / PER_OCTAVE).exp2() * unit;
    scaled.fract() == 0.0 && scaled >= lo as f64 && scaled <= hi as f64
}

/// The value in `lo..=hi` with the most trailing decimal zeros (the smallest such): where an
/// HDR bin straddles a bucket boundary, its observations are most likely round values such as
/// 1000 ms or 4, and the boundaries that can be hit exactly are the powers of two, which are
/// round numbers of thousandths (2 s, 0.25 s, 4).
fn roundest(lo: u64, hi: u64) -> u64 {
    let mut step: u64 = 10_000_000_000_000_000_000;
    while step > 1 {
        if let Some(v) = lo.div_ceil(step).checked_mul(step) {
            if v <= hi {
                return v;
            }
        }
        step /= 10;
    }
    lo
}

/// The histogram message for `buckets`, with the trend's exact `count` and `sum`.
pub(crate) fn histogram(b: &Buckets, count: u64, sum: f64, timestamp: i64) -> Histogram {
    let (positive_spans, positive_deltas) = spans(&b.positive);
    Histogram {
        count: Some(histogram::Count::CountInt(count)),
        sum,
        schema: SCHEMA,
        zero_threshold: ZERO_THRESHOLD,
        zero_count: Some(histogram::ZeroCount::ZeroCountInt(b.zero)),
        positive_spans,
        positive_deltas,
        timestamp,
        ..Histogram::default()
    }
}

/// Spans and delta-encoded counts of the non-empty buckets `counts`.
fn spans(counts: &BTreeMap<i32, u64>) -> (Vec<BucketSpan>, Vec<i64>) {
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::with_capacity(counts.len());
    let mut previous: i64 = 0;
    // The index after the last bucket written.
    let mut next: Option<i32> = None;
    for (&index, &n) in counts {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        match (next, spans.last_mut()) {
            (Some(after), Some(span)) if index - after <= MAX_GAP_IN_SPAN => {
                for _ in after..index {
                    deltas.push(-previous);
                    previous = 0;
                    span.length += 1;
                }
                span.length += 1;
            }
            _ => spans.push(BucketSpan {
                offset: next.map_or(index, |after| index - after),
                length: 1,
            }),
        }
        deltas.push(n - previous);
        previous = n;
        next = Some(index + 1);
    }
    (spans, deltas)
}
