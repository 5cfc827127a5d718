//! Resolving the configuration the way k6 does: defaults < `--config` file < script `options` <
//! `K6_*` environment < CLI flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use stampede_core::{parse_go_duration, parse_stage, Options, SystemTagSet};
use stampede_engine::MainVu;
use stampede_js::{InitInfo, JsErrorKind, TestContext, TestSettings};
use stampede_metrics::SharedRegistry;

use crate::cli::OptionFlags;
use crate::exit::{Failure, USAGE};

/// The options the CLI flags set (only those given).
pub fn cli_options(f: &OptionFlags) -> Result<Options, Failure> {
    let flag_err = |flag: &str, value: &str, e: &dyn std::fmt::Display| {
        Failure::new(
            USAGE,
            format!("invalid argument {value:?} for \"{flag}\" flag: {e}"),
        )
    };
    let mut o = Options {
        vus: f.vus,
        iterations: f.iterations,
        ..Options::default()
    };
    if let Some(d) = &f.duration {
        o.duration = Some(parse_go_duration(d).map_err(|e| flag_err("-d, --duration", d, &e))?);
    }
    if !f.stages.is_empty() {
        let mut stages = Vec::new();
        for s in &f.stages {
            for part in s.split(',') {
                stages.push(
                    parse_stage(part.trim(), "stage")
                        .map_err(|e| flag_err("-s, --stage", s, &e))?,
                );
            }
        }
        o.stages = Some(stages);
    }
    if let Some(s) = &f.summary_trend_stats {
        o.summary_trend_stats = Some(
            s.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
        );
    }
    if let Some(u) = &f.summary_time_unit {
        if !matches!(u.as_str(), "s" | "ms" | "us") {
            return Err(flag_err(
                "--summary-time-unit",
                u,
                &"must be one of s, ms, us",
            ));
        }
        o.summary_time_unit = Some(u.clone());
    }
    if !f.tags.is_empty() {
        let mut tags = BTreeMap::new();
        for t in &f.tags {
            let (k, v) = t
                .split_once('=')
                .ok_or_else(|| flag_err("--tag", t, &"expected NAME=VALUE"))?;
            tags.insert(k.to_string(), v.to_string());
        }
        o.tags = Some(tags);
    }
    let set = |b: bool| if b { Some(true) } else { None };
    o.no_setup = set(f.no_setup);
    o.no_teardown = set(f.no_teardown);
    o.no_thresholds = set(f.no_thresholds);
    o.insecure_skip_tls_verify = set(f.insecure_skip_tls_verify);
    o.throw = set(f.throw);
    o.discard_response_bodies = set(f.discard_response_bodies);
    o.no_connection_reuse = set(f.no_connection_reuse);
    o.user_agent = f.user_agent.clone();
    o.http_debug = f.http_debug.clone();
    o.max_redirects = f.max_redirects;
    if let Some(t) = &f.system_tags {
        o.system_tags = Some(
            SystemTagSet::parse(t.split(','), "--system-tags")
                .map_err(|e| flag_err("--system-tags", t, &e))?,
        );
    }
    Ok(o)
}

/// `__ENV`: the system environment (unless disabled) plus `-e KEY=VALUE`.
pub fn script_env(f: &OptionFlags) -> Result<BTreeMap<String, String>, Failure> {
    let mut env: BTreeMap<String, String> = if f.include_system_env_vars {
        std::env::vars().collect()
    } else {
        BTreeMap::new()
    };
    for e in &f.env {
        let (k, v) = e.split_once('=').ok_or_else(|| {
            Failure::new(
                USAGE,
                format!("invalid argument {e:?} for \"-e, --env\" flag: expected KEY=VALUE"),
            )
        })?;
        env.insert(k.to_string(), v.to_string());
    }
    Ok(env)
}

/// Finds the script, with k6's message when it isn't there.
pub fn script_path(p: &Path) -> Result<PathBuf, Failure> {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    };
    if !abs.is_file() {
        return Err(Failure::new(
            USAGE,
            format!("The moduleSpecifier \"{}\" couldn't be found on local disk. Make sure that you've specified the right path to the file.", p.display()),
        ));
    }
    Ok(abs.canonicalize().unwrap_or(abs))
}

/// The HTTP client settings every VU shares.
pub fn http_config(o: &Options) -> Result<Arc<stampede_http::ClientConfig>, Failure> {
    Ok(Arc::new(stampede_http::ClientConfig {
        insecure_skip_tls_verify: o.insecure_skip_tls_verify.unwrap_or(false),
        no_connection_reuse: o.no_connection_reuse.unwrap_or(false),
        user_agent: o.user_agent.clone(),
        ..Default::default()
    }))
}

/// Everything resolved before the run: options from every source and the script's exports.
pub struct Resolved {
    pub options: Options,
    pub init: InitInfo,
    pub registry: SharedRegistry,
    pub settings: TestSettings,
    /// The config file's `collectors` section (the outputs' settings).
    pub collectors: Option<serde_json::Value>,
}

/// Runs the init context once (as k6 does) to read `options`, then layers every source.
pub fn resolve(flags: &OptionFlags, script: &Path) -> Result<Resolved, Failure> {
    let env = script_env(flags)?;
    let cli = cli_options(flags)?;
    let mut options = Options::default();
    let mut collectors = None;
    if let Some(path) = &flags.config {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::new(
                USAGE,
                format!("can't read config file {}: {e}", path.display()),
            )
        })?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Failure::config(format!("config file {}: {e}", path.display())))?;
        collectors = json.get("collectors").cloned();
        options.apply(
            Options::from_json(&json)
                .map_err(|e| Failure::config(format!("config file {}: {e}", path.display())))?,
        );
    }
    let registry = SharedRegistry::new();
    let settings = TestSettings {
        script: script.to_path_buf(),
        env: env.clone(),
        max_redirects: 10,
        ..Default::default()
    };
    let probe_ctx = TestContext::new(settings, registry.clone(), http_config(&cli)?);
    let (vu, init) = MainVu::new(probe_ctx).map_err(|e| match e.kind {
        JsErrorKind::Runtime => Failure::new(USAGE, e.with_stack()),
        _ => Failure::script(e.with_stack()),
    })?;
    drop(vu);
    if let Some(o) = &init.options {
        options.apply(Options::from_json(o).map_err(Failure::config)?);
    }
    options.apply(Options::from_env(std::env::vars()).map_err(Failure::config)?);
    options.apply(cli);
    let tags: Vec<(String, String)> = options
        .tags
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let settings = TestSettings {
        script: script.to_path_buf(),
        env,
        tags,
        throw: options.throw.unwrap_or(false),
        discard_response_bodies: options.discard_response_bodies.unwrap_or(false),
        max_redirects: options.max_redirects.unwrap_or(10),
        options_json: options.to_json(),
        kept_tags: Default::default(),
        raw_samples: false,
        system_tags: options.system_tags.unwrap_or_default(),
        no_cookies_reset: options.no_cookies_reset.unwrap_or(false),
        http_debug: stampede_http::HttpDebug::from_option(options.http_debug.as_deref()),
    };
    Ok(Resolved {
        options,
        init,
        registry,
        settings,
        collectors,
    })
}
