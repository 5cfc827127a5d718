//! The HTML report in a real browser: the fixture model (`fixtures/report-model.json`) is
//! rendered to a file and opened by headless Chromium, which runs the page's script. The DOM it
//! dumps must hold the model's numbers, a canvas per chart and the failing threshold marked;
//! its net log must show that the page asked for nothing over the network; at phone width the
//! page must not scroll sideways. Both screenshots are kept in `docs/images/` for the README.
//! The live dashboard gets its models from a small server-sent events server on 127.0.0.1.
//!
//! Chromium is required: without `/usr/bin/chromium` these tests fail (`.ci/deps` installs it).
//! Three Chromium runs in all (the first two dump the DOM and take a screenshot in one go).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use stampede_report::{dashboard_html, render_report};

use crate::support::read;

const CHROMIUM: &str = "/usr/bin/chromium";
const TIMEOUT: Duration = Duration::from_secs(120);

/// The charts the fixture has data for (it has a WebSocket series, so both WebSocket charts).
const CHARTS: [&str; 10] = [
    "vus",
    "rates",
    "latency",
    "failures",
    "error_rate",
    "data",
    "checks",
    "iteration_duration",
    "ws",
    "ws_connecting",
];

/// A fresh folder for one test, removed when the test passes (kept for a look when it fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "stampede-html-{name}-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// Renders the fixture to `report.html` and returns its path.
    fn report(&self) -> PathBuf {
        let html = render_report(&read("report-model.json"));
        let path = self.path("report.html");
        fs::write(&path, html).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Runs headless Chromium on `url` with `extra` flags and returns what it printed (the DOM).
fn chromium(scratch: &Scratch, extra: &[String], url: &str) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the HTML report tests drive a real headless Chromium. \
         Install it with `apt-get install -y chromium` (.ci/deps does)."
    );
    let profile = scratch.path("profile");
    let (stdout, stderr) = (scratch.path("stdout.html"), scratch.path("stderr.txt"));
    let mut child = Command::new(CHROMIUM)
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
            // No name this browser might look up resolves (the machine has no network anyway);
            // the live test's server is on 127.0.0.1.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .env("TZ", "UTC") // the same clock labels on every machine
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout).unwrap())
        .stderr(fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{CHROMIUM} did not finish in {TIMEOUT:?}; see {}",
                stderr.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = fs::read_to_string(&stderr).unwrap_or_default();
    assert!(status.success(), "{CHROMIUM} failed ({status}):\n{err}");
    let dom = fs::read_to_string(&stdout).unwrap();
    assert!(
        dom.contains("</html>"),
        "{CHROMIUM} printed no DOM:\n{dom}\n{err}"
    );
    dom
}

/// The page without its scripts (the inlined code and data would match what is looked for).
fn without_scripts(dom: &str) -> String {
    let mut out = String::with_capacity(dom.len());
    let mut rest = dom;
    while let Some(start) = rest.find("<script") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("</script>")
            .expect("a script element ends");
        rest = &rest[start + end + "</script>".len()..];
    }
    out.push_str(rest);
    out
}

/// The text of the first element whose opening tag contains `marker`.
fn text_of<'a>(dom: &'a str, marker: &str) -> &'a str {
    let at = dom
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} is not in the page"));
    let start = at + dom[at..].find('>').unwrap() + 1;
    let len = dom[start..].find('<').unwrap();
    &dom[start..start + len]
}

/// The `<tr …>…</tr>` whose opening tag contains `marker`.
fn row<'a>(dom: &'a str, marker: &str) -> &'a str {
    let at = dom
        .find(marker)
        .unwrap_or_else(|| panic!("no row with {marker}"));
    let start = dom[..at].rfind("<tr").unwrap();
    let len = dom[start..].find("</tr>").unwrap();
    &dom[start..start + len]
}

