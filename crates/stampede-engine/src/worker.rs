//! A worker thread: a current-thread tokio runtime that owns its share of the VUs.

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use stampede_js::{JsError, JsErrorKind, TestContext, Vu, WorkerCtx};
use stampede_metrics::UnixNanos;
use tokio::sync::{oneshot, watch};

use crate::controller::Metrics;
use crate::executors::{self, ScenarioPlan};

/// How often a worker hands on its raw samples, when a subscriber wants them.
const SAMPLES_EVERY: Duration = Duration::from_millis(100);

pub(crate) struct Start {
    pub t0: Instant,
    pub setup_data: Option<Arc<str>>,
}

pub(crate) enum FromWorker {
    /// VUs initialized (or the first init error).
    Inited(Result<usize, JsError>),
    Metrics(Metrics),
    /// All scenarios of this worker are done; its last delta was sent before.
    Done,
}

pub(crate) struct WorkerArgs {
    pub index: usize,
    pub test: Arc<TestContext>,
    pub plans: Vec<ScenarioPlan>,
    pub to_ctrl: Sender<FromWorker>,
    pub start: oneshot::Receiver<Start>,
    pub cancel: watch::Receiver<bool>,
    pub graceful: watch::Receiver<bool>,
}

pub(crate) fn spawn(args: WorkerArgs) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("stampede-worker-{}", args.index))
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = args.to_ctrl.send(FromWorker::Inited(Err(JsError::new(
                        JsErrorKind::Runtime,
                        e.to_string(),
                    ))));
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, worker_main(args));
        })
}

async fn worker_main(args: WorkerArgs) {
    let WorkerArgs {
        index,
        test,
        plans,
        to_ctrl,
        start,
        cancel,
        graceful,
    } = args;
    let wctx = WorkerCtx::new(test.clone());
    // Init every VU of every scenario (k6 initializes all VUs before the test starts).
    let mut pools: Vec<Vec<Vu>> = Vec::with_capacity(plans.len());
    let mut count = 0;
    for plan in &plans {
        let mut vus = Vec::with_capacity(plan.vu_ids.len());
        for id in &plan.vu_ids {
            match init_vu(*id, &wctx).await {
                Ok(vu) => vus.push(vu),
                Err(e) => {
                    let _ = to_ctrl.send(FromWorker::Inited(Err(e)));
                    return;
                }
            }
            count += 1;
        }
        pools.push(vus);
    }
    wctx.started();
    let _ = to_ctrl.send(FromWorker::Inited(Ok(count)));
    let Ok(start) = start.await else { return };
    for vu in pools.iter().flatten() {
        vu.set_setup_data(start.setup_data.clone());
    }

    let flusher = tokio::task::spawn_local(flush(index, wctx.clone(), to_ctrl.clone()));

    let env = Rc::new(executors::Env {
        t0: start.t0,
        cancel,
        graceful,
        wctx: wctx.clone(),
    });
    let mut tasks = Vec::new();
    for (plan, vus) in plans.into_iter().zip(pools) {
        tasks.push(tokio::task::spawn_local(executors::run_scenario(
            env.clone(),
            plan,
            vus,
        )));
    }
    let mut leftovers = Vec::new();
    for t in tasks {
        if let Ok(vus) = t.await {
            leftovers.extend(vus);
        }
    }
    flusher.abort();
    send_samples(&wctx, &to_ctrl);
    let delta = wctx.take_delta(UnixNanos::now());
    let _ = to_ctrl.send(FromWorker::Metrics(Metrics::Delta {
        source: index,
        delta,
    }));
    let _ = to_ctrl.send(FromWorker::Done);
    for vu in leftovers {
        vu.shutdown();
    }
}

/// Hands the worker's aggregates to the controller at every whole second of the wall clock, and
/// its raw samples (if kept) every [`SAMPLES_EVERY`].
async fn flush(index: usize, wctx: Rc<WorkerCtx>, to_ctrl: Sender<FromWorker>) {
    let samples = wctx.keeps_samples();
    let mut second = UnixNanos::now().next_second();
    loop {
        let now = UnixNanos::now();
        let mut wait = now.until(second);
        if samples {
            wait = wait.min(SAMPLES_EVERY);
        }
        tokio::time::sleep(wait).await;
        if samples {
            send_samples(&wctx, &to_ctrl);
        }
        let now = UnixNanos::now();
        if now >= second {
            let delta = wctx.take_delta(second);
            let _ = to_ctrl.send(FromWorker::Metrics(Metrics::Delta {
                source: index,
                delta,
            }));
            second = now.next_second();
        }
    }
}

fn send_samples(wctx: &WorkerCtx, to_ctrl: &Sender<FromWorker>) {
    let batch = wctx.take_samples();
    if !batch.is_empty() {
        let _ = to_ctrl.send(FromWorker::Metrics(Metrics::Samples(batch)));
    }
}

pub(crate) async fn init_vu(id: u64, wctx: &Rc<WorkerCtx>) -> Result<Vu, JsError> {
    let mut vu = Vu::new(id, wctx.clone())
        .map_err(|e| JsError::new(JsErrorKind::Runtime, format!("can't allocate VU {id}: {e}")))?;
    vu.init().await?;
    wctx.test
        .vus_initialized
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(vu)
}
