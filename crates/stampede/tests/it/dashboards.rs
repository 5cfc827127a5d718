//! The dashboards in docs/grafana: every query of every panel, and of every template variable,
//! runs on a real InfluxDB 1.6 and a real Prometheus 2.42 after real runs sent to both, with the
//! dashboard's macros and variables replaced as the dashboard tool would, and must return data.
//! A misspelt measurement, metric, tag or label finds nothing and fails, naming the panel.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::servers::{encode, influxd, Prometheus};
use crate::support;

/// Two VUs for four seconds: named endpoints (one slow, one answering 404), checks (one always
/// failing) and a short WebSocket session per iteration.
const SCRIPT: &str = r#"
import http from 'k6/http';
import ws from 'k6/ws';
import { check, sleep } from 'k6';

export const options = { vus: 2, duration: '4s' };

export default function () {
  const base = __ENV.BASE_URL;
  const home = http.get(`${base}/`, { tags: { name: 'home' } });
  check(home, { 'home is 200': (r) => r.status === 200 });
  const products = http.get(`${base}/api/products`, { tags: { name: 'products' } });
  check(products, { 'products is 200': (r) => r.status === 200 });
  const missing = http.get(`${base}/status/404`, { tags: { name: 'missing' } });
  check(missing, { 'missing is 200': (r) => r.status === 200 });
  http.get(`${base}/delay/5`, { tags: { name: 'slow' } });
  const url = `${base.replace('http://', 'ws://')}/ws/chat?room=dash&user=vu${__VU}`;
  ws.connect(url, {}, (socket) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'ping' })));
    socket.on('message', () => socket.close());
    socket.setTimeout(() => socket.close(), 1000);
  });
  sleep(0.05);
}
"#;

/// The test-wide `testid` tag of the runs, the value the `testid` variable is given.
const TESTID: &str = "dash";

/// A query of a dashboard and where it is.
struct Query {
    /// `panel "title" target A`, or `variable name`.
    place: String,
    /// The variable it fills, for a variable's query.
    variable: Option<String>,
    text: String,
}

