//! k6's JavaScript APIs where stampede used to give another answer than k6 without an error:
//! the same script on real k6 and on stampede, and what each printed compared.

use crate::support::{k6_run, run, script, Script};

/// The `msg` of every console line (`source=console`) and of every warning about a metric,
/// sorted: the VUs' order differs from run to run.
fn messages(stderr: &str) -> Vec<String> {
    let mut out: Vec<String> = stderr
        .lines()
        .filter(|l| {
            l.contains("source=console") || (l.contains("level=warning") && l.contains("metric"))
        })
        .filter_map(|l| {
            let start = l.find(" msg=\"")? + 6;
            let rest = &l[start..];
            let mut end = 0;
            let b = rest.as_bytes();
            while end < b.len() && !(b[end] == b'"' && b[end - 1] != b'\\') {
                end += 1;
            }
            Some(rest[..end].to_string())
        })
        .collect();
    out.sort();
    out
}

/// Runs `s` on k6 and on stampede; both must exit with `code`; returns k6's messages and ours.
fn both(s: &Script, code: i32) -> (Vec<String>, Vec<String>) {
    let theirs = k6_run(s, "http://127.0.0.1:1", &[]);
    let theirs_err = String::from_utf8_lossy(&theirs.stderr).into_owned();
    assert_eq!(theirs.status.code(), Some(code), "k6: {theirs_err}");
    let ours = run(s, "http://127.0.0.1:1", &[]);
    assert_eq!(ours.code, code, "stampede: {}", ours.stderr);
    (messages(&theirs_err), messages(&ours.stderr))
}

#[test]
fn open_resolves_from_the_calling_module() {
    let s = script(
        r#"
import { fromLib } from './lib/mod.js';
const fromRoot = open('./data.txt');
export const options = { iterations: 1 };
export default function () { console.log(`root=${fromRoot.trim()} lib=${fromLib.trim()}`); }
"#,
    );
    std::fs::create_dir(s.dir.path().join("lib")).unwrap();
    s.file("data.txt", "root data");
    s.file("lib/data.txt", "lib data");
    s.file("lib/mod.js", "export const fromLib = open('./data.txt');\n");
    let (theirs, ours) = both(&s, 0);
    assert_eq!(theirs, ["root=root data lib=lib data"]);
    assert_eq!(ours, theirs);
}

#[test]
fn iteration_in_scenario_is_the_vus_own() {
    let s = script(
        r#"
import exec from 'k6/execution';
export const options = { scenarios: {
  a: { executor: 'per-vu-iterations', vus: 2, iterations: 3 },
  b: { executor: 'shared-iterations', vus: 1, iterations: 2, startTime: '500ms', exec: 'other' },
} };
export default function () {
  console.log(`a vuIter=${exec.vu.iterationInScenario} inst=${exec.vu.iterationInInstance}`);
}
export function other() {
  console.log(`b vuIter=${exec.vu.iterationInScenario}`);
}
"#,
    );
    let (theirs, ours) = both(&s, 0);
    assert_eq!(theirs.len(), 8, "{theirs:?}");
    assert_eq!(ours, theirs);
}

