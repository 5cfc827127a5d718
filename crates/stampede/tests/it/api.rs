//! A script exercising the k6 APIs; counts checked against what the server saw.

use crate::support::{run, script, target};

const EVERYTHING: &str = r#"
import http from 'k6/http';
import { check, group, sleep, fail, randomSeed } from 'k6';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import { b64encode, b64decode } from 'k6/encoding';
import { sha256 } from 'k6/crypto';
import { SharedArray } from 'k6/data';
import { helper } from './lib.js';

const users = new SharedArray('users', () => JSON.parse(open('./users.json')));
const myCounter = new Counter('my_counter');
const myGauge = new Gauge('my_gauge');
const myRate = new Rate('my_rate');
const myTrend = new Trend('my_trend', true);
const B = __ENV.BASE_URL;

export const options = { vus: 2, iterations: 6 };

export function setup() {
  const r = http.get(`${B}/health`);
  return { token: 'abc', status: r.status };
}

export default function (data) {
  randomSeed(42);
  if (data.token !== 'abc' || data.status !== 200) fail('setup data not passed');
  group('api', () => {
    const r = http.get(`${B}/get?x=1`, { headers: { 'X-Test': 'yes' }, tags: { name: 'get' } });
    check(r, {
      'status 200': (x) => x.status === 200,
      'header echoed': (x) => x.json('headers.X-Test') === 'yes' || x.json('headers.x-test') === 'yes',
      'timings present': (x) => x.timings.duration >= 0 && x.timings.waiting >= 0,
      'proto': (x) => x.proto === 'HTTP/1.1',
    });
    const p = http.post(`${B}/post`, { a: '1', b: 'two' });
    check(p, { 'form posted': (x) => x.json('form.a') === '1' });
    const j = http.post(`${B}/echo`, JSON.stringify({ hello: 'world' }), { headers: { 'Content-Type': 'application/json' } });
    check(j, { 'echo ok': (x) => x.status === 200 && x.body.indexOf('world') >= 0 });
  });
  const responses = http.batch([
    ['GET', `${B}/status/201`],
    { method: 'GET', url: `${B}/status/404` },
  ]);
  check(responses[0], { 'batch 201': (x) => x.status === 201 });
  check(responses[1], { 'batch 404': (x) => x.status === 404 });
  const put = http.put(`${B}/echo`, 'x');
  const patch = http.patch(`${B}/echo`, 'y');
  const del = http.del(`${B}/echo`);
  const head = http.head(`${B}/get`);
  const opts = http.options(`${B}/echo`);
  check(null, { 'verbs': () => put.status === 200 && patch.status === 200 && del.status === 200 && head.status === 200 && opts.status >= 200 });
  const red = http.get(`${B}/redirect/2`);
  check(red, { 'redirect followed': (x) => x.status === 200 && x.url.endsWith('/get') });
  const bin = http.get(`${B}/bytes/16`, { responseType: 'binary' });
  check(bin, { 'binary body': (x) => x.body.byteLength === 16 });
  http.get(`${B}/cookies/set?k6=1`);
  const ck = http.get(`${B}/cookies`);
  check(ck, { 'cookie kept': (x) => x.json('k6') === '1' || x.body.indexOf('k6') >= 0 });
  check(null, {
    'b64': () => b64decode(b64encode('hi'), 'std', 's') === 'hi',
    'sha256': () => sha256('abc', 'hex').startsWith('ba7816bf'),
    'shared array': () => users.length === 2 && users[1].name === 'b',
    'relative import': () => helper(2) === 4,
    'exec info': () => exec.vu.idInInstance >= 1 && exec.scenario.name === 'default',
    'env': () => __ENV.BASE_URL === B && __VU >= 1 && __ITER >= 0,
  });
  myCounter.add(2, { kind: 'x' });
  myGauge.add(__VU);
  myRate.add(true);
  myTrend.add(12.5);
  sleep(0.01);
}

export function teardown(data) {
  if (data.token !== 'abc') throw new Error('teardown got no data');
  http.get(`${B}/health`);
}
"#;

