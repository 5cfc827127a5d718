//! `stampede run script.js`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use stampede_engine::{CallError, MainVu, RunConfig, RunOutcome};
use stampede_js::{LogLevel, TestContext};
use stampede_metrics::{TagFilter, ThresholdSet};
use stampede_report::RunMeta;

use crate::cli::RunArgs;
use crate::commands::config::{http_config, resolve_source, script_source, Resolved};
use crate::commands::outputs;
use crate::exit::{self, Failure};
use crate::summary::{self, SummaryInputs};

/// Set by Ctrl-C / SIGTERM; a second signal exits at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let _ = ctrlc::set_handler(move || {
            if f.swap(true, Ordering::SeqCst) {
                std::process::exit(exit::INTERRUPTED as i32);
            }
        });
        flag
    })
    .clone()
}

fn warn(msg: &str) {
    stampede_js::log(LogLevel::Warning, msg, &[]);
}

fn render_summary(data: &stampede_report::SummaryData, mode: SummaryMode) -> String {
    match mode {
        SummaryMode::Compact | SummaryMode::Full => stampede_report::render_text(data),
        SummaryMode::Legacy => stampede_report::render_legacy_text(data),
    }
}

/// What the end of a run prints and writes.
pub struct RunOptions<'a> {
    pub quiet: bool,
    pub no_summary: bool,
    pub summary_export: Option<&'a Path>,
    /// `--junit`: thresholds and checks as JUnit XML.
    pub junit: Option<&'a Path>,
    pub workers: Option<usize>,
    pub no_color: bool,
    /// `-o` values (none: `K6_OUT`).
    pub out: &'a [String],
    pub summary_mode: SummaryMode,
    /// `--linger`: stay alive after the test until Ctrl-C / SIGTERM.
    pub linger: bool,
}

/// `--summary-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryMode {
    Compact,
    /// Compact plus the HTTP timing breakdown and a section per scenario and group.
    Full,
    Legacy,
}

impl SummaryMode {
    /// k6's values.
    pub fn parse(s: &str) -> Result<SummaryMode, Failure> {
        match s {
            "compact" => Ok(SummaryMode::Compact),
            "full" => Ok(SummaryMode::Full),
            "legacy" => Ok(SummaryMode::Legacy),
            _ => Err(Failure::new(exit::USAGE, "invalid summary mode")),
        }
    }
}

pub fn run(args: RunArgs, no_color: bool) -> Result<u8, Failure> {
    let summary_mode = SummaryMode::parse(&args.summary_mode)?;
    let (script, source) = script_source(&args.script)?;
    let resolved = resolve_source(&args.options, &script, source)?;
    let no_summary = args.no_summary || resolved.options.no_summary.unwrap_or(false);
    execute(
        &script,
        resolved,
        RunOptions {
            quiet: args.quiet,
            no_summary,
            summary_export: args.summary_export.as_deref(),
            junit: args.junit.as_deref(),
            workers: args.workers,
            no_color,
            out: &args.out,
            summary_mode,
            linger: args.linger,
        },
    )
}

