//! Lifecycle, config precedence and the exit codes k6 documents.

use std::process::Command;
use std::time::Duration;

use crate::support::{raw, run, run_env, run_interrupted, script, target};

#[test]
fn setup_data_reaches_iterations_and_teardown_and_handle_summary_writes_files() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = { iterations: 2 };
export function setup() { return { n: 41 }; }
export default function (d) { if (d.n !== 41) throw new Error('no setup data'); http.get(`${__ENV.BASE_URL}/get`); }
export function teardown(d) { console.log(`teardown got ${d.n + 1}`); }
export function handleSummary(data) {
  return {
    stdout: `custom summary: ${data.metrics.iterations.values.count} iterations\n`,
    [__ENV.OUT]: JSON.stringify({ reqs: data.metrics.http_reqs.values.count, setup: data.setup_data }),
  };
}
"#,
    );
    let out = s.dir.path().join("summary.json");
    let r = run(
        &s,
        &server.base_url(),
        &["-e", &format!("OUT={}", out.display())],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("custom summary: 2 iterations"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("TOTAL RESULTS"),
        "handleSummary replaces the default summary"
    );
    assert!(r.stderr.contains("teardown got 42"), "{}", r.stderr);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    assert_eq!(written["reqs"], 2.0);
    assert_eq!(written["setup"]["n"], 41);
}

