//! The fan-out: one thread and one bounded queue per output, and the count of what each
//! delivered and lost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};
use stampede_core::LogLevel;
use stampede_metrics::{Delta, SampleBatch, Subscriber};

use crate::cardinality::Cardinality;
use crate::{Needs, Output, OutputError, OutputParams, OutputSpec, RunInfo};

/// Messages queued per output before the controller starts dropping: a batch of samples is
/// one worker's 100 ms, an interval one second, so this is well over a minute of backlog.
const QUEUE: usize = 2048;

/// How long the end of the run waits for each output to write or send what it holds.
const FINISH_WITHIN: Duration = Duration::from_secs(30);

/// A warning about lost data is repeated at most this often per output.
const WARN_EVERY: Duration = Duration::from_secs(5);

enum Msg {
    Interval(Arc<Delta>),
    Samples(Arc<SampleBatch>),
    Finish,
}

/// What an output delivered and lost; cheap to clone, shared between the output's threads and
/// the controller's.
#[derive(Clone)]
pub struct Report(Arc<Counts>);

struct Counts {
    name: String,
    delivered: AtomicU64,
    lost: AtomicU64,
    last_error: Mutex<Option<String>>,
    last_warning: Mutex<Option<Instant>>,
}

impl Report {
    pub(crate) fn new(name: String) -> Report {
        Report(Arc::new(Counts {
            name,
            delivered: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            last_error: Mutex::new(None),
            last_warning: Mutex::new(None),
        }))
    }

    /// `points` samples (or series values) reached their destination.
    pub fn delivered(&self, points: u64) {
        self.0.delivered.fetch_add(points, Ordering::Relaxed);
    }

