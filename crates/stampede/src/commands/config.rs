//! Resolving the configuration the way k6 does: defaults < `--config` file < script `options` <
//! `K6_*` environment < CLI flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use stampede_core::{k6_keys, parse_go_duration, parse_stage, Options, SystemTagSet};
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
    o.batch = f.batch;
    o.batch_per_host = f.batch_per_host;
    o.rps = f.rps;
    o.no_vu_connection_reuse = set(f.no_vu_connection_reuse);
    if let Some(d) = &f.min_iteration_duration {
        o.min_iteration_duration =
            Some(parse_go_duration(d).map_err(|e| flag_err("--min-iteration-duration", d, &e))?);
    }
    // The network flags read as their K6_* variables do.
    let mut net = |var: &str, flag: &str, value: &str| {
        o.net
            .from_env(var, value)
            .map(|_| ())
            .map_err(|e| flag_err(flag, value, &e))
    };
    if !f.blacklist_ip.is_empty() {
        net("BLACKLIST_IPS", "--blacklist-ip", &f.blacklist_ip.join(","))?;
    }
    if let Some(v) = &f.block_hostnames {
        net("BLOCK_HOSTNAMES", "--block-hostnames", v)?;
    }
    if let Some(v) = &f.dns {
        net("DNS", "--dns", v)?;
    }
    refused_flags(f)?;
    Ok(o)
}

/// k6's flags stampede can't honour yet: an error saying so (exit 255), or, where ignoring
/// one changes no result, a warning.
fn refused_flags(f: &OptionFlags) -> Result<(), Failure> {
    let refuse = |flag: &str, why: &str| {
        Err(Failure::new(
            USAGE,
            format!("{flag} is not supported by stampede: {why}"),
        ))
    };
    let distributed = "not yet: stampede has no REST API to resume a paused test, nor \
                       execution segments (distributed runs are planned)";
    if f.paused {
        return refuse("--paused", distributed);
    }
    if f.execution_segment.is_some() {
        return refuse("--execution-segment", distributed);
    }
    if f.execution_segment_sequence.is_some() {
        return refuse("--execution-segment-sequence", distributed);
    }
    if f.local_ips.is_some() {
        return refuse(
            "--local-ips",
            "binding requests to local IP addresses is not supported yet",
        );
    }
    if !f.secret_source.is_empty() {
        return refuse("--secret-source", "k6/secrets is not supported yet");
    }
    if f.traces_output.is_some() {
        return refuse(
            "--traces-output",
            "k6/http's tracing instrumentation is not supported yet",
        );
    }
    match f.test_type.as_deref() {
        None | Some("js") => {}
        Some("archive") => return refuse("--type archive", "k6 archives are not supported yet"),
        Some(other) => {
            return Err(Failure::new(
                USAGE,
                format!(
                    "invalid argument {other:?} for \"-t, --type\" flag: must be js or archive"
                ),
            ))
        }
    }
    let warn = |msg: &str| stampede_core::log(stampede_core::LogLevel::Warning, msg, &[]);
    if f.address.is_some() {
        warn("--address is ignored: stampede serves no REST API yet");
    }
    if f.profiling_enabled {
        warn("--profiling-enabled is ignored: stampede serves no pprof endpoints");
    }
    Ok(())
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

/// A script's source read from elsewhere than its path (stdin).
pub type Source = Option<Arc<Vec<u8>>>;

/// The script named on the command line: a file, or `-` for stdin (read whole; imports and
/// `open()` then resolve against the working directory, as in k6).
pub fn script_source(p: &Path) -> Result<(PathBuf, Source), Failure> {
    if p.as_os_str() != "-" {
        return Ok((script_path(p)?, None));
    }
    let mut source = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut source)
        .map_err(|e| Failure::new(USAGE, format!("can't read the script from stdin: {e}")))?;
    Ok((std::env::current_dir()?.join("-"), Some(Arc::new(source))))
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
    let insecure = o.insecure_skip_tls_verify.unwrap_or(false);
    let net = &o.net;
    let tls = stampede_http::tls::TlsSettings {
        insecure,
        min_version: net.tls_version.as_ref().and_then(|v| v.0.clone()),
        max_version: net.tls_version.as_ref().and_then(|v| v.1.clone()),
        cipher_suites: net.tls_cipher_suites.clone(),
        client_certs: net
            .tls_auth
            .iter()
            .flatten()
            .map(|a| (a.cert.clone(), a.key.clone()))
            .collect(),
    };
    for (i, a) in net.tls_auth.iter().flatten().enumerate() {
        if a.password.is_some() {
            return Err(Failure::config(format!(
                "tlsAuth[{i}].password: encrypted private keys are not supported by stampede; \
                 give the key decrypted (openssl pkey -in key.pem -out plain.pem)"
            )));
        }
        if !a.domains.is_empty() {
            // k6's warning: Go's client picks the certificate, whatever the domains say.
            stampede_core::log(
                stampede_core::LogLevel::Warning,
                "tlsAuth.domains option could be removed in the next releases, it's recommended \
                 to leave it empty and let k6 automatically detect from the provided certificate.",
                &[],
            );
        }
    }
    let rules = net_rules(net).map_err(Failure::config)?;
    Ok(Arc::new(stampede_http::ClientConfig {
        insecure_skip_tls_verify: insecure,
        no_connection_reuse: o.no_connection_reuse.unwrap_or(false),
        user_agent: o.user_agent.clone(),
        tls: if tls.is_default() {
            None
        } else {
            let (config, warnings) =
                stampede_http::tls::build_tls_settings(&tls).map_err(Failure::config)?;
            for w in warnings {
                stampede_core::log(stampede_core::LogLevel::Warning, &w, &[]);
            }
            Some(config)
        },
        net: rules,
        ..Default::default()
    }))
}

