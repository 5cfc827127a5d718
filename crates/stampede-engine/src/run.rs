//! A run from start to end: spawns the workers, runs setup and teardown, drives the controller,
//! stops the test.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stampede_core::Scenario;
use stampede_js::{IterationJob, JsError, ScenarioRef, TestContext};
use stampede_metrics::{Subscriber, ThresholdOutcome, ThresholdSet, Totals};
use thiserror::Error;
use tokio::sync::{oneshot, watch};

use crate::controller::Controller;
use crate::main_vu::CallError;
use crate::plan;
use crate::worker::{self, FromWorker, Start, WorkerArgs};
use crate::MainVu;

/// What stops a run before it starts or while it runs, with k6's exit code.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("{0}")]
    Init(JsError),
    #[error("{0}")]
    Setup(JsError),
    #[error("setup() execution timed out after {0:?}")]
    SetupTimeout(Duration),
    #[error("teardown() execution timed out after {0:?}")]
    TeardownTimeout(Duration),
    #[error("can't start worker thread: {0}")]
    Thread(std::io::Error),
}

impl EngineError {
    /// k6's exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            EngineError::Init(_) | EngineError::Setup(_) => 107,
            EngineError::SetupTimeout(_) => 100,
            EngineError::TeardownTimeout(_) => 101,
            EngineError::Thread(_) => 255,
        }
    }
}

/// What to run.
pub struct RunConfig {
    pub scenarios: Vec<Scenario>,
    pub workers: usize,
    pub setup_timeout: Duration,
    pub teardown_timeout: Duration,
    pub run_setup: bool,
    pub run_teardown: bool,
    pub thresholds: ThresholdSet,
    pub progress: bool,
    /// Set by the Ctrl-C / SIGTERM handler.
    pub interrupt: Arc<AtomicBool>,
}

/// What happened.
pub struct RunOutcome {
    pub totals: Totals,
    /// Test run duration (from the start of the executors to their end).
    pub elapsed: Duration,
    pub thresholds: Vec<ThresholdOutcome>,
    /// The `abortOnFail` threshold that stopped the test.
    pub threshold_abort: Option<String>,
    /// `exec.test.abort()` message.
    pub script_abort: Option<String>,
    pub interrupted_by_signal: bool,
    pub setup_data: Option<String>,
    pub vus_max: u64,
}

/// Runs the test. `main_vu` has run the init context already; it runs setup and teardown.
/// `subscribers` receive the run's metrics stream (see [`stampede_metrics::Subscriber`]).
pub fn run(
    test: Arc<TestContext>,
    cfg: RunConfig,
    main_vu: &mut MainVu,
    subscribers: &mut [&mut dyn Subscriber],
) -> Result<RunOutcome, EngineError> {
    let plan = plan::split(&cfg.scenarios, cfg.workers.max(1));
    let vus_max = plan.vus_max;
    let scenarios = plan
        .scenarios
        .iter()
        .cloned()
        .zip(cfg.scenarios.iter().cloned())
        .collect();
    let mut workers = Workers::spawn(&test, plan)?;
    let mut ctrl = Controller::new(
        test.clone(),
        workers.count,
        &cfg.thresholds,
        cfg.progress,
        scenarios,
        vus_max,
        subscribers,
    );
    if let Err(e) = workers.wait_inited(&mut ctrl, &cfg.interrupt) {
        workers.cancel();
        return Err(e);
    }

    let mut setup_data = None;
    if cfg.run_setup {
        let result = main_vu.call(
            "setup",
            None,
            Some(lifecycle_job("setup")),
            cfg.setup_timeout,
        );
        ctrl.lifecycle(main_vu.take_delta(), main_vu.take_samples());
        let failed = match result {
            Ok(data) => {
                setup_data = data;
                None
            }
            Err(CallError::Timeout) => Some(EngineError::SetupTimeout(cfg.setup_timeout)),
            Err(CallError::Js(e)) => Some(EngineError::Setup(e)),
        };
        if let Some(e) = failed {
            workers.cancel();
            ctrl.finish();
            return Err(e);
        }
    }

    test.mark_started();
    let t0 = Instant::now();
    ctrl.started(t0);
    let shared: Option<Arc<str>> = setup_data.as_deref().map(Arc::from);
    workers.start(t0, shared.clone());
    let stops = workers.drive(&mut ctrl, &test, &cfg.interrupt);
    let elapsed = t0.elapsed();
    workers.finish(&mut ctrl);

    // teardown(), even when thresholds failed.
    if cfg.run_teardown {
        let result = main_vu.call(
            "teardown",
            shared,
            Some(lifecycle_job("teardown")),
            cfg.teardown_timeout,
        );
        ctrl.lifecycle(main_vu.take_delta(), main_vu.take_samples());
        match result {
            Err(CallError::Timeout) => {
                ctrl.finish();
                return Err(EngineError::TeardownTimeout(cfg.teardown_timeout));
            }
            Err(CallError::Js(e)) => {
                stampede_js::log(
                    stampede_js::LogLevel::Error,
                    &format!("{}\n", e.with_stack()),
                    &[("hint", "script exception")],
                );
            }
            Ok(_) => {}
        }
    }
    ctrl.finish();

    let reg = test.registry.snapshot();
    let thresholds = cfg
        .thresholds
        .evaluate(&ctrl.totals, &reg, elapsed.as_secs_f64());
    Ok(RunOutcome {
        totals: std::mem::take(&mut ctrl.totals),
        elapsed,
        thresholds,
        threshold_abort: ctrl.decisions.threshold_abort.take(),
        script_abort: stops.script_abort,
        interrupted_by_signal: stops.signal,
        setup_data,
        vus_max,
    })
}

