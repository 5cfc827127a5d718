//! One virtual user: a QuickJS runtime living on its own coroutine stack.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corosensei::stack::Stack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use rquickjs::context::intrinsic;
use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Object, Value};
use stampede_core::SystemTag;
use stampede_metrics::{builtin, MetricType};

use crate::error::format_stack;
use crate::natives;
use crate::runtime::{drain_own_jobs, SharedRuntime, VuFrame};
use crate::stack::VuStack;
use crate::test_context::IterationJob;
use crate::{JsError, JsErrorKind, WorkerCtx};

pub(crate) type IoFuture = Pin<Box<dyn Future<Output = Box<dyn Any>>>>;

pub(crate) enum Yield {
    Io(IoFuture),
    Ready(Reply),
}

pub(crate) enum Resume {
    Io(Box<dyn Any>),
    Interrupted,
    Cmd(Command),
}

pub(crate) enum Command {
    Start,
    Iterate(IterationJob),
    Call {
        name: String,
        arg_json: Option<Arc<str>>,
    },
    Stop,
}

pub(crate) enum Reply {
    Init(Result<InitInfo, JsError>),
    Iteration(Result<(), JsError>),
    Call(Result<Option<String>, JsError>),
}

/// What the init context produced.
#[derive(Debug, Clone)]
pub struct InitInfo {
    /// `JSON.stringify(options)` parsed back, if the script exports `options`.
    pub options: Option<serde_json::Value>,
    /// The names the script exports (`default`, `setup`, scenario `exec` functions...).
    pub exports: Vec<String>,
}

/// How an iteration ended.
#[derive(Debug, Clone)]
pub struct IterationOutcome {
    /// The exception the iteration threw, if any (already logged).
    pub error: Option<JsError>,
    /// Cut short by the end of the test (not counted in `iterations`).
    pub interrupted: bool,
    pub duration: Duration,
}

/// The state natives reach through their captured `Rc`.
pub(crate) struct VuState {
    pub id: u64,
    pub worker: Rc<WorkerCtx>,
    yielder: Cell<*const Yielder<Resume, Yield>>,
    pub in_init: Cell<bool>,
    pub job: RefCell<Option<IterationJob>>,
    pub iterations: Cell<u64>,
    /// This VU's iterations started per scenario (by name), the last being the current one's.
    pub scenario_iterations: RefCell<Vec<(Arc<str>, u64)>>,
    pub group: RefCell<String>,
    pub custom_tags: RefCell<Vec<(String, String)>>,
    pub http: stampede_http::HttpClient,
    /// `None`: no callback (`setResponseCallback(null)`); otherwise inclusive status ranges.
    pub expected: RefCell<Option<Vec<(u16, u16)>>>,
    pub bytes_sent: Cell<u64>,
    pub bytes_received: Cell<u64>,
    pub interrupted: Rc<Cell<bool>>,
    /// When the running iteration is cut short (end of its `gracefulStop`).
    deadline: Rc<Cell<Option<Instant>>>,
    setup_data: RefCell<Option<Arc<str>>>,
    /// Timers set with `setTimeout`/`setInterval` and not yet run or cleared.
    pub timers_pending: Cell<usize>,
    /// The last URL parsed, as most iterations request the same URLs again.
    last_url: RefCell<Option<(String, url::Url)>>,
    /// `k6/http`'s `Response.prototype` and the atoms of the response's own properties (see
    /// `natives::http::make_response`); released before the context is.
    pub(crate) response_shape: RefCell<Option<crate::natives::ResponseShape>>,
    /// The groups of natives installed so far (bits, see `natives::install`).
    pub(crate) native_groups: Cell<u8>,
    /// Whether the typed arrays are in the context yet (see [`VuState::typed_arrays`]).
    typed_arrays: Cell<bool>,
    /// The worker's runtime, shared with its other VUs.
    pub(crate) js: Rc<SharedRuntime>,
    /// The lowest usable address of this VU's coroutine stack.
    stack_limit: usize,
    /// The runtime's current JS frame while this VU is suspended.
    frame: VuFrame,
}

/// The future could not complete: the iteration is being interrupted.
pub(crate) struct Interrupted;

impl VuState {
    fn count_scenario_iteration(&self, scenario: &Arc<str>) {
        let mut counts = self.scenario_iterations.borrow_mut();
        match counts.iter().position(|(name, _)| name == scenario) {
            Some(i) => {
                let last = counts.len() - 1;
                counts.swap(i, last);
                counts[last].1 += 1;
            }
            None => counts.push((scenario.clone(), 0)),
        }
    }

