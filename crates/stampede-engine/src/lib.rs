//! The execution engine: worker threads, the seven k6 executors, the VU lifecycle, the metrics
//! collector and graceful stop.
//!
//! Where to start: [`run`] spawns one worker thread per core ([`worker`]), each with a
//! current-thread tokio runtime owning its VUs, and drives the test from the calling thread
//! (the controller): it merges the workers' metric deltas, prints progress, evaluates thresholds
//! and decides when to stop. [`MainVu`] is the extra VU on the controller thread that reads the
//! options and runs `setup()`, `teardown()` and `handleSummary()`.

mod executors;
mod main_vu;
mod omission;
mod progress;
mod run;
pub mod schedule;
mod worker;

pub use main_vu::{CallError, MainVu};
pub use run::{run, EngineError, RunConfig, RunOutcome};
