//! The executors, per worker: which VU runs which iteration when.
//!
//! Looping executors (`constant-vus`, `shared-iterations`, `per-vu-iterations`, `ramping-vus`,
//! `externally-controlled`) run one loop per VU slot. Arrival-rate executors start iterations on
//! a precomputed schedule (this worker's share: every `workers`-th iteration), take a free VU for
//! each, and count `dropped_iterations` when none is free and no more may be created.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stampede_core::{Executor, Scenario};
use stampede_js::{IterationJob, LogLevel, ScenarioRef, Vu, WorkerCtx};
use stampede_metrics::{builtin, MetricType};
use tokio::sync::watch;

use crate::omission::OmissionModel;
use crate::schedule::{arrival_times, ramp_windows};

/// This worker's share of one scenario.
pub(crate) struct ScenarioPlan {
    pub scenario: Scenario,
    pub sref: Arc<ScenarioRef>,
    /// (slot index within the scenario, VU id) of the VUs initialized up front.
    pub slots: Vec<u64>,
    pub vu_ids: Vec<u64>,
    /// For shared-iterations: the counter all workers draw from.
    pub shared_counter: Arc<AtomicU64>,
    /// Arrival-rate: this worker's index and the number of workers (iteration stride).
    pub worker: u64,
    pub workers: u64,
    /// Arrival-rate: how many more VUs this worker may create mid-test, and their ids.
    pub extra_vu_ids: Arc<AtomicU64>,
    pub extra_allowed: u64,
}

pub(crate) struct Env {
    pub t0: Instant,
    pub cancel: watch::Receiver<bool>,
    pub graceful: watch::Receiver<bool>,
    pub wctx: Rc<WorkerCtx>,
}

impl Env {
    fn stopping(&self) -> bool {
        *self.graceful.borrow() || *self.cancel.borrow()
    }

    /// Sleeps until `at`, returning early (false) if the test is stopping.
    async fn sleep_until(&self, at: Instant) -> bool {
        let mut g = self.graceful.clone();
        tokio::select! {
            _ = tokio::time::sleep_until(at.into()) => !self.stopping(),
            _ = g.wait_for(|v| *v) => false,
        }
    }
}

fn log_iteration_error(sc: &ScenarioRef, e: &stampede_js::JsError) {
    stampede_js::log(
        LogLevel::Error,
        &format!("{}\n", e.with_stack()),
        &[
            ("executor", sc.executor),
            ("scenario", &sc.name),
            ("source", "stacktrace"),
        ],
    );
}

async fn iterate(
    env: &Env,
    vu: &mut Vu,
    sref: &Arc<ScenarioRef>,
    hard: Instant,
) -> stampede_js::IterationOutcome {
    let n = sref.iterations_started.fetch_add(1, Ordering::Relaxed);
    let job = IterationJob {
        scenario: sref.clone(),
        iteration_in_scenario: n,
        hard_deadline: Some(hard),
        cancel: Some(env.cancel.clone()),
    };
    let out = vu.iterate(job).await;
    if let Some(e) = &out.error {
        log_iteration_error(sref, e);
    }
    // An iteration that never waited for I/O (pure computation) must not keep the worker's
    // other VUs from running: their turn comes after each iteration.
    tokio::task::yield_now().await;
    out
}

/// Runs this worker's share of a scenario; returns the VUs for shutdown.
pub(crate) async fn run_scenario(env: Rc<Env>, plan: ScenarioPlan, vus: Vec<Vu>) -> Vec<Vu> {
    let start = env.t0 + plan.scenario.start_time;
    if !env.sleep_until(start).await {
        return vus;
    }
    let gs = plan.scenario.graceful_stop;
    match plan.scenario.executor.clone() {
        Executor::ConstantArrivalRate {
            rate,
            time_unit,
            duration,
            ..
        } => {
            let per_sec = rate as f64 / time_unit.as_secs_f64();
            let times = arrival_times(per_sec, &[(duration, per_sec)], plan.worker, plan.workers);
            run_arrival(env, plan, vus, start, times, start + duration, gs).await
        }
        Executor::RampingArrivalRate {
            start_rate,
            time_unit,
            stages,
            ..
        } => {
            let unit = time_unit.as_secs_f64();
            let rs: Vec<(Duration, f64)> = stages
                .iter()
                .map(|s| (s.duration, s.target as f64 / unit))
                .collect();
            let total: Duration = stages.iter().map(|s| s.duration).sum();
            let times = arrival_times(start_rate as f64 / unit, &rs, plan.worker, plan.workers);
            run_arrival(env, plan, vus, start, times, start + total, gs).await
        }
        other => {
            let mut tasks = Vec::new();
            for (slot, vu) in plan.slots.iter().copied().zip(vus) {
                let env = env.clone();
                let sref = plan.sref.clone();
                let exec = other.clone();
                let counter = plan.shared_counter.clone();
                tasks.push(tokio::task::spawn_local(async move {
                    looping_vu(&env, vu, &sref, &exec, slot, start, gs, &counter).await
                }));
            }
            let mut out = Vec::new();
            for t in tasks {
                if let Ok(vu) = t.await {
                    out.push(vu);
                }
            }
            out
        }
    }
}

struct ActiveGuard<'a>(&'a WorkerCtx, &'a ScenarioRef, bool);

impl ActiveGuard<'_> {
    fn set(&mut self, active: bool) {
        if active != self.2 {
            self.2 = active;
            self.1.vu_active(&self.0.test, if active { 1 } else { -1 });
        }
    }
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.set(false);
    }
}