    /// `exec.vu.iterationInScenario`: this VU's own iteration number in its current scenario.
    pub(crate) fn iteration_in_scenario(&self) -> u64 {
        self.scenario_iterations
            .borrow()
            .last()
            .map_or(0, |(_, n)| *n)
    }

    /// k6 gives each iteration (and each `setup()`, `teardown()`...) a new, empty cookie jar,
    /// unless `noCookiesReset`.
    fn reset_cookies(&self) {
        if !self.worker.test.settings.no_cookies_reset {
            self.http.reset_cookies();
        }
    }

    /// Runs the future `make` returns to completion on the worker's runtime, suspending this
    /// VU meanwhile. `make` runs when the worker first polls, on the worker's own stack: a
    /// request's future is kilobytes, and every page a VU's stack has touched stays resident
    /// for as long as the VU lives.
    pub(crate) fn block_on<T: 'static, F: Future<Output = T> + 'static>(
        &self,
        make: impl FnOnce() -> F + 'static,
    ) -> Result<T, Interrupted> {
        let Some(yielder) = self.yielder().filter(|_| !self.interrupted.get()) else {
            return Err(Interrupted);
        };
        // Only `make` is captured here; the future is built and boxed by the first poll, so the
        // wrapper that erases its output type stays small.
        let io: IoFuture = Box::pin(async move {
            let fut = Box::pin(make());
            Box::new(fut.await) as Box<dyn Any>
        });
        match self.suspend(yielder, Yield::Io(io)) {
            Resume::Io(out) => out.downcast::<T>().map(|b| *b).map_err(|_| Interrupted),
            Resume::Interrupted | Resume::Cmd(_) => {
                self.interrupted.set(true);
                Err(Interrupted)
            }
        }
    }

    /// Makes the shared runtime run on this VU's stack, with its interrupted flag.
    pub(crate) fn enter(&self) {
        self.js.enter(
            self.stack_limit,
            &self.frame,
            &self.interrupted,
            &self.deadline,
        );
    }

    /// This VU's yielder while its coroutine body runs (natives only run inside it).
    fn yielder(&self) -> Option<&Yielder<Resume, Yield>> {
        let ptr = self.yielder.get();
        // SAFETY: the pointer is set by this VU's coroutine body before any JS runs and stays
        // valid until the body returns, when it is reset to null.
        (!ptr.is_null()).then(|| unsafe { &*ptr })
    }

    /// Suspends the coroutine with `out`: saves this VU's place in the shared runtime first
    /// and takes it back on resuming.
    fn suspend(&self, y: &Yielder<Resume, Yield>, out: Yield) -> Resume {
        self.js.leave(&self.frame);
        let resumed = y.suspend(out);
        self.enter();
        resumed
    }

    /// Suspends with `reply` until the next command.
    fn reply(&self, y: &Yielder<Resume, Yield>, reply: Reply) -> Resume {
        self.suspend(y, Yield::Ready(reply))
    }

