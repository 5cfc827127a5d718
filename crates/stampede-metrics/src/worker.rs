//! The per-worker aggregator: every sample of one worker thread lands here.

use std::sync::Arc;

use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;
use smallvec::SmallVec;

use crate::agg::Agg;
use crate::filter::{Keep, TagFilter};
use crate::stream::{Delta, DeltaEntry, SampleGroup};
use crate::tags::Interner;
use crate::{MetricId, MetricType, TagSetId, UnixNanos};

/// Past this many distinct tag sets the sample buffer's interner starts afresh, so a script that
/// puts a unique URL in every request does not grow it without bound.
const SAMPLE_INTERNER_CAP: usize = 1 << 16;

/// A worker thread's metrics. Not shared: one per thread, flushed periodically.
pub struct WorkerMetrics {
    filter: Arc<TagFilter>,
    /// Only the tag sets left after the filter: bounded by what the summary, the thresholds and
    /// the outputs select on.
    interner: Interner,
    empty: Option<TagSetId>,
    /// In first-seen order, so reports can list checks and groups as the script ran them.
    aggs: IndexMap<(MetricId, TagSetId), Agg, FxBuildHasher>,
    /// Where the current delta began.
    since: UnixNanos,
    /// Raw samples, kept only while an output asks for them.
    samples: Option<SampleBuffer>,
}

#[derive(Default)]
struct SampleBuffer {
    interner: Interner,
    groups: Vec<SampleGroup>,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        WorkerMetrics::new(Arc::default(), false)
    }
}

impl WorkerMetrics {
    /// Keeps the tags `filter` names; keeps every sample as well if `samples`.
    pub fn new(filter: Arc<TagFilter>, samples: bool) -> Self {
        WorkerMetrics {
            filter,
            interner: Interner::default(),
            empty: None,
            aggs: IndexMap::default(),
            since: UnixNanos::now(),
            samples: samples.then(SampleBuffer::default),
        }
    }

    /// Whether `metric`'s samples need their tags (if not, callers need not collect them).
    #[inline]
    pub fn keeps_tags(&self, metric: MetricId) -> bool {
        self.samples.is_some() || !matches!(self.filter.kept(metric), Keep::Keys([]))
    }

    /// Adds one sample with its tags; the tags `metric` does not keep are dropped here.
    #[inline]
    pub fn add(&mut self, metric: MetricId, kind: MetricType, tags: &[(&str, &str)], value: f64) {
        self.add_all(tags, &[], &[(metric, kind, value)]);
    }

