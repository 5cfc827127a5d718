//! The controller's event loop: the run's metrics stream and the decisions taken on it.
//!
//! Workers send a [`Delta`] at every whole second of the wall clock and, when some subscriber
//! wants raw samples, batches of them every 100 ms. The controller merges the workers' deltas of
//! each second into one interval and hands every interval to its subscribers in order: the
//! [`Totals`] (summary), the thresholds (`abortOnFail`), the progress line, then the outputs.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stampede_js::{LogLevel, ScenarioRef, TestContext};
use stampede_metrics::{
    builtin, Delta, DeltaMerger, Keep, MetricType, SampleBatch, SampleGroup, Subscriber, TagSet,
    ThresholdSet, Totals, UnixNanos,
};

use crate::progress::{Progress, Snapshot};

/// How long a second waits for a late worker before it is handed on without it. A late delta
/// then goes on as an interval of its own.
const LATE_AFTER: Duration = Duration::from_secs(2);

/// How often thresholds with `abortOnFail` are evaluated (k6's period).
const ABORT_EVAL_EVERY: Duration = Duration::from_secs(2);

/// A message from a worker.
pub(crate) enum Metrics {
    /// Worker `source`'s aggregates of one span of time.
    Delta { source: usize, delta: Delta },
    /// Raw samples (only while a subscriber wants them).
    Samples(SampleBatch),
}

/// Merges the sources' deltas of each second: a second is closed when every live source has
/// reported it (or [`LATE_AFTER`] has passed).
struct Seconds {
    open: BTreeMap<UnixNanos, DeltaMerger>,
    /// Per source: the latest second it reported; `None` once it is done.
    marks: Vec<Option<UnixNanos>>,
    /// The latest second handed on.
    closed: Option<UnixNanos>,
}

impl Seconds {
    fn new(sources: usize) -> Seconds {
        Seconds {
            open: BTreeMap::new(),
            marks: vec![Some(UnixNanos(i64::MIN)); sources],
            closed: None,
        }
    }

    /// The second a delta ending at `end` belongs to (deltas end on whole seconds, but for a
    /// source's first and last).
    fn second_of(end: UnixNanos) -> UnixNanos {
        end.ceil_second()
    }

    /// Adds `delta`; returns it back if its second was closed already.
    fn add(&mut self, source: usize, delta: Delta) -> Option<Delta> {
        let second = Self::second_of(delta.end);
        if let Some(Some(mark)) = self.marks.get_mut(source) {
            *mark = (*mark).max(second);
        }
        if self.closed.is_some_and(|c| second <= c) {
            return Some(delta);
        }
        self.open.entry(second).or_default().add(delta);
        None
    }

    fn add_value(
        &mut self,
        at: UnixNanos,
        metric: stampede_metrics::MetricId,
        tags: TagSet,
        value: f64,
    ) {
        let second = Self::second_of(at);
        let second = match self.closed {
            Some(c) if second <= c => c.next_second(),
            _ => second,
        };
        self.open
            .entry(second)
            .or_default()
            .add_value(metric, MetricType::Gauge, tags, at, value);
    }

    fn done(&mut self, source: usize) {
        if let Some(m) = self.marks.get_mut(source) {
            *m = None;
        }
    }

    /// The seconds every live source has reported, or that waited too long, in order.
    fn ready(&mut self, now: UnixNanos) -> Vec<Delta> {
        let low = self.marks.iter().flatten().min().copied();
        let mut out = Vec::new();
        while let Some(entry) = self.open.first_entry() {
            let second = *entry.key();
            let complete = low.is_none_or(|l| second <= l);
            let late = second.plus(LATE_AFTER) <= now;
            if !(complete || late) {
                break;
            }
            self.closed = Some(second);
            if let Some(d) = entry.remove().finish() {
                out.push(d);
            }
        }
        out
    }

    /// Everything still open, in order.
    fn drain(&mut self) -> Vec<Delta> {
        let open = std::mem::take(&mut self.open);
        if let Some((last, _)) = open.last_key_value() {
            self.closed = Some(*last);
        }
        open.into_values().filter_map(DeltaMerger::finish).collect()
    }
}

/// What the controller decided while the test ran.
#[derive(Default)]
pub(crate) struct Decisions {
    /// The `abortOnFail` threshold that stopped the test.
    pub threshold_abort: Option<String>,
}

/// The run's metrics stream and its in-process subscribers.
pub(crate) struct Controller<'a, 's> {
    test: Arc<TestContext>,
    pub totals: Totals,
    seconds: Seconds,
    thresholds: &'a ThresholdSet,
    eval_abort: bool,
    last_eval: Instant,
    progress: Progress,
    scenarios: Vec<(Arc<ScenarioRef>, stampede_core::Scenario)>,
    vus_max: u64,
    /// k6 samples `vus` and `vus_max` once a second from the start of the test.
    next_gauge: Option<Instant>,
    t0: Option<Instant>,
    subscribers: &'a mut [&'s mut dyn Subscriber],
    pub decisions: Decisions,
}