    /// Runs `f` on the worker thread's stack instead of this VU's. For stack-hungry Rust code
    /// (URL parsing's IDNA step alone takes a 4 KiB page): every page of a VU's stack that
    /// was touched once stays resident for the VU's life, the worker's stack is shared by all.
    pub(crate) fn on_worker_stack<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match self.yielder() {
            Some(y) => y.on_parent_stack(f),
            None => f(),
        }
    }

    /// Adds the typed arrays (`ArrayBuffer`, `Uint8Array`, `DataView`..., and `Atomics`) to the
    /// context if they are not there yet. Contexts start without them: they are ~13 KB of every
    /// context (net of the accessors, 10,000 idle VUs take 8 KiB less each) and few scripts use
    /// them. `globals.js` puts accessors in their place that call this on first use; natives
    /// call it before making an `ArrayBuffer`.
    pub(crate) fn typed_arrays(&self, ctx: &Ctx<'_>) -> rquickjs::Result<()> {
        if self.typed_arrays.replace(true) {
            return Ok(());
        }
        // SAFETY: a valid context of this thread; the function defines the constructors as
        // configurable globals, which replaces the accessors `globals.js` defined.
        if unsafe { rquickjs::qjs::JS_AddIntrinsicTypedArrays(ctx.as_raw().as_ptr()) } < 0 {
            return Err(rquickjs::Error::Exception);
        }
        Ok(())
    }

    /// Parses a URL, reusing the previous result when the script asks for the same one.
    pub(crate) fn parse_url(&self, s: &str) -> Result<url::Url, url::ParseError> {
        if let Some((src, url)) = self.last_url.borrow().as_ref() {
            if src == s {
                return Ok(url.clone());
            }
        }
        let url = self.on_worker_stack(|| url::Url::parse(s))?;
        *self.last_url.borrow_mut() = Some((s.to_string(), url.clone()));
        Ok(url)
    }

    /// The tags every sample of the current iteration carries (scenario, group, script tags)
    /// with `extra` on top, and the metadata raw samples carry (`vu`, `iter`, when enabled as
    /// system tags).
    pub(crate) fn with_base_tags<R>(
        &self,
        extra: &[(&str, &str)],
        f: impl FnOnce(&[(&str, &str)], &[(&str, &str)]) -> R,
    ) -> R {
        let job = self.job.borrow();
        let group = self.group.borrow();
        let custom = self.custom_tags.borrow();
        let settings = &self.worker.test.settings;
        let sys = settings.system_tags;
        // On the stack: this runs for every sample.
        let mut tags: smallvec::SmallVec<[(&str, &str); 16]> = smallvec::SmallVec::new();
        for (k, v) in &settings.tags {
            tags.push((k, v));
        }
        if let Some(job) = job.as_ref() {
            for (k, v) in &job.scenario.tags {
                tags.push((k, v));
            }
            // setup() and teardown() run in no scenario.
            if sys.has(SystemTag::Scenario) && !job.scenario.executor.is_empty() {
                tags.push(("scenario", &job.scenario.name));
            }
        }
        if sys.has(SystemTag::Group) {
            tags.push(("group", group.as_str()));
        }
        for (k, v) in custom
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra.iter().copied())
        {
            if let Some(slot) = tags.iter_mut().find(|(tk, _)| *tk == k) {
                slot.1 = v;
            } else {
                tags.push((k, v));
            }
        }
        let (mut vu, mut iter) = (itoa::Buffer::new(), itoa::Buffer::new());
        let mut metadata: smallvec::SmallVec<[(&str, &str); 2]> = smallvec::SmallVec::new();
        if settings.raw_samples {
            if sys.has(SystemTag::Vu) {
                metadata.push(("vu", vu.format(self.id)));
            }
            if sys.has(SystemTag::Iter) && job.is_some() {
                metadata.push(("iter", iter.format(self.iterations.get().saturating_sub(1))));
            }
        }
        f(&tags, &metadata)
    }

    /// Emits the bytes sent and received since the last call as `data_sent` / `data_received`,
    /// and, for a completed iteration that took `iteration`, `iteration_duration` and
    /// `iterations` (k6 stamps the four with one time).
    fn flush_data_counters(&self, iteration: Option<Duration>) {
        let sent = self.bytes_sent.replace(0) as f64;
        let received = self.bytes_received.replace(0) as f64;
        let data = [
            (builtin::DATA_SENT, MetricType::Counter, sent),
            (builtin::DATA_RECEIVED, MetricType::Counter, received),
        ];
        match iteration {
            None => self.emit_all(&[], &data),
            Some(d) => {
                let ms = d.as_secs_f64() * 1000.0;
                self.emit_all(
                    &[],
                    &[
                        data[0],
                        data[1],
                        (builtin::ITERATION_DURATION, MetricType::Trend, ms),
                        (builtin::ITERATIONS, MetricType::Counter, 1.0),
                    ],
                )
            }
        }
    }

    /// Adds one sample tagged with the iteration's base tags plus `extra`.
    pub(crate) fn emit(
        &self,
        metric: stampede_metrics::MetricId,
        kind: MetricType,
        value: f64,
        extra: &[(&str, &str)],
    ) {
        self.emit_all(extra, &[(metric, kind, value)]);
    }

    /// Adds samples taken at one moment, tagged with the iteration's base tags plus `extra`.
    pub(crate) fn emit_all(
        &self,
        extra: &[(&str, &str)],
        values: &[(stampede_metrics::MetricId, MetricType, f64)],
    ) {
        let needs_tags = {
            let m = self.worker.metrics.borrow();
            values.iter().any(|(metric, _, _)| m.keeps_tags(*metric))
        };
        if !needs_tags {
            // Most metrics keep no tag: skip collecting them.
            self.worker.metrics.borrow_mut().add_all(&[], &[], values);
            return;
        }
        self.with_base_tags(extra, |tags, metadata| {
            self.worker
                .metrics
                .borrow_mut()
                .add_all(tags, metadata, values);
        })
    }
}

/// A virtual user. Create it on the worker thread that will run it; it never moves.
pub struct Vu {
    co: Coroutine<Resume, Yield, (), VuStack>,
    state: Rc<VuState>,
    finished: bool,
}

