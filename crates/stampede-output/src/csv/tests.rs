use stampede_core::SystemTagSet;
use stampede_metrics::{builtin, TagSet};

use super::make;
use crate::testing::{drive, group, params, read_text, request, run_info};

#[test]
fn rows_as_k6_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let mut out = make(&params(Some(path.to_str().unwrap()), &[])).unwrap();
    assert_eq!(out.description(), format!("csv ({})", path.display()));
    let counter = group(
        &[
            ("ctag", "c"),
            ("group", ""),
            ("scenario", "default"),
            ("testid", "x"),
        ],
        &[(builtin::ITERATIONS, 1.0)],
    );
    drive(
        out.as_mut(),
        &run_info(),
        vec![request("http://a/", "200"), counter],
    );
    let text = read_text(&path);
    let rows: Vec<&str> = text.lines().collect();
    // What k6 1.1.0 wrote for the same samples (time aside).
    assert_eq!(
        rows[0],
        "metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata"
    );
    assert_eq!(
        rows[1],
        "http_reqs,1796664737,1.000000,,,,true,,GET,http://a/,HTTP/1.1,default,,200,,,http://a/,,"
    );
    assert_eq!(
        rows[2],
        "http_req_duration,1796664737,1.528508,,,,true,,GET,http://a/,HTTP/1.1,default,,200,,,http://a/,,"
    );
    assert_eq!(
        rows[3],
        "iterations,1796664737,1.000000,,,,,,,,,default,,,,,,ctag=c&testid=x,"
    );
}

#[test]
fn system_tags_decide_the_columns_and_metadata_has_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv.gz");
    let arg = format!("fileName={},timeFormat=unix_milli", path.display());
    let mut out = make(&params(Some(&arg), &[])).unwrap();
    let mut run = run_info();
    run.system_tags = SystemTagSet::parse(["vu", "iter", "status"], "t").unwrap();
    let mut g = group(
        &[("status", "200"), ("testid", "x")],
        &[(builtin::HTTP_REQS, 1.0)],
    );
    g.metadata = Some(TagSet::from_pairs([("vu", "1"), ("iter", "0")]));
    drive(out.as_mut(), &run, vec![g]);
    let text = read_text(&path);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows[0],
        "metric_name,timestamp,metric_value,status,extra_tags,metadata"
    );
    assert_eq!(
        rows[1],
        "http_reqs,1796664737178,1.000000,200,testid=x,iter=0&vu=1"
    );
}

#[test]
fn configuration_as_k6_reads_it() {
    let e =
        |arg: &str, env: &[(&str, &str)]| make(&params(Some(arg), env)).err().unwrap().to_string();
    assert_eq!(
        e("file_name=a.csv", &[]),
        "could not create the 'csv' output: unknown key \"file_name\" as argument for csv output"
    );
    assert_eq!(
        e("fileName=", &[]),
        "could not create the 'csv' output: couldn't parse \"fileName=\" as argument for csv output"
    );
    assert_eq!(
        e("x.csv", &[("K6_CSV_TIME_FORMAT", "bogus")]),
        "could not create the 'csv' output: bogus does not belong to TimeFormat values"
    );
    let from_env = make(&params(
        None,
        &[
            ("K6_CSV_FILENAME", "env.csv"),
            ("K6_CSV_TIME_FORMAT", "RFC3339"),
        ],
    ))
    .unwrap();
    assert_eq!(from_env.description(), "csv (env.csv)");
    let arg_wins = make(&params(Some("arg.csv"), &[("K6_CSV_FILENAME", "env.csv")])).unwrap();
    assert_eq!(arg_wins.description(), "csv (arg.csv)");
    assert_eq!(
        make(&params(None, &[])).unwrap().description(),
        "csv (file.csv)"
    );
    assert_eq!(
        make(&params(Some("-"), &[])).unwrap().description(),
        "csv (stdout)"
    );
    let interval = make(&params(Some("fileName=a.csv,saveInterval=2s"), &[])).unwrap();
    assert_eq!(
        interval.flush_every(),
        Some(std::time::Duration::from_secs(2))
    );
}