#[allow(clippy::too_many_arguments)]
async fn looping_vu(
    env: &Env,
    mut vu: Vu,
    sref: &Arc<ScenarioRef>,
    exec: &Executor,
    slot: u64,
    start: Instant,
    gs: Duration,
    counter: &AtomicU64,
) -> Vu {
    let mut active = ActiveGuard(&env.wctx, sref, false);
    let mut done: u64 = 0;
    let windows: Vec<(Instant, Instant)> = match exec {
        Executor::RampingVus {
            start_vus, stages, ..
        } => ramp_windows(*start_vus, stages, slot)
            .into_iter()
            .map(|(a, b)| (start + a, start + b))
            .collect(),
        _ => Vec::new(),
    };
    let end = start + exec.max_duration();
    loop {
        if env.stopping() {
            break;
        }
        let now = Instant::now();
        let hard = match exec {
            Executor::ConstantVus { .. } => {
                if now >= end {
                    break;
                }
                end + gs
            }
            Executor::ExternallyControlled { duration, vus, .. } => {
                // `maxVUs` are initialized, `vus` of them run (no control API to scale yet).
                if slot >= *vus || (!duration.is_zero() && now >= end) {
                    break;
                }
                if duration.is_zero() {
                    now + Duration::from_secs(86400 * 365)
                } else {
                    end + gs
                }
            }
            Executor::SharedIterations { iterations, .. } => {
                if now >= end || counter.fetch_add(1, Ordering::Relaxed) >= *iterations {
                    break;
                }
                end + gs
            }
            Executor::PerVuIterations { iterations, .. } => {
                if now >= end || done >= *iterations {
                    break;
                }
                end + gs
            }
            Executor::RampingVus {
                graceful_ramp_down, ..
            } => match windows.iter().find(|(_, b)| *b > now) {
                None => break,
                Some((a, _)) if *a > now => {
                    active.set(false);
                    let a = *a;
                    if !env.sleep_until(a).await {
                        break;
                    }
                    continue;
                }
                Some((_, b)) => (*b + *graceful_ramp_down).min(end + gs),
            },
            Executor::ConstantArrivalRate { .. } | Executor::RampingArrivalRate { .. } => break,
        };
        active.set(true);
        iterate(env, &mut vu, sref, hard).await;
        done += 1;
    }
    drop(active);
    vu
}

async fn run_arrival(
    env: Rc<Env>,
    plan: ScenarioPlan,
    vus: Vec<Vu>,
    start: Instant,
    times: Vec<Duration>,
    end: Instant,
    gs: Duration,
) -> Vec<Vu> {
    let pool: Rc<RefCell<Vec<Vu>>> = Rc::new(RefCell::new(vus));
    let inflight = Rc::new(Cell::new(0usize));
    let idle = Rc::new(tokio::sync::Notify::new());
    let mut created = 0u64;
    let mut warned = false;
    let hard = end + gs;
    let model = Rc::new(RefCell::new(OmissionModel::new(
        plan.vu_ids.len() as u64 + plan.extra_allowed,
        start,
    )));
    for at in times {
        let due = start + at;
        if !env.sleep_until(due).await {
            break;
        }
        // A free VU, or a new one (initialized off the schedule loop; the iteration starts when
        // it is ready), or the iteration is dropped, as k6 does.
        let vu = pool.borrow_mut().pop();
        let new_vu = if vu.is_none() && created < plan.extra_allowed {
            created += 1;
            Some(plan.extra_vu_ids.fetch_add(1, Ordering::Relaxed))
        } else {
            None
        };
        if vu.is_none() && new_vu.is_none() {
            if !warned {
                warned = true;
                let msg = "Insufficient VUs, reached the maximum and cannot initialize more";
                let fields = [
                    ("executor", plan.sref.executor),
                    ("scenario", &*plan.sref.name),
                ];
                stampede_js::log(LogLevel::Warning, msg, &fields);
            }
            let late = model.borrow_mut().dropped(due);
            let mut m = env.wctx.metrics.borrow_mut();
            m.add(
                builtin::DROPPED_ITERATIONS,
                MetricType::Counter,
                &[("scenario", &*plan.sref.name)],
                1.0,
            );
            m.add(
                builtin::ITERATION_DURATION_CORRECTED,
                MetricType::Trend,
                &[("scenario", &*plan.sref.name)],
                ms(late),
            );
            continue;
        }
        let slot = model.borrow_mut().reserve(due);
        inflight.set(inflight.get() + 1);
        let (env, pool, inflight, idle, model) = (
            env.clone(),
            pool.clone(),
            inflight.clone(),
            idle.clone(),
            model.clone(),
        );
        let sref = plan.sref.clone();
        tokio::task::spawn_local(async move {
            let vu = match (vu, new_vu) {
                (Some(vu), _) => Some(vu),
                (None, Some(id)) => match crate::worker::init_vu(id, &env.wctx).await {
                    Ok(vu) => Some(vu),
                    Err(e) => {
                        let msg = format!("can't initialize a new VU: {e}");
                        stampede_js::log(LogLevel::Error, &msg, &[]);
                        None
                    }
                },
                (None, None) => None,
            };
            if let Some(mut vu) = vu {
                sref.vu_active(&env.wctx.test, 1);
                let started = Instant::now();
                let done = iterate(&env, &mut vu, &sref, hard).await;
                sref.vu_active(&env.wctx.test, -1);
                if !done.interrupted {
                    let late = model.borrow_mut().executed(slot, started, done.duration);
                    let mut m = env.wctx.metrics.borrow_mut();
                    m.add(
                        builtin::ITERATION_DURATION_CORRECTED,
                        MetricType::Trend,
                        &[("scenario", &*sref.name)],
                        ms(late),
                    );
                }
                pool.borrow_mut().push(vu);
            }
            inflight.set(inflight.get() - 1);
            if inflight.get() == 0 {
                idle.notify_one();
            }
        });
    }
    while inflight.get() > 0 {
        idle.notified().await;
    }
    pool.take()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