impl Vu {
    /// Creates the VU; nothing runs until [`Vu::init`].
    pub fn new(id: u64, worker: Rc<WorkerCtx>) -> std::io::Result<Vu> {
        let stack = VuStack::new()?;
        let stack_limit = stack.limit().get();
        let js = worker
            .js()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let http = stampede_http::HttpClient::new(worker.test.http.clone());
        let state = Rc::new(VuState {
            id,
            worker,
            yielder: Cell::new(std::ptr::null()),
            in_init: Cell::new(true),
            job: RefCell::new(None),
            iterations: Cell::new(0),
            scenario_iterations: RefCell::default(),
            group: RefCell::new(String::new()),
            custom_tags: RefCell::new(Vec::new()),
            http,
            expected: RefCell::new(Some(vec![(200, 399)])),
            bytes_sent: Cell::new(0),
            bytes_received: Cell::new(0),
            interrupted: Rc::new(Cell::new(false)),
            deadline: Rc::new(Cell::new(None)),
            setup_data: RefCell::new(None),
            response_shape: RefCell::new(None),
            last_url: RefCell::new(None),
            timers_pending: Cell::new(0),
            native_groups: Cell::new(0),
            typed_arrays: Cell::new(false),
            js,
            stack_limit,
            frame: VuFrame::default(),
        });
        let body_state = state.clone();
        let co = Coroutine::with_stack(stack, move |y: &Yielder<Resume, Yield>, _start: Resume| {
            body_state.yielder.set(y as *const _);
            vu_main(&body_state, y);
            body_state.yielder.set(std::ptr::null());
        });
        Ok(Vu {
            co,
            state,
            finished: false,
        })
    }

    pub fn id(&self) -> u64 {
        self.state.id
    }

    /// Runs the script's init context (its top level) in this VU.
    pub async fn init(&mut self) -> Result<InitInfo, JsError> {
        match self.drive(Resume::Cmd(Command::Start), None, None).await {
            Some(Reply::Init(r)) => r,
            _ => Err(JsError::new(
                JsErrorKind::Runtime,
                "the VU stopped during init",
            )),
        }
    }

    /// The `setup()` result every iteration receives as its argument.
    pub fn set_setup_data(&self, data: Option<Arc<str>>) {
        *self.state.setup_data.borrow_mut() = data;
    }

