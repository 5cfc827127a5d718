//! The summary model every report renders from.

use std::collections::BTreeMap;
use std::time::Duration;

use stampede_metrics::{MetricType, ValueType};

/// One threshold expression and whether it held.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdResult {
    /// As written, e.g. `p(95)<500`.
    pub source: String,
    /// The statistic it reads (`p(95)`, `rate`, `count`, ...).
    pub stat: String,
    /// The observed value of that statistic.
    pub observed: f64,
    /// Whether it held (k6's `ok`; the legacy export stores the opposite).
    pub ok: bool,
}

/// One metric or sub-metric as the summary shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSummary {
    /// `http_req_duration` or, for a sub-metric, `http_req_duration{expected_response:true}`.
    pub name: String,
    /// Counter, gauge, rate or trend.
    pub kind: MetricType,
    /// Whether values are milliseconds, bytes or plain numbers.
    pub contains: ValueType,
    /// k6's statistic names: trends the `summaryTrendStats` (`avg`, `min`, `med`, `max`, `p(90)`,
    /// ...); counters `count`, `rate` (per second of the test run); rates `rate`, `passes`
    /// (non-zero samples, so for `http_req_failed` the failed requests), `fails`; gauges
    /// `value`, `min`, `max`.
    pub values: BTreeMap<String, f64>,
    /// The metric's thresholds, in the order the script gave them (empty when none).
    pub thresholds: Vec<ThresholdResult>,
}

/// A check's pass and fail counts.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSummary {
    /// As given to `check()`.
    pub name: String,
    /// The group path it ran in: `""` for the root, `::a::b` for nested groups.
    pub group_path: String,
    /// Times it held.
    pub passes: u64,
    /// Times it did not.
    pub fails: u64,
}

/// A group and what ran in it (k6's `root_group`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupSummary {
    /// As given to `group()`; `""` for the root group.
    pub name: String,
    /// `""` for the root group, `::a` for group `a`, `::a::b` for `b` inside `a`.
    pub path: String,
    /// Sub-groups, in first-seen order.
    pub groups: Vec<GroupSummary>,
    /// Checks in this group, in first-seen order.
    pub checks: Vec<CheckSummary>,
}

/// A `█ SCENARIO` or `GROUP` section of k6's full summary (`--summary-mode full`): the metrics
/// and checks of one scenario, or of one group (only what ran directly in it), and the groups
/// inside it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SummarySection {
    /// `SCENARIO: name` or `GROUP: name`.
    pub title: String,
    /// The base metrics with samples in it (no sub-metrics), `checks` among them if any ran.
    pub metrics: Vec<MetricSummary>,
    /// Its checks by name, in the order they were first seen.
    pub checks: Vec<CheckSummary>,
    /// The groups inside it, each with only its own samples.
    pub groups: Vec<SummarySection>,
}

/// Everything a report needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryData {
    /// All metrics with samples plus the sub-metrics thresholds or the summary name (e.g.
    /// `http_req_duration{expected_response:true}`), sorted by name. k6 lists a sub-metric
    /// that has thresholds even when no sample matched it (all its values 0).
    pub metrics: Vec<MetricSummary>,
    /// The group tree with the checks that ran in each group.
    pub root_group: GroupSummary,
    /// The `summaryTrendStats` in force.
    pub trend_stats: Vec<String>,
    /// `summaryTimeUnit`, if set (`s`, `ms`, `us`).
    pub time_unit: Option<String>,
    /// The test run duration (rates are per second of it).
    pub test_run_duration: Duration,
    /// Whether stdout is a terminal. k6 colours the summary only then (and not with
    /// `--no-color`), and its terminal writer ends every line with `ESC[0K`.
    pub is_std_out_tty: bool,
    /// Whether stderr is a terminal (`state.isStdErrTTY` in handleSummary's data).
    pub is_std_err_tty: bool,
    /// `--no-color` / `K6_NO_COLOR` (`options.noColor` in handleSummary's data).
    pub no_color: bool,
    /// Check names in the order the run first saw them, whatever group they ran in. k6's
    /// compact summary lists checks this way, one line per name (a name used in two groups is
    /// one line with the counts added up). Names missing here follow in `root_group` order
    /// (depth first); leave it empty to use that order for all.
    pub check_order: Vec<String>,
    /// `setup()`'s return value as JSON text, if any.
    pub setup_data: Option<String>,
    /// The resolved options as JSON (the `options` key of handleSummary's data). k6 v1.1.0
    /// passes exactly `summaryTrendStats`, `summaryTimeUnit` and `noColor`, which
    /// [`crate::handle_summary_data`] builds from the typed fields above; keys of this object,
    /// if it is one, are laid over them. `Value::Null` is fine.
    pub options: serde_json::Value,
    /// What outputs could not deliver, one line each (`influxdb: 174 of 174 samples ...`): an
    /// `OUTPUTS` section of its own, which k6 (which loses them in silence) does not have.
    pub undelivered: Vec<String>,
    /// `--summary-mode full`: the sections after TOTAL RESULTS (`None`: the compact summary).
    pub sections: Option<Vec<SummarySection>>,
}

/// k6's default `summaryTrendStats`.
pub const DEFAULT_TREND_STATS: [&str; 6] = ["avg", "min", "med", "max", "p(90)", "p(95)"];

impl Default for SummaryData {
    /// No metrics, no checks, k6's default trend stats, not a terminal.
    fn default() -> Self {
        SummaryData {
            metrics: Vec::new(),
            root_group: GroupSummary::default(),
            trend_stats: DEFAULT_TREND_STATS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            time_unit: None,
            test_run_duration: Duration::ZERO,
            is_std_out_tty: false,
            is_std_err_tty: false,
            no_color: false,
            check_order: Vec::new(),
            setup_data: None,
            options: serde_json::Value::Null,
            undelivered: Vec::new(),
            sections: None,
        }
    }
}

impl SummaryData {
    /// The metric or sub-metric called `name`, if it is in the summary.
    pub fn metric(&self, name: &str) -> Option<&MetricSummary> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

impl MetricSummary {
    /// The statistic `stat`, or NaN when it is missing (k6's JavaScript would see `undefined`).
    pub fn value(&self, stat: &str) -> f64 {
        self.values.get(stat).copied().unwrap_or(f64::NAN)
    }
}
