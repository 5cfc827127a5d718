//! State shared by VUs: the whole test's ([`TestContext`], across threads) and one worker
//! thread's ([`WorkerCtx`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use stampede_http::ClientConfig;

use crate::runtime::SharedRuntime;
use stampede_metrics::{Delta, SampleBatch, SharedRegistry, TagFilter, UnixNanos, WorkerMetrics};

/// Settings fixed for the whole run.
#[derive(Debug, Clone, Default)]
pub struct TestSettings {
    /// The entry script.
    pub script: PathBuf,
    /// The entry script's source when it does not come from `script` on disk (`k6 run -`
    /// reads it from stdin; `script` then names `-` in the working directory).
    pub script_source: Option<Arc<Vec<u8>>>,
    /// `__ENV`: the system environment plus `-e` values.
    pub env: BTreeMap<String, String>,
    /// `options.tags` and `--tag`: added to every sample.
    pub tags: Vec<(String, String)>,
    pub throw: bool,
    pub discard_response_bodies: bool,
    pub max_redirects: u32,
    /// `minIterationDuration`: a VU that finished an iteration sooner waits out the rest
    /// (after `iteration_duration` is measured, as in k6).
    pub min_iteration_duration: Option<Duration>,
    /// `noVUConnectionReuse`: a VU's connections are closed before each of its iterations.
    pub no_vu_connection_reuse: bool,
    /// `rps`: at most this many requests a second, from all VUs together.
    pub rps: Option<std::num::NonZeroU32>,
    /// `batch` and `batchPerHost`: how many of an `http.batch` call's requests run at once.
    pub batch: BatchLimits,
    /// The resolved options, as `exec.test.options` shows them.
    pub options_json: serde_json::Value,
    /// The tags each metric's aggregates keep (the summary's, the thresholds' and the outputs'
    /// needs).
    pub kept_tags: Arc<TagFilter>,
    /// Keep every raw sample (an output writes each one).
    pub raw_samples: bool,
    /// k6's system tags the samples carry (`systemTags`).
    pub system_tags: stampede_core::SystemTagSet,
    /// Keep each VU's cookies across iterations (`noCookiesReset`).
    pub no_cookies_reset: bool,
    /// Log every request and response (`httpDebug`).
    pub http_debug: stampede_http::HttpDebug,
}

/// How many of one `http.batch` call's requests run at once: `total` in all, `per_host` to one
/// host and port. 0 is no limit.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub total: u32,
    pub per_host: u32,
}

impl Default for BatchLimits {
    /// k6's defaults: `batch: 20`, `batchPerHost: 6`.
    fn default() -> Self {
        Self {
            total: 20,
            per_host: 6,
        }
    }
}

/// Why the test was stopped early from the script.
#[derive(Debug, Clone, PartialEq)]
pub enum StopRequest {
    /// `exec.test.abort(msg)`: exit code 108.
    Abort(String),
}

