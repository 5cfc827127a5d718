//! The per-worker aggregator: every sample of one worker thread lands here.

use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;

use crate::agg::Agg;
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
    interner: Interner,
    /// In first-seen order, so reports can list checks and groups as the script ran them.
    aggs: IndexMap<(MetricId, TagSetId), Agg, FxBuildHasher>,
}

impl WorkerMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Interns a tag set (the slice is sorted in place).
    #[inline]
    pub fn tags(&mut self, pairs: &mut [(&str, &str)]) -> TagSetId {
        self.interner.intern(pairs)
    }

    /// Adds one sample.
    #[inline]
    pub fn add(&mut self, metric: MetricId, kind: MetricType, tags: TagSetId, value: f64) {
        self.aggs
            .entry((metric, tags))
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
