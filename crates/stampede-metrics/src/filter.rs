//! Which tags each metric's aggregates keep.
//!
//! A sample carries every tag (`url`, `status`, `scenario`, the script's own...), but the summary
//! and the thresholds only ever select on a few of them. Aggregating per full tag set would give
//! every distinct URL (`/products/1`, `/products/2`...) its own histograms, so memory and CPU
//! would grow with the URLs a test visits. Instead each metric keeps only the tags something
//! reads: `check` and `group` for `checks`, `group` for `group_duration`, `expected_response` for
//! `http_req_duration`, and the keys of every threshold selector on that metric.

use crate::registry::builtin;
use crate::thresholds::ThresholdSet;
use crate::MetricId;

/// The tag keys kept per metric; all other tags are dropped before aggregation.
#[derive(Debug, Clone)]
pub struct TagFilter {
    /// The distinct key lists (sorted, deduplicated), each stored once: metrics that keep the
    /// same keys share one list, so a sample's metrics can tell they keep the same tags by
    /// comparing addresses (see [`Keep::same`]).
    lists: Vec<Vec<String>>,
    /// Indexed by metric id: its list in `lists` (0 is the empty one).
    keep: Vec<usize>,
    /// Every metric keeps every tag (an output sends one series per tag set, as k6's
    /// Prometheus and OpenTelemetry outputs do).
    all: bool,
}

/// What one metric's aggregates keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep<'a> {
    /// These keys (none: only the metric's total).
    Keys(&'a [String]),
    /// Every tag.
    All,
}

impl Keep<'_> {
    /// Whether two metrics of one filter keep the same tags (an address comparison).
    #[inline]
    pub fn same(self, other: Keep<'_>) -> bool {
        match (self, other) {
            (Keep::Keys(a), Keep::Keys(b)) => std::ptr::eq(a, b),
            (Keep::All, Keep::All) => true,
            _ => false,
        }
    }
}

impl Default for TagFilter {
    fn default() -> Self {
        let mut f = TagFilter {
            lists: vec![Vec::new()],
            keep: Vec::new(),
            all: false,
        };
        f.keep(builtin::CHECKS, "check");
        f.keep(builtin::CHECKS, "group");
        f.keep(builtin::GROUP_DURATION, "group");
        f.keep(builtin::HTTP_REQ_DURATION, "expected_response");
        f
    }
}

impl TagFilter {
    /// The summary's needs plus every threshold selector's keys.
    pub fn for_thresholds(thresholds: &ThresholdSet) -> Self {
        let mut f = TagFilter::default();
        for m in &thresholds.metrics {
            for (k, _) in &m.selector {
                f.keep(m.metric, k);
            }
        }
        f
    }

    /// Keeps `key` in `metric`'s aggregates.
    pub fn keep(&mut self, metric: MetricId, key: &str) {
        let i = metric.0 as usize;
        if self.keep.len() <= i {
            self.keep.resize(i + 1, 0);
        }
        let mut keys = self.lists[self.keep[i]].clone();
        if let Err(at) = keys.binary_search_by(|k| k.as_str().cmp(key)) {
            keys.insert(at, key.to_string());
        }
        self.keep[i] = match self.lists.iter().position(|l| *l == keys) {
            Some(existing) => existing,
            None => {
                self.lists.push(keys);
                self.lists.len() - 1
            }
        };
    }

    /// Keeps `key` in the aggregates of every metric up to id `metrics` (the registry's size).
    pub fn keep_everywhere(&mut self, key: &str, metrics: usize) {
        for id in 0..metrics {
            self.keep(MetricId(id as u32), key);
        }
    }

    /// Keeps every tag of every metric.
    pub fn keep_all(&mut self) {
        self.all = true;
    }

    /// What `metric`'s aggregates keep.
    #[inline]
    pub fn kept(&self, metric: MetricId) -> Keep<'_> {
        if self.all {
            return Keep::All;
        }
        let list = self.keep.get(metric.0 as usize).copied().unwrap_or(0);
        Keep::Keys(self.lists.get(list).map(Vec::as_slice).unwrap_or(&[]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_keeping_the_same_keys_share_their_list() {
        let mut f = TagFilter::default();
        f.keep_everywhere("name", 12);
        let (reqs, duration, failed) = (
            f.kept(builtin::HTTP_REQS),
            f.kept(builtin::HTTP_REQ_DURATION),
            f.kept(builtin::HTTP_REQ_FAILED),
        );
        assert!(reqs.same(failed));
        assert!(
            !reqs.same(duration),
            "http_req_duration keeps expected_response too"
        );
        assert_eq!(
            duration,
            Keep::Keys(&["expected_response".to_string(), "name".to_string()])
        );
        assert_eq!(f.kept(MetricId(500)), Keep::Keys(&[]));
        f.keep_all();
        assert!(f.kept(builtin::HTTP_REQS).same(f.kept(builtin::CHECKS)));
    }
}
