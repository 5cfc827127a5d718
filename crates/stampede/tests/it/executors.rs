//! One test per executor: iteration counts, VUs and timing, against k6's definitions (and
//! against real k6 where the result is deterministic enough to compare).

use crate::support::{run, run_alone, script, target};

fn its(r: &crate::support::RunResult) -> f64 {
    r.metric("iterations", "count")
}

#[test]
fn shared_iterations_total_is_exact() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = { scenarios: { s: { executor: 'shared-iterations', vus: 4, iterations: 37 } } };
export default function () { http.get(`${__ENV.BASE_URL}/get`); }
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(its(&r), 37.0);
    assert_eq!(r.metric("http_reqs", "count"), 37.0);
}

#[test]
fn per_vu_iterations_each_vu_runs_its_share() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import { Counter } from 'k6/metrics';
const perVu = new Counter('per_vu');
export const options = {
  scenarios: { p: { executor: 'per-vu-iterations', vus: 3, iterations: 4 } },
  thresholds: { 'per_vu{vu:1}': ['count==4'], 'per_vu{vu:2}': ['count==4'], 'per_vu{vu:3}': ['count==4'] },
};
export default function () { perVu.add(1, { vu: String(__VU) }); http.get(`${__ENV.BASE_URL}/get`); }
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.stdout);
    assert_eq!(its(&r), 12.0);
}

#[test]
fn constant_vus_runs_for_its_duration() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import { sleep } from 'k6';
export const options = { scenarios: { c: { executor: 'constant-vus', vus: 4, duration: '2s' } } };
export default function () { http.get(`${__ENV.BASE_URL}/get`); sleep(0.2); }
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The test run's duration, from the reported count and rate.
    let took = its(&r) / r.metric("iterations", "rate");
    // 4 VUs x 2 s / 0.2 s = 40
    assert!((36.0..=44.0).contains(&its(&r)), "{}", its(&r));
    assert!((1.95..2.5).contains(&took), "took {took}");
    assert_eq!(r.metric("vus", "max"), 4.0);
}

#[test]
fn ramping_vus_follows_the_stages() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import { sleep } from 'k6';
export const options = {
  scenarios: {
    r: { executor: 'ramping-vus', startVUs: 0, gracefulRampDown: '0s',
         stages: [{ duration: '1s', target: 4 }, { duration: '1s', target: 4 }, { duration: '1s', target: 0 }] },
  },
};
export default function () { http.get(`${__ENV.BASE_URL}/get`); sleep(0.1); }
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // VU-seconds: ramp up 2 + hold 4 + ramp down 2 = 8, at ~10 iterations per VU-second.
    let n = its(&r);
    assert!((60.0..=90.0).contains(&n), "iterations {n}");
    assert_eq!(r.metric("vus_max", "value"), 4.0);
    assert!(r.metric("vus", "max") >= 3.0);
}

#[test]
fn constant_arrival_rate_holds_2000_per_second() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = {
  scenarios: { a: { executor: 'constant-arrival-rate', rate: 2000, timeUnit: '1s', duration: '10s', preAllocatedVUs: 50, maxVUs: 1000 } },
};
export default function () { http.get(`${__ENV.BASE_URL}/`); }
"#,
    );
    let r = run_alone(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let n = its(&r);
    assert!(
        (n - 20_000.0).abs() <= 100.0,
        "completed {n}, want 20000 +/- 0.5%"
    );
    let export = r.export.as_ref().unwrap();
    assert!(
        export["metrics"]["dropped_iterations"].is_null(),
        "dropped: {}",
        export["metrics"]["dropped_iterations"]
    );
}

#[test]
fn slow_target_drops_and_corrected_latency_grows() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = {
  scenarios: { slow: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '3s', preAllocatedVUs: 1, maxVUs: 1 } },
};
export default function () { http.get(`${__ENV.BASE_URL}/delay/100`); }
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let done = its(&r);
    let dropped = r.metric("dropped_iterations", "count");
    assert_eq!(done + dropped, 60.0, "completed {done} + dropped {dropped}");
    assert!(dropped >= 25.0, "dropped {dropped}");
    let raw = r.metric("iteration_duration", "med");
    let corrected = r.metric("iteration_duration_corrected", "med");
    assert!((100.0..130.0).contains(&raw), "raw med {raw}");
    assert!(corrected > 400.0, "corrected med {corrected}");
    assert!(r.metric("iteration_duration_corrected", "max") > 1000.0);
    assert!(
        r.stdout.contains("iteration_duration_corrected"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("Insufficient VUs"), "{}", r.stderr);
}