#[test]
fn no_setup_and_no_teardown() {
    let s = script(
        "export function setup() { console.log('SETUP RAN'); }\nexport default function () {}\nexport function teardown() { console.log('TEARDOWN RAN'); }\n",
    );
    let r = raw(&[
        "run",
        "-q",
        "--no-setup",
        "--no-teardown",
        s.path.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0);
    assert!(
        !r.stderr.contains("SETUP RAN") && !r.stderr.contains("TEARDOWN RAN"),
        "{}",
        r.stderr
    );
}

#[test]
fn setup_exception_is_107_and_setup_timeout_is_100() {
    let s = script("export function setup() { throw new Error('setup broke'); }\nexport default function () {}\n");
    let r = raw(&["run", "-q", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 107, "{}", r.stderr);
    assert!(r.stderr.contains("setup broke"));
    let s = script(
        "import { sleep } from 'k6';\nexport const options = { setupTimeout: '300ms' };\nexport function setup() { sleep(5); }\nexport default function () {}\n",
    );
    let started = std::time::Instant::now();
    let r = raw(&["run", "-q", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 100, "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn abort_is_108_and_fail_is_110() {
    let s = script(
        "import exec from 'k6/execution';\nexport const options = { iterations: 100 };\nexport default function () { if (__ITER === 2) exec.test.abort('enough'); }\n",
    );
    let r = raw(&["run", "-q", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 108, "{}", r.stderr);
    let s = script(
        "import exec from 'k6/execution';\nexport const options = { iterations: 3 };\nexport default function () { if (__ITER === 0) exec.test.fail('bad'); }\n",
    );
    let r = raw(&["run", "-q", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 110, "{}", r.stderr);
}

#[test]
fn abort_on_fail_threshold_stops_early_with_99() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = { vus: 2, duration: '20s',
  thresholds: { http_req_failed: [{ threshold: 'rate<0.1', abortOnFail: true }] } };
export default function () { http.get(`${__ENV.BASE_URL}/status/500`); }
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 99, "{}", r.stderr);
    let took = r.metric("iterations", "count") / r.metric("iterations", "rate");
    assert!(took < 6.0, "ran {took} s of 20");
    assert!(r.stderr.contains("abortOnFail"), "{}", r.stderr);
}

#[test]
fn sigint_stops_gracefully_prints_summary_and_exits_105() {
    let server = target();
    let s = script("import http from 'k6/http';\nimport { sleep } from 'k6';\nexport default function () { http.get(`${__ENV.BASE_URL}/get`); sleep(0.05); }\n");
    let out = run_interrupted(
        &s,
        &[
            "-u",
            "2",
            "-d",
            "60s",
            "-e",
            &format!("BASE_URL={}", server.base_url()),
        ],
        Duration::from_millis(1500),
    );
    assert_eq!(
        out.status.code(),
        Some(105),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("TOTAL RESULTS"));
}

#[test]
fn config_precedence_file_script_env_cli() {
    let s = script(
        "export const options = { vus: 2, iterations: 4 };\nexport default function () {}\n",
    );
    let config = s.file(
        "config.json",
        r#"{"vus": 7, "iterations": 70, "summaryTrendStats": ["avg", "p(99)"]}"#,
    );
    let inspect = |env: &[(&str, &str)], args: &[&str]| -> serde_json::Value {
        let out = Command::new(assert_cmd::cargo::cargo_bin("stampede"))
            .arg("inspect")
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg(&s.path)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // the script beats the config file; the file still supplies what the script doesn't set
    let o = inspect(&[], &[]);
    assert_eq!(
        (o["vus"].as_i64(), o["iterations"].as_i64()),
        (Some(2), Some(4))
    );
    assert_eq!(o["summaryTrendStats"][1], "p(99)");
    // K6_* env beats the script
    let o = inspect(&[("K6_VUS", "3")], &[]);
    assert_eq!(o["vus"], 3);
    // CLI flags beat the env; a duration on the CLI replaces the script's iterations
    let o = inspect(&[("K6_VUS", "3")], &["-u", "5", "-d", "2s"]);
    assert_eq!(o["vus"], 5);
    assert_eq!(o["duration"], "2s");
    assert!(o["iterations"].is_null(), "{o}");
    assert_eq!(o["scenarios"]["default"]["executor"], "constant-vus");
}

#[test]
fn async_exec_functions_timers_and_promises_run_on_the_vu_event_loop() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import { check } from 'k6';
export const options = { iterations: 3 };
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
export default async function () {
  const t0 = Date.now();
  await wait(100);
  const r = await http.asyncRequest('GET', `${__ENV.BASE_URL}/get`);
  let ticks = 0;
  const id = setInterval(() => { ticks++; if (ticks === 3) clearInterval(id); }, 20);
  await wait(150);
  check(r, { 'async ok': (x) => x.status === 200, 'waited': () => Date.now() - t0 >= 240, 'interval ran 3 times': () => ticks === 3 });
  setTimeout(() => { throw new Error('late timer fired'); }, 10);
}
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.metric("checks", "passes"), 9.0);
    // the iteration waits for its timers: the late one throws and is logged
    assert_eq!(
        r.stderr.matches("late timer fired").count(),
        3,
        "{}",
        r.stderr
    );
    let took = r.metric("iteration_duration", "min");
    assert!(took >= 250.0, "iteration_duration min {took}");
}

/// The VUs of a worker share one QuickJS runtime, whose promise job queue is shared too: a VU
/// that blocks in `http.get` with a job of its own still queued must get that job back, run on
/// its own stack (the job here blocks in a request itself) after its synchronous code, as in k6;
/// the other VUs go on meanwhile.
#[test]
fn promise_jobs_stay_with_their_vu_when_vus_share_a_runtime() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import { check } from 'k6';
export const options = { vus: 10, iterations: 60 };
export default async function () {
  const seen = [];
  const job = Promise.resolve().then(() => {
    const r = http.get(`${__ENV.BASE_URL}/get?from=job`);
    seen.push(`job:${r.status}`);
  });
  http.get(`${__ENV.BASE_URL}/delay/${(__VU % 3) * 5}`);
  seen.push('sync');
  await job;
  check(seen, { 'microtask after the synchronous code, on its own VU': (s) => s.join() === 'sync,job:200' });
}
"#,
    );
    let r = run(&s, &server.base_url(), &["--workers", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.metric("checks", "passes"), 60.0, "{}", r.stderr);
    assert_eq!(r.metric("http_reqs", "count"), 120.0);
}

/// More VUs than one QuickJS runtime takes (256) on one worker: the VUs of both runtimes
/// interleave requests, promise jobs and timers, and share a SharedArray made in the init code.
#[test]
fn vus_of_several_runtimes_run_side_by_side() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import { check, sleep } from 'k6';
import { SharedArray } from 'k6/data';
const names = new SharedArray('names', () => ['a', 'b', 'c']);
export const options = { vus: 300, iterations: 600 };
export default async function () {
  const later = new Promise((resolve) => setTimeout(() => resolve(__VU), 5));
  const r = http.get(`${__ENV.BASE_URL}/get?vu=${__VU}`);
  const got = await later;
  check(r, {
    'answered': (x) => x.status === 200 && x.json().args.vu === String(__VU),
    'own timer': () => got === __VU,
    'shared data': () => names[__VU % 3] === ['a', 'b', 'c'][__VU % 3],
  });
  sleep(0.01);
}
"#,
    );
    let r = run(&s, &server.base_url(), &["--workers", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.metric("checks", "passes"), 1800.0, "{}", r.stderr);
    assert_eq!(r.metric("checks", "fails"), 0.0);
    assert_eq!(r.metric("http_reqs", "count"), 600.0);
}

/// VUs suspend inside nested calls (a request three functions deep) while other VUs run,
/// throw and build stack traces: each trace is its own VU's, file:line:col included.
#[test]
fn stack_traces_stay_with_their_vu_when_vus_interleave() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import { check } from 'k6';
export const options = { vus: 12, iterations: 120 };
function level3() { http.get(`${__ENV.BASE_URL}/delay/${__ITER % 4}`); return new Error(`from VU ${__VU}`).stack; }
function level2() { return level3(); }
function level1() { return level2(); }
export default function () {
  const stack = level1();
  check(stack, {
    'own frames, innermost first': (s) => /level3[\s\S]*level2[\s\S]*level1/.test(s),
    'with the script position': (s) => /script\.js:\d+:\d+/.test(s),
  });
  if (__ITER % 5 === 0) throw new Error(`planned failure in VU ${__VU}`);
}
"#,
    );
    let r = run(&s, &server.base_url(), &["--workers", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.metric("checks", "passes"), 240.0, "{}", r.stderr);
    assert!(r.stderr.contains("planned failure in VU"), "{}", r.stderr);
}

