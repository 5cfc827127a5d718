//! k6 options that shape a run and that stampede used to accept and ignore: the same script on
//! real k6 and on stampede against the demo target, the observable results compared.

use crate::support::{k6_run, k6_run_env, run_alone, run_env, script, target};

fn export_of(out: &std::process::Output, path: &std::path::Path) -> serde_json::Value {
    assert!(
        out.status.success(),
        "k6: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn min_iteration_duration_paces_iterations_outside_iteration_duration() {
    let s = script(
        r#"
export const options = { vus: 2, duration: '2s', minIterationDuration: '500ms' };
export default function () {}
"#,
    );
    let export = s.dir.path().join("k6.json");
    let k6 = export_of(
        &k6_run(
            &s,
            "http://127.0.0.1:1",
            &["--summary-export", export.to_str().unwrap()],
        ),
        &export,
    );
    let ours = run_alone(&s, "http://127.0.0.1:1", &[]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    // 2 VUs, an iteration every 500 ms for 2 s.
    assert_eq!(k6["metrics"]["iterations"]["count"], 8.0);
    assert_eq!(ours.metric("iterations", "count"), 8.0);
    // The wait is not part of the iteration.
    assert!(k6["metrics"]["iteration_duration"]["max"].as_f64().unwrap() < 100.0);
    assert!(ours.metric("iteration_duration", "max") < 100.0);
}

#[test]
fn batch_and_batch_per_host_limit_parallel_requests() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
const num = (v) => (v === undefined ? undefined : Number(v));
export const options = { iterations: 1, batch: num(__ENV.B), batchPerHost: num(__ENV.PH) };
export default function () {
  const t = Date.now();
  http.batch(Array.from({ length: 12 }, () => ['GET', `${__ENV.BASE_URL}/delay/200`]));
  // In rounds of 200 ms.
  console.log(`rounds=${Math.round((Date.now() - t) / 200)}`);
}
"#,
    );
    let rounds = |stderr: &str| -> String {
        let at = stderr.find("rounds=").expect(stderr);
        stderr[at..].split('"').next().unwrap().to_string()
    };
    // k6's defaults (20 in all, 6 per host), 3 per host, 2 in all, no limit.
    for (env, want) in [
        (vec![], "rounds=2"),
        (vec![("PH", "3")], "rounds=4"),
        (vec![("B", "2"), ("PH", "0")], "rounds=6"),
        (vec![("PH", "0")], "rounds=1"),
    ] {
        let mut args: Vec<String> = Vec::new();
        for (k, v) in &env {
            args.push("-e".into());
            args.push(format!("{k}={v}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let theirs = k6_run(&s, &server.base_url(), &args);
        assert!(theirs.status.success());
        assert_eq!(
            rounds(&String::from_utf8_lossy(&theirs.stderr)),
            want,
            "k6 {env:?}"
        );
        let ours = crate::support::run(&s, &server.base_url(), &args);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(rounds(&ours.stderr), want, "stampede {env:?}");
    }
}

#[test]
fn rps_limits_the_whole_tests_requests() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = { vus: 5, duration: '2s', rps: 10 };
export default function () { http.get(`${__ENV.BASE_URL}/`); }
"#,
    );
    let export = s.dir.path().join("k6.json");
    let arg = ["--summary-export", export.to_str().unwrap()];
    for env in [vec![], vec![("K6_RPS", "5")]] {
        let k6 = export_of(&k6_run_env(&s, &server.base_url(), &arg, &env), &export);
        let ours = run_env(&s, &server.base_url(), &[], &env);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        let (theirs, ours) = (
            k6["metrics"]["http_reqs"]["count"].as_f64().unwrap(),
            ours.metric("http_reqs", "count"),
        );
        // 10/s (or 5/s) for 2 s, plus the last iterations finishing: k6 makes 25 (15).
        let limit = if env.is_empty() { 10.0 } else { 5.0 };
        assert!(
            (theirs - ours).abs() <= 2.0,
            "{env:?}: k6 {theirs}, stampede {ours}"
        );
        assert!(ours <= 2.0 * limit + 5.0 + 1.0, "{env:?}: {ours}");
    }
}

#[test]
fn full_summary_has_k6s_sections() {
    let server = target();
    // Named scenarios (a section each, groups inside) and the shortcut's default scenario (its
    // groups are sections of their own), nested groups, checks that pass and fail.
    let named = r#"
import http from 'k6/http';
import { check, group } from 'k6';
export const options = { scenarios: {
  a: { executor: 'shared-iterations', vus: 1, iterations: 3 },
  b: { executor: 'shared-iterations', vus: 1, iterations: 2, exec: 'other' } } };
export default function () {
  group('g1', () => { check(http.get(`${__ENV.BASE_URL}/`), { ok: (r) => r.status === 200 }); });
}
export function other() { http.get(`${__ENV.BASE_URL}/status/404`); }
"#;
    let shortcut = r#"
import http from 'k6/http';
import { check, group } from 'k6';
export const options = { iterations: 1 };
export default function () {
  group('outer', () => {
    http.get(`${__ENV.BASE_URL}/`);
    group('inner', () => { check(1, { c1: () => true }); http.get(`${__ENV.BASE_URL}/`); });
  });
  group('second', () => { check(1, { c2: () => false }); });
  // Listed in the order they ran, not by name.
  group('aardvark', () => { check(1, { c3: () => true }); });
}
"#;
    // The names and dots exactly; of the values, how many there are and their labels.
    let shape = |out: &str| -> Vec<String> {
        out.lines()
            .map(|l| match l.split_once(": ") {
                Some((name, values)) if name.ends_with('.') => {
                    let fields: Vec<String> = values
                        .split_whitespace()
                        .map(|f| f.split('=').next().unwrap_or("").to_string())
                        .map(|f| {
                            if f.chars().any(|c| c.is_ascii_digit()) {
                                "#".into()
                            } else {
                                f
                            }
                        })
                        .collect();
                    format!("{name}: {}", fields.join(" "))
                }
                _ => l.trim_end().to_string(),
            })
            .collect()
    };
    for source in [named, shortcut] {
        let s = script(source);
        let args = ["--summary-mode", "full"];
        let theirs = k6_run(&s, &server.base_url(), &args);
        assert!(theirs.status.success());
        let ours = crate::support::run(&s, &server.base_url(), &args);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        let theirs = shape(&String::from_utf8_lossy(&theirs.stdout));
        assert!(theirs.iter().any(|l| l.contains("GROUP:")), "{theirs:#?}");
        assert_eq!(shape(&ours.stdout), theirs);
    }
}

#[test]
fn what_cannot_be_honoured_yet_is_refused_with_the_reason() {
    let s = script("export default function () {}\n");
    // Flags: exit 255 and the reason, never a run that ignores them.
    for flag in [
        vec!["--paused"],
        vec!["--execution-segment", "0:1/2"],
        vec!["--execution-segment-sequence", "0,1/2,1"],
        vec!["--local-ips", "127.0.0.2"],
        vec!["--type", "archive"],
    ] {
        let mut args = vec!["run", "-q"];
        args.extend(&flag);
        args.push(s.path.to_str().unwrap());
        let out = crate::support::raw(&args);
        assert_eq!(out.code, 255, "{flag:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(flag[0]) && out.stderr.contains("is not supported by stampede"),
            "{flag:?}: {}",
            out.stderr
        );
    }
    // Option keys: exit 104 naming the key; `paused: false` asks for nothing.
    for (options, code) in [
        ("{ paused: true }", 104),
        ("{ executionSegment: '0:1/2' }", 104),
        ("{ paused: false, iterations: 1 }", 0),
    ] {
        let s = script(&format!(
            "export const options = {options};\nexport default function () {{}}\n"
        ));
        let out = crate::support::run(&s, "http://127.0.0.1:1", &[]);
        assert_eq!(out.code, code, "{options}: {}", out.stderr);
    }
    // Ignoring `--address` changes no result: a warning says so.
    let out = crate::support::raw(&[
        "run",
        "-q",
        "--address",
        "127.0.0.1:0",
        s.path.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("--address is ignored"),
        "{}",
        out.stderr
    );
}