#[test]
fn ramping_arrival_rate_integrates_the_rate() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = {
  scenarios: { ra: { executor: 'ramping-arrival-rate', startRate: 0, timeUnit: '1s', preAllocatedVUs: 10,
                     stages: [{ duration: '2s', target: 100 }, { duration: '1s', target: 100 }] } },
};
export default function () { http.get(`${__ENV.BASE_URL}/`); }
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // 0 -> 100/s over 2 s is 100 iterations, then 100 more.
    assert!((198.0..=201.0).contains(&its(&r)), "{}", its(&r));
}

#[test]
fn several_scenarios_with_exec_env_tags_and_start_time() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import exec from 'k6/execution';
import { check } from 'k6';
export const options = {
  scenarios: {
    browse: { executor: 'shared-iterations', vus: 2, iterations: 6, exec: 'browse', env: { KIND: 'b' }, tags: { tenant: 'acme' } },
    buy: { executor: 'per-vu-iterations', vus: 1, iterations: 3, exec: 'buy', startTime: '500ms' },
  },
  thresholds: {
    'iterations{scenario:browse}': ['count==6'],
    'iterations{scenario:buy}': ['count==3'],
    'http_reqs{tenant:acme}': ['count==6'],
    'checks': ['rate==1'],
  },
};
export function browse() {
  check(null, { 'env and name': () => __ENV.KIND === 'b' && exec.scenario.name === 'browse' });
  http.get(`${__ENV.BASE_URL}/get`);
}
export function buy() {
  check(null, { 'started late': () => exec.instance.currentTestRunDuration >= 450 && exec.scenario.name === 'buy' });
  http.get(`${__ENV.BASE_URL}/get`);
}
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.stdout);
    assert_eq!(its(&r), 9.0);
}

#[test]
fn bad_scenarios_fail_fast_naming_the_field() {
    let server = target();
    for (options, field) in [
        ("{ scenarios: { x: { executor: 'nope' } } }", "scenarios.x.executor"),
        ("{ scenarios: { x: { executor: 'constant-arrival-rate', duration: '1s', preAllocatedVUs: 1 } } }", "scenario x has configuration errors: the iteration rate isn't specified"),
        ("{ scenarios: { x: { executor: 'constant-vus', duration: '-1s' } } }", "scenarios.x.duration"),
        ("{ scenarios: { x: { executor: 'ramping-vus', stages: [{ duration: '1s', target: 'ten' }] } } }", "scenarios.x.stages[0].target"),
        ("{ scenarios: { x: { executor: 'shared-iterations', exec: 'missing' } } }", "missing"),
    ] {
        let s = script(&format!("export const options = {options};\nexport default function () {{}}\n"));
        let r = run(&s, &server.base_url(), &[]);
        assert_eq!(r.code, 104, "{options}: {}", r.stderr);
        assert!(r.stderr.contains(field), "{options}: error does not name {field}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"));
    }
}

#[test]
fn externally_controlled_runs_its_vus_for_its_duration() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
import { sleep } from 'k6';
export const options = { scenarios: { ext: { executor: 'externally-controlled', vus: 2, maxVUs: 4, duration: '2s' } } };
export default function () { http.get(`${__ENV.BASE_URL}/get`); sleep(0.2); }
"#,
    );
    let r = run(&s, &server.base_url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // 2 VUs x 2 s / 0.2 s = 20 (stampede has no control API yet: the VU count stays at `vus`)
    assert!((17.0..=22.0).contains(&its(&r)), "{}", its(&r));
}

#[test]
fn graceful_stop_lets_iterations_finish_then_interrupts_them() {
    let s = script(
        r#"
import { sleep } from 'k6';
export const options = { scenarios: {
  finishes: { executor: 'constant-vus', vus: 1, duration: '1s', gracefulStop: '2s', exec: 'short' },
  cut: { executor: 'constant-vus', vus: 1, duration: '1s', gracefulStop: '500ms', exec: 'long' },
},
  thresholds: { 'iterations{scenario:finishes}': ['count==1'], 'iterations{scenario:cut}': ['count==0'] } };
export function short() { sleep(1.3); }
export function long() { sleep(10); }
"#,
    );
    let started = std::time::Instant::now();
    let r = crate::support::raw(&["run", "-q", s.path.to_str().unwrap()]);
    let took = started.elapsed().as_secs_f64();
    // `short` starts at 0 and ends at 1.3 s, inside its graceful stop: counted.
    // `long` is interrupted at 1.5 s (duration + gracefulStop) and not counted.
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.stdout);
    assert!((1.4..4.0).contains(&took), "took {took}");
}
