//! The metrics model: a registry of typed metrics (k6's built-ins and the script's own), tag sets,
//! per-worker aggregation into HDR histograms and counters, the metrics stream, the merged
//! totals, and thresholds.
//!
//! The hot path is [`WorkerMetrics::add`]: one hash lookup, no allocation, no channel message.
//! Every worker hands a [`Delta`] (its aggregates of one second of wall-clock time, aligned to
//! whole seconds) to the controller, which merges the workers' deltas of each second and hands
//! them to its [`Subscriber`]s: the [`Totals`] behind the summary and the thresholds, and the
//! outputs. Memory does not grow with the number of samples, nor with the URLs a test visits:
//! each metric keeps only the tags the summary, the thresholds and the outputs select on
//! ([`TagFilter`]). Raw samples ([`SampleGroup`]) are kept only while an output asks for them.

mod agg;
mod filter;
mod registry;
mod stream;
mod tags;
mod thresholds;
mod time;
mod totals;
mod worker;

pub use agg::{Agg, TrendAgg};
pub use filter::{Keep, TagFilter};
pub use registry::{
    builtin, MetricDef, MetricError, MetricId, MetricType, Registry, SharedRegistry, ValueType,
};
pub use stream::{Delta, DeltaEntry, DeltaMerger, SampleBatch, SampleGroup, Subscriber};
pub use tags::{TagSet, TagSetId};
pub use thresholds::{parse_selector, Threshold, ThresholdError, ThresholdOutcome, ThresholdSet};
pub use time::UnixNanos;
pub use totals::{stats_of, trend_stat, MetricStats, Totals};
pub use worker::WorkerMetrics;
