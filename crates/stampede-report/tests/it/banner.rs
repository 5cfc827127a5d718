//! `render_banner` against the banner k6 printed.

use std::time::Duration;

use stampede_report::{render_banner, render_banner_tty};

use crate::support::{assert_same_text, read};

fn scenarios(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, d)| ((*n).to_owned(), (*d).to_owned()))
        .collect()
}

#[test]
fn one_scenario() {
    let s = scenarios(&[("default", "2 looping VUs for 3s (gracefulStop: 30s)")]);
    let got = render_banner("banner_basic.js", "-", &s, 2, Duration::from_secs(33));
    assert_same_text(&got, &read("banner_basic.txt"), "banner_basic");
}

#[test]
fn one_scenario_on_a_terminal() {
    let s = scenarios(&[("default", "2 looping VUs for 3s (gracefulStop: 30s)")]);
    let got = render_banner_tty("banner_basic.js", "-", &s, 2, Duration::from_secs(33), true);
    assert_same_text(&got, &read("banner_basic.tty.txt"), "banner_basic.tty");
}

#[test]
fn several_scenarios() {
    let s = scenarios(&[
        ("a_long_scenario_name", "3 looping VUs for 1h0m0s (gracefulStop: 30s)"),
        ("car", "5.00 iterations/s for 1.5s (maxVUs: 2-7, gracefulStop: 30s)"),
        (
            "b",
            "Up to 10 looping VUs for 1m30s over 1 stages (gracefulRampDown: 30s, startTime: 10s, gracefulStop: 30s)",
        ),
    ]);
    let got = render_banner("banner_multi.js", "-", &s, 13, Duration::from_secs(3630));
    assert_same_text(&got, &read("banner_multi.txt"), "banner_multi");
}