#[test]
fn js_apis_answer_as_k6() {
    let s = script(
        r#"
import exec from 'k6/execution';
import crypto from 'k6/crypto';
import { check, group } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import { SharedArray } from 'k6/data';
const counter = new Counter('cnt');
try { new Counter('c'); } catch (e) { console.log('one-letter name: threw'); }
const rate = new Rate('rt');
const trend = new Trend('tr');
const shared = new SharedArray('s', () => [{ a: 1 }, [1, 2]]);
export const options = {
  scenarios: { only: { executor: 'shared-iterations', vus: 1, iterations: 1, tags: { st: 'v' } } },
  tags: { tt: 'x' },
};
function attempt(label, fn) {
  try { console.log(`${label}: ok ${fn()}`); } catch (e) { console.log(`${label}: threw`); }
}
export default function () {
  const bytes = new Uint8Array([104, 105, 0, 255, 128]).buffer;
  attempt('createHash', () => {
    const h = crypto.createHash('sha256');
    h.update('héllo');
    h.update(bytes);
    return h.digest('hex');
  });
  attempt('sha256', () => crypto.sha256(bytes, 'hex'));
  // k6 lists them in a Go map's order: sorted here.
  attempt('tags', () => JSON.stringify(Object.entries(exec.vu.metrics.tags).sort()));
  attempt('add NaN', () => counter.add(NaN));
  attempt('add undefined', () => counter.add(undefined));
  attempt('add null', () => rate.add(null));
  attempt('add abc', () => trend.add('abc'));
  attempt('add 5', () => trend.add('5'));
  attempt('add true', () => rate.add(true));
  attempt('write element', () => { shared[0].a = 5; return shared[0].a; });
  attempt('push nested', () => shared[1].push(3));
  attempt('push', () => shared.push(3));
  attempt('late SharedArray', () => new SharedArray('late', () => [1]).length);
  attempt('check async', () => check(1, { 'async': async () => true }));
  attempt('group async', () => group('g', async () => 1));
}
"#,
    );
    let (theirs, ours) = both(&s, 0);
    assert!(theirs.iter().any(|m| m.starts_with("createHash: ok ")));
    assert_eq!(ours, theirs);
}

#[test]
fn ramping_vus_steps_as_k6() {
    // Going down, k6 stops a VU one step after the target passes below it: VU 4 of a ramp from
    // 4 to 0 over 1 s stops at 250 ms, and still starts an iteration at 0 ms. Iterations are
    // 500 ms long and start 250 ms away from any step, so the counts are not a race.
    let s = script(
        r#"
import { sleep } from 'k6';
export const options = { stages: [
  { duration: '1s', target: 4 }, { duration: '1s', target: 4 }, { duration: '1s', target: 0 },
] };
export default function () { sleep(0.5); }
"#,
    );
    let export = s.dir.path().join("k6.json");
    let theirs = k6_run(
        &s,
        "http://127.0.0.1:1",
        &["--summary-export", export.to_str().unwrap()],
    );
    assert!(theirs.status.success());
    let k6: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let ours = crate::support::run_alone(&s, "http://127.0.0.1:1", &[]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!(k6["metrics"]["iterations"]["count"], 18.0);
    assert_eq!(ours.metric("iterations", "count"), 18.0);
}

#[test]
fn exec_test_options_holds_the_consolidated_options() {
    let s = script(
        r#"
import exec from 'k6/execution';
export const options = {
  scenarios: { s1: { executor: 'shared-iterations', vus: 2, iterations: 2, tags: { st: 'v' } } },
  tags: { tt: 'x' }, rps: 50, dns: { select: 'first' }, hosts: { 'a.test': '127.0.0.1' },
  thresholds: { iterations: ['count>0'] },
};
// Keys sorted: k6 lists some objects in a Go map's order.
const sorted = (v) => JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x)
  ? Object.fromEntries(Object.entries(x).sort()) : x));
export default function () {
  if (exec.scenario.iterationInTest !== 0) return;
  const o = exec.test.options;
  console.log(`keys=${Object.keys(o).sort().join(',')}`);
  const s1 = o.scenarios.s1;
  console.log(`s1=${Object.keys(s1).sort().join(',')} vus=${s1.vus} iterations=${s1.iterations} tags=${sorted(s1.tags)}`);
  console.log(`rps=${o.rps} dns=${sorted(o.dns)} hosts=${sorted(o.hosts)} tags=${sorted(o.tags)}`);
  console.log(`thresholds=${sorted(o.thresholds)} systemTags=${o.systemTags.length} vus=${o.vus}`);
}
"#,
    );
    let (theirs, ours) = both(&s, 0);
    assert_eq!(theirs.len(), 4, "{theirs:?}");
    assert_eq!(ours, theirs);
}