/// Runs a resolved test and reports it; shared by `run` and `demo`.
pub fn execute(script: &Path, r: Resolved, opts: RunOptions<'_>) -> Result<u8, Failure> {
    for w in r.options.warnings() {
        warn(&w);
    }
    r.options
        .check_trend_stats()
        .map_err(|e| Failure::new(exit::USAGE, e))?;
    let scenarios = r.options.scenarios_resolved().map_err(Failure::config)?;
    for sc in &scenarios {
        if !r.init.exports.contains(&sc.exec) {
            return Err(Failure::config(format!(
                "scenario {}: exec function '{}' is not exported by the script",
                sc.name, sc.exec
            )));
        }
    }
    let max_vus: u64 = scenarios.iter().map(|s| s.executor.max_vus()).sum();
    if let Some(msg) = open_files_warning(max_vus, rlimit::increase_nofile_limit(u64::MAX).ok()) {
        warn(&msg);
    }
    if let Some(msg) = local_ports_warning(max_vus, local_port_range()) {
        warn(&msg);
    }
    let thresholds = if r.options.no_thresholds.unwrap_or(false) {
        ThresholdSet::default()
    } else {
        ThresholdSet::parse(
            r.options.thresholds.as_deref().unwrap_or(&[]),
            &r.registry.snapshot(),
        )
        .map_err(Failure::config)?
    };
    let mut outputs = outputs::build(opts.out, r.collectors.as_ref())?;
    let needs = outputs.needs();
    let mut settings = r.settings.clone();
    let mut kept = TagFilter::for_thresholds(&thresholds);
    if needs.all_tags {
        kept.keep_all();
    }
    let metrics = r.registry.lock().len();
    for key in &needs.tags {
        kept.keep_everywhere(key, metrics);
    }
    // The full summary's sections are per scenario and group.
    if opts.summary_mode == SummaryMode::Full {
        for key in ["scenario", "group"] {
            kept.keep_everywhere(key, metrics);
        }
    }
    settings.kept_tags = Arc::new(kept);
    settings.raw_samples = needs.samples;
    let test = TestContext::new(settings, r.registry.clone(), http_config(&r.options)?);
    let (mut main_vu, _) =
        MainVu::new(test.clone()).map_err(|e| Failure::script(e.with_stack()))?;

    if !opts.quiet {
        let max_duration = scenarios
            .iter()
            .map(|s| s.start_time + s.executor.max_duration() + s.graceful_stop)
            .max()
            .unwrap_or_default();
        let list: Vec<(String, String)> = scenarios
            .iter()
            .map(|s| (s.name.clone(), s.describe()))
            .collect();
        let name = script_name(script);
        print!(
            "{}",
            stampede_report::render_banner(
                &name,
                &outputs.description(),
                &list,
                max_vus,
                max_duration
            )
        );
    }
    let meta = RunMeta {
        tool: format!("stampede {}", env!("CARGO_PKG_VERSION")),
        script: script_name(script),
        options: r.options.to_json(),
        scenarios: scenarios
            .iter()
            .map(|s| (s.name.clone(), s.executor.name().to_string(), s.describe()))
            .collect(),
    };
    outputs
        .start(outputs::run_info(
            &r.options,
            &test.registry,
            &thresholds,
            meta,
        ))
        .map_err(|e| Failure::new(exit::USAGE, e.to_string()))?;

    let exports = r.init.exports.clone();
    let cfg = RunConfig {
        scenarios,
        workers: opts.workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }),
        setup_timeout: r.options.setup_timeout.unwrap_or(Duration::from_secs(60)),
        teardown_timeout: r
            .options
            .teardown_timeout
            .unwrap_or(Duration::from_secs(60)),
        run_setup: exports.iter().any(|e| e == "setup") && !r.options.no_setup.unwrap_or(false),
        run_teardown: exports.iter().any(|e| e == "teardown")
            && !r.options.no_teardown.unwrap_or(false),
        thresholds,
        progress: !opts.quiet,
        interrupt: interrupt_flag(),
    };
    let outcome = stampede_engine::run(test.clone(), cfg, &mut main_vu, &mut [&mut outputs]);
    let stats = outputs.stats();
    let outcome = outcome.map_err(|e| {
        let code = e.exit_code();
        let mut f = Failure::new(code, e.to_string());
        if code == exit::SCRIPT_EXCEPTION {
            f.hint = Some("script exception");
        }
        f
    })?;
    report(
        &r,
        &test,
        &outcome,
        &mut main_vu,
        &opts,
        outputs::undelivered(&stats),
    )?;
    let code = exit_code(&outcome, &test);
    if opts.linger && !outcome.interrupted_by_signal {
        linger();
    }
    Ok(code)
}

