//! The json, csv and influxdb outputs: the same script on stampede and on real k6, the files
//! and a real InfluxDB 1.6 compared.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::servers::{free_port, influxd, Influx};
use crate::support::{k6_run_env, run_env, run_interrupted, script, target};

/// Requests of known names, checks in a group, every custom metric type, test-wide tags and a
/// threshold on a sub-metric: the tags and metrics users' dashboards select on.
const SCRIPT: &str = r#"
import http from 'k6/http';
import { check, group } from 'k6';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
const c = new Counter('my_counter');
const g = new Gauge('my_gauge');
const r = new Rate('my_rate');
const t = new Trend('my_trend', true);
export const options = {
  scenarios: { main: { executor: 'per-vu-iterations', vus: 2, iterations: 3 } },
  tags: { testid: 'outputs' },
  thresholds: { 'http_req_duration{status:200}': ['p(95)<5000'], my_rate: ['rate>0'] },
};
export default function () {
  group('g1', () => {
    const res = http.get(`${__ENV.BASE_URL}/get`);
    check(res, { 'is 200': (x) => x.status === 200 });
  });
  const missing = http.get(`${__ENV.BASE_URL}/status/404`, { tags: { name: 'missing' } });
  check(missing, { 'is 404': (x) => x.status === 404 });
  c.add(1, { ctag: 'c' });
  g.add(__VU * 10);
  r.add(true);
  t.add(42.5);
}
"#;

/// Per metric: how many points and which tag keys.
type Shape = BTreeMap<String, (usize, BTreeSet<String>)>;

fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let mut text = String::new();
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .unwrap();
    } else {
        std::io::BufReader::new(file)
            .read_to_string(&mut text)
            .unwrap();
    }
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `vus` and `vus_max` are sampled once a second: whether a short run has them depends on how
/// long the tool took, so they are left out.
fn timed(metric: &serde_json::Value) -> bool {
    metric == "vus" || metric == "vus_max"
}

fn json_shape(lines: &[serde_json::Value]) -> Shape {
    let mut shape = Shape::new();
    for l in lines
        .iter()
        .filter(|l| l["type"] == "Point" && !timed(&l["metric"]))
    {
        let e = shape
            .entry(l["metric"].as_str().unwrap().into())
            .or_default();
        e.0 += 1;
        e.1.extend(l["data"]["tags"].as_object().unwrap().keys().cloned());
    }
    shape
}

fn csv_shape(path: &Path) -> (Vec<String>, Shape) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let mut shape = Shape::new();
    for row in r.records() {
        let row = row.unwrap();
        if matches!(&row[0], "vus" | "vus_max") {
            continue;
        }
        let e = shape.entry(row[0].to_string()).or_default();
        e.0 += 1;
        for (i, v) in row.iter().enumerate().skip(3) {
            if !v.is_empty() && header[i] != "extra_tags" && header[i] != "metadata" {
                e.1.insert(header[i].clone());
            }
        }
    }
    (header, shape)
}

/// Both tools ran `SCRIPT` with `-o json=… -o csv=…`; the files agree on metric names, tag keys
/// and the number of points per metric, and stampede's file holds every request the target
/// served.
#[test]
fn json_and_csv_files_match_real_k6() {
    let s = script(SCRIPT);
    let dir = s.dir.path();
    let (ours_json, ours_csv) = (dir.join("ours.json.gz"), dir.join("ours.csv"));
    let (k6_json, k6_csv) = (dir.join("k6.json"), dir.join("k6.csv"));
    let t = target();
    let ours = run_env(
        &s,
        &t.base_url(),
        &[
            "-o",
            &format!("json={}", ours_json.display()),
            "--out",
            &format!("csv={}", ours_csv.display()),
        ],
        &[],
    );
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let served = t.stats().total_requests;
    let k6t = target();
    let k6 = k6_run_env(
        &s,
        &k6t.base_url(),
        &[
            "-o",
            &format!("json={}", k6_json.display()),
            "-o",
            &format!("csv={}", k6_csv.display()),
        ],
        &[],
    );
    assert!(
        k6.status.success(),
        "k6: {}",
        String::from_utf8_lossy(&k6.stderr)
    );

    let (ours_lines, k6_lines) = (json_lines(&ours_json), json_lines(&k6_json));
    assert_eq!(json_shape(&ours_lines), json_shape(&k6_lines));
    // One Metric line per metric, before its first point, with the same definition.
    let defs = |lines: &[serde_json::Value]| -> BTreeMap<String, serde_json::Value> {
        lines
            .iter()
            .filter(|l| l["type"] == "Metric" && !timed(&l["metric"]))
            .map(|l| (l["metric"].as_str().unwrap().to_string(), l["data"].clone()))
            .collect()
    };
    assert_eq!(defs(&ours_lines), defs(&k6_lines));
    // http_reqs recomputed from the file: every request the target served.
    let reqs: f64 = ours_lines
        .iter()
        .filter(|l| l["type"] == "Point" && l["metric"] == "http_reqs")
        .map(|l| l["data"]["value"].as_f64().unwrap())
        .sum();
    assert_eq!(reqs as u64, served);

    let (ours_header, ours_rows) = csv_shape(&ours_csv);
    let (k6_header, k6_rows) = csv_shape(&k6_csv);
    assert_eq!(ours_header, k6_header);
    assert_eq!(ours_rows, k6_rows);
}