    /// Adds samples taken at one moment with the same tags (one request's metrics) and
    /// `metadata` (k6's non-indexed tags, such as `vu` and `iter`, which only outputs of raw
    /// samples see).
    pub fn add_all(
        &mut self,
        tags: &[(&str, &str)],
        metadata: &[(&str, &str)],
        values: &[(MetricId, MetricType, f64)],
    ) {
        // A request's metrics mostly keep the same tags: their set is interned once.
        let mut last: Option<(Keep<'_>, TagSetId)> = None;
        for &(metric, kind, value) in values {
            let keep = self.filter.kept(metric);
            let id = match last {
                Some((k, id)) if k.same(keep) => id,
                _ => {
                    let id = kept_tags(&mut self.interner, &mut self.empty, keep, tags);
                    last = Some((keep, id));
                    id
                }
            };
            self.aggs
                .entry((metric, id))
                .or_insert_with(|| Agg::new(kind))
                .add(value);
        }
        if let Some(buf) = &mut self.samples {
            buf.push(tags, metadata, values);
        }
    }

    /// Takes everything aggregated since the last call, as the delta of `[previous end, end)`.
    pub fn take_delta(&mut self, end: UnixNanos) -> Delta {
        let entries = self
            .aggs
            .drain(..)
            .filter(|(_, agg)| !agg.is_empty())
            .map(|((metric, t), agg)| DeltaEntry {
                metric,
                tags: self.interner.get(t).clone(),
                agg,
            })
            .collect();
        let start = std::mem::replace(&mut self.since, end);
        Delta {
            start,
            end,
            entries,
        }
    }

    /// Whether raw samples are kept.
    pub fn keeps_samples(&self) -> bool {
        self.samples.is_some()
    }

    /// Takes the raw samples kept since the last call (none unless an output asked for them).
    pub fn take_samples(&mut self) -> Vec<SampleGroup> {
        self.samples
            .as_mut()
            .map(|b| std::mem::take(&mut b.groups))
            .unwrap_or_default()
    }
}

impl SampleBuffer {
    fn push(
        &mut self,
        tags: &[(&str, &str)],
        metadata: &[(&str, &str)],
        values: &[(MetricId, MetricType, f64)],
    ) {
        if self.interner.len() >= SAMPLE_INTERNER_CAP {
            self.interner.clear();
        }
        let mut all: SmallVec<[(&str, &str); 16]> = SmallVec::new();
        dedup_last_wins(tags, &mut all);
        let id = self.interner.intern(&mut all);
        let tags = self.interner.get(id).clone();
        let metadata =
            (!metadata.is_empty()).then(|| crate::TagSet::from_pairs(metadata.iter().copied()));
        self.groups.push(SampleGroup {
            time: UnixNanos::now(),
            tags,
            metadata,
            values: values.iter().map(|&(m, _, v)| (m, v)).collect(),
        });
    }
}

/// The interned set of the tags `keep` selects from `tags`.
fn kept_tags(
    interner: &mut Interner,
    empty: &mut Option<TagSetId>,
    keep: Keep<'_>,
    tags: &[(&str, &str)],
) -> TagSetId {
    match keep {
        Keep::Keys([]) => *empty.get_or_insert_with(|| interner.intern(&mut [])),
        Keep::Keys(keys) => {
            let mut kept: SmallVec<[(&str, &str); 12]> = SmallVec::new();
            for key in keys {
                // The last value wins, as when the script overrides a built-in tag.
                if let Some(pair) = tags.iter().rev().find(|(k, _)| *k == key) {
                    kept.push(*pair);
                }
            }
            interner.intern(&mut kept)
        }
        Keep::All => {
            let mut all: SmallVec<[(&str, &str); 16]> = SmallVec::new();
            dedup_last_wins(tags, &mut all);
            interner.intern(&mut all)
        }
    }
}

/// `tags` with one pair per key, the last value of a key winning.
fn dedup_last_wins<'a>(tags: &[(&'a str, &'a str)], out: &mut SmallVec<[(&'a str, &'a str); 16]>) {
    for &(k, v) in tags {
        match out.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin;

    #[test]
    fn deltas_follow_each_other_and_samples_are_kept_only_on_request() {
        let mut plain = WorkerMetrics::default();
        plain.add(
            builtin::ITERATIONS,
            MetricType::Counter,
            &[("scenario", "a")],
            1.0,
        );
        assert!(!plain.keeps_tags(builtin::ITERATIONS));
        assert!(plain.take_samples().is_empty());
        let t1 = UnixNanos::now().next_second();
        let d1 = plain.take_delta(t1);
        assert_eq!(d1.end, t1);
        assert!(d1.start <= t1);
        assert_eq!(d1.entries.len(), 1);
        assert!(
            d1.entries[0].tags.is_empty(),
            "iterations keeps no tag by default"
        );
        let d2 = plain.take_delta(t1.next_second());
        assert_eq!(d2.start, t1);
        assert!(d2.entries.is_empty());

        let mut filter = TagFilter::default();
        filter.keep_all();
        let mut full = WorkerMetrics::new(Arc::new(filter), true);
        assert!(full.keeps_tags(builtin::ITERATIONS));
        let tags = [("url", "/a"), ("status", "200"), ("url", "/b")];
        full.add_all(
            &tags,
            &[("vu", "3")],
            &[
                (builtin::HTTP_REQS, MetricType::Counter, 1.0),
                (builtin::HTTP_REQ_DURATION, MetricType::Trend, 2.5),
            ],
        );
        let samples = full.take_samples();
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].tags.get("url"), Some("/b"));
        assert_eq!(samples[0].tags.len(), 2);
        assert_eq!(
            samples[0].metadata.as_ref().and_then(|m| m.get("vu")),
            Some("3")
        );
        assert_eq!(samples[0].values.len(), 2);
        let d = full.take_delta(UnixNanos::now());
        assert_eq!(d.entries.len(), 2);
        assert!(d.entries.iter().all(|e| e.tags.get("url") == Some("/b")));
    }
}
