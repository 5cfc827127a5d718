use stampede_metrics::{builtin, TagSet};

use super::make;
use crate::testing::{drive, group, params, read_text, request, run_info, T};
use crate::MetricInfo;

fn lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    read_text(path)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn writes_a_metric_line_before_the_first_point_of_each_metric() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    let mut out = make(&params(Some(path.to_str().unwrap()), &[])).unwrap();
    assert_eq!(out.description(), format!("json ({})", path.display()));
    let mut run = run_info();
    run.metrics.insert(
        "http_req_duration".into(),
        MetricInfo {
            thresholds: vec!["p(95)<500".into()],
            submetrics: vec![crate::SubMetric {
                name: "http_req_duration{status:200}".into(),
                suffix: "status:200".into(),
                tags: vec![("status".into(), "200".into())],
            }],
        },
    );
    let report = drive(
        out.as_mut(),
        &run,
        vec![request("http://a/", "200"), request("http://a/x", "404")],
    );
    let l = lines(&path);
    let kinds: Vec<(&str, &str)> = l
        .iter()
        .map(|v| (v["type"].as_str().unwrap(), v["metric"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Metric", "http_reqs"),
            ("Point", "http_reqs"),
            ("Metric", "http_req_duration"),
            ("Point", "http_req_duration"),
            ("Point", "http_reqs"),
            ("Point", "http_req_duration"),
        ]
    );
    assert_eq!(
        l[2]["data"],
        serde_json::json!({"name": "http_req_duration", "type": "trend", "contains": "time",
            "thresholds": ["p(95)<500"],
            "submetrics": [{"name": "http_req_duration{status:200}", "suffix": "status:200",
                "tags": {"status": "200"}}]})
    );
    assert_eq!(l[0]["data"]["submetrics"], serde_json::Value::Null);
    assert_eq!(l[3]["data"]["value"], 1.528508);
    assert_eq!(l[5]["data"]["tags"]["status"], "404");
    assert_eq!(report.stats().delivered, 4);
    assert_eq!(report.stats().lost, 0);
}

#[test]
fn point_lines_match_k6s_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    let mut out = make(&params(Some(path.to_str().unwrap()), &[])).unwrap();
    let mut g = group(
        &[
            ("check", "is 200"),
            ("group", "::g1"),
            ("scenario", "default"),
            ("testid", "x"),
        ],
        &[(builtin::CHECKS, 1.0)],
    );
    g.metadata = Some(TagSet::from_pairs([("vu", "2"), ("iter", "0")]));
    drive(out.as_mut(), &run_info(), vec![g]);
    let text = std::fs::read_to_string(&path).unwrap();
    let point = text.lines().nth(1).unwrap();
    let mut time = String::new();
    crate::format::LocalTime::default().rfc3339_nano(&mut time, T);
    // The shape k6 1.1.0 wrote for a check (metadata keys sorted here; k6's order varies).
    assert_eq!(
        point,
        format!(
            r#"{{"metric":"checks","type":"Point","data":{{"time":"{time}","value":1,"tags":{{"check":"is 200","group":"::g1","scenario":"default","testid":"x"}},"metadata":{{"iter":"0","vu":"2"}}}}}}"#
        )
    );
}

#[test]
fn gzip_and_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json.gz");
    let mut out = make(&params(Some(path.to_str().unwrap()), &[])).unwrap();
    drive(out.as_mut(), &run_info(), vec![request("http://a/", "200")]);
    assert_eq!(lines(&path).len(), 4, "a complete gzip stream");
    assert_eq!(
        make(&params(Some("-"), &[])).unwrap().description(),
        "json(stdout)"
    );
    assert_eq!(
        make(&params(None, &[])).unwrap().description(),
        "json(stdout)"
    );
}

#[test]
fn an_unwritable_file_fails_at_start() {
    let mut out = make(&params(Some("/nonexistent-dir/x.json"), &[])).unwrap();
    let err = out
        .start(&run_info(), &crate::Report::new("json".into()))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("could not create the 'json' output: can't create /nonexistent-dir/x.json"),
        "{err}"
    );
}
