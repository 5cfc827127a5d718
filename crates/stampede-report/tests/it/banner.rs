//! `render_banner` against the banner k6 printed, but for the logo: stampede draws its own.

use std::time::Duration;

use stampede_report::{render_banner, render_banner_tty};

use crate::support::{assert_same_text, read};

fn scenarios(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, d)| ((*n).to_owned(), (*d).to_owned()))
        .collect()
}

/// What k6 printed (`fixture`), with the logo lines (2 to 6) of `got` in place of k6's. The
/// logo must be as many lines as k6's, painted the same way, and none of k6's.
fn with_our_logo(got: &str, fixture: &str) -> String {
    let ours: Vec<&str> = got.split('\n').collect();
    let mut theirs: Vec<&str> = fixture.split('\n').collect();
    assert!(ours.len() > 6 && theirs.len() > 6, "{got}");
    for i in 1..6 {
        assert!(
            !ours[i].contains("Grafana") && !ours[i].contains("‾‾"),
            "{}",
            ours[i]
        );
        // The colour codes and line clearing of k6's logo lines, around stampede's.
        let prefix = |l: &str| l.starts_with("\u{1b}[33m");
        let suffix = |l: &str| l.ends_with("\u{1b}[0K");
        assert_eq!(prefix(ours[i]), prefix(theirs[i]), "line {}", i + 1);
        assert_eq!(suffix(ours[i]), suffix(theirs[i]), "line {}", i + 1);
        theirs[i] = ours[i];
    }
    theirs.join("\n")
}

#[test]
fn one_scenario() {
    let s = scenarios(&[("default", "2 looping VUs for 3s (gracefulStop: 30s)")]);
    let got = render_banner("banner_basic.js", "-", &s, 2, Duration::from_secs(33));
    assert_same_text(
        &got,
        &with_our_logo(&got, &read("banner_basic.txt")),
        "banner_basic",
    );
}

#[test]
fn one_scenario_on_a_terminal() {
    let s = scenarios(&[("default", "2 looping VUs for 3s (gracefulStop: 30s)")]);
    let got = render_banner_tty("banner_basic.js", "-", &s, 2, Duration::from_secs(33), true);
    assert_same_text(
        &got,
        &with_our_logo(&got, &read("banner_basic.tty.txt")),
        "banner_basic.tty",
    );
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
    assert_same_text(
        &got,
        &with_our_logo(&got, &read("banner_multi.txt")),
        "banner_multi",
    );
}
