//! `k6/http` behaviours compared with real k6: the same script on k6 and on stampede against
//! the same demo target, and what each prints (console output, exit code) compared.

use crate::support::{k6_run_env, run_env, script, target, Script};

/// Each `console.log` line, from `msg=` on (the time cut off).
fn console(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains("source=console"))
        .filter_map(|l| l.split_once(" msg=").map(|(_, rest)| rest.to_string()))
        .collect()
}

/// Every log line (console output and warnings), from ` level=` on (the time cut off).
fn log_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("time="))
        .filter_map(|l| l.split_once(" level=").map(|(_, rest)| rest.to_string()))
        .collect()
}

/// Runs `s` on real k6 and on stampede with `env`; asserts the same exit code and returns
/// (k6's console lines, stampede's console lines, stampede's stderr).
fn both(s: &Script, base_url: &str, env: &[(&str, &str)]) -> (Vec<String>, Vec<String>, String) {
    let out = k6_run_env(s, base_url, &["--no-summary"], env);
    let k6_err = String::from_utf8_lossy(&out.stderr).into_owned();
    let ours = run_env(s, base_url, &["--no-summary"], env);
    assert_eq!(
        ours.code,
        out.status.code().unwrap_or(-1),
        "exit code; k6: {k6_err}\nstampede: {}",
        ours.stderr
    );
    (console(&k6_err), console(&ours.stderr), ours.stderr)
}

/// Asserts both print the same console lines, and that k6 printed `at_least` of them.
fn same_console(s: &Script, base_url: &str, env: &[(&str, &str)], at_least: usize) {
    let (theirs, ours, stderr) = both(s, base_url, env);
    assert!(theirs.len() >= at_least, "k6's console: {theirs:#?}");
    assert_eq!(ours, theirs, "stampede's stderr: {stderr}");
}

const COOKIE_RESET: &str = r#"
import http from 'k6/http';
const B = __ENV.BASE_URL;
export const options = { vus: 1, iterations: 3 };
let saved;
function show(jar, u) {
  const o = jar.cookiesForURL(u);
  return Object.keys(o).sort().map((k) => `${k}=${o[k].join(',')}`).join(' ');
}
export function setup() { http.get(`${B}/cookies/set?fromsetup=1`); }
export default function () {
  const it = __ITER;
  console.log(`${it} before: ${http.get(`${B}/cookies`).body}`);
  http.get(`${B}/cookies/set?it${it}=v`);
  const jar = http.cookieJar();
  if (it === 0) saved = jar;
  // A jar held from an earlier iteration is no longer the VU's (unless noCookiesReset).
  saved.set(`${B}/`, `saved${it}`, 'x');
  jar.set(`${B}/`, 'sec', 's', { secure: true });
  console.log(`${it} http: ${show(jar, `${B}/`)} | https: ${show(jar, 'https://127.0.0.1/')}`);
  console.log(`${it} after: ${http.get(`${B}/cookies`).body}`);
}
"#;

#[test]
fn cookie_jar_resets_each_iteration_as_in_k6() {
    let server = target();
    let s = script(COOKIE_RESET);
    same_console(&s, &server.base_url(), &[], 9);
    let kept = [("K6_NO_COOKIES_RESET", "true")];
    let (theirs, ours, stderr) = both(&s, &server.base_url(), &kept);
    assert_eq!(ours, theirs, "stampede's stderr: {stderr}");
    assert!(
        theirs[3].contains("it0"),
        "cookies kept across iterations: {theirs:#?}"
    );
    // The option in the script does the same.
    let s =
        script(&COOKIE_RESET.replace("iterations: 3 }", "iterations: 3, noCookiesReset: true }"));
    let (theirs2, ours2, stderr) = both(&s, &server.base_url(), &[]);
    assert_eq!(ours2, theirs2, "stampede's stderr: {stderr}");
    assert_eq!(theirs2, theirs);
}

