//! k6's network and TLS options, which stampede used to accept and ignore: `hosts`,
//! `blockHostnames`, `blacklistIPs`, `dns`, `noVUConnectionReuse`, `tlsVersion`,
//! `tlsCipherSuites`, `tlsAuth`, and the TLS fields of a response. The same script on real k6
//! and on stampede; what each printed compared. Every address is on loopback.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::support::{k6_run_env, require, run_env, script, target, Script};

/// The console lines and the `Request Failed` warnings (with their Go error text), in order.
fn lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains("source=console") || l.contains("Request Failed"))
        .map(|l| l[l.find(" level=").unwrap_or(0)..].to_string())
        .collect()
}

/// Runs `s` on k6 and stampede with `env` as `-e` values; both must exit with `code`.
fn both(s: &Script, base: &str, env: &[(&str, &str)], code: i32) -> (Vec<String>, Vec<String>) {
    let mut args = Vec::new();
    for (k, v) in env {
        args.push("-e".to_string());
        args.push(format!("{k}={v}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let theirs = k6_run_env(s, base, &args, &[]);
    let theirs_err = String::from_utf8_lossy(&theirs.stderr).into_owned();
    assert_eq!(theirs.status.code(), Some(code), "k6 {env:?}: {theirs_err}");
    let ours = run_env(s, base, &args, &[]);
    assert_eq!(ours.code, code, "stampede {env:?}: {}", ours.stderr);
    (lines(&theirs_err), lines(&ours.stderr))
}

#[test]
fn hosts_blocked_names_and_ranges_as_k6() {
    let server = target();
    let port = server.base_url().rsplit(':').next().unwrap().to_string();
    let s = script(
        r#"
import http from 'k6/http';
const port = __ENV.PORT;
export const options = { iterations: 1,
  hosts: { 'my.test': '127.0.0.1', 'other.test:80': `127.0.0.1:${__ENV.PORT}`, '*.wild.test': '127.0.0.1', 'alias.test': 'localhost' },
  blockHostnames: ['blocked.test', '*.blocked.test'],
  blacklistIPs: ['127.0.0.2/32'],
};
export default function () {
  for (const u of [`http://my.test:${port}/`, 'http://other.test/', `http://a.wild.test:${port}/`,
      `http://alias.test:${port}/`, `http://blocked.test:${port}/`, `http://x.blocked.test:${port}/`,
      `http://127.0.0.2:${port}/`]) {
    const r = http.get(u, { timeout: '2s' });
    console.log(`${u.replace(port, 'PORT')} status=${r.status} code=${r.error_code} err=${r.error}`);
  }
}
"#,
    );
    let (theirs, ours) = both(&s, &server.base_url(), &[("PORT", &port)], 0);
    assert_eq!(theirs.len(), 10, "{theirs:#?}");
    // The timestamps differ; the rest must not.
    let strip = |v: Vec<String>| -> Vec<String> {
        v.into_iter().map(|l| l.replace(&port, "PORT")).collect()
    };
    assert_eq!(strip(ours), strip(theirs));
}

#[test]
fn dns_policy_picks_the_family_as_k6() {
    // localhost is 127.0.0.1 and ::1; the target listens on 127.0.0.1 only.
    let server = target();
    let port = server.base_url().rsplit(':').next().unwrap().to_string();
    let s = script(
        r#"
import http from 'k6/http';
export const options = { iterations: 1, dns: { policy: __ENV.POLICY, select: 'first', ttl: '0' } };
export default function () {
  const r = http.get(`http://localhost:${__ENV.PORT}/`, { timeout: '2s' });
  console.log(`status=${r.status} code=${r.error_code} ip=${r.remote_ip}`);
}
"#,
    );
    for policy in ["onlyIPv4", "onlyIPv6", "preferIPv4"] {
        let (theirs, ours) = both(
            &s,
            &server.base_url(),
            &[("PORT", &port), ("POLICY", policy)],
            0,
        );
        let last = |v: &[String]| v.last().cloned().unwrap_or_default();
        let msg = |l: String| l[l.find("msg=").unwrap_or(0)..].to_string();
        assert_eq!(msg(last(&ours)), msg(last(&theirs)), "{policy}");
    }
}

#[test]
fn no_vu_connection_reuse_dials_each_iteration_as_k6() {
    let server = target();
    let s = script(
        r#"
import http from 'k6/http';
export const options = { vus: 1, iterations: 3, noVUConnectionReuse: __ENV.NEW === '1' };
export default function () {
  for (let i = 0; i < 2; i++) {
    console.log(`new connection: ${http.get(`${__ENV.BASE_URL}/`).timings.connecting > 0}`);
  }
}
"#,
    );
    for (new, dials) in [("0", 1), ("1", 3)] {
        let (theirs, ours) = both(&s, &server.base_url(), &[("NEW", new)], 0);
        let count = |v: &[String]| v.iter().filter(|l| l.contains("connection: true")).count();
        assert_eq!(count(&theirs), dials, "k6 NEW={new}");
        assert_eq!(count(&ours), dials, "stampede NEW={new}");
    }
}

#[test]
fn bad_network_options_exit_104_as_k6() {
    for options in [
        "{ hosts: { 'bad.test': '1.2.3.4:notaport' } }",
        "{ blacklistIPs: ['notacidr'] }",
        "{ tlsCipherSuites: ['NOPE'] }",
        "{ tlsVersion: 'tls9' }",
    ] {
        let s = script(&format!(
            "export const options = {options};\nexport default function () {{}}\n"
        ));
        let theirs = k6_run_env(&s, "http://127.0.0.1:1", &[], &[]);
        assert_eq!(theirs.status.code(), Some(104), "k6 {options}");
        let ours = run_env(&s, "http://127.0.0.1:1", &[], &[]);
        assert_eq!(ours.code, 104, "stampede {options}: {}", ours.stderr);
    }
}

/// `fixtures/tls_server.py`: HTTPS on 127.0.0.1 with the test CA's certificate.
struct TlsServer {
    child: Child,
    port: u16,
}

impl TlsServer {
    fn start() -> TlsServer {
        let python = require("python3", "apt-get install python3");
        let fixture = fixtures().join("tls_server.py");
        let mut child = Command::new(python)
            .arg(fixture)
            .arg("--client-cert")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tls_server.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("port");
        TlsServer { child, port }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures")
}

#[test]
fn tls_options_and_response_fields_as_k6() {
    let server = TlsServer::start();
    let certs = fixtures().join("otlp_tls");
    let s = script(&format!(
        r#"
import http from 'k6/http';
const cert = open('{cert}');
const key = open('{key}');
export const options = {{ iterations: 1, insecureSkipTLSVerify: __ENV.STRICT !== '1',
  tlsVersion: __ENV.V ? JSON.parse(__ENV.V) : undefined,
  tlsCipherSuites: __ENV.C ? __ENV.C.split(',') : undefined,
  tlsAuth: __ENV.A ? [{{ cert, key }}] : undefined }};
export default function () {{
  const r = http.get(__ENV.U);
  console.log(`client=${{r.body}} v=${{r.tls_version}} c=${{r.tls_cipher_suite}} code=${{r.error_code}} ocsp=${{r.ocsp.status}}`);
}}
"#,
        cert = certs.join("client.pem").display(),
        key = certs.join("client.key").display(),
    ));
    let url = format!("https://127.0.0.1:{}/", server.port);
    for env in [
        vec![],
        vec![("STRICT", "1")],
        vec![("V", r#""tls1.2""#)],
        vec![("V", r#"{"min":"tls1.3"}"#)],
        vec![
            ("V", r#"{"max":"tls1.2"}"#),
            ("C", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"),
        ],
        // The server's certificate is ECDSA: no RSA suite can serve.
        vec![
            ("V", r#"{"max":"tls1.2"}"#),
            ("C", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        ],
        vec![("A", "1")],
    ] {
        let mut all = vec![("U", url.as_str())];
        all.extend(env.iter().copied());
        let (theirs, ours) = both(&s, "http://127.0.0.1:1", &all, 0);
        let msgs = |v: Vec<String>| -> Vec<String> {
            v.into_iter()
                .map(|l| l[l.find("msg=").unwrap_or(0)..].to_string())
                .collect()
        };
        assert!(!theirs.is_empty(), "{env:?}");
        assert_eq!(msgs(ours), msgs(theirs), "{env:?}");
    }
}

#[test]
fn urls_that_do_not_parse_fail_as_in_k6() {
    let s = script(
        r#"
import http from 'k6/http';
export const options = { iterations: 1 };
export default function () {
  for (const u of ['not a url', 'http://', 'ftp://127.0.0.1/x', 'http://127.0.0.1:99999/',
      '/relative', 'http://exa mple.com/']) {
    try {
      const r = http.get(u);
      console.log(`${u}: status=${r.status} code=${r.error_code} err=${r.error} url=${r.url}`);
    } catch (e) {
      console.log(`${u}: threw ${e}`);
    }
  }
}
"#,
    );
    let export = s.dir.path().join("k6.json");
    for throw in [false, true] {
        let mut args = vec!["--summary-export", export.to_str().unwrap()];
        if throw {
            args.push("--throw");
        }
        let theirs = k6_run_env(&s, "http://127.0.0.1:1", &args, &[]);
        assert!(theirs.status.success());
        let k6: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
        let ours = run_env(&s, "http://127.0.0.1:1", &args[2..], &[]);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        let msgs = |v: Vec<String>| -> Vec<String> {
            v.into_iter()
                .map(|l| l[l.find("msg=").unwrap_or(0)..].to_string())
                .collect()
        };
        let theirs = msgs(lines(&String::from_utf8_lossy(&theirs.stderr)));
        assert_eq!(theirs.len(), if throw { 6 } else { 12 }, "{theirs:#?}");
        assert_eq!(msgs(lines(&ours.stderr)), theirs, "throw={throw}");
        // All but the one Go can't parse count as failed requests.
        if !throw {
            assert_eq!(k6["metrics"]["http_reqs"]["count"], 5.0);
            assert_eq!(ours.metric("http_reqs", "count"), 5.0);
        }
    }
}