    /// Runs one iteration; emits `iterations`, `iteration_duration` and the data counters.
    pub async fn iterate(&mut self, job: IterationJob) -> IterationOutcome {
        if self.state.worker.test.settings.no_vu_connection_reuse {
            self.state.http.clear_connections();
        }
        self.state.reset_cookies();
        let start = Instant::now();
        let deadline = job.hard_deadline;
        self.state.deadline.set(deadline);
        let cancel = job.cancel.clone();
        // Only with `minIterationDuration`: the wait after the iteration heeds a stop too.
        let min_wait = (self.state.worker.test.settings.min_iteration_duration)
            .map(|min| (start + min, cancel.clone()));
        self.state.interrupted.set(false);
        let reply = self
            .drive(Resume::Cmd(Command::Iterate(job)), deadline, cancel)
            .await;
        let duration = start.elapsed();
        self.state.deadline.set(None);
        let interrupted = self.state.interrupted.get();
        let error = match reply {
            Some(Reply::Iteration(Err(e))) if !interrupted => Some(e),
            Some(Reply::Iteration(_)) => None,
            _ => Some(JsError::new(
                JsErrorKind::Runtime,
                "the VU stopped unexpectedly",
            )),
        };
        let s = &self.state;
        let test = &s.worker.test;
        s.flush_data_counters((!interrupted).then_some(duration));
        if interrupted {
            test.iterations_interrupted
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        } else {
            test.iterations_completed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        *s.job.borrow_mut() = None;
        s.group.borrow_mut().clear();
        if let Some((until, cancel)) = min_wait.filter(|_| !interrupted) {
            wait_out(until, deadline, cancel).await;
        }
        IterationOutcome {
            error,
            interrupted,
            duration,
        }
    }

    /// Calls an exported lifecycle function (`setup`, `teardown`, `handleSummary`) with an
    /// optional JSON argument; returns its result as JSON (`None` for `undefined`).
    pub async fn call(
        &mut self,
        name: &str,
        arg_json: Option<Arc<str>>,
        job: Option<IterationJob>,
    ) -> Result<Option<String>, JsError> {
        *self.state.job.borrow_mut() = job;
        self.state.reset_cookies();
        // k6 runs setup() and teardown() in groups of their names: their samples are tagged
        // `group=::setup`, with no scenario.
        if matches!(name, "setup" | "teardown") {
            *self.state.group.borrow_mut() = format!("::{name}");
        }
        self.state.interrupted.set(false);
        let r = match self
            .drive(
                Resume::Cmd(Command::Call {
                    name: name.to_string(),
                    arg_json,
                }),
                None,
                None,
            )
            .await
        {
            Some(Reply::Call(r)) => r,
            _ => Err(JsError::new(
                JsErrorKind::Runtime,
                "the VU stopped unexpectedly",
            )),
        };
        let s = &self.state;
        s.flush_data_counters(None);
        *s.job.borrow_mut() = None;
        s.group.borrow_mut().clear();
        r
    }

    /// Resumes the coroutine until it is ready for the next command, awaiting its I/O.
    async fn drive(
        &mut self,
        mut input: Resume,
        deadline: Option<Instant>,
        mut cancel: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> Option<Reply> {
        if self.finished {
            return None;
        }
        // One deadline timer for the whole iteration, armed at its first I/O and reused by the
        // later ones (not one timer per request).
        let mut stop = deadline.map(|d| Box::pin(tokio::time::sleep_until(d.into())));
        loop {
            match self.co.resume(input) {
                CoroutineResult::Yield(Yield::Ready(reply)) => return Some(reply),
                CoroutineResult::Yield(Yield::Io(fut)) => {
                    input = if self.state.interrupted.get()
                        || cancel.as_ref().is_some_and(|c| *c.borrow())
                    {
                        self.state.interrupted.set(true);
                        Resume::Interrupted
                    } else {
                        let stopped = async {
                            match stop.as_mut() {
                                Some(s) => s.as_mut().await,
                                None => std::future::pending::<()>().await,
                            }
                        };
                        let cancelled = async {
                            match cancel.as_mut() {
                                Some(c) => {
                                    let _ = c.wait_for(|v| *v).await;
                                }
                                None => std::future::pending::<()>().await,
                            }
                        };
                        tokio::select! {
                            v = fut => Resume::Io(v),
                            _ = stopped => {
                                self.state.interrupted.set(true);
                                Resume::Interrupted
                            }
                            _ = cancelled => {
                                self.state.interrupted.set(true);
                                Resume::Interrupted
                            }
                        }
                    };
                }
                CoroutineResult::Return(()) => {
                    self.finished = true;
                    return None;
                }
            }
        }
    }

    /// Stops the VU: its runtime is freed on its own stack.
    pub fn shutdown(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if self.finished || !self.co.started() {
            self.finished = true;
            return;
        }
        let mut input = Resume::Cmd(Command::Stop);
        loop {
            match self.co.resume(input) {
                CoroutineResult::Yield(Yield::Io(_)) => {
                    self.state.interrupted.set(true);
                    input = Resume::Interrupted;
                }
                CoroutineResult::Yield(Yield::Ready(_)) => input = Resume::Cmd(Command::Stop),
                CoroutineResult::Return(()) => break,
            }
        }
        self.finished = true;
    }
}

impl Drop for Vu {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The standard objects of a VU's context: those of k6's runtime (goja). Not `WeakRef`,
/// `FinalizationRegistry`, `DOMException` or `performance`, which k6 scripts do not have
/// either; each context is about 1.2 KB smaller without them. The typed arrays come on first
/// use (see [`VuState::typed_arrays`]).
type K6Intrinsics = (
    intrinsic::Date,
    intrinsic::Eval,
    intrinsic::RegExpCompiler,
    intrinsic::RegExp,
    intrinsic::Json,
    intrinsic::Proxy,
    intrinsic::MapSet,
    intrinsic::Promise,
);

/// The coroutine's body: the VU's context in the worker's runtime, created and freed on this
/// VU's stack.
fn vu_main(state: &Rc<VuState>, y: &Yielder<Resume, Yield>) {
    state.enter();
    let context = match Context::custom::<K6Intrinsics>(&state.js.rt) {
        Ok(c) => c,
        Err(e) => {
            let _ = y.suspend(Yield::Ready(Reply::Init(Err(JsError::new(
                JsErrorKind::Runtime,
                e.to_string(),
            )))));
            return;
        }
    };
    {
        // SAFETY: see `runtime`: this context is only used by this VU, on this coroutine, on
        // the worker's one thread, and every value made from `ctx` is dropped at the end of
        // this block, before the context is.
        let ctx = unsafe { Ctx::from_raw(context.as_raw()) };
        serve(&ctx, state, y);
        // Values saved outside the context must go before it does.
        if let Some(shape) = state.response_shape.borrow_mut().take() {
            shape.release(&ctx);
        }
    }
    debug_memory(state);
    drop(context);
}

/// Diagnostic for the per-VU memory work (`STAMPEDE_DEBUG_VU_MEMORY=<VU id>`): what the
/// worker's runtime holds when this VU exits (all of its VUs' contexts). Not inlined: every
/// byte of `vu_main`'s frame is a byte deeper for each iteration on every VU's stack.
#[inline(never)]
#[cold]
fn debug_memory(state: &VuState) {
    let debug_vu = std::env::var("STAMPEDE_DEBUG_VU_MEMORY").ok();
    if debug_vu.and_then(|v| v.parse::<u64>().ok()) == Some(state.id) {
        let u = state.js.rt.memory_usage();
        eprintln!(
            "worker runtime at VU {}'s exit: malloc {} B in {} blocks; objects {} ({} B), functions {} ({} B code), atoms {} ({} B), strings {} ({} B), shapes {} ({} B), props {} ({} B)",
            state.id, u.malloc_size, u.malloc_count, u.obj_count, u.obj_size, u.js_func_count, u.js_func_code_size,
            u.atom_count, u.atom_size, u.str_count, u.str_size, u.shape_count, u.shape_size, u.prop_count, u.prop_size
        );
    }
}

/// Runs the init context, then serves commands until told to stop.
fn serve<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>, y: &Yielder<Resume, Yield>) {
    let (exports, init) =
        match init_context(ctx, state).and_then(|ns| init_info(ctx, &ns).map(|i| (ns, i))) {
            Ok((ns, info)) => (Some(ns), Ok(info)),
            Err(e) => (None, Err(e)),
        };
    state.in_init.set(false);
    let mut input = state.reply(y, Reply::Init(init));
    let Some(exports) = exports else { return };
    let mut setup_value: Option<(Arc<str>, Value<'js>)> = None;
    let mut env_of: Option<Arc<crate::ScenarioRef>> = None;
    let mut exec_fn: Option<(Arc<str>, Function<'js>)> = None;
    loop {
        match input {
            Resume::Cmd(Command::Iterate(job)) => {
                if env_of
                    .as_ref()
                    .is_none_or(|s| !Arc::ptr_eq(s, &job.scenario))
                {
                    apply_scenario_env(ctx, &job.scenario.env);
                    env_of = Some(job.scenario.clone());
                }
                let exec = job.scenario.exec.clone();
                let n = state.iterations.get();
                state.iterations.set(n + 1);
                state.count_scenario_iteration(&job.scenario.name);
                *state.job.borrow_mut() = Some(job);
                let _ = ctx.globals().set("__ITER", n);
                let data = setup_arg(ctx, state, &mut setup_value);
                let f = match &exec_fn {
                    Some((name, f)) if Arc::ptr_eq(name, &exec) => Ok(f.clone()),
                    _ => export_fn(&exports, &exec),
                };
                let r = f.and_then(|f| {
                    exec_fn = Some((exec.clone(), f.clone()));
                    call_fn(ctx, state, &f, &exec, data).map(|_| ())
                });
                drain_own_jobs(&state.js, ctx);
                input = state.reply(y, Reply::Iteration(r));
            }
            Resume::Cmd(Command::Call { name, arg_json }) => {
                let arg = match arg_json {
                    Some(j) => ctx.json_parse(j.as_bytes().to_vec()).ok(),
                    None => None,
                };
                let r = call_export(ctx, state, &exports, &name, arg).and_then(|v| match v {
                    None => Ok(None),
                    Some(v) if v.is_undefined() => Ok(None),
                    Some(v) => ctx
                        .json_stringify(v)
                        .map(|s| s.and_then(|s| s.to_string().ok()))
                        .map_err(|e| JsError::new(JsErrorKind::Exception, format!("the value returned by {name}() can't be serialized to JSON: {e}"))),
                });
                drain_own_jobs(&state.js, ctx);
                input = state.reply(y, Reply::Call(r));
            }
            Resume::Cmd(Command::Stop) => break,
            Resume::Cmd(Command::Start) | Resume::Io(_) | Resume::Interrupted => {
                input = state.reply(y, Reply::Iteration(Ok(())));
            }
        }
    }
}

fn setup_arg<'js>(
    ctx: &Ctx<'js>,
    state: &VuState,
    cache: &mut Option<(Arc<str>, Value<'js>)>,
) -> Option<Value<'js>> {
    let data = state.setup_data.borrow().clone()?;
    if let Some((src, v)) = cache.as_ref() {
        if Arc::ptr_eq(src, &data) {
            return Some(v.clone());
        }
    }
    let v = ctx.json_parse(data.as_bytes().to_vec()).ok()?;
    *cache = Some((data, v.clone()));
    Some(v)
}

/// A scenario's `env` is added to `__ENV` for the VUs running it, as in k6.
fn apply_scenario_env(ctx: &Ctx<'_>, env: &std::collections::BTreeMap<String, String>) {
    if env.is_empty() {
        return;
    }
    if let Ok(obj) = ctx.globals().get::<_, Object<'_>>("__ENV") {
        for (k, v) in env {
            let _ = obj.set(k.as_str(), v.as_str());
        }
    }
}

/// Waits, suspended, until a VU has run promise jobs: ours queue behind another VU's.
fn wait_for_foreign_jobs(state: &VuState) -> Result<(), JsError> {
    let js = state.js.clone();
    state
        .block_on(move || async move { js.drained.notified().await })
        .map_err(|_| JsError::new(JsErrorKind::Interrupted, "test run was interrupted"))
}

/// Runs our promise jobs until `promise` settles (module evaluation).
fn settle<'js>(
    ctx: &Ctx<'js>,
    state: &VuState,
    promise: &rquickjs::Promise<'js>,
) -> Result<(), JsError> {
    loop {
        if let Some(r) = promise.result::<()>() {
            return r.catch(ctx).map_err(caught_error);
        }
        if !drain_own_jobs(&state.js, ctx) {
            if !state.js.foreign_job_first(ctx) {
                return Err(JsError::new(
                    JsErrorKind::Exception,
                    "the module's evaluation never settles: nothing is left that could resolve it",
                ));
            }
            wait_for_foreign_jobs(state)?;
        }
    }
}

/// Evaluates the entry script; returns its module namespace.
// Not inlined into `serve`, whose frame stays on the stack under every iteration.
#[inline(never)]
fn init_context<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<Object<'js>, JsError> {
    natives::install(ctx, state).map_err(|e| js_error(ctx, e))?;
    let test = &state.worker.test;
    let globals = crate::loader::eval_globals(ctx, test).map_err(|e| js_error(ctx, e))?;
    settle(ctx, state, &globals)?;
    let path = test.settings.script.to_string_lossy().into_owned();
    let source = test
        .read_file(&test.settings.script)
        .map_err(|e| JsError::new(JsErrorKind::Module, format!("can't read {path}: {e}")))?;
    let module = crate::loader::declare(ctx, test, &path, || Ok(source.as_slice().to_vec()))
        .map_err(|e| js_error(ctx, e))?;
    let (module, promise) = module.eval().map_err(|e| js_error(ctx, e))?;
    settle(ctx, state, &promise)?;
    let ns = module.namespace().map_err(|e| js_error(ctx, e))?;
    Ok(ns)
}

