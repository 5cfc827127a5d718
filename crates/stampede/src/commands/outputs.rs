//! The run's outputs (`-o`, `K6_OUT`): built from their configuration before the test, started
//! before `setup()`, reported after the summary.

use std::collections::BTreeMap;

use stampede_core::{Options, SystemTag};
use stampede_metrics::{SharedRegistry, ThresholdSet};
use stampede_output::{MetricInfo, OutputSpec, OutputStats, Outputs, RunInfo, SubMetric};
use stampede_report::RunMeta;

use crate::exit::{Failure, USAGE};

/// The outputs `flags` (or else `K6_OUT`) name, configured from the environment and the config
/// file's `collectors`. Bad configuration is k6's exit code 255.
pub fn build(flags: &[String], collectors: Option<&serde_json::Value>) -> Result<Outputs, Failure> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let usage = |e: stampede_output::OutputError| Failure::new(USAGE, e.to_string());
    let mut specs =
        OutputSpec::resolve(flags, env.get("K6_OUT").map(String::as_str)).map_err(usage)?;
    // K6_WEB_DASHBOARD=true turns the dashboard on, as `-o web-dashboard` does.
    match env.get("K6_WEB_DASHBOARD").map(String::as_str) {
        None | Some("false") | Some("0") | Some("") => {}
        Some("true") | Some("1") => {
            if !specs.iter().any(|s| s.name == "web-dashboard") {
                specs.push(OutputSpec::parse("web-dashboard").map_err(usage)?);
            }
        }
        Some(other) => {
            return Err(Failure::new(
                USAGE,
                format!("K6_WEB_DASHBOARD={other:?}: expected true or false"),
            ))
        }
    }
    Outputs::new(&specs, &env, collectors).map_err(usage)
}

/// What the outputs need to know of the run: the metrics' thresholds and sub-metrics as k6's
/// JSON output lists them, the system tags, and what reports say about the run.
pub fn run_info(
    options: &Options,
    registry: &SharedRegistry,
    thresholds: &ThresholdSet,
    meta: RunMeta,
) -> RunInfo {
    let system_tags = options.system_tags.unwrap_or_default();
    let mut metrics: BTreeMap<String, MetricInfo> = BTreeMap::new();
    for (key, defs) in options.thresholds.as_deref().unwrap_or(&[]) {
        match stampede_metrics::parse_selector(key) {
            Ok((name, selector)) if selector.is_empty() => {
                let info = metrics.entry(name).or_default();
                info.thresholds
                    .extend(defs.iter().map(|d| d.source.clone()));
            }
            Ok((name, selector)) => {
                let suffix = key
                    .split_once('{')
                    .map(|(_, s)| s.trim_end_matches('}').to_string())
                    .unwrap_or_default();
                metrics.entry(name).or_default().submetrics.push(SubMetric {
                    name: key.clone(),
                    suffix,
                    tags: selector,
                });
            }
            Err(_) => {}
        }
    }
    if system_tags.has(SystemTag::ExpectedResponse) {
        // The summary's own sub-metric, which k6 lists too.
        let key = "http_req_duration{expected_response:true}";
        let subs = &mut metrics
            .entry("http_req_duration".into())
            .or_default()
            .submetrics;
        if !subs.iter().any(|s| s.name == key) {
            subs.push(SubMetric {
                name: key.into(),
                suffix: "expected_response:true".into(),
                tags: vec![("expected_response".into(), "true".into())],
            });
        }
    }
    RunInfo {
        registry: registry.clone(),
        meta,
        thresholds: thresholds.clone(),
        metrics,
        system_tags,
    }
}

/// What each output could not deliver, a line each, for the summary's `OUTPUTS` section (k6
/// loses it in silence); also logged, as the summary may be off (`--no-summary`,
/// `handleSummary`).
pub fn undelivered(stats: &[OutputStats]) -> Vec<String> {
    let mut lines = Vec::new();
    for s in stats.iter().filter(|s| s.lost > 0) {
        let total = s.lost + s.delivered;
        let why = s.last_error.as_deref().unwrap_or("unknown");
        stampede_core::log(
            stampede_core::LogLevel::Warning,
            &format!(
                "output {}: {} of {total} samples could not be delivered",
                s.name, s.lost
            ),
            &[("error", why)],
        );
        lines.push(format!(
            "{}: {} of {total} samples could not be delivered ({why})",
            s.name, s.lost
        ));
    }
    lines
}