/// What every VU of the run shares, on every thread.
pub struct TestContext {
    pub settings: TestSettings,
    pub registry: SharedRegistry,
    pub http: Arc<ClientConfig>,
    script_dir: PathBuf,
    files: Mutex<HashMap<PathBuf, Arc<Vec<u8>>>>,
    /// Compiled modules by name, so each is parsed once per run, not once per VU.
    bytecode: Mutex<HashMap<String, Arc<[u8]>>>,
    shared_arrays: Mutex<HashMap<String, Arc<str>>>,
    /// `rps`: every request of the test waits for a cell of this limiter (a burst of one).
    pub rps_limiter: Option<governor::DefaultDirectRateLimiter>,
    start: OnceLock<Instant>,
    stop: Mutex<Option<StopRequest>>,
    failed: Mutex<Option<String>>,
    pub iterations_completed: AtomicU64,
    pub iterations_interrupted: AtomicU64,
    pub vus_active: AtomicI64,
    pub vus_initialized: AtomicI64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl TestContext {
    pub fn new(
        settings: TestSettings,
        registry: SharedRegistry,
        http: Arc<ClientConfig>,
    ) -> Arc<TestContext> {
        let script_dir = settings
            .script
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let rps_limiter = settings.rps.map(|n| {
            let one = std::num::NonZeroU32::MIN;
            governor::RateLimiter::direct(governor::Quota::per_second(n).allow_burst(one))
        });
        let mut files = HashMap::new();
        if let Some(src) = &settings.script_source {
            files.insert(settings.script.clone(), src.clone());
        }
        Arc::new(TestContext {
            rps_limiter,
            settings,
            registry,
            http,
            script_dir,
            files: Mutex::new(files),
            bytecode: Mutex::default(),
            shared_arrays: Mutex::default(),
            start: OnceLock::new(),
            stop: Mutex::default(),
            failed: Mutex::default(),
            iterations_completed: AtomicU64::new(0),
            iterations_interrupted: AtomicU64::new(0),
            vus_active: AtomicI64::new(0),
            vus_initialized: AtomicI64::new(0),
        })
    }

    /// Marks the start of the test run (the clock `exec.instance.currentTestRunDuration` reads).
    pub fn mark_started(&self) {
        let _ = self.start.set(Instant::now());
    }

    pub fn elapsed(&self) -> Duration {
        self.start.get().map(Instant::elapsed).unwrap_or_default()
    }

    /// The directory relative paths in `open()` and imports resolve against.
    pub fn script_dir(&self) -> &Path {
        &self.script_dir
    }

    /// Reads a file once for the whole process (every VU's `open()` of it shares the bytes).
    pub fn read_file(&self, path: &Path) -> std::io::Result<Arc<Vec<u8>>> {
        if let Some(b) = lock(&self.files).get(path) {
            return Ok(b.clone());
        }
        let bytes = Arc::new(std::fs::read(path)?);
        lock(&self.files).insert(path.to_path_buf(), bytes.clone());
        Ok(bytes)
    }

    pub(crate) fn bytecode(&self, module: &str) -> Option<Arc<[u8]>> {
        lock(&self.bytecode).get(module).cloned()
    }

    pub(crate) fn store_bytecode(&self, module: &str, code: Vec<u8>) {
        lock(&self.bytecode)
            .entry(module.to_string())
            .or_insert_with(|| code.into());
    }

    pub(crate) fn shared_array(&self, name: &str) -> Option<Arc<str>> {
        lock(&self.shared_arrays).get(name).cloned()
    }

    pub(crate) fn put_shared_array(&self, name: &str, json: Arc<str>) {
        lock(&self.shared_arrays)
            .entry(name.to_string())
            .or_insert(json);
    }

    /// Asks the engine to stop the test (polled by the controller).
    pub fn request_stop(&self, req: StopRequest) {
        let mut s = lock(&self.stop);
        if s.is_none() {
            *s = Some(req);
        }
    }

    pub fn stop_requested(&self) -> Option<StopRequest> {
        lock(&self.stop).clone()
    }

    /// `exec.test.fail()`: the run goes on but ends with exit code 110.
    pub fn mark_failed(&self, msg: String) {
        lock(&self.failed).get_or_insert(msg);
    }

    pub fn failed(&self) -> Option<String> {
        lock(&self.failed).clone()
    }

    pub(crate) fn vus_active(&self) -> i64 {
        self.vus_active.load(Ordering::Relaxed)
    }
}

/// VUs that share one QuickJS runtime. Each runtime keeps one hash table of the object shapes
/// of all its contexts (~110 per VU) and looks it up whenever a property is added: with
/// 10,000 VUs in one runtime, that table held 1.1 million shapes and every lookup missed the
/// CPU caches (a VU took 219 µs to start, against 160 µs among 250). A runtime costs ~115 KiB
/// of its own (atom, shape and class tables), under 0.5 KiB per VU at this size.
const VUS_PER_RUNTIME: usize = 256;

/// One worker thread's share: its metrics aggregator and the QuickJS runtimes its VUs share.
/// Not `Send`.
pub struct WorkerCtx {
    pub test: Arc<TestContext>,
    pub metrics: RefCell<WorkerMetrics>,
    /// The runtimes made so far; VUs go to the last one until it has `VUS_PER_RUNTIME`.
    js: RefCell<Vec<(std::rc::Rc<SharedRuntime>, usize)>>,
    /// The initial VUs are running: runtimes made from now on collect garbage from the start.
    started: std::cell::Cell<bool>,
}

impl WorkerCtx {
    pub fn new(test: Arc<TestContext>) -> std::rc::Rc<WorkerCtx> {
        std::rc::Rc::new(WorkerCtx {
            metrics: RefCell::new(WorkerMetrics::new(
                test.settings.kept_tags.clone(),
                test.settings.raw_samples,
            )),
            test,
            js: RefCell::new(Vec::new()),
            started: std::cell::Cell::new(false),
        })
    }

