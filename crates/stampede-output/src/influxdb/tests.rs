use stampede_metrics::{builtin, SampleGroup};

use super::{make, template, FieldType};
use crate::testing::{group, request, T};

fn line_of(g: &SampleGroup, fields: &[(&str, FieldType)], measurement: &str) -> String {
    let fields: Vec<(String, FieldType)> =
        fields.iter().map(|(n, t)| (n.to_string(), *t)).collect();
    let t = template(&g.tags, &fields);
    format!(
        "{measurement}{}{}{} {}",
        t.head, g.values[0].1, t.tail, g.time.0
    )
}

#[test]
fn lines_as_k6_writes_them() {
    let default = [
        ("iter", FieldType::String),
        ("url", FieldType::String),
        ("vu", FieldType::String),
    ];
    // What k6 1.1.0 sent for the same samples: empty tags dropped, url a string field.
    assert_eq!(
        line_of(&request("http://127.0.0.1:18181/", "200"), &default, "http_reqs"),
        format!(
            "http_reqs,expected_response=true,method=GET,name=http://127.0.0.1:18181/,proto=HTTP/1.1,scenario=default,status=200 url=\"http://127.0.0.1:18181/\",value=1 {}",
            T.0
        )
    );
    let check = group(
        &[
            ("check", "is 200"),
            ("group", "::g1"),
            ("scenario", "default"),
            ("testid", "x"),
        ],
        &[(builtin::CHECKS, 1.0)],
    );
    assert_eq!(
        line_of(&check, &default, "checks"),
        format!(
            "checks,check=is\\ 200,group=::g1,scenario=default,testid=x value=1 {}",
            T.0
        )
    );
    // Typed fields, one sorted after `value`.
    let typed = [
        ("status", FieldType::Int),
        ("expected_response", FieldType::Bool),
        ("zone", FieldType::Float),
    ];
    let mut g = request("http://a/", "200");
    g.tags = stampede_metrics::TagSet::from_pairs(
        g.tags.iter().chain([("zone", "1404")]).collect::<Vec<_>>(),
    );
    assert_eq!(
        line_of(&g, &typed, "http_reqs"),
        format!(
            "http_reqs,method=GET,name=http://a/,proto=HTTP/1.1,scenario=default,url=http://a/ expected_response=true,status=200i,value=1,zone=1404 {}",
            T.0
        )
    );
}

#[test]
fn describes_itself_as_k6_does() {
    let out = make(&crate::testing::params(
        Some("http://127.0.0.1:18086/k6db"),
        &[],
    ))
    .unwrap();
    assert_eq!(out.description(), "InfluxDBv1 (http://127.0.0.1:18086)");
}