fn load(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/grafana")
        .join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Every panel, the panels of (collapsed) rows included.
fn panels(list: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in list.as_array().map(Vec::as_slice).unwrap_or_default() {
        out.push(p);
        out.extend(panels(&p["panels"]));
    }
    out
}

/// The dashboard's shape (the parts the dashboard tool needs to load it) and its queries:
/// `key` of every target (`query`/`rawSql` or `expr`), then the query of every variable.
fn queries(d: &Value, ds_type: &str, keys: &[&str]) -> Vec<Query> {
    let title = d["title"].as_str().unwrap();
    assert_eq!(d["schemaVersion"], 39, "{title}");
    assert!(
        title.starts_with("stampede load test (")
            && !title.to_lowercase().contains("grafana")
            && !title.to_lowercase().contains("k6"),
        "{title}"
    );
    let vars = d["templating"]["list"].as_array().unwrap();
    let ds_var = vars
        .iter()
        .find(|v| v["type"] == "datasource")
        .unwrap_or_else(|| panic!("{title}: no datasource variable"));
    assert_eq!(ds_var["query"], ds_type, "{title}");
    let ds_uid = format!("${{{}}}", ds_var["name"].as_str().unwrap());
    for name in ["testid", "name"] {
        assert!(
            vars.iter()
                .any(|v| v["name"] == name && v["type"] == "query"),
            "{title}: no `{name}` variable"
        );
    }

    let mut out = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    for p in panels(&d["panels"]) {
        let kind = p["type"].as_str().unwrap();
        let ptitle = p["title"].as_str().unwrap();
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "{title}: id of {ptitle} twice"
        );
        assert!(p["gridPos"]["w"].as_u64().is_some(), "{ptitle}: no gridPos");
        if kind == "row" {
            continue;
        }
        assert!(
            ["timeseries", "stat", "table"].contains(&kind),
            "{ptitle}: panel type {kind}"
        );
        assert_eq!(p["datasource"]["type"], ds_type, "{ptitle}");
        assert_eq!(p["datasource"]["uid"], ds_uid.as_str(), "{ptitle}");
        let targets = p["targets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert!(!targets.is_empty(), "{title}: panel {ptitle} has no query");
        for t in targets {
            let text = keys
                .iter()
                .find_map(|k| t[*k].as_str())
                .unwrap_or_else(|| panic!("{ptitle}: a target without {keys:?}: {t}"));
            out.push(Query {
                place: format!("panel {ptitle:?} target {}", t["refId"].as_str().unwrap()),
                variable: None,
                text: text.to_string(),
            });
        }
    }
    for v in vars.iter().filter(|v| v["type"] == "query") {
        let name = v["name"].as_str().unwrap();
        let q = &v["query"];
        let text = q.as_str().or_else(|| q["query"].as_str()).unwrap();
        out.push(Query {
            place: format!("variable {name}"),
            variable: Some(name.to_string()),
            text: text.to_string(),
        });
    }
    out
}

/// `q` with the dashboard's macros and variables replaced: `$x`, `${x}` and `[[x]]`.
fn substitute(q: &str, vars: &[(&str, &str)]) -> String {
    let mut vars = vars.to_vec();
    // `$__interval_ms` before `$__interval`.
    vars.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    let mut out = q.to_string();
    for (k, v) in &vars {
        out = out
            .replace(&format!("${{{k}}}"), v)
            .replace(&format!("[[{k}]]"), v)
            .replace(&format!("${k}"), v);
    }
    out
}

/// A variable or macro `substitute` did not know.
fn unreplaced(q: &str) -> Option<String> {
    let b = q.as_bytes();
    (0..b.len())
        .find(|&i| {
            (b[i] == b'$'
                && b.get(i + 1)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_' || *c == b'{'))
                || (b[i] == b'[' && b.get(i + 1) == Some(&b'['))
        })
        .map(|i| q[i..].chars().take(20).collect())
}

/// A GET on loopback: the status and body, even for an error status.
fn http_get(url: &str) -> Result<(u16, String), String> {
    let rest = url.strip_prefix("http://").ok_or("not http")?;
    let (host, path) = rest.split_once('/').ok_or("no path")?;
    let mut s = TcpStream::connect(host).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no body")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status")?;
    Ok((status, body.to_string()))
}

/// What a query returned.
#[derive(Default)]
struct Answer {
    /// The finite numbers, `time` left out.
    numbers: Vec<f64>,
    /// What a variable's query offers (`SHOW TAG VALUES`, `label_values`).
    offered: Vec<String>,
    /// The `name` tag or label of each series returned that has one.
    names: Vec<String>,
}

/// A finite number in a JSON value: a number, or Prometheus' number as a string.
fn number(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .filter(|x: &f64| x.is_finite())
}

/// Runs an InfluxQL query.
fn run_influx(base: &str, db: &str, q: &str) -> Result<Answer, String> {
    let url = format!("{base}/query?db={db}&q={}", encode(q));
    let (status, body) = http_get(&url)?;
    if status != 200 {
        return Err(format!("HTTP {status}: {body}"));
    }
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    let result = &v["results"][0];
    if let Some(e) = result["error"].as_str() {
        return Err(e.to_string());
    }
    let mut a = Answer::default();
    for series in result["series"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        a.names
            .extend(series["tags"]["name"].as_str().map(str::to_string));
        let columns: Vec<&str> = series["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        for row in series["values"].as_array().unwrap() {
            for (c, x) in columns.iter().zip(row.as_array().unwrap()) {
                if *c == "value" && columns.contains(&"key") {
                    a.offered.extend(x.as_str().map(str::to_string));
                } else if *c != "time" {
                    a.numbers.extend(number(x));
                }
            }
        }
    }
    Ok(a)
}

/// Runs an instant PromQL query at now.
fn run_promql(prom: &Prometheus, q: &str) -> Result<Answer, String> {
    let (status, body) = prom
        .get_raw(&format!("/api/v1/query?query={}", encode(q)))
        .ok_or("no answer")?;
    if status != 200 {
        return Err(format!("HTTP {status}: {body}"));
    }
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    let data = &v["data"];
    let mut a = Answer::default();
    match data["resultType"].as_str() {
        Some("scalar") => a.numbers.extend(number(&data["result"][1])),
        Some("vector") => {
            for s in data["result"].as_array().unwrap() {
                a.numbers.extend(number(&s["value"][1]));
                a.names
                    .extend(s["metric"]["name"].as_str().map(str::to_string));
            }
        }
        other => return Err(format!("result type {other:?}: {body}")),
    }
    Ok(a)
}

/// A `label_values(selector, label)` variable query of the Prometheus data source: the values
/// of `label` in the series `selector` matches.
fn run_label_values(prom: &Prometheus, q: &str) -> Result<Vec<String>, String> {
    let inner = q
        .trim()
        .strip_prefix("label_values(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("not label_values(...): {q}"))?;
    let (selector, label) = inner.rsplit_once(',').ok_or("no label")?;
    let (status, body) = prom
        .get_raw(&format!(
            "/api/v1/series?match[]={}",
            encode(selector.trim())
        ))
        .ok_or("no answer")?;
    if status != 200 {
        return Err(format!("HTTP {status}: {body}"));
    }
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    let mut values: Vec<String> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s[label.trim()].as_str().map(str::to_string))
        .collect();
    values.sort();
    values.dedup();
    Ok(values)
}

/// The value a variable's query must offer: the run's testid, an endpoint's name.
fn expected_value(variable: &str) -> &'static str {
    match variable {
        "testid" => TESTID,
        "name" => "home",
        other => panic!("a variable the test does not know: {other}"),
    }
}

/// Checks one query's answer, adding what is wrong to `failures`: an error, no data, a
/// variable's query that does not offer the run's value, or a series of an endpoint that the
/// `name` variable did not select.
fn judge(
    failures: &mut Vec<String>,
    dashboard: &str,
    query: &Query,
    sent: &str,
    answer: Result<Answer, String>,
    selected: &[&str],
) {
    let (problem, got) = match (answer, &query.variable) {
        (Err(e), _) => (Some(format!("error: {e}")), String::new()),
        (
            Ok(Answer {
                offered: values, ..
            }),
            Some(var),
        ) => {
            let want = expected_value(var);
            let missing = !values.iter().any(|v| v == want);
            (
                missing.then(|| format!("no {want:?} among {values:?}")),
                format!("{values:?}"),
            )
        }
        (Ok(a), None) if a.numbers.is_empty() => (Some("no data".into()), String::new()),
        (Ok(a), None) => {
            let max = a.numbers.iter().copied().fold(f64::MIN, f64::max);
            let got = format!("{} values, max {max}", a.numbers.len());
            let other = a.names.iter().find(|n| !selected.contains(&n.as_str()));
            (other.map(|n| format!("endpoint {n:?} not selected")), got)
        }
    };
    match problem {
        Some(p) => failures.push(format!(
            "{dashboard}: {}: {p}\n    query: {sent}",
            query.place
        )),
        None => eprintln!("ok  {dashboard}: {}: {got}", query.place),
    }
}

#[test]
fn every_dashboard_query_returns_data_from_a_real_run() {
    let influx_dash = load("stampede-influxdb.json");
    let prom_dash = load("stampede-prometheus.json");
    let influx_queries = queries(&influx_dash, "influxdb", &["query", "rawSql"]);
    let prom_queries = queries(&prom_dash, "prometheus", &["expr"]);

    let influx = influxd();
    let prom = Prometheus::start(true);
    let target = support::target();
    let base = target.base_url();
    let db = "stampede";
    let influx_out = format!("influxdb={}/{db}", influx.url);
    let testid = format!("testid={TESTID}");
    let write_url = prom.write_url();
    let common = [
        ("K6_PROMETHEUS_RW_SERVER_URL", write_url.as_str()),
        ("K6_PROMETHEUS_RW_PUSH_INTERVAL", "1s"),
    ];
    // The trend stats the dashboard's README asks for; the second run sends native histograms
    // instead, at the same time, told apart by a tag of its own so no series is written twice.
    let mut stats_env = common.to_vec();
    stats_env.push(("K6_PROMETHEUS_RW_TREND_STATS", "p(50),p(95),p(99)"));
    let mut native_env = common.to_vec();
    native_env.push(("K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM", "true"));
    let (s1, s2) = (support::script(SCRIPT), support::script(SCRIPT));
    let (stats_run, native_run) = std::thread::scope(|s| {
        let a = s.spawn(|| {
            let args = [
                "-o",
                &influx_out,
                "-o",
                "experimental-prometheus-rw",
                "--tag",
                &testid,
            ];
            support::run_env(&s1, &base, &args, &stats_env)
        });
        let b = s.spawn(|| {
            let args = [
                "-o",
                "experimental-prometheus-rw",
                "--tag",
                &testid,
                "--tag",
                "trends=native",
            ];
            support::run_env(&s2, &base, &args, &native_env)
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    for (what, r) in [
        ("trend stats", &stats_run),
        ("native histograms", &native_run),
    ] {
        assert_eq!(r.code, 0, "the run with {what} failed:\n{}", r.stderr);
        assert!(
            !r.stderr.contains("could not be delivered"),
            "{what}: {}",
            r.stderr
        );
        assert!(
            r.metric("http_reqs", "count") > 20.0,
            "{what}: too few requests"
        );
        assert!(
            r.metric("ws_sessions", "count") > 4.0,
            "{what}: too few sessions"
        );
    }

    // What the dashboard tool puts in for its macros and the variables: all endpoints, then
    // two of them as a multi-value selection is written into a regex.
    let common_vars = [
        ("__interval", "1s"),
        ("__interval_ms", "1000"),
        ("__rate_interval", "1m"),
        ("__range", "1h"),
        ("__range_s", "3600"),
        ("__range_ms", "3600000"),
        ("testid", TESTID),
    ];
    let mut failures = Vec::new();
    let mut ran = 0;
    let all: &[&str] = &["home", "products", "missing", "slow"];
    for (name, selected) in [(".*", all), ("(home|missing)", &["home", "missing"][..])] {
        let mut vars = common_vars.to_vec();
        vars.push(("name", name));
        let mut influx_vars = vars.clone();
        influx_vars.push(("timeFilter", "time > now() - 1h"));
        for q in &influx_queries {
            if name != ".*" && !q.text.contains("$name") && !q.text.contains("${name}") {
                continue;
            }
            let sent = substitute(&q.text, &influx_vars);
            let answer = match unreplaced(&sent) {
                Some(v) => Err(format!("{v}... not replaced")),
                None => run_influx(&influx.url, db, &sent),
            };
            judge(&mut failures, "InfluxDB", q, &sent, answer, selected);
            ran += 1;
        }
        for q in &prom_queries {
            if name != ".*" && !q.text.contains("$name") && !q.text.contains("${name}") {
                continue;
            }
            let sent = substitute(&q.text, &vars);
            let answer = match unreplaced(&sent) {
                Some(v) => Err(format!("{v}... not replaced")),
                None if q.variable.is_some() => {
                    run_label_values(&prom, &sent).map(|offered| Answer {
                        offered,
                        ..Answer::default()
                    })
                }
                None => run_promql(&prom, &sent),
            };
            judge(&mut failures, "Prometheus", q, &sent, answer, selected);
            ran += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} dashboard queries failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{ran} dashboard queries returned data");
}