    /// `points` could not be delivered, because of `why`; warns (at most every few seconds).
    pub fn lost(&self, points: u64, why: &str) {
        let c = &self.0;
        let total = c.lost.fetch_add(points, Ordering::Relaxed) + points;
        *lock(&c.last_error) = Some(why.to_string());
        let mut last = lock(&c.last_warning);
        if last.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
            *last = Some(Instant::now());
            stampede_core::log(
                LogLevel::Warning,
                &format!(
                    "output {}: {total} samples could not be delivered so far",
                    c.name
                ),
                &[("error", why)],
            );
        }
    }

    pub(crate) fn stats(&self) -> OutputStats {
        let c = &self.0;
        OutputStats {
            name: c.name.clone(),
            delivered: c.delivered.load(Ordering::Relaxed),
            lost: c.lost.load(Ordering::Relaxed),
            last_error: lock(&c.last_error).clone(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What one output delivered and lost over the run.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputStats {
    pub name: String,
    pub delivered: u64,
    pub lost: u64,
    pub last_error: Option<String>,
}

struct Running {
    tx: Sender<Msg>,
    report: Report,
    thread: Option<std::thread::JoinHandle<()>>,
    needs: Needs,
}

/// Every output of a run; a [`Subscriber`] of the engine's metrics stream.
pub struct Outputs {
    pending: Vec<(String, Box<dyn Output>)>,
    running: Vec<Running>,
    cardinality: Cardinality,
}

impl Outputs {
    /// Builds the outputs `specs` name from their configuration (`env`: the process
    /// environment; `collectors`: the config file's section of that name).
    pub fn new(
        specs: &[OutputSpec],
        env: &std::collections::BTreeMap<String, String>,
        collectors: Option<&serde_json::Value>,
    ) -> Result<Outputs, OutputError> {
        let mut pending = Vec::new();
        for spec in specs {
            let params = OutputParams {
                arg: spec.arg.clone(),
                env: env.clone(),
                config: collectors.and_then(|c| c.get(&spec.name)).cloned(),
            };
            pending.push((spec.name.clone(), spec.make(&params)?));
        }
        Ok(Outputs {
            pending,
            running: Vec::new(),
            cardinality: Cardinality::default(),
        })
    }

    /// How the banner lists them (`-` for none), as k6 does.
    pub fn description(&self) -> String {
        if self.pending.is_empty() {
            return "-".into();
        }
        self.pending
            .iter()
            .map(|(_, o)| o.description())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What the outputs need together.
    pub fn needs(&self) -> Needs {
        self.pending
            .iter()
            .fold(Needs::default(), |n, (_, o)| n.union(&o.needs()))
    }

    /// Starts every output on its own thread; returns the first that fails to start.
    pub fn start(&mut self, run: RunInfo) -> Result<(), OutputError> {
        let run = Arc::new(run);
        for (name, mut output) in self.pending.drain(..) {
            let needs = output.needs();
            let report = Report::new(name.clone());
            let (tx, rx) = bounded(QUEUE);
            let (ready_tx, ready_rx) = bounded(1);
            let thread = {
                let (report, run) = (report.clone(), run.clone());
                std::thread::Builder::new()
                    .name(format!("output-{name}"))
                    .spawn(move || {
                        let started = output.start(&run, &report);
                        let ok = started.is_ok();
                        let _ = ready_tx.send(started);
                        if ok {
                            serve(output.as_mut(), &rx, &report);
                        }
                    })
                    .map_err(|e| OutputError::Start {
                        output: name.clone(),
                        reason: format!("can't start its thread: {e}"),
                    })?
            };
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    let _ = thread.join();
                    return Err(e);
                }
                Err(_) => {
                    let _ = thread.join();
                    return Err(OutputError::Start {
                        output: name,
                        reason: "its thread stopped while starting".into(),
                    });
                }
            }
            self.running.push(Running {
                tx,
                report,
                thread: Some(thread),
                needs,
            });
        }
        Ok(())
    }

    /// What each output delivered and lost (complete once the run is over).
    pub fn stats(&self) -> Vec<OutputStats> {
        self.running.iter().map(|r| r.report.stats()).collect()
    }

    fn send(&self, r: &Running, msg: Msg, points: impl FnOnce() -> u64) {
        match r.tx.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => r.report.lost(
                points(),
                "its queue is full: it writes or sends slower than the test produces",
            ),
            Err(TrySendError::Disconnected(_)) => r.report.lost(points(), "it stopped"),
        }
    }
}

impl Subscriber for Outputs {
    fn wants_samples(&self) -> bool {
        self.running.iter().any(|r| r.needs.samples)
    }

    fn interval(&mut self, delta: &Arc<Delta>) {
        if self.running.iter().any(|r| r.needs.intervals()) {
            for e in &delta.entries {
                self.cardinality.observe(&e.tags);
            }
        }
        for r in self.running.iter().filter(|r| r.needs.intervals()) {
            self.send(r, Msg::Interval(delta.clone()), || {
                delta.entries.len() as u64
            });
        }
    }

    fn samples(&mut self, batch: &Arc<SampleBatch>) {
        for g in batch.iter() {
            self.cardinality.observe(&g.tags);
        }
        for r in self.running.iter().filter(|r| r.needs.samples) {
            self.send(r, Msg::Samples(batch.clone()), || {
                batch.iter().map(|g| g.values.len() as u64).sum()
            });
        }
    }

    fn finish(&mut self) {
        for r in &self.running {
            let _ = r.tx.send_timeout(Msg::Finish, FINISH_WITHIN);
        }
        let deadline = Instant::now() + FINISH_WITHIN;
        for r in &mut self.running {
            let Some(thread) = r.thread.take() else {
                continue;
            };
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                r.report.lost(
                    0,
                    "it did not finish writing within 30 s of the end of the test",
                );
            }
        }
    }
}

/// An output's thread: the stream as it comes, a flush every `flush_every`, a last one at the
/// end.
fn serve(output: &mut dyn Output, rx: &Receiver<Msg>, report: &Report) {
    let every = output.flush_every();
    let mut next = every.map(|e| Instant::now() + e);
    loop {
        let msg = match next {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok(Msg::Interval(d)) => output.interval(&d, report),
            Ok(Msg::Samples(b)) => output.samples(&b, report),
            Ok(Msg::Finish) | Err(RecvTimeoutError::Disconnected) => {
                output.flush(report, true);
                return;
            }
            Err(RecvTimeoutError::Timeout) => {
                output.flush(report, false);
                next = every.map(|e| Instant::now() + e);
            }
        }
    }
}
