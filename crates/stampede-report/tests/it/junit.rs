//! `junit_xml`: one test case per threshold.

use stampede_report::junit_xml;

use crate::support::{load, summary_data, Extra};

#[test]
fn thresholds_become_test_cases() {
    let fx = load("thresholds");
    let data = summary_data(
        &fx,
        &Extra {
            threshold_order: &[
                (
                    "http_req_duration",
                    &["p(95)<500", "max<0.001", " med < 1000 ", "p(99.9)<2000"],
                ),
                ("http_reqs", &["count>100", "rate>1"]),
            ],
            ..Extra::default()
        },
    );
    insta::assert_snapshot!(junit_xml(&data));
}