#[test]
fn cookie_jar_api_matches_k6() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
const B = __ENV.BASE_URL;
function show(jar, label) {
  const o = jar.cookiesForURL(`${B}/a/b/c`);
  console.log(`${label}: ` + Object.keys(o).sort().map((k) => `${k}=${o[k].join(',')}`).join(' '));
}
const initJar = new http.CookieJar();
initJar.set('http://127.0.0.1/', 'a', 'b');
const initSeen = JSON.stringify(initJar.cookiesForURL('http://127.0.0.1/'));
let initError = 'none';
try { http.cookieJar(); } catch (e) { initError = String(e); }
export const options = { vus: 1, iterations: 1 };
export default function () {
  // Printed here: k6 runs the init context more often than stampede.
  console.log(`init jar: ${initSeen}; cookieJar(): ${initError}`);
  const jar = new http.CookieJar();
  console.log(`set: ${jar.set(`${B}/`, 'root', '1')}`);
  jar.set(`${B}/a/x`, 'adir', '2');
  jar.set(`${B}/a/b/x`, 'abdir', '3');
  jar.set(`${B}/`, 'withpath', '4', { path: '/a/b' });
  jar.set(`${B}/`, 'dom', '5', { domain: '127.0.0.1' });
  console.log(`other domain: ${jar.set(`${B}/`, 'baddom', '6', { domain: 'example.com' })}`);
  jar.set(`${B}/`, 'past', '7', { expires: 'Mon, 02 Jan 2006 15:04:05 MST' });
  jar.set(`${B}/`, 'future', '8', { EXPIRES: 'Mon, 02 Jan 2090 15:04:05 GMT', http_only: true });
  jar.set(`${B}/`, 'maxage0', '9', { max_age: 0 });
  jar.set(`${B}/`, 'maxageneg', '10', { max_age: -1 });
  show(jar, 'all');
  jar.clear(`${B}/a/b/zz`);
  show(jar, 'clear /a/b/zz');
  jar.delete(`${B}/a/x`, 'adir');
  show(jar, 'delete adir at /a/x');
  jar.delete(`${B}/`, 'withpath');
  show(jar, 'delete withpath at /');
  jar.clear(`${B}/`);
  show(jar, 'clear /');
  try { jar.delete(`${B}/`, ''); } catch (e) { console.log(`delete '': ${e}`); }
  try { jar.set(`${B}/`, 'x', 'y', { expires: 'tomorrow' }); } catch (e) {
    console.log(`bad expires: ${e.name} ${e.message.split(': parsing time')[0]}`);
  }
  const own = new http.CookieJar();
  own.set(`${B}/`, 'own', 'yes');
  console.log(`jar param: ${http.get(`${B}/cookies`, { jar: own }).body}`);
  http.get(`${B}/cookies/set?fromresp=1`, { jar: own });
  show(own, 'own after Set-Cookie');
  show(http.cookieJar(), 'VU jar');
  console.log(`VU jar sent: ${http.get(`${B}/cookies`).body}`);
  console.log(`not a jar: ${http.get(`${B}/cookies`, { jar: { foo: 1 } }).body}`);
  console.log(`shape: ${JSON.stringify(Object.keys(own))} ${JSON.stringify(own)}`);
  const vu = http.cookieJar();
  vu.set(`${B}/`, 's', '1', { secure: true });
  console.log(`secure over http: ${http.get(`${B}/cookies`).body}`);
}
"#,
    );
    same_console(&s, &server.base_url(), &[], 17);
}

#[test]
fn object_bodies_are_encoded_as_k6_encodes_forms() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
const B = __ENV.BASE_URL;
export const options = { vus: 1, iterations: 1 };
export default function () {
  const bodies = [
    { b: 'x y', a: 'é&=+/?', c: 1, d: 1.5, e: true, f: null, g: undefined, h: [1, 'two', [3, 4], { k: 'v' }],
      i: { y: 'z', x: 1 }, j: '', k: -0, m: 123456789012, n: NaN, o: [], p: 0.1 },
    { 'z k': "~!*()'", 'a b': 'c~d', '': 'empty' },
    { nested: { a: { b: [1, 2] } }, date: new Date(1500), at: new Date(0) },
    { f1: 1234567.5, f2: 123456789.5, f3: 1e20, f4: 1e-5, f5: 0.0001, f6: 2 ** 55, f7: 1e21,
      f8: 2 ** 53, f9: 1.5 * 2, g1: -1.5e-7, g2: 1 / 3, g3: Infinity, g4: -Infinity, g5: 5e-324,
      g6: 0.000123, g7: 123456.7 },
  ];
  for (const body of bodies) {
    const r = http.post(`${B}/anything`, body);
    console.log(`${r.json().data} | ${r.json().headers['Content-Type']}`);
  }
  const own = http.post(`${B}/anything`, { a: 'b c' }, { headers: { 'Content-Type': 'text/plain' } });
  console.log(`${own.json().data} | ${own.json().headers['Content-Type']}`);
  const b = http.batch([['PUT', `${B}/anything`, { z: 1, y: 'a b' }]]);
  console.log(`batch: ${b[0].json().data}`);
}
"#,
    );
    same_console(&s, &server.base_url(), &[], 6);
}

