//! `handle_summary_data` and `summary_export` against k6's JSON from the same runs.

use serde_json::Value;
use stampede_report::{handle_summary_data, summary_export, summary_export_string};

use crate::support::{load, summary_data, Extra};

const FIXTURES: [&str; 12] = [
    "http_basic",
    "checks_groups",
    "custom_metrics",
    "thresholds",
    "trend_stats",
    "time_unit_s",
    "time_unit_us",
    "no_http",
    "dropped",
    "sections",
    "sort_order",
    "colors",
];

/// The JSON outputs do not depend on threshold order, so any order will do here.
fn order_for(name: &str) -> Extra<'static> {
    match name {
        "thresholds" => Extra {
            threshold_order: &[
                (
                    "http_req_duration",
                    &["p(95)<500", "max<0.001", " med < 1000 ", "p(99.9)<2000"],
                ),
                ("http_reqs", &["count>100", "rate>1"]),
            ],
            ..Extra::default()
        },
        "trend_stats" => Extra {
            threshold_order: &[(
                "iteration_duration",
                &["med<1000", "p(75)<1000", "max<5000"],
            )],
            ..Extra::default()
        },
        "colors" => Extra {
            threshold_order: &[("my_trend", &["p(95)<100", "max<1"])],
            ..Extra::default()
        },
        _ => Extra::default(),
    }
}

#[test]
fn handle_summary_data_matches_k6() {
    for name in FIXTURES {
        let fx = load(name);
        let data = summary_data(&fx, &order_for(name));
        assert_eq!(handle_summary_data(&data), fx.data, "{name}");
    }
}

#[test]
fn summary_export_matches_k6() {
    for name in FIXTURES {
        let fx = load(name);
        let data = summary_data(&fx, &order_for(name));
        assert_eq!(summary_export(&data), fx.export, "{name}");
    }
}

#[test]
fn export_thresholds_are_true_when_failed() {
    let fx = load("thresholds");
    let export = summary_export(&summary_data(&fx, &order_for("thresholds")));
    let duration = &export["metrics"]["http_req_duration"]["thresholds"];
    assert_eq!(duration["max<0.001"], Value::Bool(true));
    assert_eq!(duration["p(95)<500"], Value::Bool(false));
    // http_req_failed: `passes` counts failed requests, `value` is their rate.
    let failed = &export["metrics"]["http_req_failed"];
    assert_eq!(failed["passes"], 0);
    assert_eq!(failed["fails"], 5);
    assert_eq!(failed["value"], 0);
}

#[test]
fn export_text_is_indented_by_four_spaces() {
    let fx = load("checks_groups");
    let text = summary_export_string(&summary_data(&fx, &Extra::default()));
    assert!(text.starts_with("{\n    \""), "{text}");
    let back: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, fx.export);
}