/// Each VU runs on its own coroutine stack while the runtime is shared: runaway recursion is a
/// RangeError in the VU that recursed, never a crash, in every VU.
#[test]
fn deep_recursion_is_a_range_error_in_every_vu() {
    let s = script(
        r#"
export const options = { vus: 8, iterations: 32 };
function down(n) { return down(n + 1) + 1; }
export default function () {
  try { down(0); } catch (e) { if (!(e instanceof RangeError)) throw e; return; }
  throw new Error('no RangeError');
}
"#,
    );
    let r = run(&s, "http://127.0.0.1:9", &["--workers", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.metric("iterations", "count"), 32.0);
    assert!(!r.stderr.contains("no RangeError"), "{}", r.stderr);
}

/// Past the kernel's map budget VU stacks share mappings without guard pages between them
/// (`STAMPEDE_GUARDED_STACKS` lowers the budget): the JS stack limit still turns recursion,
/// in JS and in JSON's natives, into a RangeError in each VU, and a warning says so.
#[test]
fn vus_without_guard_pages_still_stop_recursion() {
    let s = script(
        r#"
export const options = { vus: 8, iterations: 32 };
function down(n) { return down(n + 1) + 1; }
function rangeError(f) {
  try { f(); } catch (e) { if (e instanceof RangeError) return; throw e; }
  throw new Error('no RangeError');
}
export default function () {
  rangeError(() => down(0));
  rangeError(() => JSON.parse('['.repeat(200000) + ']'.repeat(200000)));
  let deep = {};
  for (let i = 0; i < 200000; i++) deep = { d: deep };
  rangeError(() => JSON.stringify(deep));
}
"#,
    );
    let r = run_env(
        &s,
        "http://127.0.0.1:9",
        &["--workers", "1"],
        &[("STAMPEDE_GUARDED_STACKS", "2")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.metric("iterations", "count"), 32.0);
    assert!(
        r.stderr
            .contains("level=warning msg=\"more VUs than the kernel's memory-map limit"),
        "{}",
        r.stderr
    );
    // Any other exception (or no RangeError at all) is an iteration error.
    assert!(!r.stderr.contains("level=error"), "{}", r.stderr);
}

/// Iterations that never wait for I/O still let the worker's other VUs run (each gets a turn
/// after an iteration), and a VU stuck in a loop that calls no native is stopped at the end of
/// `gracefulStop` by the runtime's interrupt handler, which looks at that VU's deadline.
#[test]
fn busy_loop_is_interrupted_at_the_end_of_graceful_stop() {
    let s = script(
        r#"
export const options = { scenarios: { s: { executor: 'constant-vus', vus: 3, duration: '1s', gracefulStop: '0s' } } };
export default function () {
  if (__ITER === 0) console.log(`VU ${__VU} started`);
  if (__VU === 2) { for (;;) {} }
  const end = Date.now() + 20; while (Date.now() < end) {}
}
"#,
    );
    let t0 = std::time::Instant::now();
    let r = run(&s, "http://127.0.0.1:9", &["--workers", "1"]);
    let took = t0.elapsed();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
    assert!(
        r.stderr.contains("VU 1 started") && r.stderr.contains("VU 2 started"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_promise_that_can_never_settle_is_an_error_not_a_hang() {
    let s = script("export const options = { iterations: 1 };\nexport default async function () { await new Promise(() => {}); }\n");
    let r = raw(&["run", "-q", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("never settles"), "{}", r.stderr);
}

#[test]
fn no_thresholds_and_malformed_thresholds() {
    let s = script("export const options = { iterations: 1, thresholds: { iterations: ['count>100'] } };\nexport default function () {}\n");
    assert_eq!(raw(&["run", "-q", s.path.to_str().unwrap()]).code, 99);
    assert_eq!(
        raw(&["run", "-q", "--no-thresholds", s.path.to_str().unwrap()]).code,
        0
    );
    let s = script("export const options = { thresholds: { http_req_duration: ['p95 < 500'] } };\nexport default function () {}\n");
    let r = raw(&["run", "-q", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 104, "{}", r.stderr);
    assert!(r.stderr.contains("p95 < 500"), "{}", r.stderr);
    let s = script("export const options = { thresholds: { http_req_failed: ['p(95)<1'] } };\nexport default function () {}\n");
    let r = raw(&["run", "-q", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 104, "{}", r.stderr);
    assert!(r.stderr.contains("http_req_failed"), "{}", r.stderr);
}

#[test]
fn vu_metric_tags_and_test_options_from_k6_execution() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import exec from 'k6/execution';
import { check } from 'k6';
export const options = { iterations: 2, thresholds: { 'http_reqs{phase:warm}': ['count==2'] } };
export default function () {
  exec.vu.metrics.tags.phase = 'warm';
  http.get(`${__ENV.BASE_URL}/get`);
  delete exec.vu.metrics.tags.phase;
  // As k6: the shortcut is folded into the scenarios.
  check(null, { 'options visible': () => exec.test.options.scenarios.default.iterations === 2 && exec.test.options.iterations === undefined });
}
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.stdout);
    assert_eq!(r.metric("checks", "passes"), 2.0);
}
