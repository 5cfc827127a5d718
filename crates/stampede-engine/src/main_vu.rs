//! The controller thread's own VU (`__VU == 0`): init for the options, `setup()`, `teardown()`,
//! `handleSummary()`.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use stampede_js::{InitInfo, IterationJob, JsError, JsErrorKind, TestContext, Vu, WorkerCtx};
use stampede_metrics::{Delta, SampleBatch, UnixNanos};

/// Why a lifecycle call failed.
#[derive(Debug)]
pub enum CallError {
    /// It ran past its timeout.
    Timeout,
    /// It threw.
    Js(JsError),
}

/// A VU with its own single-threaded runtime, driven synchronously.
pub struct MainVu {
    rt: tokio::runtime::Runtime,
    local: tokio::task::LocalSet,
    vu: Option<Vu>,
    worker: Rc<WorkerCtx>,
}

impl MainVu {
    /// Creates VU 0 and runs the init context.
    pub fn new(test: Arc<TestContext>) -> Result<(MainVu, InitInfo), JsError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| JsError::new(JsErrorKind::Runtime, e.to_string()))?;
        let local = tokio::task::LocalSet::new();
        let worker = WorkerCtx::new(test);
        let mut vu = Vu::new(0, worker.clone())
            .map_err(|e| JsError::new(JsErrorKind::Runtime, e.to_string()))?;
        let info = local.block_on(&rt, vu.init())?;
        worker.started();
        Ok((
            MainVu {
                rt,
                local,
                vu: Some(vu),
                worker,
            },
            info,
        ))
    }

    /// Calls an exported function with a JSON argument, within `timeout`; returns its result
    /// as JSON (`None` for `undefined`).
    pub fn call(
        &mut self,
        name: &str,
        arg: Option<Arc<str>>,
        job: Option<IterationJob>,
        timeout: Duration,
    ) -> Result<Option<String>, CallError> {
        let Some(vu) = self.vu.as_mut() else {
            return Err(CallError::Js(JsError::new(
                JsErrorKind::Runtime,
                "the main VU is gone",
            )));
        };
        let fut = vu.call(name, arg, job);
        match self
            .local
            .block_on(&self.rt, async { tokio::time::timeout(timeout, fut).await })
        {
            Err(_) => Err(CallError::Timeout),
            Ok(r) => r.map_err(CallError::Js),
        }
    }

    /// What setup/teardown measured, aggregated.
    pub fn take_delta(&self) -> Delta {
        self.worker.take_delta(UnixNanos::now())
    }

    /// The raw samples of setup/teardown (kept only if an output asked for them).
    pub fn take_samples(&self) -> SampleBatch {
        self.worker.take_samples()
    }
}

impl Drop for MainVu {
    fn drop(&mut self) {
        if let Some(vu) = self.vu.take() {
            vu.shutdown();
        }
    }
}
