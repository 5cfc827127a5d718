//! The per-worker aggregator: every sample of one worker thread lands here.

use std::sync::Arc;

use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;
use smallvec::SmallVec;

use crate::agg::Agg;
use crate::filter::TagFilter;
use crate::tags::Interner;
use crate::{MetricId, MetricType, TagSet, TagSetId};

/// What a worker hands to the collector: the aggregates since its previous delta.
#[derive(Debug, Default)]
pub struct Delta {
    pub entries: Vec<(MetricId, TagSet, Agg)>,
}

/// A worker thread's metrics. Not shared: one per thread, flushed periodically.
#[derive(Default)]
pub struct WorkerMetrics {
    filter: Arc<TagFilter>,
    /// Only the tag sets left after the filter: bounded by what the summary and thresholds
    /// select on, not by the URLs a test visits.
    interner: Interner,
    empty: Option<TagSetId>,
    /// In first-seen order, so reports can list checks and groups as the script ran them.
    aggs: IndexMap<(MetricId, TagSetId), Agg, FxBuildHasher>,
}

impl WorkerMetrics {
    /// Keeps the tags the summary needs (see [`TagFilter`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the tags `filter` names.
    pub fn with_filter(filter: Arc<TagFilter>) -> Self {
        WorkerMetrics {
            filter,
            ..Self::default()
        }
    }

    /// Whether `metric` keeps any tag (if not, callers need not collect them).
    #[inline]
    pub fn keeps_tags(&self, metric: MetricId) -> bool {
        !self.filter.keys(metric).is_empty()
    }

    /// Adds one sample with its tags; the tags `metric` does not keep are dropped here.
    #[inline]
    pub fn add(&mut self, metric: MetricId, kind: MetricType, tags: &[(&str, &str)], value: f64) {
        let keys = self.filter.keys(metric);
        let id = if keys.is_empty() {
            *self
                .empty
                .get_or_insert_with(|| self.interner.intern(&mut []))
        } else {
            let mut kept: SmallVec<[(&str, &str); 4]> = SmallVec::new();
            for key in keys {
                // The last value wins, as when the script overrides a built-in tag.
                if let Some(pair) = tags.iter().rev().find(|(k, _)| *k == key) {
                    kept.push(*pair);
                }
            }
            self.interner.intern(&mut kept)
        };
        self.aggs
            .entry((metric, id))
            .or_insert_with(|| Agg::new(kind))
            .add(value);
    }

    /// Takes everything aggregated since the last call.
    pub fn take_delta(&mut self) -> Delta {
        let entries = self
            .aggs
            .drain(..)
            .filter(|(_, agg)| !agg.is_empty())
            .map(|((m, t), agg)| (m, self.interner.get(t).clone(), agg))
            .collect();
        Delta { entries }
    }
}