/// `K6_OUT` names the outputs when no `-o` does; `--system-tags` decides the tags (same as k6);
/// an unknown output is refused with k6's message and exit code.
#[test]
fn k6_out_system_tags_and_unknown_outputs() {
    let s = script(SCRIPT);
    let dir = s.dir.path();
    let (ours, theirs) = (dir.join("ours.json"), dir.join("k6.json"));
    let t = target();
    let env_out = format!("json={}", ours.display());
    let r = run_env(
        &s,
        &t.base_url(),
        &["--system-tags", "status,method,vu"],
        &[("K6_OUT", &env_out)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let k6 = k6_run_env(
        &s,
        &t.base_url(),
        &["--system-tags", "status,method,vu"],
        &[("K6_OUT", &format!("json={}", theirs.display()))],
    );
    assert!(
        k6.status.success(),
        "k6: {}",
        String::from_utf8_lossy(&k6.stderr)
    );
    let (ours_lines, k6_lines) = (json_lines(&ours), json_lines(&theirs));
    assert_eq!(json_shape(&ours_lines), json_shape(&k6_lines));
    let meta = |lines: &[serde_json::Value]| -> BTreeSet<String> {
        lines
            .iter()
            .filter_map(|l| l["data"]["metadata"].as_object())
            .flat_map(|m| m.keys().cloned())
            .collect()
    };
    assert_eq!(meta(&ours_lines), BTreeSet::from(["vu".to_string()]));
    assert_eq!(meta(&ours_lines), meta(&k6_lines));

    let bad = run_env(&s, &t.base_url(), &["-o", "nope=1"], &[]);
    assert_eq!(bad.code, 255);
    assert!(
        bad.stderr
            .contains("invalid output type 'nope', available types are: cloud, csv,"),
        "{}",
        bad.stderr
    );
    let refused = run_env(&s, &t.base_url(), &["-o", "statsd"], &[]);
    assert_eq!(refused.code, 255);
    assert!(
        refused.stderr.contains("'statsd' is not supported"),
        "{}",
        refused.stderr
    );
    let bad_tag = run_env(&s, &t.base_url(), &["--system-tags", "stauts"], &[]);
    assert_eq!(bad_tag.code, 255, "{}", bad_tag.stderr);
    assert!(
        bad_tag
            .stderr
            .contains("\\\"stauts\\\" is not a system tag"),
        "{}",
        bad_tag.stderr
    );
}

/// `SHOW ...` results of `db` as measurement -> values (without the once-a-second `vus` and
/// `vus_max`, see [`timed`]).
fn show(influx: &Influx, db: &str, what: &str) -> BTreeMap<String, BTreeSet<String>> {
    let v = influx.query(db, what);
    let mut out = BTreeMap::new();
    for series in v["results"][0]["series"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let name = series["name"].as_str().unwrap_or("").to_string();
        let values: BTreeSet<String> = series["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        if !matches!(name.as_str(), "vus" | "vus_max") {
            out.insert(
                name,
                values
                    .into_iter()
                    .filter(|v| v != "vus" && v != "vus_max")
                    .collect(),
            );
        }
    }
    out
}

fn count(influx: &Influx, db: &str, measurement: &str) -> u64 {
    let v = influx.query(db, &format!("SELECT count(value) FROM \"{measurement}\""));
    v["results"][0]["series"][0]["values"][0][1]
        .as_u64()
        .unwrap_or(0)
}

/// `-o influxdb=http://…/db` on a real InfluxDB 1.6: the database is created, and stampede's
/// measurements, tag keys and field keys are k6's; http_reqs counts every request served.
#[test]
fn influxdb_gets_what_k6_writes() {
    let influx = influxd();
    let s = script(SCRIPT);
    let t = target();
    let ours = run_env(
        &s,
        &t.base_url(),
        &["-o", &format!("influxdb={}/ours", influx.url)],
        &[],
    );
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let served = t.stats().total_requests;
    let k6 = k6_run_env(
        &s,
        &t.base_url(),
        &["-o", &format!("influxdb={}/theirs", influx.url)],
        &[],
    );
    assert!(
        k6.status.success(),
        "k6: {}",
        String::from_utf8_lossy(&k6.stderr)
    );
    for what in ["SHOW MEASUREMENTS", "SHOW TAG KEYS", "SHOW FIELD KEYS"] {
        let (a, b) = (show(&influx, "ours", what), show(&influx, "theirs", what));
        assert!(!a.is_empty(), "{what}: nothing in ours");
        assert_eq!(a, b, "{what}");
    }
    assert_eq!(count(&influx, "ours", "http_reqs"), served);
    assert_eq!(count(&influx, "ours", "iterations"), 6);
    assert_eq!(
        count(&influx, "ours", "checks"),
        count(&influx, "theirs", "checks")
    );
}

/// With InfluxDB's port closed the test runs to its end as k6's does, and what was lost is
/// counted and reported instead of dropped in silence.
#[test]
fn influxdb_down_is_reported_not_fatal() {
    let s = script(SCRIPT);
    let t = target();
    let port = free_port();
    let r = run_env(
        &s,
        &t.base_url(),
        &["-o", &format!("influxdb=http://127.0.0.1:{port}/k6")],
        &[("K6_INFLUXDB_PUSH_INTERVAL", "200ms")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("http_reqs"), "the summary is printed");
    assert!(
        r.stdout.contains("█ OUTPUTS") && r.stdout.contains("✗ influxdb: "),
        "the summary reports the loss: {}",
        r.stdout
    );
    let lost = r
        .stderr
        .lines()
        .find(|l| l.contains("output influxdb:") && l.contains("samples could not be delivered\""))
        .unwrap_or_else(|| panic!("no final report of lost samples:\n{}", r.stderr));
    assert!(
        lost.contains("connection refused") || lost.contains("Connection refused"),
        "{lost}"
    );
    // Every sample of the run: 12 requests x 9 metrics, 12 checks, 6 x (group_duration, 4
    // custom metrics, data_sent, data_received, iteration_duration, iterations) = 174, and
    // `vus`/`vus_max` each second if the run took one.
    let numbers: Vec<u64> = lost
        .split("output influxdb: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(
        numbers.len() >= 2 && numbers[0] == numbers[1] && numbers[0] >= 174,
        "{lost}"
    );
}

const LOOP: &str = r#"
import http from 'k6/http';
import { sleep } from 'k6';
export const options = {
  vus: 2,
  duration: '60s',
  thresholds: { http_reqs: [{ threshold: `count<${__ENV.ABORT_AFTER || 1e9}`, abortOnFail: true }] },
};
export default function () { http.get(`${__ENV.BASE_URL}/get`); sleep(0.02); }
"#;

/// The requests in a json output file.
fn requests_in(path: &Path) -> u64 {
    json_lines(path)
        .iter()
        .filter(|l| l["type"] == "Point" && l["metric"] == "http_reqs")
        .count() as u64
}

/// Ctrl-C: the run stops gracefully (exit 105) and the outputs are flushed completely: the
/// gzip file ends properly and holds every request the target served.
#[test]
fn outputs_are_flushed_on_ctrl_c() {
    let t = target();
    let s = script(LOOP);
    let path = s.dir.path().join("out.json.gz");
    let out = run_interrupted(
        &s,
        &[
            "-o",
            &format!("json={}", path.display()),
            "-e",
            &format!("BASE_URL={}", t.base_url()),
        ],
        Duration::from_millis(2500),
    );
    assert_eq!(
        out.status.code(),
        Some(105),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let served = t.stats().total_requests;
    assert!(served > 10, "{served}");
    assert_eq!(requests_in(&path), served);
}

/// A threshold with `abortOnFail` stops the test (exit 99) and the outputs still get
/// everything.
#[test]
fn outputs_are_flushed_on_abort_on_fail() {
    let t = target();
    let s = script(LOOP);
    let path = s.dir.path().join("out.json");
    let r = run_env(
        &s,
        &t.base_url(),
        &[
            "-o",
            &format!("json={}", path.display()),
            "-e",
            "ABORT_AFTER=20",
        ],
        &[],
    );
    assert_eq!(r.code, 99, "{}", r.stderr);
    assert!(r.stderr.contains("abortOnFail"), "{}", r.stderr);
    let served = t.stats().total_requests;
    assert!(served >= 20, "{served}");
    assert_eq!(requests_in(&path), served);
}
