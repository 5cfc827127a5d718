//! A worker thread: a current-thread tokio runtime that owns its share of the VUs.

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use stampede_js::{JsError, JsErrorKind, TestContext, Vu, WorkerCtx};
use stampede_metrics::Delta;
use tokio::sync::{oneshot, watch};

use crate::executors::{self, ScenarioPlan};

/// How often a worker hands its aggregates to the collector.
const FLUSH_EVERY: Duration = Duration::from_millis(1000);

pub(crate) struct Start {
    pub t0: Instant,
    pub setup_data: Option<Arc<str>>,
}

pub(crate) enum FromWorker {
    /// VUs initialized (or the first init error).
    Inited(Result<usize, JsError>),
    Delta(Delta),
    /// All scenarios of this worker are done; its last delta was sent before.
    Done,
}

pub(crate) struct WorkerArgs {
    pub test: Arc<TestContext>,
    pub plans: Vec<ScenarioPlan>,
    pub to_ctrl: Sender<FromWorker>,
    pub start: oneshot::Receiver<Start>,
    pub cancel: watch::Receiver<bool>,
    pub graceful: watch::Receiver<bool>,
}

pub(crate) fn spawn(
    index: usize,
    args: WorkerArgs,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("stampede-worker-{index}"))
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

    let flusher = {
        let wctx = wctx.clone();
        let to_ctrl = to_ctrl.clone();
        tokio::task::spawn_local(async move {
            loop {
                tokio::time::sleep(FLUSH_EVERY).await;
                let _ = to_ctrl.send(FromWorker::Delta(wctx.take_delta()));
            }
        })
    };

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
    let _ = to_ctrl.send(FromWorker::Delta(wctx.take_delta()));
    let _ = to_ctrl.send(FromWorker::Done);
    for vu in leftovers {
        vu.shutdown();
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
