//! The metrics stream of a run: timestamped interval deltas of aggregates, and raw samples for
//! the outputs that write every sample. Both serialize (serde), so the same values can be written
//! to a file, sent to another process, merged and replayed.

use std::sync::Arc;

use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::{Agg, MetricId, TagSet, UnixNanos};

/// The aggregates of `[start, end)` of wall-clock time, per metric and tag set: one worker's, or
/// every source's merged by the controller (one per tick of the wall clock).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Delta {
    pub start: UnixNanos,
    pub end: UnixNanos,
    pub entries: Vec<DeltaEntry>,
}

/// One (metric, tag set) pair's aggregate over a delta's span. Never empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeltaEntry {
    pub metric: MetricId,
    pub tags: TagSet,
    pub agg: Agg,
}

/// Samples taken at one moment with one tag set: one HTTP request's metrics, one check, the end
/// of one iteration. Exists only while an output asks for raw samples.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleGroup {
    pub time: UnixNanos,
    pub tags: TagSet,
    /// k6's metadata: tags that are not indexed (`vu`, `iter` when enabled as system tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TagSet>,
    pub values: SmallVec<[(MetricId, f64); 2]>,
}

/// Raw samples as they travel from the workers to the outputs, in batches.
pub type SampleBatch = Vec<SampleGroup>;

/// Merges deltas (of several workers, or of one tick) into one.
#[derive(Debug, Default)]
pub struct DeltaMerger {
    span: Option<(UnixNanos, UnixNanos)>,
    entries: IndexMap<(MetricId, TagSet), Agg, FxBuildHasher>,
}

impl DeltaMerger {
    pub fn add(&mut self, delta: Delta) {
        self.span = Some(match self.span {
            None => (delta.start, delta.end),
            Some((s, e)) => (s.min(delta.start), e.max(delta.end)),
        });
        for DeltaEntry { metric, tags, agg } in delta.entries {
            match self.entries.entry((metric, tags)) {
                indexmap::map::Entry::Occupied(mut e) => e.get_mut().merge(&agg),
                indexmap::map::Entry::Vacant(e) => {
                    e.insert(agg);
                }
            }
        }
    }

    /// Adds one value (a sample the controller takes itself, such as `vus`).
    pub fn add_value(
        &mut self,
        metric: MetricId,
        kind: crate::MetricType,
        tags: TagSet,
        at: UnixNanos,
        value: f64,
    ) {
        self.span = Some(match self.span {
            None => (at, at),
            Some((s, e)) => (s.min(at), e.max(at)),
        });
        self.entries
            .entry((metric, tags))
            .or_insert_with(|| Agg::new(kind))
            .add(value);
    }

    pub fn is_empty(&self) -> bool {
        self.span.is_none()
    }

    /// The merged delta; `None` if nothing was added.
    pub fn finish(self) -> Option<Delta> {
        let (start, end) = self.span?;
        Some(Delta {
            start,
            end,
            entries: self
                .entries
                .into_iter()
                .map(|((metric, tags), agg)| DeltaEntry { metric, tags, agg })
                .collect(),
        })
    }
}

/// A consumer of a run's metrics stream: an output, a report, a remote aggregator. Called on the
/// controller's thread, so it must not block: one that sends or writes hands the work to a
/// thread of its own through a bounded queue.
pub trait Subscriber: Send {
    /// Whether to deliver raw samples (workers keep them only if some subscriber wants them).
    fn wants_samples(&self) -> bool {
        false
    }
    /// One closed interval: every source's aggregates for one tick of the wall clock.
    fn interval(&mut self, _delta: &Arc<Delta>) {}
    /// A batch of raw samples (only if [`Subscriber::wants_samples`]).
    fn samples(&mut self, _batch: &Arc<SampleBatch>) {}
    /// The run is over and everything was delivered: flush.
    fn finish(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{builtin, MetricType};

    type Entry<'a> = (MetricId, &'a [(&'a str, &'a str)], f64);

    fn delta(start: i64, end: i64, entries: Vec<Entry<'_>>) -> Delta {
        let mut m = DeltaMerger::default();
        for (metric, tags, v) in entries {
            let kind = if metric == builtin::HTTP_REQS {
                MetricType::Counter
            } else {
                MetricType::Trend
            };
            m.add_value(
                metric,
                kind,
                TagSet::from_pairs(tags.iter().copied()),
                UnixNanos(start),
                v,
            );
        }
        let mut d = m.finish().unwrap();
        d.end = UnixNanos(end);
        d
    }

    #[test]
    fn merged_deltas_sum_per_metric_and_tag_set() {
        let a = delta(
            10,
            20,
            vec![
                (builtin::HTTP_REQS, &[("status", "200")], 1.0),
                (builtin::HTTP_REQ_DURATION, &[], 5.0),
            ],
        );
        let b = delta(
            5,
            25,
            vec![
                (builtin::HTTP_REQS, &[("status", "200")], 1.0),
                (builtin::HTTP_REQS, &[("status", "500")], 1.0),
                (builtin::HTTP_REQ_DURATION, &[], 7.0),
            ],
        );
        let mut m = DeltaMerger::default();
        m.add(a);
        m.add(b);
        let d = m.finish().unwrap();
        assert_eq!((d.start, d.end), (UnixNanos(5), UnixNanos(25)));
        assert_eq!(d.entries.len(), 3);
        let ok = d
            .entries
            .iter()
            .find(|e| e.tags.get("status") == Some("200"))
            .unwrap();
        assert!(matches!(ok.agg, Agg::Counter { sum } if sum == 2.0));
        assert!(DeltaMerger::default().finish().is_none());
    }

    #[test]
    fn deltas_and_samples_round_trip_through_json() {
        let d = delta(
            1,
            2,
            vec![
                (builtin::HTTP_REQS, &[("name", "x")], 3.0),
                (builtin::HTTP_REQ_DURATION, &[("name", "x")], 1.25),
            ],
        );
        let json = serde_json::to_string(&d).unwrap();
        let back: Delta = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        let g = SampleGroup {
            time: UnixNanos(42),
            tags: TagSet::from_pairs([("a", "b")]),
            metadata: None,
            values: [(builtin::HTTP_REQS, 1.0)].into_iter().collect(),
        };
        let json = serde_json::to_string(&g).unwrap();
        assert_eq!(json, r#"{"time":42,"tags":{"a":"b"},"values":[[9,1.0]]}"#);
    }
}