/// Runs `s` on both with the summary exported; asserts the same exit code, console output and
/// these counts.
fn same_console_and_counts(s: &Script, base_url: &str, at_least: usize, counts: &[(&str, &str)]) {
    let export = s.dir.path().join("k6-export.json");
    let out = k6_run_env(
        s,
        base_url,
        &["--summary-export", export.to_str().expect("path")],
        &[],
    );
    let k6_err = String::from_utf8_lossy(&out.stderr).into_owned();
    let k6: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).expect("k6 export"))
            .expect("k6 export json");
    let ours = run_env(s, base_url, &[], &[]);
    assert_eq!(
        ours.code,
        out.status.code().unwrap_or(-1),
        "exit code; k6: {k6_err}\nstampede: {}",
        ours.stderr
    );
    let theirs = console(&k6_err);
    assert!(theirs.len() >= at_least, "k6's console: {theirs:#?}");
    assert_eq!(console(&ours.stderr), theirs, "stampede: {}", ours.stderr);
    for (metric, stat) in counts {
        let want = k6["metrics"][metric][stat].as_f64().unwrap_or(-1.0);
        assert_eq!(ours.metric(metric, stat), want, "{metric}.{stat}");
    }
}

#[test]
fn digest_and_ntlm_auth_as_in_k6() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
const B = __ENV.BASE_URL.replace('http://', '');
export const options = { vus: 1, iterations: 1 };
function show(label, r) {
  const body = r.status === 200 ? `${r.json().authenticated} ${r.json().user}` : '';
  console.log(`${label}: ${r.status} ${body} ${r.url}`);
}
export default function () {
  show('digest', http.get(`http://user:passwd@${B}/digest-auth/auth/user/passwd`, { auth: 'digest' }));
  show('digest post', http.post(`http://user:passwd@${B}/digest-auth/auth/user/passwd?x=1`, 'b', { auth: 'digest' }));
  show('digest wrong', http.get(`http://user:nope@${B}/digest-auth/auth/user/passwd`, { auth: 'digest' }));
  show('no digest', http.get(`http://user:passwd@${B}/digest-auth/auth/user/passwd`));
  show('digest, no challenge', http.get(`http://user:passwd@${B}/get`, { auth: 'digest' }));
  show('ntlm', http.get(`http://user:passwd@${B}/ntlm-auth/user/passwd`, { auth: 'ntlm' }));
  show('ntlm domain', http.get(`http://DOM%5Cuser:passwd@${B}/ntlm-auth/user/passwd`, { auth: 'ntlm' }));
  show('ntlm wrong', http.get(`http://user:bad@${B}/ntlm-auth/user/passwd`, { auth: 'ntlm' }));
  show('ntlm, no credentials', http.get(`http://${B}/ntlm-auth/user/passwd`, { auth: 'ntlm' }));
  show('no ntlm', http.get(`http://user:passwd@${B}/ntlm-auth/user/passwd`));
  show('other auth', http.get(`http://user:passwd@${B}/get`, { auth: 'bogus' }));
}
"#,
    );
    same_console_and_counts(
        &s,
        &server.base_url(),
        11,
        &[
            ("http_reqs", "count"),
            ("http_req_failed", "passes"),
            ("http_req_failed", "fails"),
        ],
    );
}

