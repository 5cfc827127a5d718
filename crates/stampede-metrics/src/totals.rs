//! The collector's merged view of the whole run.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::agg::Agg;
use crate::stream::{Delta, DeltaEntry};
use crate::{MetricId, MetricType, Registry, TagSet};

/// Everything measured so far, per metric and tag set.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    per_metric: FxHashMap<MetricId, IndexMap<TagSet, Agg, FxBuildHasher>>,
}

/// A metric's statistics as k6 names them (`count`, `rate`, `avg`, `p(95)`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricStats {
    pub kind: MetricType,
    pub values: BTreeMap<String, f64>,
}

impl Totals {
    pub fn merge(&mut self, delta: &Delta) {
        for DeltaEntry { metric, tags, agg } in &delta.entries {
            let sets = self.per_metric.entry(*metric).or_default();
            match sets.get_mut(tags) {
                Some(mine) => mine.merge(agg),
                None => {
                    sets.insert(tags.clone(), agg.clone());
                }
            }
        }
    }

    /// The metrics that have at least one sample.
    pub fn metrics(&self) -> impl Iterator<Item = MetricId> + '_ {
        self.per_metric
            .iter()
            .filter(|(_, m)| m.values().any(|a| !a.is_empty()))
            .map(|(id, _)| *id)
    }

    /// All tag sets seen for `metric`, with their aggregates.
    pub fn tag_sets(&self, metric: MetricId) -> impl Iterator<Item = (&TagSet, &Agg)> {
        self.per_metric
            .get(&metric)
            .into_iter()
            .flat_map(|m| m.iter())
    }

    /// The aggregate of `metric` over the tag sets matching `selector` (all, if empty).
    pub fn aggregate(
        &self,
        metric: MetricId,
        kind: MetricType,
        selector: &[(String, String)],
    ) -> Option<Agg> {
        let sets = self.per_metric.get(&metric)?;
        let mut out: Option<Agg> = None;
        for (tags, agg) in sets {
            if !tags.matches(selector) || agg.is_empty() {
                continue;
            }
            match &mut out {
                Some(o) => o.merge(agg),
                None => {
                    let mut fresh = Agg::new(kind);
                    fresh.merge(agg);
                    out = Some(fresh);
                }
            }
        }
        out
    }

    /// k6's statistics for `metric` (filtered by `selector`), rates computed over `elapsed_secs`.
    pub fn stats(
        &self,
        registry: &Registry,
        metric: MetricId,
        selector: &[(String, String)],
        trend_stats: &[String],
        elapsed_secs: f64,
    ) -> Option<MetricStats> {
        let def = registry.def(metric);
        let agg = self.aggregate(metric, def.kind, selector)?;
        Some(MetricStats {
            kind: def.kind,
            values: stats_of(&agg, trend_stats, elapsed_secs),
        })
    }
}

pub fn stats_of(agg: &Agg, trend_stats: &[String], elapsed_secs: f64) -> BTreeMap<String, f64> {
    let mut v = BTreeMap::new();
    match agg {
        Agg::Counter { sum } => {
            v.insert("count".into(), *sum);
            v.insert(
                "rate".into(),
                if elapsed_secs > 0.0 {
                    sum / elapsed_secs
                } else {
                    0.0
                },
            );
        }
        Agg::Gauge { last, min, max } => {
            v.insert("value".into(), *last);
            v.insert("min".into(), *min);
            v.insert("max".into(), *max);
        }
        Agg::Rate { trues, total } => {
            v.insert(
                "rate".into(),
                if *total == 0 {
                    0.0
                } else {
                    *trues as f64 / *total as f64
                },
            );
            v.insert("passes".into(), *trues as f64);
            v.insert("fails".into(), (*total - *trues) as f64);
        }
        Agg::Trend(t) => {
            for stat in trend_stats {
                if let Some(x) = trend_stat(t, stat) {
                    v.insert(stat.clone(), x);
                }
            }
            // Thresholds may ask for any of these, whatever the summary shows.
            for stat in ["avg", "min", "med", "max", "count"] {
                if let Some(x) = trend_stat(t, stat) {
                    v.entry(stat.into()).or_insert(x);
                }
            }
        }
    }
    v
}

/// One trend statistic by k6's name: avg, min, med, max, count, p(N).
pub fn trend_stat(t: &crate::TrendAgg, stat: &str) -> Option<f64> {
    match stat {
        "avg" => Some(t.avg()),
        "min" => Some(if t.count == 0 { 0.0 } else { t.min }),
        "max" => Some(if t.count == 0 { 0.0 } else { t.max }),
        "med" => Some(t.percentile(50.0)),
        "count" => Some(t.count as f64),
        s => {
            let inner = s.strip_prefix("p(")?.strip_suffix(')')?;
            let p: f64 = inner.trim().parse().ok()?;
            (0.0..=100.0).contains(&p).then(|| t.percentile(p))
        }
    }
}
