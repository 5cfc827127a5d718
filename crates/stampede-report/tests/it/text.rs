//! `render_text` against the summary k6 printed.

use stampede_report::render_text;

use crate::support::{assert_same_text, load, summary_data, Extra};

fn check(name: &str, extra: Extra<'_>) {
    let fx = load(name);
    let data = summary_data(&fx, &extra);
    assert_same_text(&render_text(&data), &fx.text, name);
}

#[test]
fn http_basic() {
    check("http_basic", Extra::default());
}

#[test]
fn checks_in_nested_groups_are_listed_flat_by_first_use() {
    check(
        "checks_groups",
        Extra {
            check_order: &["root a", "in g1 fails", "deep", "half", "root c"],
            ..Extra::default()
        },
    );
}

#[test]
fn custom_metrics_of_every_type() {
    check("custom_metrics", Extra::default());
}

#[test]
fn thresholds_with_submetrics_and_failures() {
    check(
        "thresholds",
        Extra {
            threshold_order: &[
                (
                    "http_req_duration",
                    &["p(95)<500", "max<0.001", " med < 1000 ", "p(99.9)<2000"],
                ),
                ("http_reqs", &["count>100", "rate>1"]),
            ],
            // k6 does not export p(99.9); any value that k6 would print as 1.46ms does.
            observed: &[("http_req_duration", "p(99.9)<2000", 1.466)],
            check_order: &[],
        },
    );
}

#[test]
fn trend_stats_with_count_and_time_unit() {
    check(
        "trend_stats",
        Extra {
            threshold_order: &[(
                "iteration_duration",
                &["med<1000", "p(75)<1000", "max<5000"],
            )],
            // k6 does not export p(75); any value that k6 would print as 2.47ms does.
            observed: &[("iteration_duration", "p(75)<1000", 2.4712)],
            check_order: &[],
        },
    );
}

#[test]
fn time_unit_seconds() {
    check("time_unit_s", Extra::default());
}

#[test]
fn time_unit_microseconds() {
    check("time_unit_us", Extra::default());
}

#[test]
fn no_http_shows_vus() {
    check("no_http", Extra::default());
}

#[test]
fn dropped_iterations() {
    check("dropped", Extra::default());
}

#[test]
fn sections_follow_name_prefixes() {
    check("sections", Extra::default());
}

#[test]
fn metrics_sort_like_locale_compare() {
    check("sort_order", Extra::default());
}

#[test]
fn terminal_output_is_coloured() {
    check(
        "colors",
        Extra {
            threshold_order: &[("my_trend", &["p(95)<100", "max<1"])],
            ..Extra::default()
        },
    );
}

#[test]
fn no_color_on_a_terminal_keeps_line_clears_only() {
    let fx = load("colors");
    let mut data = summary_data(
        &fx,
        &Extra {
            threshold_order: &[("my_trend", &["p(95)<100", "max<1"])],
            ..Extra::default()
        },
    );
    data.no_color = true;
    let text = render_text(&data);
    assert!(!text.contains("\x1b[3"), "no colours");
    assert!(text.starts_with("\x1b[0K\n\x1b[0K\n  █ THRESHOLDS \x1b[0K\n"));
}
