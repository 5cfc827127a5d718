//! Real servers the outputs' tests send to, each on free loopback ports of its own and in a
//! temp dir, stopped when dropped: InfluxDB 1.6 and Prometheus 2.42 from Debian's packages.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::require;

/// A real `influxd` on loopback ports of its own, stopped on drop.
pub struct Influx {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Influx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Influx {
    /// Runs an InfluxQL query on `db`: InfluxDB's JSON answer.
    pub fn query(&self, db: &str, q: &str) -> serde_json::Value {
        let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        let body = get(&format!("{}/query?db={db}&q={q}", self.url))
            .unwrap_or_else(|| panic!("query {q} failed"));
        serde_json::from_str(&body).unwrap()
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn influxd() -> Influx {
    let bin = require("influxd", "apt-get install influxdb (InfluxDB 1.6, Debian)");
    let dir = tempfile::tempdir().unwrap();
    let (http, rpc) = (free_port(), free_port());
    let d = dir.path().display();
    let conf = dir.path().join("influxd.conf");
    std::fs::write(
        &conf,
        format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
             [meta]\n  dir = \"{d}/meta\"\n\
             [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
             [monitor]\n  store-enabled = false\n\
             [http]\n  bind-address = \"127.0.0.1:{http}\"\n  log-enabled = false\n"
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("-config")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let influx = Influx {
        child,
        url: format!("http://127.0.0.1:{http}"),
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&format!("{}/ping", influx.url)).is_none() {
        assert!(
            Instant::now() < deadline,
            "influxd did not answer /ping within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    influx
}

/// A GET on loopback; the body, if the status is 2xx.
pub fn get(url: &str) -> Option<String> {
    use std::io::Write;
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let ok = head.split(' ').nth(1).is_some_and(|c| c.starts_with('2'));
    ok.then(|| body.to_string())
}

/// A Prometheus server of its own, killed when dropped.
pub struct Prometheus {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    pub fn start(native_histograms: bool) -> Prometheus {
        let bin = require("prometheus", "apt-get install prometheus");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 15s\n").unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver");
        if native_histograms {
            cmd.arg("--enable-feature=native-histograms");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let p = Prometheus { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if matches!(p.get_raw("/-/ready"), Some((200, _))) {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus did not get ready within 60 s:\n{}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn write_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/write", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// A GET on the server: its status and body, `None` if it can't be reached.
    pub fn get_raw(&self, path: &str) -> Option<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).ok()?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, body.to_string()))
    }

    /// An API call's `data`.
    pub fn api(&self, path: &str, params: &[(&str, &str)]) -> serde_json::Value {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let url = format!("{path}?{}", query.join("&"));
        let (status, body) = self
            .get_raw(&url)
            .unwrap_or_else(|| panic!("GET {url}: no answer"));
        assert_eq!(status, 200, "GET {url}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "success", "GET {url}: {body}");
        v["data"].clone()
    }

    /// Series name -> the label names its series have (besides `__name__`).
    pub fn series(&self, selector: &str) -> BTreeMap<String, BTreeSet<String>> {
        let data = self.api("/api/v1/series", &[("match[]", selector)]);
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in data.as_array().unwrap() {
            let s = s.as_object().unwrap();
            let name = s["__name__"].as_str().unwrap().to_string();
            out.entry(name)
                .or_default()
                .extend(s.keys().filter(|k| *k != "__name__").cloned());
        }
        out
    }

    /// The result vector of an instant query.
    pub fn query(&self, expr: &str) -> Vec<serde_json::Value> {
        let data = self.api("/api/v1/query", &[("query", expr)]);
        data["result"].as_array().unwrap().clone()
    }

    /// The single number an instant query gives.
    pub fn number(&self, expr: &str) -> f64 {
        let r = self.query(expr);
        assert_eq!(r.len(), 1, "{expr}: {r:?}");
        r[0]["value"][1].as_str().unwrap().parse().unwrap()
    }
}

/// Percent-encodes a query parameter value.
pub fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
