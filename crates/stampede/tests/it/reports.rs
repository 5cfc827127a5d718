//! Reports a run leaves besides the summary: JUnit XML (validated against the Surefire XSD in
//! docs/schemas), the summary export (against its JSON Schema there, k6's own export too),
//! result files and the HTML report drawn from them or from a json output.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{k6_run, raw, require, run, script, target};

const SCRIPT: &str = r#"
import http from 'k6/http';
import { check, group } from 'k6';
import { Trend } from 'k6/metrics';
const t = new Trend('my_trend', true);
export const options = {
  scenarios: { main: { executor: 'per-vu-iterations', vus: 2, iterations: 5 } },
  thresholds: {
    http_req_duration: ['p(95)<10000'],
    'http_req_duration{name:missing}': ['max<0'],
    checks: ['rate>0.99'],
  },
};
export function setup() { return { started: true }; }
export default function () {
  group('browse', () => {
    const r = http.get(`${__ENV.BASE_URL}/get`, { tags: { name: 'home' } });
    check(r, { 'home is 200': (x) => x.status === 200 });
  });
  const m = http.get(`${__ENV.BASE_URL}/status/404`, { tags: { name: 'missing' } });
  check(m, { 'missing is 200': (x) => x.status === 200 });
  t.add(12.5);
}
"#;

fn docs(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(path)
}

/// Validates `file` against the JSON Schema with Python's `jsonschema`; the errors, if any.
fn schema_errors(file: &Path) -> String {
    let python = require("python3", "apt-get install python3");
    let code = "import json,sys,jsonschema\n\
        s=json.load(open(sys.argv[1]));jsonschema.Draft202012Validator.check_schema(s)\n\
        v=jsonschema.Draft202012Validator(s)\n\
        print('\\n'.join(f'{list(e.path)}: {e.message}' for e in v.iter_errors(json.load(open(sys.argv[2])))))";
    let out = Command::new(python)
        .args(["-c", code])
        .arg(docs("schemas/summary-export.schema.json"))
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jsonschema (pip install jsonschema): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// stampede's summary export and k6's, for the same script, both satisfy the published schema.
#[test]
fn summary_exports_match_the_published_schema() {
    let s = script(SCRIPT);
    let t = target();
    let ours = run(&s, &t.base_url(), &[]);
    assert_eq!(ours.code, 99, "{}", ours.stderr);
    let ours_path = s.dir.path().join("export.json");
    assert_eq!(schema_errors(&ours_path), "");
    let k6_path = s.dir.path().join("k6-export.json");
    let k6 = k6_run(
        &s,
        &t.base_url(),
        &["--summary-export", k6_path.to_str().unwrap()],
    );
    assert_eq!(
        k6.status.code(),
        Some(99),
        "{}",
        String::from_utf8_lossy(&k6.stderr)
    );
    assert_eq!(schema_errors(&k6_path), "");
    // A file that is not an export fails it (the schema can fail).
    let bad = s.file(
        "bad.json",
        r#"{"root_group": {}, "metrics": {"x": {"count": "1"}}}"#,
    );
    assert_ne!(schema_errors(&bad), "");
}

/// `--junit`: valid against the Surefire schema CI reporters read; a failing threshold is a
/// failing case with the observed value, a check that failed a failing case with its counts.
#[test]
fn junit_is_valid_and_fails_what_failed() {
    let s = script(SCRIPT);
    let t = target();
    let path = s.dir.path().join("junit.xml");
    let r = run(&s, &t.base_url(), &["--junit", path.to_str().unwrap()]);
    assert_eq!(r.code, 99, "{}", r.stderr);
    let xmllint = require("xmllint", "apt-get install libxml2-utils");
    let out = Command::new(xmllint)
        .args(["--noout", "--schema"])
        .arg(docs("schemas/junit-10.xsd"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = std::fs::read_to_string(&path).unwrap();
    assert!(
        xml.contains(r#"<testsuites name="stampede script.js" tests="5" failures="3""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"name="http_req_duration: p(95)&lt;10000" time="0"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<failure type="threshold" message="max was "#)
            && xml.contains(r#", the threshold is max&lt;0"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"classname="checks::browse" name="home is 200" time="0"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<failure type="check" message="10 of 10 failed (100.00%)"/>"#),
        "{xml}"
    );
    // K6_JUNIT does the same.
    let env_path = s.dir.path().join("env.xml");
    let r = crate::support::run_env(
        &s,
        &t.base_url(),
        &[],
        &[("K6_JUNIT", env_path.to_str().unwrap())],
    );
    assert_eq!(r.code, 99);
    assert!(env_path.exists());
}

/// The model embedded in an HTML report.
fn embedded_model(html: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(html).unwrap();
    let start = text
        .find(r#"<script type="application/json" id="report-data">"#)
        .expect("embedded data");
    let rest = &text[start..];
    let json = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
    serde_json::from_str(json).unwrap()
}

/// `-o result=run.ndjson.gz`, then `stampede report run.ndjson.gz`: the report holds the run's
/// numbers (the summary export's), endpoints by name, and thresholds judged again on the whole.
/// `stampede report` also reads a json output, k6's included.
#[test]
fn reports_from_result_files_and_json_outputs() {
    let s = script(SCRIPT);
    let t = target();
    let result = s.dir.path().join("run.ndjson.gz");
    let r = run(
        &s,
        &t.base_url(),
        &["-o", &format!("result={}", result.display())],
    );
    assert_eq!(r.code, 99, "{}", r.stderr);
    let html = s.dir.path().join("report.html");
    let out = raw(&[
        "report",
        result.to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let m = embedded_model(&html);
    assert_eq!(
        m["totals"]["http_reqs"].as_f64(),
        Some(r.metric("http_reqs", "count"))
    );
    assert_eq!(m["totals"]["iterations"].as_f64(), Some(10.0));
    let endpoints: Vec<&str> = m["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(endpoints, ["home", "missing"]);
    assert_eq!(m["endpoints"][1]["failed"], 10.0);
    let ok: std::collections::BTreeMap<&str, bool> = m["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["metric"].as_str().unwrap(), t["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        ok,
        [
            ("checks", false),
            ("http_req_duration", true),
            ("http_req_duration{name:missing}", false)
        ]
        .into(),
        "{}",
        m["thresholds"]
    );
    assert_eq!(m["checks"].as_array().unwrap().len(), 2);
    let p95 = m["totals"]["http_req_duration"]["p95"].as_f64().unwrap();
    let theirs = r.metric("http_req_duration", "p(95)");
    assert!(
        (p95 - theirs).abs() <= theirs * 0.002 + 0.001,
        "{p95} vs {theirs}"
    );

    // The same from k6's own json output.
    let k6_json = s.dir.path().join("k6.json");
    let k6 = k6_run(
        &s,
        &t.base_url(),
        &["-o", &format!("json={}", k6_json.display())],
    );
    assert_eq!(k6.status.code(), Some(99));
    let out = raw(&["report", k6_json.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let m = embedded_model(&s.dir.path().join("k6.html"));
    assert_eq!(m["totals"]["http_reqs"], 20.0);
    // k6's json output lists the thresholds of whole metrics only (not those of sub-metrics).
    assert_eq!(
        m["thresholds"].as_array().unwrap().len(),
        2,
        "{}",
        m["thresholds"]
    );

    // Not a run: a clear error naming the file and line.
    let junk = s.file("junk.ndjson", "{\"hello\": 1}\n");
    let out = raw(&["report", junk.to_str().unwrap()]);
    assert_eq!(out.code, 255);
    assert!(out.stderr.contains("junk.ndjson:1: "), "{}", out.stderr);
}
