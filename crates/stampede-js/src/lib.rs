//! The JavaScript side of stampede: a QuickJS runtime per virtual user, running on its own
//! stackful coroutine, with k6's modules (`k6`, `k6/http`, `k6/metrics`, `k6/execution`,
//! `k6/data`, `k6/encoding`, `k6/crypto`).
//!
//! Where to start: [`Vu`] is one virtual user. The engine creates it on a worker thread, calls
//! [`Vu::init`] (the script's init context), then [`Vu::iterate`] for each iteration. A native
//! function such as `http.get` suspends the VU's coroutine with a future; [`Vu`]'s async methods
//! await that future on the worker's tokio runtime and resume the coroutine with its output, so a
//! script's synchronous code blocks nothing but its own VU.
//!
//! The k6 modules are small JS files (`js/`) over one object of native functions (`natives/`).

mod console;
mod error;
mod loader;
mod natives;
mod runtime;
mod stack;
mod test_context;
mod vu;

pub use console::{log, log_line, LogLevel};
pub use error::{JsError, JsErrorKind};
pub use test_context::{
    BatchLimits, IterationJob, ScenarioRef, StopRequest, TestContext, TestSettings, WorkerCtx,
};
pub use vu::{InitInfo, IterationOutcome, Vu};
