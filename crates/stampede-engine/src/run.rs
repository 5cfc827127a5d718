//! The controller: spawns workers, runs setup and teardown, collects metrics, stops the test.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stampede_core::{Executor, Scenario};
use stampede_js::{IterationJob, JsError, ScenarioRef, TestContext};
use stampede_metrics::{builtin, MetricType, TagSet, ThresholdOutcome, ThresholdSet, Totals};
use thiserror::Error;
use tokio::sync::{oneshot, watch};

use crate::executors::ScenarioPlan;
use crate::main_vu::CallError;
use crate::progress::{Progress, Snapshot};
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
pub fn run(
    test: Arc<TestContext>,
    cfg: RunConfig,
    main_vu: &mut MainVu,
) -> Result<RunOutcome, EngineError> {
    let workers = cfg.workers.max(1);
    let (to_ctrl, from_workers) = crossbeam_channel::unbounded();
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let (graceful_tx, graceful_rx) = watch::channel(false);
    let mut start_txs = Vec::new();
    let mut handles = Vec::new();
    let mut next_vu_id = 1u64;
    let mut worker_plans: Vec<Vec<ScenarioPlan>> = (0..workers).map(|_| Vec::new()).collect();
    let total_max_vus: u64 = cfg.scenarios.iter().map(|s| s.executor.max_vus()).sum();
    let extra_ids = Arc::new(AtomicU64::new(total_max_vus + 1));
    let mut vus_max = 0;
    let mut srefs: Vec<Arc<ScenarioRef>> = Vec::new();
    for sc in &cfg.scenarios {
        let sref = Arc::new(ScenarioRef {
            name: sc.name.as_str().into(),
            executor: sc.executor.name(),
            exec: sc.exec.as_str().into(),
            tags: sc
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            env: sc.env.clone(),
            start_time: sc.start_time,
            length: sc.executor.max_duration(),
            iterations_started: AtomicU64::new(0),
            vus_active: AtomicI64::new(0),
        });
        srefs.push(sref.clone());
        let (initial, extra) = match &sc.executor {
            Executor::ConstantArrivalRate {
                pre_allocated_vus,
                max_vus,
                ..
            }
            | Executor::RampingArrivalRate {
                pre_allocated_vus,
                max_vus,
                ..
            } => (
                *pre_allocated_vus,
                max_vus.saturating_sub(*pre_allocated_vus),
            ),
            e => (e.max_vus(), 0),
        };
        vus_max += initial;
        let counter = Arc::new(AtomicU64::new(0));
        // An arrival-rate scenario's iterations go to the workers that hold its VUs, one
        // iteration in `used` each, so a scenario with fewer VUs than workers is not starved.
        let used = match &sc.executor {
            Executor::ConstantArrivalRate { .. } | Executor::RampingArrivalRate { .. } => {
                (initial + extra).clamp(1, workers as u64)
            }
            _ => workers as u64,
        };
        for (w, plans) in worker_plans.iter_mut().enumerate().take(used as usize) {
            let w = w as u64;
            let slots: Vec<u64> = (0..initial).filter(|s| s % used == w).collect();
            let vu_ids: Vec<u64> = slots.iter().map(|s| next_vu_id + s).collect();
            let extra_allowed = extra / used + u64::from(w < extra % used);
            plans.push(ScenarioPlan {
                scenario: sc.clone(),
                sref: sref.clone(),
                slots,
                vu_ids,
                shared_counter: counter.clone(),
                worker: w,
                workers: used,
                extra_vu_ids: extra_ids.clone(),
                extra_allowed,
            });
        }
        next_vu_id += initial;
    }
    for (i, plans) in worker_plans.into_iter().enumerate() {
        let (stx, srx) = oneshot::channel();
        start_txs.push(stx);
        let args = WorkerArgs {
            test: test.clone(),
            plans,
            to_ctrl: to_ctrl.clone(),
            start: srx,
            cancel: cancel_rx.clone(),
            graceful: graceful_rx.clone(),
        };
        handles.push(worker::spawn(i, args).map_err(EngineError::Thread)?);
    }
    drop(to_ctrl);

    let mut totals = Totals::default();
    // Wait for every worker's VUs.
    let mut inited = 0;
    while inited < workers {
        match from_workers.recv() {
            Ok(FromWorker::Inited(Ok(_))) => inited += 1,
            Ok(FromWorker::Inited(Err(e))) => {
                let _ = cancel_tx.send(true);
                drop(start_txs);
                join(handles);
                return Err(EngineError::Init(e));
            }
            Ok(FromWorker::Delta(d)) => totals.merge(d),
            Ok(FromWorker::Done) | Err(_) => inited += 1,
        }
        if cfg.interrupt.load(Ordering::Relaxed) {
            let _ = cancel_tx.send(true);
            drop(start_txs);
            join(handles);
            return Err(EngineError::Init(JsError::new(
                stampede_js::JsErrorKind::Interrupted,
                "interrupted during init",
            )));
        }
    }

    // setup()
    let setup_job = |name: &str| IterationJob {
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
    };
    let mut setup_data = None;
    if cfg.run_setup {
        match main_vu.call("setup", None, Some(setup_job("setup")), cfg.setup_timeout) {
            Err(CallError::Timeout) => {
                let _ = cancel_tx.send(true);
                drop(start_txs);
                join(handles);
                return Err(EngineError::SetupTimeout(cfg.setup_timeout));
            }
            Err(CallError::Js(e)) => {
                let _ = cancel_tx.send(true);
                drop(start_txs);
                join(handles);
                return Err(EngineError::Setup(e));
            }
            Ok(data) => setup_data = data,
        }
        totals.merge(main_vu.take_delta());
    }

    test.mark_started();
    let t0 = Instant::now();
    let shared: Option<Arc<str>> = setup_data.as_deref().map(Arc::from);
    for tx in start_txs {
        let _ = tx.send(Start {
            t0,
            setup_data: shared.clone(),
        });
    }

    let mut progress = Progress::new(cfg.progress);
    let mut done = 0;
    // k6 samples `vus` and `vus_max` once a second from the start; a run shorter than a
    // second has neither.
    let mut last_gauge = Instant::now();
    let mut last_eval = Instant::now();
    let mut threshold_abort = None;
    let mut script_abort = None;
    let mut interrupted_by_signal = false;
    let empty = TagSet::default();
    let eval_abort = cfg
        .thresholds
        .metrics
        .iter()
        .any(|m| m.thresholds.iter().any(|t| t.abort_on_fail));
    let registry = test.registry.clone();
    while done < workers {
        match from_workers.recv_timeout(Duration::from_millis(50)) {
            Ok(FromWorker::Delta(d)) => totals.merge(d),
            Ok(FromWorker::Done) => done += 1,
            Ok(FromWorker::Inited(_)) => {}
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if now - last_gauge >= Duration::from_secs(1) {
            last_gauge = now;
            totals.add(
                builtin::VUS,
                MetricType::Gauge,
                empty.clone(),
                test.vus_active.load(Ordering::Relaxed).max(0) as f64,
            );
            totals.add(
                builtin::VUS_MAX,
                MetricType::Gauge,
                empty.clone(),
                vus_max as f64,
            );
        }
        let reqs = match totals.aggregate(builtin::HTTP_REQS, MetricType::Counter, &[]) {
            Some(stampede_metrics::Agg::Counter { sum }) => sum,
            _ => 0.0,
        };
        progress.tick(
            Snapshot {
                elapsed: t0.elapsed(),
                vus: test.vus_active.load(Ordering::Relaxed),
                vus_max,
                done: test.iterations_completed.load(Ordering::Relaxed),
                interrupted: test.iterations_interrupted.load(Ordering::Relaxed),
                reqs,
                scenarios: &srefs,
            },
            false,
        );
        if eval_abort && threshold_abort.is_none() && now - last_eval >= Duration::from_secs(2) {
            last_eval = now;
            let reg = registry.snapshot();
            let outcomes = cfg
                .thresholds
                .evaluate(&totals, &reg, t0.elapsed().as_secs_f64());
            if let Some(which) = cfg.thresholds.should_abort(&outcomes, t0.elapsed()) {
                eprintln!(
                    "{}",
                    stampede_js::log_line(
                        stampede_js::LogLevel::Error,
                        &format!("thresholds on metrics '{which}' were crossed; at least one has abortOnFail enabled, stopping test prematurely"),
                        &[]
                    )
                );
                threshold_abort = Some(which);
                let _ = cancel_tx.send(true);
                let _ = graceful_tx.send(true);
            }
        }
        if script_abort.is_none() {
            if let Some(stampede_js::StopRequest::Abort(msg)) = test.stop_requested() {
                script_abort = Some(msg);
                let _ = cancel_tx.send(true);
                let _ = graceful_tx.send(true);
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
            let _ = graceful_tx.send(true);
            let _ = cancel_tx.send(true);
        }
    }
    let elapsed = t0.elapsed();
    join(handles);
    while let Ok(msg) = from_workers.try_recv() {
        if let FromWorker::Delta(d) = msg {
            totals.merge(d);
        }
    }
    progress.tick(
        Snapshot {
            elapsed,
            vus: 0,
            vus_max,
            done: test.iterations_completed.load(Ordering::Relaxed),
            interrupted: test.iterations_interrupted.load(Ordering::Relaxed),
            reqs: 0.0,
            scenarios: &srefs,
        },
        true,
    );

    // teardown(), even when thresholds failed.
    if cfg.run_teardown {
        match main_vu.call(
            "teardown",
            shared,
            Some(setup_job("teardown")),
            cfg.teardown_timeout,
        ) {
            Err(CallError::Timeout) => {
                return Err(EngineError::TeardownTimeout(cfg.teardown_timeout))
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
        totals.merge(main_vu.take_delta());
    }

    let reg = registry.snapshot();
    let thresholds = cfg
        .thresholds
        .evaluate(&totals, &reg, elapsed.as_secs_f64());
    Ok(RunOutcome {
        totals,
        elapsed,
        thresholds,
        threshold_abort,
        script_abort,
        interrupted_by_signal,
        setup_data,
        vus_max,
    })
}

fn join(handles: Vec<std::thread::JoinHandle<()>>) {
    for h in handles {
        let _ = h.join();
    }
}
