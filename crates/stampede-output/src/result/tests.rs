use stampede_metrics::{builtin, DeltaMerger, MetricType, TagSet, UnixNanos};

use super::{make, read};
use crate::testing::{params, run_info};
use crate::Report;

#[test]
fn a_result_file_reads_back_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ndjson.gz");
    let run = run_info();
    let custom = run
        .registry
        .lock()
        .register(
            "my_trend",
            MetricType::Trend,
            stampede_metrics::ValueType::Time,
        )
        .unwrap();
    let mut out = make(&params(Some(path.to_str().unwrap()), &[])).unwrap();
    assert_eq!(out.description(), format!("result ({})", path.display()));
    let report = Report::new("result".into());
    out.start(&run, &report).unwrap();
    for s in 1..=3 {
        let mut m = DeltaMerger::default();
        let at = UnixNanos(s * 1_000_000_000);
        let tags = TagSet::from_pairs([("name", "home"), ("status", "200")]);
        m.add_value(
            builtin::HTTP_REQS,
            MetricType::Counter,
            tags.clone(),
            at,
            1.0,
        );
        m.add_value(custom, MetricType::Trend, tags, at, s as f64 * 10.0);
        out.interval(&m.finish().unwrap(), &report);
    }
    out.flush(&report, true);
    assert_eq!(report.stats().lost, 0);

    let back = read(&path).unwrap();
    assert_eq!(back.header.version, 1);
    assert_eq!(back.intervals.len(), 3);
    assert_eq!(back.end, Some(UnixNanos(3_000_000_000)));
    let id = back.registry.get("my_trend").unwrap();
    let mut totals = stampede_metrics::Totals::default();
    for d in &back.intervals {
        totals.merge(d);
    }
    match totals.aggregate(id, MetricType::Trend, &[]) {
        Some(stampede_metrics::Agg::Trend(t)) => {
            assert_eq!(t.count, 3);
            assert_eq!(t.max, 30.0);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bad_file_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.ndjson");
    std::fs::write(
        &path,
        "{\"type\":\"interval\",\"start\":0,\"end\":1,\"entries\":[]}\n",
    )
    .unwrap();
    let e = read(&path).unwrap_err().to_string();
    assert!(
        e.ends_with("x.ndjson:1: not a stampede result file (its first line is not a header)"),
        "{e}"
    );
    std::fs::write(
        &path,
        "{\"type\":\"header\",\"version\":1,\"tool\":\"t\",\"script\":\"s\",\"options\":null,\"scenarios\":[]}\n{\"type\":\"interval\",\"start\":0,\"end\":1,\"entries\":[{\"metric\":99,\"tags\":{},\"agg\":{\"type\":\"counter\",\"sum\":1.0}}]}\n",
    )
    .unwrap();
    let e = read(&path).unwrap_err().to_string();
    assert!(
        e.contains("x.ndjson:2: metric 99 has no metric record before it"),
        "{e}"
    );
    assert!(make(&params(None, &[])).is_err());
}