/// Asserts that chart `id` is drawn: it has a canvas and is not an empty-state note.
fn assert_drawn(dom: &str, id: &str) {
    let marker = format!(r#"data-chart="{id}""#);
    let at = dom.find(&marker).unwrap_or_else(|| panic!("no chart {id}"));
    let rest = &dom[at + marker.len()..];
    let chart = &rest[..rest.find("data-chart=").unwrap_or(rest.len())];
    assert!(chart.contains("<canvas"), "chart {id} has no canvas");
    assert!(!chart.contains("data-empty"), "chart {id} is empty");
}

/// Width and height of a PNG, from its header.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Keeps a copy of a screenshot in `docs/images/` (shown in the README).
/// With `STAMPEDE_UPDATE_SCREENSHOTS=1`, keeps the screenshot in `docs/images/` (the README
/// shows them); otherwise tests leave the repository as they found it.
fn keep_screenshot(from: &Path, name: &str) {
    if std::env::var_os("STAMPEDE_UPDATE_SCREENSHOTS").is_none() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/images");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(from, dir.join(name)).unwrap();
}

/// Every URL request in Chromium's net log: `(url, initiator)`.
fn net_requests(net_log: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(net_log).unwrap();
    let log: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", net_log.display()));
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the net log names its event types");
    let events = log["events"].as_array().expect("the net log has events");
    assert!(!events.is_empty(), "the net log recorded nothing");
    events
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter_map(|e| {
            let url = e["params"]["url"].as_str()?;
            let initiator = e["params"]["initiator"].as_str().unwrap_or("");
            Some((url.to_string(), initiator.to_string()))
        })
        .collect()
}

#[test]
fn the_report_renders_in_chromium_with_no_network() {
    let scratch = Scratch::new("desktop");
    let report = scratch.report();
    let (shot, net_log) = (scratch.path("report.png"), scratch.path("net.json"));
    let dom = chromium(
        &scratch,
        &[
            "--window-size=1280,2400".into(),
            "--dump-dom".into(),
            format!("--screenshot={}", shot.display()),
            format!("--log-net-log={}", net_log.display()),
        ],
        &file_url(&report),
    );
    let dom = without_scripts(&dom);

    // The script ran once, on the embedded data, without an error.
    assert!(!dom.contains("data-error"), "the page shows an error");
    assert!(dom.contains(r#"data-mode="offline""#));
    assert!(dom.contains(r#"data-rendered="1""#));
    assert_eq!(text_of(&dom, r#"id="status-text""#), "finished");
    assert_eq!(text_of(&dom, r#"data-meta="script""#), "shop.js");

    // The big numbers, formatted, and the raw values behind them.
    let model: Value = serde_json::from_str(&read("report-model.json")).unwrap();
    for (key, shown) in [
        ("http_reqs", "7,380"),
        ("http_reqs_rate", "122.4/s"),
        ("http_req_failed", "0.77%"),
        ("http_req_duration.p95", "116 ms"),
        ("http_req_duration.p99", "202 ms"),
        ("checks", "99.41%"),
        ("vus_max", "18"),
        ("data_received", "76.0 MB"),
    ] {
        assert_eq!(
            text_of(&dom, &format!(r#"data-total="{key}""#)),
            shown,
            "{key}"
        );
        let raw = key
            .split('.')
            .fold(&model["totals"], |v, k| &v[k])
            .to_string();
        assert!(
            dom.contains(&format!(r#"data-total="{key}" data-raw="{raw}""#)),
            "{key}: raw {raw}"
        );
    }

    // An endpoint row, cell by cell.
    let products = row(&dom, r#"data-endpoint="products""#);
    for (col, shown) in [
        ("method", "GET"),
        ("requests", "2,260"),
        ("failed", "0"),
        ("p95", "109 ms"),
        ("max", "388 ms"),
    ] {
        assert_eq!(
            text_of(products, &format!(r#"data-col="{col}""#)),
            shown,
            "{col}"
        );
    }
    let page = row(&dom, r#"data-endpoint="product page""#);
    assert_eq!(text_of(page, r#"data-col="failed""#), "49");
    assert_eq!(text_of(page, r#"data-col="error_rate""#), "1.08%");

    // The failing threshold is marked as failed, and only that one.
    let failing = row(&dom, r#"data-threshold="http_req_failed rate"#);
    assert!(failing.contains(r#"class="fail""#), "{failing}");
    assert!(failing.contains(r#"data-ok="false""#), "{failing}");
    assert!(failing.contains('✗'), "{failing}");
    assert_eq!(text_of(failing, r#"data-col="observed""#), "0.77%");
    assert_eq!(dom.matches(r#"data-ok="false""#).count(), 1);
    assert_eq!(dom.matches(r#"data-ok="true""#).count(), 3);
    assert!(dom.contains(r#"data-verdict="failed""#));

    // Scenarios, checks (a name with markup stays text) and the undelivered line.
    assert_eq!(
        text_of(
            row(&dom, r#"data-scenario="checkout""#),
            r#"data-col="iterations""#
        ),
        "300"
    );
    let title_check = row(&dom, r#"data-check="body has "#);
    assert_eq!(
        text_of(title_check, r#"data-col="name""#),
        "body has &lt;title&gt;"
    );
    assert_eq!(
        dom.matches("<title>").count(),
        1,
        "a check name became markup"
    );
    assert_eq!(dom.matches("data-undelivered").count(), 1);

    // One chart per panel, each drawn on a canvas.
    assert_eq!(dom.matches("data-chart=").count(), CHARTS.len());
    for id in CHARTS {
        assert_drawn(&dom, id);
    }
    assert!(dom.contains(r#"data-overflow="no""#), "wider than 1280px");

    // Nothing went over the network. Chromium itself still sends a few requests of its own
    // (its update and account services, unresolvable here) that no flag turns off; those have
    // no initiator origin. Anything the page asked for would carry the page's origin.
    let requests = net_requests(&net_log);
    let from_page: Vec<_> = requests
        .iter()
        .filter(|(url, initiator)| !url.starts_with("file:") && initiator != "not an origin")
        .collect();
    assert!(
        from_page.is_empty(),
        "the page made requests: {from_page:?}"
    );

    assert_eq!(png_size(&shot), (1280, 2400));
    keep_screenshot(&shot, "report.png");
}

#[test]
fn the_report_fits_a_phone() {
    let scratch = Scratch::new("phone");
    scratch.report();
    // A headless window is never narrower than 500 CSS pixels when the DOM is dumped, so the
    // report runs in a 390px frame (a phone's width) and the outer page copies out what the
    // report measured: its scroll width against its own inner width.
    let wrapper = scratch.path("phone.html");
    fs::write(
        &wrapper,
        r#"<!doctype html><meta charset="utf-8"><body style="margin:0">
<iframe id="f" src="report.html" style="width:390px;height:2400px;border:0;display:block"></iframe>
<pre id="out">not loaded</pre>
<script>
document.getElementById('f').addEventListener('load', function () {
  var b = this.contentDocument.body, out = document.getElementById('out');
  ['overflow', 'scroll-width', 'inner-width', 'rendered'].forEach(function (k) {
    out.setAttribute('data-phone-' + k, b.getAttribute('data-' + k));
  });
  out.textContent = 'measured';
});
</script>"#,
    )
    .unwrap();
    let shot = scratch.path("report-phone.png");
    let dom = chromium(
        &scratch,
        &[
            "--window-size=390,2400".into(),
            "--allow-file-access-from-files".into(),
            "--dump-dom".into(),
            format!("--screenshot={}", shot.display()),
        ],
        &file_url(&wrapper),
    );
    let dom = without_scripts(&dom);
    let out = {
        let at = dom.find(r#"<pre id="out""#).expect("the wrapper's output");
        &dom[at..at + dom[at..].find("</pre>").unwrap()]
    };
    assert!(
        out.contains("measured"),
        "the report frame did not load: {out}"
    );
    assert!(out.contains(r#"data-phone-rendered="1""#), "{out}");
    assert!(out.contains(r#"data-phone-inner-width="390""#), "{out}");
    assert!(
        out.contains(r#"data-phone-overflow="no""#),
        "the report scrolls sideways at 390px: {out}"
    );
    assert_eq!(png_size(&shot), (390, 2400));
    keep_screenshot(&shot, "report-phone.png");
}

/// Serves the dashboard at `/` and, at `/events`, `models` as server-sent events, then closes
/// the stream. Records the paths asked for.
struct SseServer {
    port: u16,
    paths: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SseServer {
    fn start(models: Vec<String>) -> SseServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let paths = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopping) = (paths.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let path = serve(stream, &models);
                        seen.lock().unwrap().push(path);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        SseServer {
            port,
            paths,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for SseServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one request (one per connection) and returns its path.
fn serve(stream: TcpStream, models: &[String]) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap_or_default();
    let path = line.split(' ').nth(1).unwrap_or("").to_string();
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(n) if n > 2 => continue,
            _ => break,
        }
    }
    let mut stream = reader.into_inner();
    let response = match path.as_str() {
        "/" => {
            let body = dashboard_html();
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        "/events" => {
            let mut events = String::from(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                 cache-control: no-cache\r\nconnection: close\r\n\r\n",
            );
            for model in models {
                events.push_str(&format!("data: {model}\n\n"));
            }
            events
        }
        _ => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".into(),
    };
    let _ = stream.write_all(response.as_bytes());
    path
}

#[test]
fn the_live_dashboard_follows_server_sent_events() {
    // A model from the middle of the run (the first 30 seconds), then the finished one.
    let finished: Value = serde_json::from_str(&read("report-model.json")).unwrap();
    let mut running = finished.clone();
    running["meta"]["live"] = Value::Bool(true);
    running["meta"]["ended"] = Value::Null;
    running["totals"]["duration"] = 30.into();
    running["totals"]["http_reqs"] = 1234.into();
    fn cut(v: &mut Value) {
        match v {
            Value::Array(a) => a.truncate(30),
            Value::Object(o) => o.values_mut().for_each(cut),
            _ => {}
        }
    }
    cut(&mut running["series"]);
    running["failures"] = Value::Array(vec![]);
    let server = SseServer::start(vec![running.to_string(), finished.to_string()]);

    let scratch = Scratch::new("live");
    let dom = chromium(
        &scratch,
        &["--window-size=1280,1200".into(), "--dump-dom".into()],
        &format!("http://127.0.0.1:{}/", server.port),
    );
    let dom = without_scripts(&dom);
    let paths = server.paths.lock().unwrap().clone();
    assert!(
        paths.iter().any(|p| p == "/events"),
        "no /events in {paths:?}"
    );

    assert!(!dom.contains("data-error"), "the page shows an error");
    assert!(dom.contains(r#"data-mode="live""#));
    assert!(dom.contains(r#"data-rendered="2""#), "not two renders");
    assert_eq!(text_of(&dom, r#"id="status-text""#), "finished");
    assert_eq!(text_of(&dom, r#"id="elapsed""#), "1m 0s");
    assert_eq!(text_of(&dom, r#"data-total="http_reqs""#), "7,380");
    // The failures chart, empty in the first model, is drawn after the second.
    assert_drawn(&dom, "failures");
}