impl<'a, 's> Controller<'a, 's> {
    /// `sources`: the number of workers.
    pub(crate) fn new(
        test: Arc<TestContext>,
        sources: usize,
        thresholds: &'a ThresholdSet,
        progress: bool,
        scenarios: Vec<(Arc<ScenarioRef>, stampede_core::Scenario)>,
        vus_max: u64,
        subscribers: &'a mut [&'s mut dyn Subscriber],
    ) -> Controller<'a, 's> {
        let eval_abort = thresholds
            .metrics
            .iter()
            .any(|m| m.thresholds.iter().any(|t| t.abort_on_fail));
        Controller {
            test,
            totals: Totals::default(),
            seconds: Seconds::new(sources),
            thresholds,
            eval_abort,
            last_eval: Instant::now(),
            progress: Progress::new(progress),
            scenarios,
            vus_max,
            next_gauge: None,
            t0: None,
            subscribers,
            decisions: Decisions::default(),
        }
    }

    /// Whether some subscriber wants raw samples (workers keep them only then).
    pub(crate) fn wants_samples(subscribers: &[&mut dyn Subscriber]) -> bool {
        subscribers.iter().any(|s| s.wants_samples())
    }

    /// The test run starts now.
    pub(crate) fn started(&mut self, t0: Instant) {
        self.t0 = Some(t0);
        self.next_gauge = Some(t0 + Duration::from_secs(1));
        self.last_eval = t0;
    }

    pub(crate) fn handle(&mut self, msg: Metrics) {
        match msg {
            Metrics::Delta { source, delta } => {
                if let Some(late) = self.seconds.add(source, delta) {
                    self.publish(late);
                }
            }
            Metrics::Samples(batch) => self.publish_samples(batch),
        }
    }

    /// What the main VU measured in `setup()` or `teardown()`: an interval of its own.
    pub(crate) fn lifecycle(&mut self, delta: Delta, samples: SampleBatch) {
        self.publish_samples(samples);
        if !delta.entries.is_empty() {
            self.publish(delta);
        }
    }

    /// A source sends nothing more.
    pub(crate) fn source_done(&mut self, source: usize) {
        self.seconds.done(source);
    }

    /// Time passes: samples the VU gauges, hands on the closed seconds, redraws the progress
    /// line. Returns the `abortOnFail` threshold that was crossed, if one was just now.
    pub(crate) fn tick(&mut self) -> Option<String> {
        let now = Instant::now();
        if let Some(at) = self.next_gauge.filter(|at| now >= *at) {
            self.next_gauge = Some(at + Duration::from_secs(1));
            self.sample_vus();
        }
        for d in self.seconds.ready(UnixNanos::now()) {
            self.publish(d);
        }
        self.draw(false);
        self.check_abort(now)
    }

    fn sample_vus(&mut self) {
        let at = UnixNanos::now();
        let vus = self.test.vus_active.load(Ordering::Relaxed).max(0) as f64;
        let vus_max = self.vus_max as f64;
        let tags = run_tags(&self.test);
        for (metric, value) in [(builtin::VUS, vus), (builtin::VUS_MAX, vus_max)] {
            let kept = kept(&self.test, metric, &tags);
            self.seconds.add_value(at, metric, kept, value);
        }
        if Self::wants_samples(self.subscribers) {
            let group = |metric, value| SampleGroup {
                time: at,
                tags: tags.clone(),
                metadata: None,
                values: [(metric, value)].into_iter().collect(),
            };
            self.publish_samples(vec![
                group(builtin::VUS, vus),
                group(builtin::VUS_MAX, vus_max),
            ]);
        }
    }

    fn check_abort(&mut self, now: Instant) -> Option<String> {
        if !self.eval_abort
            || self.decisions.threshold_abort.is_some()
            || now - self.last_eval < ABORT_EVAL_EVERY
        {
            return None;
        }
        self.last_eval = now;
        let elapsed = self.t0.map(|t| t.elapsed()).unwrap_or_default();
        let reg = self.test.registry.snapshot();
        let outcomes = self
            .thresholds
            .evaluate(&self.totals, &reg, elapsed.as_secs_f64());
        let which = self.thresholds.should_abort(&outcomes, elapsed)?;
        stampede_js::log(
            LogLevel::Error,
            &format!("thresholds on metrics '{which}' were crossed; at least one has abortOnFail enabled, stopping test prematurely"),
            &[],
        );
        self.decisions.threshold_abort = Some(which.clone());
        Some(which)
    }

    fn publish(&mut self, delta: Delta) {
        self.totals.merge(&delta);
        let delta = Arc::new(delta);
        for s in self.subscribers.iter_mut() {
            s.interval(&delta);
        }
    }

    fn publish_samples(&mut self, batch: SampleBatch) {
        if batch.is_empty() {
            return;
        }
        let batch = Arc::new(batch);
        for s in self.subscribers.iter_mut().filter(|s| s.wants_samples()) {
            s.samples(&batch);
        }
    }

    /// Redraws the progress block (`last`: the final one, VUs gone).
    pub(crate) fn draw(&mut self, last: bool) {
        if !self.progress.due(last) {
            return;
        }
        let test = &self.test;
        let elapsed = self.t0.map(|t| t.elapsed()).unwrap_or_default();
        self.progress.tick(
            Snapshot {
                elapsed,
                vus: if last {
                    0
                } else {
                    test.vus_active.load(Ordering::Relaxed)
                },
                vus_max: self.vus_max,
                done: test.iterations_completed.load(Ordering::Relaxed),
                interrupted: test.iterations_interrupted.load(Ordering::Relaxed),
                scenarios: &self.scenarios,
            },
            last,
        );
    }

    /// Every source is done: hands on whatever is still open, in order.
    pub(crate) fn flush(&mut self) {
        for d in self.seconds.drain() {
            self.publish(d);
        }
    }

    /// The run is over: subscribers flush.
    pub(crate) fn finish(&mut self) {
        self.flush();
        for s in self.subscribers.iter_mut() {
            s.finish();
        }
    }
}

