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
    let workers = cfg.workers.max(1);
    let (to_ctrl, from_workers) = crossbeam_channel::unbounded();
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let (graceful_tx, graceful_rx) = watch::channel(false);
    let plan::Plan {
        per_worker,
        scenarios,
        vus_max,
    } = plan::split(&cfg.scenarios, workers);
    let mut start_txs = Vec::new();
    let mut handles = Vec::new();
    for (index, plans) in per_worker.into_iter().enumerate() {
        let (stx, srx) = oneshot::channel();
        start_txs.push(stx);
        let args = WorkerArgs {
            index,
            test: test.clone(),
            plans,
            to_ctrl: to_ctrl.clone(),
            start: srx,
            cancel: cancel_rx.clone(),
            graceful: graceful_rx.clone(),
        };
        handles.push(worker::spawn(args).map_err(EngineError::Thread)?);
    }
    drop(to_ctrl);
    let stop_workers = |start_txs: Vec<oneshot::Sender<Start>>, handles| {
        let _ = cancel_tx.send(true);
        drop(start_txs);
        join(handles);
    };

    let mut ctrl = Controller::new(
        test.clone(),
        workers,
        &cfg.thresholds,
        cfg.progress,
        scenarios,
        vus_max,
        subscribers,
    );
    // Wait for every worker's VUs.
    let mut inited = 0;
    while inited < workers {
        match from_workers.recv() {
            Ok(FromWorker::Inited(Ok(_))) => inited += 1,
            Ok(FromWorker::Inited(Err(e))) => {
                stop_workers(start_txs, handles);
                return Err(EngineError::Init(e));
            }
            Ok(FromWorker::Metrics(m)) => ctrl.handle(m),
            Ok(FromWorker::Done) | Err(_) => inited += 1,
        }
        if cfg.interrupt.load(Ordering::Relaxed) {
            stop_workers(start_txs, handles);
            return Err(EngineError::Init(JsError::new(
                stampede_js::JsErrorKind::Interrupted,
                "interrupted during init",
            )));
        }
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
        match result {
            Err(CallError::Timeout) => {
                stop_workers(start_txs, handles);
                ctrl.finish();
                return Err(EngineError::SetupTimeout(cfg.setup_timeout));
            }
            Err(CallError::Js(e)) => {
                stop_workers(start_txs, handles);
                ctrl.finish();
                return Err(EngineError::Setup(e));
            }
            Ok(data) => setup_data = data,
        }
    }

    test.mark_started();
    let t0 = Instant::now();
    ctrl.started(t0);
    let shared: Option<Arc<str>> = setup_data.as_deref().map(Arc::from);
    for tx in start_txs {
        let _ = tx.send(Start {
            t0,
            setup_data: shared.clone(),
        });
    }

    let mut done = 0;
    let mut script_abort = None;
    let mut interrupted_by_signal = false;
    let stop = || {
        let _ = graceful_tx.send(true);
        let _ = cancel_tx.send(true);
    };
    while done < workers {
        match from_workers.recv_timeout(Duration::from_millis(50)) {
            Ok(FromWorker::Metrics(m)) => ctrl.handle(m),
            Ok(FromWorker::Done) => done += 1,
            Ok(FromWorker::Inited(_)) => {}
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        if ctrl.tick().is_some() {
            stop();
        }
        if script_abort.is_none() {
            if let Some(stampede_js::StopRequest::Abort(msg)) = test.stop_requested() {
                script_abort = Some(msg);
                stop();
            }
        }
        if !interrupted_by_signal && cfg.interrupt.load(Ordering::Relaxed) {
            interrupted_by_signal = true;
            eprintln!();
            eprintln!(
                "{}",
                stampede_js::log_line(
                    stampede_js::LogLevel::Warning,
                    "Stopping the test (received an interrupt signal)...",
                    &[]
                )
            );
            stop();
        }
    }
    let elapsed = t0.elapsed();
    join(handles);
    while let Ok(msg) = from_workers.try_recv() {
        match msg {
            FromWorker::Metrics(m) => ctrl.handle(m),
            FromWorker::Done | FromWorker::Inited(_) => {}
        }
    }
    for source in 0..workers {
        ctrl.source_done(source);
    }
    ctrl.flush();
    ctrl.draw(true);

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
                eprintln!(
                    "{}",
                    stampede_js::log_line(
                        stampede_js::LogLevel::Error,
                        &format!("{}\n", e.with_stack()),
                        &[("hint", "script exception")]
                    )
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
    let threshold_abort = ctrl.decisions.threshold_abort.take();
    Ok(RunOutcome {
        totals: std::mem::take(&mut ctrl.totals),
        elapsed,
        thresholds,
        threshold_abort,
        script_abort,
        interrupted_by_signal,
        setup_data,
        vus_max,
    })
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