/// The HTTP client's network rules from k6's `hosts`, `blockHostnames`, `blacklistIPs`, `dns`.
fn net_rules(net: &stampede_core::NetOptions) -> Result<stampede_http::NetRules, String> {
    use stampede_http::HostRule;
    let mut rules = stampede_http::NetRules::default();
    for (name, target) in net.hosts.iter().flatten() {
        rules
            .hosts
            .push(HostRule::parse(name, target).map_err(|e| format!("invalid hosts: {e}"))?);
    }
    rules.blocked_hostnames = (net.block_hostnames.iter().flatten())
        .map(|p| p.to_ascii_lowercase())
        .collect();
    rules.blacklist = net.blacklist_ips.clone().unwrap_or_default();
    if let Some(ttl) = net.dns.ttl {
        rules.dns_ttl = ttl;
    }
    rules.select = net.dns.select.unwrap_or_default();
    rules.policy = net.dns.policy.unwrap_or_default();
    Ok(rules)
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
    resolve_source(flags, script, None)
}

fn warn(msg: &str, fields: &[(&str, &str)]) {
    stampede_core::log(stampede_core::LogLevel::Warning, msg, fields);
}

/// [`resolve`], with the script's source given rather than read from `script` (stdin).
pub fn resolve_source(
    flags: &OptionFlags,
    script: &Path,
    source: Source,
) -> Result<Resolved, Failure> {
    for w in k6_keys::env_warnings(std::env::vars()) {
        warn(&w, &[]);
    }
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
        k6_keys::check_option_keys(&json)
            .map_err(|e| Failure::config(format!("config file {}: {e}", path.display())))?;
        options.apply(
            Options::from_json(&json)
                .map_err(|e| Failure::config(format!("config file {}: {e}", path.display())))?,
        );
    }
    let registry = SharedRegistry::new();
    let settings = TestSettings {
        script: script.to_path_buf(),
        script_source: source.clone(),
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
        let unknown = k6_keys::check_option_keys(o).map_err(Failure::config)?;
        if let Some((msg, error)) = k6_keys::unknown_keys_warning(&unknown) {
            warn(&msg, &[("error", &error)]);
        }
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
        script_source: source,
        env,
        tags,
        throw: options.throw.unwrap_or(false),
        discard_response_bodies: options.discard_response_bodies.unwrap_or(false),
        max_redirects: options.max_redirects.unwrap_or(10),
        min_iteration_duration: options.min_iteration_duration,
        rps: options.rps.and_then(std::num::NonZeroU32::new),
        no_vu_connection_reuse: options.no_vu_connection_reuse.unwrap_or(false),
        batch: stampede_js::BatchLimits {
            total: options.batch.unwrap_or(20),
            per_host: options.batch_per_host.unwrap_or(6),
        },
        // An error here is reported where the run resolves its scenarios.
        options_json: options.to_k6_json(&options.scenarios_resolved().unwrap_or_default()),
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