/// Calls the exported function `name` with `arg`.
fn call_export<'js>(
    ctx: &Ctx<'js>,
    state: &VuState,
    exports: &Object<'js>,
    name: &str,
    arg: Option<Value<'js>>,
) -> Result<Option<Value<'js>>, JsError> {
    call_fn(ctx, state, &export_fn(exports, name)?, name, arg)
}

/// The exported function `name`.
fn export_fn<'js>(exports: &Object<'js>, name: &str) -> Result<Function<'js>, JsError> {
    exports.get::<_, Function<'js>>(name).map_err(|_| {
        JsError::new(
            JsErrorKind::Exception,
            format!("function '{name}' not found in exports"),
        )
    })
}

/// Calls `f` (the export `name`) and runs the event loop until its result settles.
fn call_fn<'js>(
    ctx: &Ctx<'js>,
    state: &VuState,
    f: &Function<'js>,
    name: &str,
    arg: Option<Value<'js>>,
) -> Result<Option<Value<'js>>, JsError> {
    let r: Result<Value<'js>, _> = match arg {
        Some(a) => f.call((a,)),
        None => f.call(()),
    };
    let v = r.catch(ctx).map_err(caught_error)?;
    run_event_loop(ctx, state, name, v).map(Some)
}

/// The VU's event loop: runs promise jobs and due timers until the returned value has settled
/// (if it is a promise) and no timer is left, as k6 ends an iteration when its loop is empty.
#[inline(never)]
fn run_event_loop<'js>(
    ctx: &Ctx<'js>,
    state: &VuState,
    name: &str,
    v: Value<'js>,
) -> Result<Value<'js>, JsError> {
    let promise = v.as_promise().cloned();
    if promise.is_none() && state.timers_pending.get() == 0 {
        return Ok(v);
    }
    let timers: Option<Object<'js>> = ctx.globals().get("__stampede_timers").ok();
    loop {
        drain_own_jobs(&state.js, ctx);
        let settled = promise
            .as_ref()
            .is_none_or(|p| p.state() != rquickjs::promise::PromiseState::Pending);
        let wait: f64 = match &timers {
            Some(t) => t
                .get::<_, Function<'js>>("next")
                .and_then(|f| f.call(()))
                .unwrap_or(-1.0),
            None => -1.0,
        };
        if wait < 0.0 {
            if settled {
                break;
            }
            if state.js.foreign_job_first(ctx) {
                // Our jobs queue behind another VU's: wait for it to run them.
                wait_for_foreign_jobs(state)?;
                continue;
            }
            return Err(JsError::new(
                JsErrorKind::Exception,
                format!("the promise returned by {name}() never settles: nothing is left that could resolve it"),
            ));
        }
        if wait > 0.0 {
            let d = std::time::Duration::from_secs_f64(wait / 1000.0);
            if state.block_on(move || tokio::time::sleep(d)).is_err() {
                return Err(JsError::new(
                    JsErrorKind::Interrupted,
                    "test run was interrupted",
                ));
            }
        }
        if let Some(t) = &timers {
            let run: Function<'js> = t.get("runDue").map_err(|e| js_error(ctx, e))?;
            run.call::<_, ()>(()).catch(ctx).map_err(caught_error)?;
        }
    }
    match promise {
        None => Ok(v),
        Some(p) => match p.result::<Value<'js>>() {
            Some(r) => r.catch(ctx).map_err(caught_error),
            None => Ok(v),
        },
    }
}

