//! How the scenarios' VUs and iterations are split between the worker threads.

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::Arc;

use stampede_core::{Executor, Scenario};
use stampede_js::ScenarioRef;

use crate::executors::ScenarioPlan;

/// Every worker's share of every scenario.
pub(crate) struct Plan {
    pub per_worker: Vec<Vec<ScenarioPlan>>,
    /// The scenarios as VUs and the progress lines see them.
    pub scenarios: Vec<Arc<ScenarioRef>>,
    /// VUs initialized before the test starts (k6's `vus_max` at the start).
    pub vus_max: u64,
}

pub(crate) fn split(scenarios: &[Scenario], workers: usize) -> Plan {
    let mut next_vu_id = 1u64;
    let mut per_worker: Vec<Vec<ScenarioPlan>> = (0..workers).map(|_| Vec::new()).collect();
    let total_max_vus: u64 = scenarios.iter().map(|s| s.executor.max_vus()).sum();
    let extra_ids = Arc::new(AtomicU64::new(total_max_vus + 1));
    let mut vus_max = 0;
    let mut srefs = Vec::new();
    for sc in scenarios {
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
        for (w, plans) in per_worker.iter_mut().enumerate().take(used as usize) {
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
    Plan {
        per_worker,
        scenarios: srefs,
        vus_max,
    }
}
