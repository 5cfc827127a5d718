//! k6's outputs: where a run's metrics go besides the end-of-test summary.
//!
//! Each output is one folder (`json/`, `csv/`, `influxdb/`, `prometheus/`, `opentelemetry/`)
//! holding its configuration (k6's `-o name=arg`, `K6_*` variables and the config file's
//! `collectors` section), its encoder and its tests. Every output implements [`Output`] and runs
//! on a thread of its own; [`Outputs`] starts them, hands each the run's metrics stream through a
//! bounded queue (it is a [`stampede_metrics::Subscriber`] of the engine's controller), and counts
//! what could not be delivered: a slow or dead sink never slows the VUs.
//!
//! Where to start: [`OutputSpec::parse`] reads `-o` values, [`Outputs::new`] builds the outputs
//! (refusing bad configuration with k6's messages), [`Outputs::start`] opens files and
//! connections before the test starts.

mod cardinality;
mod csv;
mod dashboard;
mod format;
mod http;
mod influxdb;
pub mod json;
mod manager;
mod opentelemetry;
mod prometheus;
pub mod result;
mod sink;
mod spec;
#[cfg(test)]
mod testing;

use std::collections::BTreeMap;
use std::time::Duration;

use stampede_core::SystemTagSet;
use stampede_metrics::{Delta, Registry, SampleBatch, SharedRegistry};

pub use manager::{OutputStats, Outputs, Report};
pub use spec::{OutputSpec, OUTPUT_NAMES};

/// An output could not be created or started. k6 exits with 255 for these.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("invalid output type '{name}', available types are: {available}")]
    Unknown { name: String, available: String },
    #[error("could not create the '{output}' output: {reason}")]
    Config { output: String, reason: String },
    #[error("output '{output}' is not supported by stampede yet: {hint}")]
    Unsupported { output: String, hint: &'static str },
    #[error("{output}: {reason}")]
    Start { output: String, reason: String },
}

impl OutputError {
    pub(crate) fn config(output: &str, reason: impl std::fmt::Display) -> OutputError {
        OutputError::Config {
            output: output.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// What an output is made from: its `-o name=arg` argument, the process environment (its
/// `K6_*` variables) and the config file's `collectors.<name>` section.
#[derive(Debug, Clone, Default)]
pub struct OutputParams {
    pub arg: Option<String>,
    pub env: BTreeMap<String, String>,
    pub config: Option<serde_json::Value>,
}

impl OutputParams {
    pub(crate) fn env(&self, key: &str) -> Option<&str> {
        self.env.get(key).map(String::as_str)
    }

    /// A key of the config file's section for this output.
    pub(crate) fn config_value(&self, key: &str) -> Option<&serde_json::Value> {
        self.config.as_ref()?.get(key).filter(|v| !v.is_null())
    }
}

/// What an output needs from the metrics stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Every raw sample (json, csv, influxdb write each one, as k6 does).
    pub samples: bool,
    /// Aggregates per full tag set (one series per tag set, as k6's Prometheus and
    /// OpenTelemetry outputs send them).
    pub all_tags: bool,
    /// The intervals, with these tags kept on every metric (besides what the summary and the
    /// thresholds keep).
    pub tags: Vec<&'static str>,
}

impl Needs {
    /// Whether the output reads the intervals.
    pub fn intervals(&self) -> bool {
        self.all_tags || !self.tags.is_empty()
    }

    /// What `self` and `other` need together.
    pub fn union(mut self, other: &Needs) -> Needs {
        self.samples |= other.samples;
        self.all_tags |= other.all_tags;
        for t in &other.tags {
            if !self.tags.contains(t) {
                self.tags.push(t);
            }
        }
        self
    }
}

/// What every output may need to know about the run.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub registry: SharedRegistry,
    /// The script, options and scenarios, as reports show them.
    pub meta: stampede_report::RunMeta,
    /// The thresholds, for outputs that judge them as the run goes (the dashboard).
    pub thresholds: stampede_metrics::ThresholdSet,
    /// Per metric name: its thresholds as the options wrote them, and its sub-metrics (a
    /// threshold's selector, or the summary's own) as `(name, suffix, tags)`.
    pub metrics: BTreeMap<String, MetricInfo>,
    /// The system tags samples carry (CSV has a column for each).
    pub system_tags: SystemTagSet,
}

/// Thresholds and sub-metrics of one metric, as k6's JSON output lists them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricInfo {
    pub thresholds: Vec<serde_json::Value>,
    pub submetrics: Vec<SubMetric>,
}

/// A threshold's selector (or the summary's own `{expected_response:true}`) on a metric.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubMetric {
    /// `http_req_duration{status:200}`
    pub name: String,
    /// `status:200`
    pub suffix: String,
    pub tags: Vec<(String, String)>,
}

/// Metric names for an output's thread: a snapshot of the registry, renewed when a metric it
/// has not seen turns up (scripts define metrics in the init context, so that is rare).
pub(crate) struct Names {
    shared: SharedRegistry,
    snapshot: Registry,
}

impl Names {
    pub(crate) fn new(shared: &SharedRegistry) -> Names {
        Names {
            shared: shared.clone(),
            snapshot: shared.snapshot(),
        }
    }

    pub(crate) fn def(&mut self, id: stampede_metrics::MetricId) -> &stampede_metrics::MetricDef {
        if id.0 as usize >= self.snapshot.len() {
            self.snapshot = self.shared.snapshot();
        }
        if id.0 as usize >= self.snapshot.len() {
            // Not registered: cannot happen for ids the registry handed out.
            return self.snapshot.def(stampede_metrics::builtin::ITERATIONS);
        }
        self.snapshot.def(id)
    }
}

/// One output. Runs on a thread of its own: [`Output::start`] first, then the stream's
/// intervals and samples as they come, [`Output::flush`] every [`Output::flush_every`] and once
/// more at the end.
pub trait Output: Send {
    /// How the banner shows it, as k6 does: `json (results.json)`.
    fn description(&self) -> String;
    fn needs(&self) -> Needs;
    /// How often [`Output::flush`] is called while the test runs (`None`: only at the end).
    fn flush_every(&self) -> Option<Duration>;
    /// Opens files and connections; an error stops the run before it starts. `report` is the
    /// one every later call gets (threads of the output's own count into clones of it).
    fn start(&mut self, run: &RunInfo, report: &Report) -> Result<(), OutputError>;
    /// One second of every source's aggregates (only with [`Needs::all_tags`] are they per
    /// full tag set).
    fn interval(&mut self, _delta: &Delta, _report: &Report) {}
    /// Raw samples (only with [`Needs::samples`]).
    fn samples(&mut self, _batch: &SampleBatch, _report: &Report) {}
    /// Writes or sends what was buffered; `last` at the end of the run.
    fn flush(&mut self, report: &Report, last: bool);
}
