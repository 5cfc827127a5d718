//! Bad input: one clear line, k6's exit code, no panic.

use crate::support::{raw, script};

fn one_error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("level=error"))
        .collect();
    assert_eq!(lines.len(), 1, "expected one error line, got:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0]
}

#[test]
fn syntax_error_names_file_line_col() {
    let s = script("export default function () {\n  let x = ;\n}\n");
    let r = raw(&["run", "-q", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 107);
    let line = one_error_line(&r.stderr);
    assert!(
        line.contains("SyntaxError") && line.contains("script.js:2:11"),
        "{line}"
    );
}

#[test]
fn missing_script() {
    let r = raw(&["run", "/nonexistent/x.js"]);
    assert_eq!(r.code, 255);
    assert!(one_error_line(&r.stderr).contains("couldn't be found"));
}

#[test]
fn unknown_module() {
    let s = script("import x from 'k6/nope';\nexport default function () {}\n");
    let r = raw(&["run", "-q", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 107);
    assert!(one_error_line(&r.stderr).contains("unknown module: k6/nope"));
}

#[test]
fn unknown_flag() {
    let s = script("export default function () {}\n");
    let r = raw(&["run", "--bogus", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 255);
    assert!(one_error_line(&r.stderr).contains("--bogus"));
}

#[test]
fn negative_vus() {
    let s = script("export default function () {}\n");
    let r = raw(&[
        "run",
        "-q",
        "-u",
        "-1",
        "-d",
        "1s",
        s.path.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 104);
    assert!(one_error_line(&r.stderr).contains("vus"));
}

#[test]
fn invalid_duration() {
    let s = script("export default function () {}\n");
    let r = raw(&["run", "-q", "-d", "10x", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 255);
    assert!(one_error_line(&r.stderr).contains("10x"));
    let s = script("export const options = { duration: 'soon' };\nexport default function () {}\n");
    let r = raw(&["run", "-q", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 104);
    assert!(one_error_line(&r.stderr).contains("duration"));
}

#[test]
fn init_exception_exits_107() {
    let s = script("throw new Error('boom in init');\nexport default function () {}\n");
    let r = raw(&["run", "-q", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 107);
    let line = one_error_line(&r.stderr);
    assert!(
        line.contains("boom in init") && line.contains("script.js:1"),
        "{line}"
    );
}

#[test]
fn bad_threshold_exits_104() {
    let s = script("export const options = { thresholds: { nope: ['rate<1'] } };\nexport default function () {}\n");
    let r = raw(&["run", "-q", s.path.to_str().unwrap()]);
    assert_eq!(r.code, 104);
    assert!(one_error_line(&r.stderr).contains("nope"));
}

#[test]
fn version_and_help() {
    let r = raw(&["version"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("stampede v"));
    assert_eq!(raw(&["--help"]).code, 0);
}