    /// The QuickJS runtime for a new VU: the worker's latest one while it has room (see
    /// [`VUS_PER_RUNTIME`]), else a new one; a runtime of the VU's own if this QuickJS build
    /// can't be shared (see `runtime`).
    pub(crate) fn js(&self) -> rquickjs::Result<std::rc::Rc<SharedRuntime>> {
        let mut all = self.js.borrow_mut();
        if let Some((js, vus)) = all.last_mut() {
            if !js.shareable() {
                return Ok(std::rc::Rc::new(SharedRuntime::new(&self.test)?));
            }
            if *vus < VUS_PER_RUNTIME {
                *vus += 1;
                return Ok(js.clone());
            }
        }
        let js = std::rc::Rc::new(SharedRuntime::new(&self.test)?);
        if self.started.get() {
            js.started();
        }
        all.push((js.clone(), 1));
        Ok(js)
    }

    /// The worker's initial VUs are running: automatic garbage collection resumes (it is off
    /// while they start, see [`SharedRuntime::new`]).
    pub fn started(&self) {
        self.started.set(true);
        for (js, _) in self.js.borrow().iter() {
            js.started();
        }
    }

    /// The samples aggregated since the last call, as the delta of `[previous end, end)`.
    pub fn take_delta(&self, end: UnixNanos) -> Delta {
        self.metrics.borrow_mut().take_delta(end)
    }

    /// Whether raw samples are kept (see [`TestSettings::raw_samples`]).
    pub fn keeps_samples(&self) -> bool {
        self.metrics.borrow().keeps_samples()
    }

    /// The raw samples kept since the last call.
    pub fn take_samples(&self) -> SampleBatch {
        self.metrics.borrow_mut().take_samples()
    }
}

/// What a VU needs to know about the scenario it is running an iteration for.
#[derive(Debug)]
pub struct ScenarioRef {
    pub name: Arc<str>,
    pub executor: &'static str,
    pub exec: Arc<str>,
    pub tags: Vec<(String, String)>,
    pub env: BTreeMap<String, String>,
    /// Offset of the scenario's start from the test start.
    pub start_time: Duration,
    /// The scenario's expected length (for `exec.scenario.progress`), zero if unknown.
    pub length: Duration,
    /// Iterations of this scenario started so far in this instance.
    pub iterations_started: AtomicU64,
    /// VUs of this scenario running an iteration (or active, for ramping-vus) right now.
    pub vus_active: AtomicI64,
}

impl ScenarioRef {
    /// Counts a VU in or out of the active ones, for this scenario and the whole test.
    pub fn vu_active(&self, test: &TestContext, delta: i64) {
        self.vus_active.fetch_add(delta, Ordering::Relaxed);
        test.vus_active.fetch_add(delta, Ordering::Relaxed);
    }
}

/// One iteration to run.
#[derive(Debug, Clone)]
pub struct IterationJob {
    pub scenario: Arc<ScenarioRef>,
    /// The iteration number within the scenario (`exec.scenario.iterationInTest`).
    pub iteration_in_scenario: u64,
    /// After this instant the iteration is interrupted (end of `gracefulStop`).
    pub hard_deadline: Option<Instant>,
    /// Becomes `true` when the test is stopped outright (Ctrl-C, abort): interrupt now.
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    #[test]
    fn vus_share_a_runtime_by_the_group_and_late_runtimes_collect_garbage() {
        let test = TestContext::new(
            TestSettings::default(),
            SharedRegistry::default(),
            Arc::new(ClientConfig::default()),
        );
        let w = WorkerCtx::new(test);
        let first = w.js().unwrap();
        for _ in 1..VUS_PER_RUNTIME {
            assert!(Rc::ptr_eq(&first, &w.js().unwrap()));
        }
        let second = w.js().unwrap();
        assert!(
            !Rc::ptr_eq(&first, &second),
            "VU {} starts a new runtime",
            VUS_PER_RUNTIME + 1
        );
        assert_eq!(
            second.gc_threshold(),
            usize::MAX,
            "no GC while the initial VUs start"
        );
        w.started();
        assert!(first.gc_threshold() < usize::MAX && second.gc_threshold() < usize::MAX);
        for _ in 1..VUS_PER_RUNTIME {
            w.js().unwrap();
        }
        let third = w.js().unwrap();
        assert!(!Rc::ptr_eq(&second, &third));
        assert!(
            third.gc_threshold() < usize::MAX,
            "a runtime made during the test collects"
        );
    }
}
