//! The live dashboard in a real browser: a run with `K6_WEB_DASHBOARD=true`, headless Chromium
//! on its page while it runs (live data in the DOM), the dashboard refusing any other path, then
//! the exported report opened from disk with the network off, its numbers the summary's. The
//! screenshots are kept in docs/images/ for the README.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::servers::free_port;
use crate::support::{require, script, target};

const SCRIPT: &str = r#"
import http from 'k6/http';
import { check, sleep } from 'k6';
export const options = { vus: 3, duration: '10s', thresholds: { http_req_duration: ['p(95)<5000'] } };
export default function () {
  const r = http.get(`${__ENV.BASE_URL}/get`, { tags: { name: 'home' } });
  check(r, { 'home is 200': (x) => x.status === 200 });
  http.get(`${__ENV.BASE_URL}/status/404`, { tags: { name: 'missing' } });
  sleep(0.05);
}
"#;

/// Headless Chromium on `url`: what it dumps of the DOM once the page is idle (at most
/// `budget_ms` of its time), with a screenshot and a net log of every request it made.
fn chromium(dir: &Path, url: &str, budget_ms: u32, shot: &Path) -> (String, String) {
    let bin = require("chromium", "apt-get install chromium");
    let profile = tempfile::tempdir().unwrap();
    let netlog = dir.join(format!(
        "net-{}.json",
        shot.file_stem().unwrap().to_string_lossy()
    ));
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            // The network is off for the page: no name resolves but the loopback address.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--window-size=1280,2200",
            &format!("--virtual-time-budget={budget_ms}"),
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--log-net-log={}", netlog.display()),
            &format!("--screenshot={}", shot.display()),
            "--dump-dom",
            url,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(&netlog).unwrap_or_default();
    (String::from_utf8_lossy(&out.stdout).into_owned(), log)
}

/// The URLs the page asked for, from Chromium's net log. Chromium's own requests (its update
/// and time services, unreachable here) carry no initiator origin; the page's carry its own.
fn page_requests(netlog: &str) -> Vec<String> {
    let log: serde_json::Value = serde_json::from_str(netlog).expect("the net log is JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the net log names its event types");
    let events = log["events"].as_array().expect("the net log has events");
    events
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect()
}

/// The value of `attr` on the page's `<body>` (where the page's script records its state).
fn body_attr(dom: &str, attr: &str) -> Option<String> {
    let start = dom.find("<body")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let v = tag.split(&format!(" {attr}=\"")).nth(1)?;
    Some(v[..v.find('"')?].to_string())
}

/// The value of `attr` on the element that has `marker` (e.g. `data-total="http_reqs"`).
fn attr_near(dom: &str, marker: &str, attr: &str) -> Option<String> {
    let at = dom.find(marker)?;
    let tag_start = dom[..at].rfind('<')?;
    let tag_end = at + dom[at..].find('>')?;
    let tag = &dom[tag_start..tag_end];
    let v = tag.split(&format!("{attr}=\"")).nth(1)?;
    Some(v[..v.find('"')?].to_string())
}

/// The status line of a GET on the dashboard (empty if it does not answer yet).
fn get(port: u16, path: &str) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.lines().next().unwrap_or("").to_string()
}

/// Where a screenshot goes: `docs/images/` with `STAMPEDE_UPDATE_SCREENSHOTS=1` (the README
/// shows them), else `dir` (tests leave the repository as they found it).
fn screenshot(dir: &Path, name: &str) -> PathBuf {
    if std::env::var_os("STAMPEDE_UPDATE_SCREENSHOTS").is_none() {
        return dir.join(name);
    }
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/images");
    std::fs::create_dir_all(&docs).unwrap();
    docs.join(name)
}

#[test]
fn live_dashboard_and_exported_report_in_chromium() {
    let t = target();
    let s = script(SCRIPT);
    let dir = s.dir.path();
    let port = free_port();
    let export = dir.join("report.html");
    let summary = dir.join("summary.json");
    let child = Command::new(assert_cmd::cargo::cargo_bin("stampede"))
        .args(["run", "-q", "--summary-export", summary.to_str().unwrap()])
        .args(["-e", &format!("BASE_URL={}", t.base_url())])
        .arg(&s.path)
        .env("K6_WEB_DASHBOARD", "true")
        .env("K6_WEB_DASHBOARD_PORT", port.to_string())
        .env("K6_WEB_DASHBOARD_PERIOD", "1s")
        .env("K6_WEB_DASHBOARD_EXPORT", &export)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // While it runs: the page shows live data.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !get(port, "/").contains("200") {
        assert!(Instant::now() < deadline, "the dashboard did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Only its page, its events and its report.
    for path in [
        "/etc/passwd",
        "/../report.html",
        "/assets/app.js",
        "/favicon.ico",
    ] {
        assert!(get(port, path).contains("404"), "{path} was served");
    }
    std::thread::sleep(Duration::from_secs(2));
    let (dom, netlog) = chromium(
        dir,
        // Two updates, then the page closes its stream (else Chromium waits for it to end).
        &format!("http://127.0.0.1:{port}/?updates=2"),
        2500,
        &screenshot(dir, "dashboard.png"),
    );
    assert_eq!(body_attr(&dom, "data-mode").as_deref(), Some("live"));
    assert_eq!(
        body_attr(&dom, "data-state").as_deref(),
        Some("live"),
        "not live"
    );
    let live_reqs: f64 = attr_near(&dom, "data-total=\"http_reqs\"", "data-raw")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no request count in the live page: {dom}"));
    assert!(live_reqs > 0.0, "{live_reqs}");
    assert!(dom.contains("data-endpoint=\"home\""), "{dom}");
    for url in page_requests(&netlog) {
        assert!(
            url.starts_with(&format!("http://127.0.0.1:{port}/")),
            "the page reached {url}"
        );
    }

    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains(&format!("web dashboard: http://127.0.0.1:{port}")));
    let served = t.stats().total_requests as f64;

    // The exported report, from disk with the network off: the summary's numbers.
    let (dom, netlog) = chromium(
        dir,
        &format!("file://{}", export.display()),
        1500,
        &screenshot(dir, "report-run.png"),
    );
    assert_eq!(body_attr(&dom, "data-mode").as_deref(), Some("offline"));
    assert_eq!(body_attr(&dom, "data-state").as_deref(), Some("finished"));
    let reqs: f64 = attr_near(&dom, "data-total=\"http_reqs\"", "data-raw")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no request count in the report: {dom}"));
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(
        reqs,
        exported["metrics"]["http_reqs"]["count"].as_f64().unwrap()
    );
    assert_eq!(reqs, served);
    assert!(dom.matches("<canvas").count() >= 5, "charts: {dom}");
    for url in page_requests(&netlog) {
        assert!(url.starts_with("file://"), "the report reached {url}");
    }
}