pub(crate) fn js_error(ctx: &Ctx<'_>, e: rquickjs::Error) -> JsError {
    caught_error(CaughtError::from_error(ctx, e))
}

#[inline(never)]
pub(crate) fn caught_error(e: CaughtError<'_>) -> JsError {
    match e {
        CaughtError::Exception(ex) => {
            let name: String = ex
                .get::<_, String>("name")
                .unwrap_or_else(|_| "Error".into());
            let message = ex.message().unwrap_or_default();
            let stack = ex.stack().unwrap_or_default();
            let kind = if name == "SyntaxError" {
                JsErrorKind::Syntax
            } else {
                JsErrorKind::Exception
            };
            let text = if message.is_empty() {
                name
            } else {
                format!("{name}: {message}")
            };
            JsError {
                kind,
                message: text,
                stack: format_stack(&stack),
            }
        }
        CaughtError::Value(v) => {
            let text = v
                .as_string()
                .and_then(|s| s.to_string().ok())
                .or_else(|| {
                    v.ctx()
                        .json_stringify(v.clone())
                        .ok()
                        .flatten()
                        .and_then(|s| s.to_string().ok())
                })
                .unwrap_or_else(|| format!("{v:?}"));
            JsError::new(JsErrorKind::Exception, text)
        }
        CaughtError::Error(e) => {
            let kind = if e.is_resolving() || e.is_loading() {
                JsErrorKind::Module
            } else {
                JsErrorKind::Exception
            };
            JsError::new(kind, e.to_string())
        }
    }
}