#[test]
fn compression_param_as_in_k6() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
const B = __ENV.BASE_URL;
export const options = { vus: 1, iterations: 1 };
export default function () {
  const show = (label, r) => console.log(`${label}: ${r.status} ${r.body}`);
  for (const c of ['gzip', 'deflate', 'zstd', 'br', ' gzip , br ', 'br,zstd,deflate,gzip', '']) {
    show(`compression '${c}'`, http.post(`${B}/decompress`, 'hello hello hello', { compression: c }));
  }
  show('form', http.post(`${B}/decompress`, { a: 'b c', z: 1 }, { compression: 'gzip' }));
  show('no body', http.get(`${B}/decompress`, { compression: 'gzip' }));
  show('empty body', http.post(`${B}/decompress`, '', { compression: 'deflate' }));
  show('own header', http.post(`${B}/decompress`, 'x', { compression: 'gzip', headers: { 'Content-Encoding': 'gzip' } }));
  const m = http.post(`${B}/anything`, 'x', { compression: 'gzip', headers: { 'Content-Encoding': 'br' } });
  console.log(`mismatch: ${m.json().headers['Content-Encoding']}`);
  const bad = http.post(`${B}/decompress`, 'x', { compression: 'gzip, lzma' });
  console.log(`unknown: ${bad.status} ${bad.error} ${bad.error_code}`);
  const b = http.batch([['GET', `${B}/get`], ['POST', `${B}/decompress`, 'x', { compression: 'lz4' }], ['GET', `${B}/get`]]);
  console.log(`batch: ${b.length} ${b[0].status} | ${b[1].status} ${b[1].error} | ${b[2]}`);
}
"#,
    );
    let out = k6_run_env(&s, &server.base_url(), &["--no-summary"], &[]);
    let theirs = log_lines(&String::from_utf8_lossy(&out.stderr));
    let ours = run_env(&s, &server.base_url(), &["--no-summary"], &[]);
    assert_eq!(
        ours.code,
        out.status.code().unwrap_or(-1),
        "{}",
        ours.stderr
    );
    assert!(theirs.len() >= 17, "k6's log: {theirs:#?}");
    assert_eq!(log_lines(&ours.stderr), theirs, "stampede: {}", ours.stderr);
    // Under the `throw` option the unknown algorithm is an exception (exit code as k6's).
    let throwing = [("K6_THROW", "true")];
    let out = k6_run_env(&s, &server.base_url(), &["--no-summary"], &throwing);
    let ours = run_env(&s, &server.base_url(), &["--no-summary"], &throwing);
    assert_eq!(
        ours.code,
        out.status.code().unwrap_or(-1),
        "{}",
        ours.stderr
    );
    assert!(
        ours.stderr
            .contains("GoError: unknown compression algorithm lzma"),
        "{}",
        ours.stderr
    );
}

#[test]
fn json_selectors_are_gjson_as_in_k6() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
const B = __ENV.BASE_URL;
export const options = { vus: 1, iterations: 1 };
export default function () {
  const data = { name: 'n', items: [{ id: 1, name: 'a', tags: ['x'] }, { id: 2, name: 'b', tags: [] }, { id: 3, name: 'c' }],
    'a.b': 5, n: null, f: 1.5, t: true };
  const r = http.post(`${B}/anything`, JSON.stringify(data), { headers: { 'Content-Type': 'application/json' } });
  for (const sel of ['json.name', 'json.items.#', 'json.items.#.id', 'json.items.#(id==2).name',
    'json.items.#(id>1)#.name', 'json.items.@reverse.0.id', 'json.items.1', 'json.missing', 'json.items.9',
    'json.a\\.b', 'json.n', 'json.f', 'json.t', 'json.items.#.tags', 'json.items.0.nope.deeper',
    'json.{name,f}', 'json.items.#(name%"b*").id', '', null]) {
    const v = r.json(sel);
    // Keys sorted: k6 makes objects from Go maps, in random order.
    const sorted = (k, x) => (x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort()) : x);
    console.log(`${sel} -> ${typeof v} ${JSON.stringify(v, sorted)}`);
  }
  console.log(`not JSON, selector: ${http.get(`${B}/`).json('a')}`);
  try { http.get(`${B}/`).json(); } catch (e) { console.log(`not JSON: ${e.name}`); }
}
"#,
    );
    same_console(&s, &server.base_url(), &[], 21);
}

#[test]
fn failed_websocket_handshakes_answer_as_in_k6() {
    let server = target();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = script(&format!(
        r#"
import ws from 'k6/ws';
export const options = {{ vus: 1, iterations: 1 }};
export default function () {{
  const B = __ENV.BASE_URL.replace('http', 'ws');
  for (const u of [`${{B}}/status/404`, 'ws://{closed}/x', `${{B}}/get`, `${{B}}/ws/chat?room=a&user=b`]) {{
    let called = false;
    let res;
    try {{
      res = ws.connect(u, null, function (socket) {{ called = true; socket.on('open', () => socket.close()); }});
    }} catch (e) {{
      console.log(`threw ${{e.name}}: ${{e.message}}`);
      continue;
    }}
    const body = res.status === 200 ? JSON.parse(res.body).url : res.body;
    console.log(`status=${{res.status}} error=${{JSON.stringify(res.error)}} called=${{called}} url=${{res.url}} `
      + `body=${{JSON.stringify(body)}} headers=${{JSON.stringify(Object.keys(res.headers).sort())}} `
      + `keys=${{JSON.stringify(Object.keys(res))}} error_code=${{res.error_code}}`);
  }}
}}
"#
    ));
    same_console_and_counts(&s, &server.base_url(), 4, &[("ws_sessions", "count")]);
    // Under the `throw` option a failed handshake is an exception.
    let throwing = [("K6_THROW", "true")];
    let (theirs, ours, stderr) = both(&s, &server.base_url(), &throwing);
    assert_eq!(ours, theirs, "stampede: {stderr}");
    assert!(
        theirs.iter().any(|l| l.contains("bad handshake")),
        "{theirs:#?}"
    );
}