#[test]
fn every_api_counts_match_the_server() {
    let server = target();
    let s = script(EVERYTHING);
    s.file("lib.js", "export function helper(x) { return x * 2; }\n");
    s.file("users.json", r#"[{"name":"a"},{"name":"b"}]"#);
    let before = server.stats().total_requests;
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "stderr: {}\nstdout: {}", r.stderr, r.stdout);
    let served = server.stats().total_requests - before;
    // 6 iterations x 16 requests (redirect/2 is three hops) + setup + teardown
    let reqs = r.metric("http_reqs", "count");
    assert_eq!(
        reqs as u64, served,
        "stampede counted {reqs}, the server served {served}"
    );
    assert_eq!(reqs as u64, 6 * 16 + 2);
    assert_eq!(r.metric("iterations", "count"), 6.0);
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.stderr);
    assert_eq!(r.metric("checks", "passes"), 6.0 * 18.0);
    assert_eq!(r.metric("my_counter", "count"), 12.0);
    assert_eq!(r.metric("my_rate", "value"), 1.0);
    assert_eq!(r.metric("my_trend", "avg"), 12.5);
    // one 404 per iteration: http_req_failed counts it (k6 exports the count as `passes`)
    assert_eq!(r.metric("http_req_failed", "passes"), 6.0);
    let failed = r.metric("http_req_failed", "value");
    assert!(
        (failed - 6.0 / 98.0).abs() < 1e-9,
        "http_req_failed rate {failed}"
    );
}

#[test]
fn exceptions_in_iterations_are_logged_and_counted() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = { iterations: 4, vus: 1 };
export default function () {
  http.get(`${__ENV.BASE_URL}/get`);
  if (__ITER % 2 === 1) {
    undefinedFunction();
  }
}
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.metric("iterations", "count"), 4.0);
    assert_eq!(r.metric("http_reqs", "count"), 4.0);
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("undefinedFunction is not defined"))
        .collect();
    assert_eq!(errors.len(), 2, "{}", r.stderr);
    assert!(
        errors[0].contains("script.js:7:5"),
        "no file:line:col in {}",
        errors[0]
    );
    assert!(errors[0].contains("source=stacktrace"));
}

#[test]
fn failed_thresholds_exit_99() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = { iterations: 3, thresholds: { http_req_duration: ['p(95)<0.001'], http_reqs: ['count>1'] } };
export default function () { http.get(`${__ENV.BASE_URL}/delay/5`); }
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 99, "{}", r.stderr);
    let s = script(
        r#"
import http from 'k6/http';
export const options = { iterations: 3, thresholds: { http_req_duration: ['p(95)<5000'], 'http_req_duration{status:200}': ['max<5000'] } };
export default function () { http.get(`${__ENV.BASE_URL}/get`); }
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Each metric keeps only the tags its summary and thresholds select on, so distinct URLs do not
/// each get their own aggregates; sub-metric thresholds still see exactly their samples.
#[test]
fn distinct_urls_keep_sub_metric_thresholds_exact() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = {
  iterations: 300,
  thresholds: {
    'http_reqs{name:item}': ['count==200'],
    'http_reqs{status:404}': ['count==100'],
    'http_reqs{expected_response:true}': ['count==200'],
    'http_req_duration{name:item}': ['max>=0'],
  },
};
export default function () {
  if (__ITER % 3 === 2) http.get(`${__ENV.BASE_URL}/status/404?i=${__ITER}`);
  else http.get(`${__ENV.BASE_URL}/get?i=${__ITER}`, { tags: { name: 'item' } });
}
"#,
    );
    let r = run(
        &s,
        &server.base_url(),
        &["--summary-trend-stats", "count,avg"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.metric("http_reqs", "count"), 300.0);
    assert_eq!(server.stats().total_requests, 300);
}

