//! The metrics model: a registry of typed metrics (k6's built-ins and the script's own), tag sets,
//! per-worker aggregation into HDR histograms and counters, the merged totals, and thresholds.
//!
//! The hot path is [`WorkerMetrics::add`]: one hash lookup, no allocation, no channel message.
//! Every worker hands its [`Delta`] to the collector about once a second; the collector merges
//! deltas into [`Totals`], from which the summary and the thresholds are computed. Memory does not
//! grow with the number of samples, nor with the URLs a test visits: each metric keeps only the
//! tags the summary and the thresholds select on ([`TagFilter`]).

mod agg;
mod filter;
mod registry;
mod tags;
mod thresholds;
mod totals;
mod worker;

pub use agg::{Agg, TrendAgg};
pub use filter::TagFilter;
pub use registry::{
    builtin, MetricDef, MetricError, MetricId, MetricType, Registry, SharedRegistry, ValueType,
};
pub use tags::{TagSet, TagSetId};
pub use thresholds::{Threshold, ThresholdError, ThresholdOutcome, ThresholdSet};
pub use totals::{stats_of, trend_stat, MetricStats, Totals};
pub use worker::{Delta, WorkerMetrics};