/// Why the workers were told to stop before their scenarios ended.
#[derive(Default)]
struct Stops {
    /// `exec.test.abort()`'s message.
    script_abort: Option<String>,
    /// Ctrl-C or SIGTERM.
    signal: bool,
}

/// The worker threads and the controls the controller has over them.
struct Workers {
    count: usize,
    from: crossbeam_channel::Receiver<FromWorker>,
    start: Vec<oneshot::Sender<Start>>,
    handles: Vec<std::thread::JoinHandle<()>>,
    cancel: watch::Sender<bool>,
    graceful: watch::Sender<bool>,
}

impl Workers {
    /// Starts a thread per worker; their VUs begin their init context at once.
    fn spawn(test: &Arc<TestContext>, plan: plan::Plan) -> Result<Workers, EngineError> {
        let (to_ctrl, from) = crossbeam_channel::unbounded();
        let (cancel, cancel_rx) = watch::channel(false);
        let (graceful, graceful_rx) = watch::channel(false);
        let mut workers = Workers {
            count: plan.per_worker.len(),
            from,
            start: Vec::new(),
            handles: Vec::new(),
            cancel,
            graceful,
        };
        for (index, plans) in plan.per_worker.into_iter().enumerate() {
            let (stx, srx) = oneshot::channel();
            workers.start.push(stx);
            let args = WorkerArgs {
                index,
                test: test.clone(),
                plans,
                to_ctrl: to_ctrl.clone(),
                start: srx,
                cancel: cancel_rx.clone(),
                graceful: graceful_rx.clone(),
            };
            match worker::spawn(args) {
                Ok(h) => workers.handles.push(h),
                Err(e) => {
                    workers.cancel();
                    return Err(EngineError::Thread(e));
                }
            }
        }
        Ok(workers)
    }

    /// Waits for every worker's VUs to be initialized.
    fn wait_inited(
        &self,
        ctrl: &mut Controller<'_, '_>,
        interrupt: &AtomicBool,
    ) -> Result<(), EngineError> {
        let mut inited = 0;
        while inited < self.count {
            match self.from.recv() {
                Ok(FromWorker::Inited(Ok(_))) => inited += 1,
                Ok(FromWorker::Inited(Err(e))) => return Err(EngineError::Init(e)),
                Ok(FromWorker::Metrics(m)) => ctrl.handle(m),
                Ok(FromWorker::Done) | Err(_) => inited += 1,
            }
            if interrupt.load(Ordering::Relaxed) {
                return Err(EngineError::Init(JsError::new(
                    stampede_js::JsErrorKind::Interrupted,
                    "interrupted during init",
                )));
            }
        }
        Ok(())
    }

    /// Stops the workers before the test started, and waits for them.
    fn cancel(&mut self) {
        let _ = self.cancel.send(true);
        self.start.clear();
        join(std::mem::take(&mut self.handles));
    }

    /// The test starts: every worker's scenarios begin at `t0`.
    fn start(&mut self, t0: Instant, setup_data: Option<Arc<str>>) {
        for tx in self.start.drain(..) {
            let _ = tx.send(Start {
                t0,
                setup_data: setup_data.clone(),
            });
        }
    }

    /// Runs the controller's loop until every worker is done, stopping them early on an
    /// `abortOnFail` threshold, `exec.test.abort()` or a signal.
    fn drive(
        &self,
        ctrl: &mut Controller<'_, '_>,
        test: &TestContext,
        interrupt: &AtomicBool,
    ) -> Stops {
        let mut stops = Stops::default();
        let stop = || {
            let _ = self.graceful.send(true);
            let _ = self.cancel.send(true);
        };
        let mut done = 0;
        while done < self.count {
            match self.from.recv_timeout(Duration::from_millis(50)) {
                Ok(FromWorker::Metrics(m)) => ctrl.handle(m),
                Ok(FromWorker::Done) => done += 1,
                Ok(FromWorker::Inited(_)) => {}
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            }
            if ctrl.tick().is_some() {
                stop();
            }
            if stops.script_abort.is_none() {
                if let Some(stampede_js::StopRequest::Abort(msg)) = test.stop_requested() {
                    stops.script_abort = Some(msg);
                    stop();
                }
            }
            if !stops.signal && interrupt.load(Ordering::Relaxed) {
                stops.signal = true;
                eprintln!();
                stampede_js::log(
                    stampede_js::LogLevel::Warning,
                    "Stopping the test (received an interrupt signal)...",
                    &[],
                );
                stop();
            }
        }
        stops
    }

    /// Waits for the threads, hands on what they sent last, closes every second.
    fn finish(&mut self, ctrl: &mut Controller<'_, '_>) {
        join(std::mem::take(&mut self.handles));
        while let Ok(msg) = self.from.try_recv() {
            if let FromWorker::Metrics(m) = msg {
                ctrl.handle(m);
            }
        }
        for source in 0..self.count {
            ctrl.source_done(source);
        }
        ctrl.flush();
        ctrl.draw(true);
    }
}

/// The job `setup()` and `teardown()` run as: a scenario of their own name.
fn lifecycle_job(name: &str) -> IterationJob {
    IterationJob {
        scenario: Arc::new(ScenarioRef {
            name: name.into(),
            executor: "",
            exec: name.into(),
            tags: Vec::new(),
            env: Default::default(),
            start_time: Duration::ZERO,
            length: Duration::ZERO,
            iterations_started: AtomicU64::new(0),
            vus_active: AtomicI64::new(0),
        }),
        iteration_in_scenario: 0,
        hard_deadline: None,
        cancel: None,
    }
}

fn join(handles: Vec<std::thread::JoinHandle<()>>) {
    for h in handles {
        let _ = h.join();
    }
}
