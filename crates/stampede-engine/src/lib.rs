//! The execution engine: worker threads, the seven k6 executors, the VU lifecycle, the metrics
//! collector and graceful stop.
//!
//! Where to start: [`run`] splits the scenarios between the workers (`plan`), spawns one worker
//! thread per core (`worker`), each with a current-thread tokio runtime owning its VUs, and
//! drives the test from the calling thread through the `controller`: its event loop merges the
//! workers' deltas of each second into the run's metrics stream and hands it to the totals, the
//! thresholds, the progress line and the caller's subscribers (the outputs). [`MainVu`] is the
//! extra VU on the controller thread that reads the options and runs `setup()`, `teardown()` and
//! `handleSummary()`.

mod controller;
mod executors;
mod main_vu;
mod omission;
mod plan;
mod progress;
mod run;
pub mod schedule;
mod worker;

pub use main_vu::{CallError, MainVu};
pub use run::{run, EngineError, RunConfig, RunOutcome};