/// `--linger`: waits for Ctrl-C / SIGTERM once the test is over (k6 then exits with the test's
/// own code).
fn linger() {
    let flag = interrupt_flag();
    while !flag.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn script_name(script: &Path) -> String {
    script
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Files the process keeps open besides one connection per VU (listeners, logs, summary files).
const RESERVED_FILES: u64 = 64;

/// Each VU keeps its own connection, as in k6. The soft limit on open files has been raised to
/// the hard limit (`limit`); says so when the VUs can need more than that.
fn open_files_warning(max_vus: u64, limit: Option<u64>) -> Option<String> {
    let limit = limit?;
    let usable = limit.saturating_sub(RESERVED_FILES);
    (max_vus > usable).then(|| {
        format!(
            "{max_vus} VUs can keep {max_vus} connections open, but this process may open only {limit} files \
             (the hard RLIMIT_NOFILE, `ulimit -Hn`): requests beyond about {usable} open connections \
             fail with 'too many open files'; raise the hard limit or split the VUs over several processes"
        )
    })
}

/// `net.ipv4.ip_local_port_range`, where the kernel has one.
fn local_port_range() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut it = text.split_whitespace().map(|n| n.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

/// Each VU keeps its own connection, and the kernel gives each connection to one host:port a
/// local port of `range`. Linux's `connect()` takes ports of one parity first (half the range,
/// 14,116 by default); past that, every further connect searches the taken ones, and starting
/// the VUs slows down (measured here: 16,000 VUs running after 5.9 s instead of 3.8 s, 18,000
/// after 10 s instead of 4.7 s). Beyond the whole range, connects fail.
fn local_ports_warning(max_vus: u64, range: Option<(u64, u64)>) -> Option<String> {
    let (lo, hi) = range?;
    let ports = hi.checked_sub(lo)? + 1;
    let fix = "widen it, e.g. `sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"`";
    if max_vus > ports {
        Some(format!(
            "{max_vus} VUs keep up to {max_vus} connections, but net.ipv4.ip_local_port_range \
             ({lo}-{hi}) has {ports} local ports per host:port: connects beyond that fail; {fix}"
        ))
    } else if max_vus > ports / 2 {
        Some(format!(
            "{max_vus} VUs keep up to {max_vus} connections, and net.ipv4.ip_local_port_range \
             ({lo}-{hi}) gives connect() {} quickly found local ports per host:port: past that \
             each new connection searches the taken ports and the VUs start slower; {fix}",
            ports / 2
        ))
    } else {
        None
    }
}

fn exit_code(o: &RunOutcome, test: &TestContext) -> u8 {
    if o.interrupted_by_signal {
        exit::INTERRUPTED
    } else if o.script_abort.is_some() {
        exit::SCRIPT_ABORTED
    } else if o.threshold_abort.is_some() || o.thresholds.iter().any(|t| !t.passed) {
        if o.thresholds.iter().any(|t| !t.passed) {
            stampede_js::log(
                LogLevel::Error,
                "thresholds on metrics have been crossed",
                &[],
            );
        }
        exit::THRESHOLDS_FAILED
    } else if test.failed().is_some() {
        exit::MARKED_FAILED
    } else {
        exit::OK
    }
}

fn report(
    r: &Resolved,
    test: &TestContext,
    o: &RunOutcome,
    main_vu: &mut MainVu,
    opts: &RunOptions<'_>,
    undelivered: Vec<String>,
) -> Result<(), Failure> {
    let registry = test.registry.snapshot();
    let data = summary::build(SummaryInputs {
        registry: &registry,
        totals: &o.totals,
        thresholds: &o.thresholds,
        trend_stats: r.options.trend_stats(),
        time_unit: r.options.summary_time_unit.clone(),
        elapsed: o.elapsed,
        setup_data: o.setup_data.clone(),
        options: r.options.to_json(),
        no_color: opts.no_color,
        undelivered,
        full: opts.summary_mode == SummaryMode::Full,
    });
    if let Some(path) = opts.junit {
        let name = format!("stampede {}", script_name(&r.settings.script));
        std::fs::write(path, stampede_report::junit_report(&data, &name)).map_err(|e| {
            Failure::new(
                exit::USAGE,
                format!("can't write the JUnit report {}: {e}", path.display()),
            )
        })?;
    }
    if opts.no_summary {
        // k6 neither writes --summary-export nor calls handleSummary() then.
        return Ok(());
    }
    if let Some(path) = opts.summary_export {
        let json = serde_json::to_string_pretty(&stampede_report::summary_export(&data))
            .unwrap_or_default();
        std::fs::write(path, json).map_err(|e| {
            Failure::new(
                exit::USAGE,
                format!("can't write the summary export {}: {e}", path.display()),
            )
        })?;
    }
    if r.init.exports.iter().any(|e| e == "handleSummary") {
        let arg: Arc<str> = stampede_report::handle_summary_data(&data)
            .to_string()
            .into();
        match main_vu.call("handleSummary", Some(arg), None, Duration::from_secs(120)) {
            Ok(Some(json)) => write_summary_outputs(&json)?,
            Ok(None) => {}
            Err(CallError::Js(e)) => {
                stampede_js::log(
                    LogLevel::Error,
                    &format!("handleSummary() failed: {}", e.with_stack()),
                    &[],
                );
                print!("{}", render_summary(&data, opts.summary_mode));
            }
            Err(CallError::Timeout) => {
                stampede_js::log(LogLevel::Error, "handleSummary() timed out", &[])
            }
        }
    } else {
        print!("{}", render_summary(&data, opts.summary_mode));
    }
    Ok(())
}

/// Writes what `handleSummary` returned: `stdout`, `stderr`, or file paths to contents.
fn write_summary_outputs(json: &str) -> Result<(), Failure> {
    let value: serde_json::Value = serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
    let Some(map) = value.as_object() else {
        return Ok(());
    };
    for (key, v) in map {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match key.as_str() {
            "stdout" => print!("{text}"),
            "stderr" => eprint!("{text}"),
            path => std::fs::write(path, text).map_err(|e| {
                Failure::new(
                    exit::USAGE,
                    format!("handleSummary: can't write {path}: {e}"),
                )
            })?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn warns_when_vus_exceed_the_open_files_limit() {
        assert_eq!(super::open_files_warning(1_000, Some(20_000)), None);
        assert_eq!(super::open_files_warning(1_000, None), None);
        let msg = super::open_files_warning(19_990, Some(20_000)).unwrap();
        assert!(
            msg.contains("19990 VUs") && msg.contains("only 20000 files"),
            "{msg}"
        );
    }

    #[test]
    fn warns_when_vus_crowd_the_local_port_range() {
        let default = Some((32_768, 60_999));
        assert_eq!(super::local_ports_warning(14_000, default), None);
        assert_eq!(super::local_ports_warning(20_000, None), None);
        let slow = super::local_ports_warning(18_000, default).unwrap();
        assert!(
            slow.contains("(32768-60999)") && slow.contains("14116 quickly found"),
            "{slow}"
        );
        let fail = super::local_ports_warning(30_000, default).unwrap();
        assert!(fail.contains("connects beyond that fail"), "{fail}");
        assert_eq!(
            super::local_ports_warning(18_000, Some((1024, 65_535))),
            None
        );
    }
}