/// An `httpDebug` log line with what differs between tools and runs taken out: the time, the
/// request id, the `User-Agent` and `Accept-Encoding` headers (k6's dump shows an
/// `Accept-Encoding: gzip` it does not send), the `Date` value, and a response's length
/// (the echoed User-Agent changes it).
fn debug_line(line: &str) -> String {
    let mut s = line
        .split_once(" level=")
        .map_or(line, |(_, r)| r)
        .to_string();
    for name in ["User-Agent: ", "Accept-Encoding: "] {
        while let Some(i) = s.find(name) {
            let end = s[i..].find("\\n").map_or(s.len(), |j| i + j + 2);
            s.replace_range(i..end, "");
        }
    }
    let response = s.contains("Response:");
    for (name, stop) in [
        ("Date: ", "\\n"),
        ("request_id=", " "),
        ("Content-Length: ", "\\n"),
    ] {
        if name.starts_with("Content") && !response {
            continue;
        }
        if let Some(i) = s.find(name) {
            let start = i + name.len();
            let end = s[start..].find(stop).map_or(s.len(), |j| start + j);
            s.replace_range(start..end, "X");
        }
    }
    s
}

#[test]
fn http_debug_dumps_as_k6() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
const B = __ENV.BASE_URL;
export const options = { vus: 1, iterations: 1 };
export default function () {
  http.post(`${B}/decompress?q=1`, 'hello body', { headers: { 'X-A': 'b', 'a-lower': 'c' }, tags: { t: 'x' } });
  http.get(`${B}/status/204`);
  http.get(`${B}/redirect/1`, { responseType: 'none' });
}
"#,
    );
    let dumps = |stderr: &str| -> Vec<String> {
        stderr
            .lines()
            .filter(|l| l.contains("source=http-debug"))
            .map(debug_line)
            .collect()
    };
    for flag in ["--http-debug", "--http-debug=full"] {
        let out = k6_run_env(&s, &server.base_url(), &["--no-summary", flag], &[]);
        let theirs = dumps(&String::from_utf8_lossy(&out.stderr));
        let ours = run_env(&s, &server.base_url(), &["--no-summary", flag], &[]);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(theirs.len(), 8, "k6 {flag}: {theirs:#?}");
        let ours = dumps(&ours.stderr);
        // The echo's body differs by the User-Agent it shows: compare up to it.
        for (o, t) in ours.iter().zip(&theirs) {
            if t.contains("Response:") && t.contains("\\\"headers\\\"") {
                let cut = |x: &str| x.split("\\\"headers\\\"").next().unwrap_or("").to_string();
                assert_eq!(cut(o), cut(t), "{flag}");
            } else {
                assert_eq!(o, t, "{flag}");
            }
        }
        assert_eq!(ours.len(), theirs.len(), "{flag}: {ours:#?}");
        let full = flag.ends_with("full");
        assert_eq!(
            ours[0].contains("\\n\\nhello body\\n"),
            full,
            "{flag}: {}",
            ours[0]
        );
        assert!(ours[0]
            .starts_with("info msg=\"Request:\\nPOST /decompress?q=1 HTTP/1.1\\nHost: 127.0.0.1:"));
        assert!(ours[1].contains("Response:\\nHTTP/1.1 200 OK\\nContent-Length: X"));
    }
    // The option and the environment variable do the same; without them, nothing is dumped.
    let ours = run_env(
        &s,
        &server.base_url(),
        &["--no-summary"],
        &[("K6_HTTP_DEBUG", "full")],
    );
    assert_eq!(dumps(&ours.stderr).len(), 8, "{}", ours.stderr);
    let quiet = run_env(&s, &server.base_url(), &["--no-summary"], &[]);
    assert!(dumps(&quiet.stderr).is_empty(), "{}", quiet.stderr);
    assert!(!quiet.stderr.contains("Request:"), "{}", quiet.stderr);
}