/// What `metric`'s aggregates keep of `tags` (as workers filter theirs, see `TagFilter`).
fn kept(test: &TestContext, metric: stampede_metrics::MetricId, tags: &TagSet) -> TagSet {
    match test.settings.kept_tags.kept(metric) {
        Keep::All => tags.clone(),
        Keep::Keys(keys) => {
            TagSet::from_pairs(tags.iter().filter(|(k, _)| keys.iter().any(|key| key == k)))
        }
    }
}

/// The tags of samples that belong to no scenario (`vus`, `vus_max`): the test's own.
fn run_tags(test: &TestContext) -> TagSet {
    TagSet::from_pairs(
        test.settings
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::DeltaEntry;

    const S: i64 = 1_000_000_000;

    fn delta(start: i64, end: i64, n: f64) -> Delta {
        Delta {
            start: UnixNanos(start),
            end: UnixNanos(end),
            entries: vec![DeltaEntry {
                metric: builtin::ITERATIONS,
                tags: TagSet::default(),
                agg: stampede_metrics::Agg::Counter { sum: n },
            }],
        }
    }

    fn count(d: &Delta) -> f64 {
        d.entries
            .iter()
            .map(|e| match e.agg {
                stampede_metrics::Agg::Counter { sum } => sum,
                _ => 0.0,
            })
            .sum()
    }

    #[test]
    fn a_second_closes_when_every_live_source_reported_it() {
        let mut s = Seconds::new(2);
        let now = UnixNanos(10 * S);
        assert!(s.add(0, delta(9 * S + 300, 10 * S, 1.0)).is_none());
        assert!(
            s.ready(now).is_empty(),
            "source 1 has not reported second 10"
        );
        assert!(s.add(1, delta(9 * S + 200, 10 * S, 2.0)).is_none());
        let out = s.ready(now);
        assert_eq!(out.len(), 1);
        assert_eq!(count(&out[0]), 3.0);
        assert_eq!(out[0].start, UnixNanos(9 * S + 200));
        assert_eq!(out[0].end, UnixNanos(10 * S));

        // Source 1 finishes mid-second: its last delta belongs to second 11.
        assert!(s.add(1, delta(10 * S, 10 * S + 400, 4.0)).is_none());
        s.done(1);
        assert!(
            s.ready(now).is_empty(),
            "source 0 has not reported second 11"
        );
        assert!(s.add(0, delta(10 * S, 11 * S, 8.0)).is_none());
        let out = s.ready(now);
        assert_eq!(out.len(), 1);
        assert_eq!(count(&out[0]), 12.0);

        // A delta for a closed second comes back to be handed on alone.
        let late = s.add(0, delta(10 * S, 11 * S, 1.0));
        assert!(late.is_some());
    }

    #[test]
    fn a_silent_source_delays_a_second_only_so_long() {
        let mut s = Seconds::new(2);
        s.add(0, delta(4 * S, 5 * S, 1.0));
        assert!(s.ready(UnixNanos(5 * S + 100)).is_empty());
        let out = s.ready(UnixNanos(5 * S).plus(LATE_AFTER));
        assert_eq!(out.len(), 1);
        // A value sampled for the closed second goes to the next one.
        s.add_value(UnixNanos(4 * S + 500), builtin::VUS, TagSet::default(), 3.0);
        s.add(0, delta(5 * S, 6 * S, 1.0));
        s.add(1, delta(5 * S, 6 * S, 1.0));
        let out = s.ready(UnixNanos(6 * S));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].entries.len(), 2);
        assert!(s.drain().is_empty());
    }
}