#[test]
fn duration_and_vus_flags_run_constant_vus() {
    let server = target();
    let s = script("import http from 'k6/http';\nimport { sleep } from 'k6';\nexport default function () { http.get(`${__ENV.BASE_URL}/get`); sleep(0.1); }\n");
    let r = run(&s, &server.base_url(), &["-u", "3", "-d", "2s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let its = r.metric("iterations", "count");
    // 3 VUs x ~10 iterations per second for 2 s
    assert!((48.0..=63.0).contains(&its), "iterations {its}");
    let took = r.metric("iterations", "count") / r.metric("iterations", "rate");
    assert!((1.95..2.5).contains(&took), "took {took}");
    assert_eq!(r.metric("vus_max", "value"), 3.0);
}

#[test]
fn response_json_is_parsed_once_and_follows_the_body() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import { check } from 'k6';
export const options = { vus: 1, iterations: 2 };
export default function () {
  const r = http.get(`${__ENV.BASE_URL}/get?a=1`);
  const first = r.json();
  first.added = 7;
  check(r, {
    // k6 caches the parse: a change to it shows in the next call
    'cached parse': (x) => x.json().added === 7,
    // selectors run on the raw body, as in k6 (gjson)
    'selector': (x) => x.json('args.a') === '1' && x.json('added') === undefined,
  });
  r.body = '{"replaced":[1,2,3]}';
  check(r, { 'new body parsed again': (x) => x.json('replaced.#') === 3 && x.json().added === undefined });
  r.body = 'not json';
  let err = '';
  try { r.json(); } catch (e) { err = `${e.name}: ${e.message}`; }
  check(err, { 'bad body is a GoError': (e) => e.startsWith('GoError: cannot parse json') });
}
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "stderr: {}\nstdout: {}", r.stderr, r.stdout);
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.stdout);
    assert_eq!(r.metric("checks", "passes"), 8.0);
}

/// `throw: true` turns a failed request into an exception (built natively with the response).
#[test]
fn throw_option_raises_failed_requests() {
    let s = script(
        r#"
import http from 'k6/http';
import { check } from 'k6';
export const options = { throw: true, vus: 1, iterations: 1 };
export default function () {
  let msg = '';
  try { http.get('http://127.0.0.1:9/'); } catch (e) { msg = String(e.message); }
  check(msg, { 'refused request threw': (m) => m.includes('connection refused') });
  check(http.get(`${__ENV.BASE_URL}/get`), { 'a good request still answers': (r) => r.status === 200 });
}
"#,
    );
    let server = target();
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "stderr: {}\nstdout: {}", r.stderr, r.stdout);
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.stderr);
    assert_eq!(r.metric("checks", "passes"), 2.0);
}

/// The typed arrays are added to a VU's context on first use (by the script, or by a native
/// that hands out an ArrayBuffer); each path must give the real constructors.
#[test]
fn typed_arrays_come_on_first_use() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import { check } from 'k6';
const lazyAtStart = typeof Object.getOwnPropertyDescriptor(globalThis, 'DataView').get === 'function';
const file = __VU === 1 ? open('./data.bin', 'b') : null;
export const options = {
  scenarios: { s: { executor: 'per-vu-iterations', vus: 3, iterations: 1 } },
};
export default function () {
  check(null, { 'lazy at start': () => lazyAtStart });
  if (__VU === 1) {
    // open(..., 'b') in the init context made them.
    check(file, {
      'open b': (f) => f instanceof ArrayBuffer && new Uint8Array(f)[2] === 99 && f.byteLength === 3,
    });
  } else if (__VU === 2) {
    // A binary response body is the first ArrayBuffer of this VU.
    const r = http.get(`${__ENV.BASE_URL}/bytes/16`, { responseType: 'binary' });
    check(r.body, {
      'binary body': (b) => Object.getPrototypeOf(b) === ArrayBuffer.prototype && b.byteLength === 16,
      'views work': (b) => new DataView(b).byteLength === 16 && new Uint8Array(b).length === 16,
      'atomics came along': () => typeof Atomics === 'object',
    });
  } else {
    // Assigned before any use: the assignment wins, the others are real.
    Float64Array = 5;
    check(null, {
      'assigned': () => Float64Array === 5,
      'others real': () => new Int16Array(2).length === 2 && typeof SharedArrayBuffer === 'function',
      'not enumerable': () => !Object.keys(globalThis).includes('Uint8Array'),
    });
  }
}
"#,
    );
    s.file("data.bin", "abc");
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.stdout);
    assert_eq!(r.metric("checks", "passes"), 3.0 + 1.0 + 3.0 + 3.0);
}