/// The init context's result as [`InitInfo`], read from the namespace.
#[inline(never)]
pub(crate) fn init_info<'js>(ctx: &Ctx<'js>, ns: &Object<'js>) -> Result<InitInfo, JsError> {
    let exports: Vec<String> = ns.keys::<String>().filter_map(Result::ok).collect();
    let options = match ns.get::<_, Value<'js>>("options") {
        Ok(v) if !v.is_undefined() && !v.is_null() => {
            let json = ctx
                .json_stringify(v)
                .map_err(|e| js_error(ctx, e))?
                .and_then(|s| s.to_string().ok())
                .unwrap_or_else(|| "null".into());
            Some(
                serde_json::from_str(&json)
                    .map_err(|e| JsError::new(JsErrorKind::Exception, format!("options: {e}")))?,
            )
        }
        _ => None,
    };
    Ok(InitInfo { options, exports })
}

/// Sleeps until `until` (`minIterationDuration`), or less: until the iteration's hard deadline,
/// or until the test is stopped outright.
async fn wait_out(
    until: Instant,
    deadline: Option<Instant>,
    cancel: Option<tokio::sync::watch::Receiver<bool>>,
) {
    let until = deadline.map_or(until, |d| d.min(until));
    let sleep = tokio::time::sleep_until(until.into());
    match cancel {
        Some(mut cancel) if !*cancel.borrow() => {
            tokio::select! {
                _ = sleep => {}
                _ = cancel.wait_for(|stop| *stop) => {}
            }
        }
        Some(_) => {}
        None => sleep.await,
    }
}
