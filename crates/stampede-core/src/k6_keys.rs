//! Every key of k6's options object and every `K6_*` environment variable k6 reads, each with
//! what stampede does with it: one table, from which the checks at start and
//! `docs/k6-options.md` are derived (a test keeps the doc and the table in step).

use serde_json::Value;

use crate::ConfigError;

/// What stampede does with a k6 option key or environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Honoured as k6 does.
    Supported,
    /// Accepted and without effect on a local run, exactly as `k6 run` (k6 Cloud settings).
    CloudOnly,
    /// Not supported: an option using it is an error (exit 104), an environment variable a
    /// warning; the text says why.
    Refused(&'static str),
}

/// One key of k6's options object (`export const options`, `--config` file).
#[derive(Debug, Clone, Copy)]
pub struct OptionKey {
    pub key: &'static str,
    pub status: Status,
    /// What it does, in a few words.
    pub about: &'static str,
}

const fn key(key: &'static str, about: &'static str) -> OptionKey {
    OptionKey {
        key,
        status: Status::Supported,
        about,
    }
}

/// Why `paused` and the execution segments are refused for now.
const DISTRIBUTED: &str = "not supported yet: stampede has no REST API to resume a paused \
     test, nor execution segments (distributed runs are planned)";

/// The keys `k6 inspect` lists for v1.1.0, plus `cloud` (k6 accepts it without a warning).
pub const OPTION_KEYS: &[OptionKey] = &[
    OptionKey {
        key: "paused",
        status: Status::Refused(DISTRIBUTED),
        about: "start the test paused",
    },
    key("vus", "VUs of the shortcut scenario"),
    key("duration", "duration of the shortcut scenario"),
    key("iterations", "iterations of the shortcut scenario"),
    key("stages", "ramping stages of the shortcut scenario"),
    key("scenarios", "named scenarios and their executors"),
    OptionKey {
        key: "executionSegment",
        status: Status::Refused(DISTRIBUTED),
        about: "the part of the test this instance runs",
    },
    OptionKey {
        key: "executionSegmentSequence",
        status: Status::Refused(DISTRIBUTED),
        about: "all the segments of a distributed test",
    },
    key("noSetup", "skip setup()"),
    key("setupTimeout", "how long setup() may run"),
    key("noTeardown", "skip teardown()"),
    key("teardownTimeout", "how long teardown() may run"),
    key("rps", "global cap on HTTP requests per second"),
    key("dns", "DNS cache ttl, select and policy"),
    key("maxRedirects", "redirects followed per request"),
    key("userAgent", "default User-Agent header"),
    key("batch", "parallel requests of one http.batch()"),
    key(
        "batchPerHost",
        "parallel requests per host of one http.batch()",
    ),
    key("httpDebug", "log HTTP requests and responses"),
    key("insecureSkipTLSVerify", "skip TLS certificate verification"),
    key("tlsCipherSuites", "allowed TLS cipher suites"),
    key("tlsVersion", "allowed TLS versions"),
    key("tlsAuth", "TLS client certificates"),
    key("throw", "throw on failed requests"),
    key("thresholds", "pass/fail criteria on metrics"),
    key("blacklistIPs", "IP ranges requests may not reach"),
    key("blockHostnames", "host names requests may not reach"),
    key("hosts", "host name overrides"),
    key("noConnectionReuse", "no keep-alive connections"),
    key("noVUConnectionReuse", "new connections for each iteration"),
    key("minIterationDuration", "shortest iteration"),
    OptionKey {
        key: "ext",
        status: Status::CloudOnly,
        about: "settings for k6 Cloud (`ext.loadimpact`)",
    },
    key("summaryTrendStats", "trend statistics in the summary"),
    key("summaryTimeUnit", "time unit of the summary"),
    key("systemTags", "tags samples carry"),
    key("tags", "tags added to every sample"),
    OptionKey {
        key: "metricSamplesBufferSize",
        status: Status::Refused(
            "it sizes k6's channel of metric samples; stampede has no such channel (each worker \
             thread aggregates its own samples)",
        ),
        about: "buffer of k6's metric sample channel",
    },
    key("noCookiesReset", "keep cookies between iterations"),
    key("discardResponseBodies", "don't keep response bodies"),
    OptionKey {
        key: "cloud",
        status: Status::CloudOnly,
        about: "settings for k6 Cloud (project, name)",
    },
];

/// The entry of a k6 option key, if it is one.
pub fn option_key(name: &str) -> Option<&'static OptionKey> {
    OPTION_KEYS.iter().find(|k| k.key == name)
}

/// Checks an options object's keys: a refused key is an error naming it and why; the keys
/// that are no k6 option are returned (k6 warns about them in a script and ignores them).
pub fn check_option_keys(options: &Value) -> Result<Vec<String>, ConfigError> {
    let Some(obj) = options.as_object() else {
        return Ok(Vec::new());
    };
    let mut unknown = Vec::new();
    for (name, value) in obj {
        match option_key(name) {
            None => unknown.push(name.clone()),
            // `false` asks for nothing (`paused: false`).
            Some(OptionKey {
                status: Status::Refused(why),
                ..
            }) if !value.is_null() && *value != Value::Bool(false) => {
                return Err(ConfigError::invalid(
                    name.as_str(),
                    format!("not supported by stampede: {why}"),
                ))
            }
            Some(_) => check_value(name, value)?,
        }
    }
    unknown.sort();
    Ok(unknown)
}

/// k6's checks of a key's value that no parser of stampede's makes yet.
fn check_value(name: &str, value: &Value) -> Result<(), ConfigError> {
    if name != "dns" || value.is_null() {
        return Ok(());
    }
    let obj = value.as_object().ok_or_else(|| {
        ConfigError::invalid(
            "dns",
            format!("expected an object {{ttl, select, policy}}, got {value}"),
        )
    })?;
    let one_of = |key: &str, allowed: &[&str]| -> Result<(), ConfigError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
            Some(v) => Err(ConfigError::invalid(
                format!("dns.{key}"),
                format!(
                    "{v} does not belong to DNS {key} values ({})",
                    allowed.join(", ")
                ),
            )),
        }
    };
    one_of("select", &["first", "random", "roundRobin"])?;
    one_of(
        "policy",
        &["preferIPv4", "preferIPv6", "onlyIPv4", "onlyIPv6", "any"],
    )?;
    match obj.get("ttl") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s))
            if s == "inf"
                || s.parse::<i64>().is_ok()
                || crate::parse_go_duration(s).is_ok() =>
        {
            Ok(())
        }
        Some(v) => Err(ConfigError::invalid(
            "dns.ttl",
            format!("invalid DNS TTL: {v} (a duration such as \"5m\", milliseconds as a string, \"0\" or \"inf\")"),
        )),
    }
}

/// k6's message for unknown keys in a script's options (it names the first one, in order).
pub fn unknown_keys_warning(unknown: &[String]) -> Option<(String, String)> {
    let first = unknown.first()?;
    Some((
        "There were unknown fields in the options exported in the script".into(),
        format!("json: unknown field {first:?}"),
    ))
}

/// One environment variable k6 reads.
#[derive(Debug, Clone, Copy)]
pub struct EnvVar {
    pub name: &'static str,
    pub status: Status,
}

const fn env(name: &'static str) -> EnvVar {
    EnvVar {
        name,
        status: Status::Supported,
    }
}

const fn env_no(name: &'static str, why: &'static str) -> EnvVar {
    EnvVar {
        name,
        status: Status::Refused(why),
    }
}

const fn env_cloud(name: &'static str) -> EnvVar {
    EnvVar {
        name,
        status: Status::Refused("k6 Cloud is not supported by stampede"),
    }
}

const fn env_browser(name: &'static str) -> EnvVar {
    EnvVar {
        name,
        status: Status::Refused("k6/browser is not supported by stampede"),
    }
}

const NO_PROVISIONING: &str = "stampede has no k6 extensions to provision (no binary provisioning)";

/// The `K6_*` variables k6 v1.1.0 reads: its options (lib/options.go), the `run` command's
/// configuration and runtime options, the logger, and the outputs it ships.
pub const ENV_VARS: &[EnvVar] = &[
    // The options object.
    env_no("K6_PAUSED", DISTRIBUTED),
    env("K6_VUS"),
    env("K6_DURATION"),
    env("K6_ITERATIONS"),
    env("K6_STAGES"),
    env("K6_NO_SETUP"),
    env("K6_SETUP_TIMEOUT"),
    env("K6_NO_TEARDOWN"),
    env("K6_TEARDOWN_TIMEOUT"),
    env("K6_RPS"),
    env("K6_DNS"),
    env("K6_MAX_REDIRECTS"),
    env("K6_USER_AGENT"),
    env("K6_BATCH"),
    env("K6_BATCH_PER_HOST"),
    env("K6_HTTP_DEBUG"),
    env("K6_INSECURE_SKIP_TLS_VERIFY"),
    env("K6_TLS_CIPHER_SUITES"),
    env_no(
        "K6_TLSAUTH",
        "give client certificates in the options' tlsAuth (a list of PEM pairs)",
    ),
    env("K6_THROW"),
    env_no(
        "K6_THRESHOLDS",
        "k6 cannot parse it either; set thresholds in the options",
    ),
    env("K6_BLACKLIST_IPS"),
    env("K6_BLOCK_HOSTNAMES"),
    env_no("K6_HOSTS", "give host name overrides in the options' hosts"),
    env("K6_NO_CONNECTION_REUSE"),
    env("K6_NO_VU_CONNECTION_REUSE"),
    env("K6_MIN_ITERATION_DURATION"),
    env("K6_SUMMARY_TREND_STATS"),
    env("K6_SUMMARY_TIME_UNIT"),
    env("K6_SYSTEM_TAGS"),
    env("K6_TAGS"),
    env_no(
        "K6_METRIC_SAMPLES_BUFFER_SIZE",
        "stampede has no channel of metric samples to size",
    ),
    env("K6_NO_COOKIES_RESET"),
    env("K6_DISCARD_RESPONSE_BODIES"),
    env("K6_CONSOLE_OUTPUT"),
    env_no(
        "K6_LOCAL_IPS",
        "binding requests to local IP addresses is not supported yet",
    ),
    // `k6 run`'s configuration and runtime options.
    env("K6_CONFIG"),
    env("K6_OUT"),
    env("K6_LINGER"),
    env("K6_NO_USAGE_REPORT"),
    env("K6_NO_THRESHOLDS"),
    env("K6_NO_SUMMARY"),
    env("K6_SUMMARY_EXPORT"),
    env("K6_SUMMARY_MODE"),
    env("K6_INCLUDE_SYSTEM_ENV_VARS"),
    env("K6_COMPATIBILITY_MODE"),
    env_no(
        "K6_TRACES_OUTPUT",
        "k6/http's tracing instrumentation is not supported yet",
    ),
    env_no(
        "K6_TYPE",
        "stampede runs JavaScript tests only (no archives)",
    ),
    env("K6_LOG_OUTPUT"),
    env("K6_LOG_FORMAT"),
    env("K6_NO_COLOR"),
    env_no("K6_PROFILING_ENABLED", "stampede serves no pprof endpoints"),
    // Outputs: csv, influxdb, experimental-prometheus-rw, experimental-opentelemetry,
    // web-dashboard (read by stampede-output).
    env("K6_CSV_FILENAME"),
    env("K6_CSV_SAVE_INTERVAL"),
    env("K6_CSV_TIME_FORMAT"),
    env("K6_INFLUXDB_ADDR"),
    env("K6_INFLUXDB_CONCURRENT_WRITES"),
    env("K6_INFLUXDB_CONSISTENCY"),
    env("K6_INFLUXDB_DB"),
    env("K6_INFLUXDB_INSECURE"),
    env("K6_INFLUXDB_PASSWORD"),
    env("K6_INFLUXDB_PAYLOAD_SIZE"),
    env("K6_INFLUXDB_PRECISION"),
    env("K6_INFLUXDB_PROXY"),
    env("K6_INFLUXDB_PUSH_INTERVAL"),
    env("K6_INFLUXDB_RETENTION"),
    env("K6_INFLUXDB_TAGS_AS_FIELDS"),
    env("K6_INFLUXDB_USERNAME"),
    env("K6_PROMETHEUS_RW_SERVER_URL"),
    env("K6_PROMETHEUS_RW_INSECURE_SKIP_TLS_VERIFY"),
    env("K6_PROMETHEUS_RW_CLIENT_CERTIFICATE"),
    env("K6_PROMETHEUS_RW_CLIENT_CERTIFICATE_KEY"),
    env("K6_PROMETHEUS_RW_USERNAME"),
    env("K6_PROMETHEUS_RW_PASSWORD"),
    env("K6_PROMETHEUS_RW_BEARER_TOKEN"),
    env("K6_PROMETHEUS_RW_HTTP_HEADERS"),
    env("K6_PROMETHEUS_RW_PUSH_INTERVAL"),
    env("K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM"),
    env("K6_PROMETHEUS_RW_TREND_STATS"),
    env("K6_PROMETHEUS_RW_STALE_MARKERS"),
    env("K6_PROMETHEUS_RW_SIGV4_REGION"),
    env("K6_PROMETHEUS_RW_SIGV4_ACCESS_KEY"),
    env("K6_PROMETHEUS_RW_SIGV4_SECRET_KEY"),
    env("K6_OTEL_EXPORTER_TYPE"),
    env("K6_OTEL_EXPORTER_PROTOCOL"),
    env("K6_OTEL_EXPORT_INTERVAL"),
    env("K6_OTEL_FLUSH_INTERVAL"),
    env("K6_OTEL_GRPC_EXPORTER_ENDPOINT"),
    env("K6_OTEL_GRPC_EXPORTER_INSECURE"),
    env("K6_OTEL_HTTP_EXPORTER_ENDPOINT"),
    env("K6_OTEL_HTTP_EXPORTER_INSECURE"),
    env("K6_OTEL_HTTP_EXPORTER_URL_PATH"),
    env("K6_OTEL_HEADERS"),
    env("K6_OTEL_METRIC_PREFIX"),
    env("K6_OTEL_SERVICE_NAME"),
    env("K6_OTEL_SERVICE_VERSION"),
    env("K6_OTEL_SINGLE_COUNTER_FOR_RATE"),
    env("K6_OTEL_TLS_CERTIFICATE"),
    env("K6_OTEL_TLS_CLIENT_CERTIFICATE"),
    env("K6_OTEL_TLS_CLIENT_KEY"),
    env("K6_OTEL_TLS_INSECURE_SKIP_VERIFY"),
    env("K6_WEB_DASHBOARD"),
    env("K6_WEB_DASHBOARD_HOST"),
    env("K6_WEB_DASHBOARD_PORT"),
    env("K6_WEB_DASHBOARD_PERIOD"),
    env("K6_WEB_DASHBOARD_OPEN"),
    env("K6_WEB_DASHBOARD_EXPORT"),
    env_no(
        "K6_WEB_DASHBOARD_TAGS",
        "the dashboard's tag grouping is not supported yet",
    ),
    env_no(
        "K6_WEB_DASHBOARD_RECORD",
        "recording the dashboard's events is not supported yet; use `-o result=FILE`",
    ),
    env_no(
        "K6_WEB_DASHBOARD_REPORT",
        "use K6_WEB_DASHBOARD_EXPORT for the HTML report",
    ),
    env_no(
        "K6_STATSD_ENABLE_TAGS",
        "the statsd output is not part of k6 1.x nor of stampede",
    ),
    // k6 Cloud.
    env_cloud("K6_CLOUD_AGGREGATION_PERIOD"),
    env_cloud("K6_CLOUD_AGGREGATION_WAIT_PERIOD"),
    env_cloud("K6_CLOUD_API_VERSION"),
    env_cloud("K6_CLOUD_HOST"),
    env_cloud("K6_CLOUD_LOGS_TAIL_URL"),
    env_cloud("K6_CLOUD_MAX_TIME_SERIES_IN_BATCH"),
    env_cloud("K6_CLOUD_METRIC_PUSH_CONCURRENCY"),
    env_cloud("K6_CLOUD_METRIC_PUSH_INTERVAL"),
    env_cloud("K6_CLOUD_NAME"),
    env_cloud("K6_CLOUD_NO_COMPRESS"),
    env_cloud("K6_CLOUD_PROJECT_ID"),
    env_cloud("K6_CLOUD_PUSH_REF_ID"),
    env_cloud("K6_CLOUD_STOP_ON_ERROR"),
    env_cloud("K6_CLOUD_TEST_RUN_DETAILS"),
    env_cloud("K6_CLOUD_TIMEOUT"),
    env_cloud("K6_CLOUD_TOKEN"),
    env_cloud("K6_CLOUD_TRACES_ENABLED"),
    env_cloud("K6_CLOUD_TRACES_HOST"),
    env_cloud("K6_CLOUD_TRACES_PUSH_CONCURRENCY"),
    env_cloud("K6_CLOUD_TRACES_PUSH_INTERVAL"),
    env_cloud("K6_CLOUD_UPLOAD_ONLY"),
    env_cloud("K6_CLOUD_WEB_APP_URL"),
    env_cloud("K6_CLOUDRUN_TEST_RUN_ID"),
    env_cloud("K6_SHOW_CLOUD_LOGS"),
    env_cloud("K6_EXIT_ON_RUNNING"),
    env_cloud("K6_NO_ARCHIVE_UPLOAD"),
    env_cloud("K6_INSTANCE_SCENARIOS"),
    // k6/browser.
    env_browser("K6_BROWSER_ARGS"),
    env_browser("K6_BROWSER_DEBUG"),
    env_browser("K6_BROWSER_ENABLE_PPROF"),
    env_browser("K6_BROWSER_EXECUTABLE_PATH"),
    env_browser("K6_BROWSER_HEADLESS"),
    env_browser("K6_BROWSER_IGNORE_DEFAULT_ARGS"),
    env_browser("K6_BROWSER_LOG_CATEGORY_FILTER"),
    env_browser("K6_BROWSER_SCREENSHOTS_OUTPUT"),
    env_browser("K6_BROWSER_TIMEOUT"),
    env_browser("K6_BROWSER_TRACES_METADATA"),
    env_browser("K6_BROWSER_WS_URL"),
    // Extensions' binary provisioning.
    env_no("K6_BINARY_PROVISIONING", NO_PROVISIONING),
    env_no("K6_BINARY_CACHE", NO_PROVISIONING),
    env_no("K6_BUILD_SERVICE_URL", NO_PROVISIONING),
    env_no("K6_BUILD_SERVICE_AUTH", NO_PROVISIONING),
    env_no("K6_DOWNLOAD_AUTH", NO_PROVISIONING),
    env_no("K6_DEPENDENCIES", NO_PROVISIONING),
];

/// The warning for each set `K6_*` (or `STAMPEDE_*`) variable of k6's that stampede does not
/// honour, with the reason; sorted by name. Variables k6 does not read are left alone (scripts
/// may read them from `__ENV`).
pub fn env_warnings(vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, _) in vars {
        let Some(rest) = name
            .strip_prefix("K6_")
            .or_else(|| name.strip_prefix("STAMPEDE_"))
        else {
            continue;
        };
        let k6_name = format!("K6_{rest}");
        if let Some(EnvVar {
            status: Status::Refused(why),
            ..
        }) = ENV_VARS.iter().find(|v| v.name == k6_name)
        {
            out.push((
                name.clone(),
                format!("{name} is not supported by stampede yet; ignored ({why})"),
            ));
        }
    }
    out.sort();
    out.into_iter().map(|(_, w)| w).collect()
}

/// `docs/k6-options.md`, generated from the tables.
pub fn options_doc() -> String {
    let mut doc = String::from(
        "# k6 options and environment variables in stampede\n\n\
         Generated from `crates/stampede-core/src/k6_keys.rs` (a test fails when this file and \
         the table differ; `STAMPEDE_BLESS=1 cargo test -p stampede-core k6_keys` rewrites it).\n\n\
         ## Options object\n\n\
         Every key of k6 v1.1.0's options object (`export const options`, `--config`). A refused \
         key is an error (exit 104) naming it and why; a key that is no k6 option is ignored with \
         k6's warning.\n\n\
         | key | what | status |\n|---|---|---|\n",
    );
    for k in OPTION_KEYS {
        doc.push_str(&format!(
            "| `{}` | {} | {} |\n",
            k.key,
            k.about,
            status_text(k.status)
        ));
    }
    doc.push_str(
        "\n## Environment variables\n\n\
         Every `K6_*` variable k6 v1.1.0 reads (`STAMPEDE_*` aliases work the same). One that \
         stampede does not honour is named in a warning at start, and ignored.\n\n\
         | variable | status |\n|---|---|\n",
    );
    for v in ENV_VARS {
        doc.push_str(&format!("| `{}` | {} |\n", v.name, status_text(v.status)));
    }
    doc
}

fn status_text(s: Status) -> String {
    match s {
        Status::Supported => "supported".into(),
        Status::CloudOnly => "accepted, no effect on a local run (as `k6 run`)".into(),
        Status::Refused(why) => format!("refused: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refused_keys_are_errors_unknown_keys_are_listed() {
        let e = check_option_keys(&json!({"metricSamplesBufferSize": 10})).unwrap_err();
        assert!(
            e.to_string().contains("`metricSamplesBufferSize`")
                && e.to_string().contains("no such channel"),
            "{e}"
        );
        assert_eq!(
            check_option_keys(&json!({"vus": 1, "foo": 1, "bar": 2, "ext": {}})).unwrap(),
            ["bar", "foo"]
        );
        for bad in [
            json!({"ttl": "x"}),
            json!({"select": "bogus"}),
            json!({"policy": "bogus"}),
            json!({"ttl": 5000}),
        ] {
            let e = check_option_keys(&json!({ "dns": bad })).unwrap_err();
            assert!(e.to_string().contains("dns."), "{e}");
        }
        check_option_keys(&json!({"dns": {"ttl": "1m", "select": "roundRobin", "policy": "any"}}))
            .unwrap();
        check_option_keys(&json!({"dns": {"ttl": "inf"}})).unwrap();
    }

    #[test]
    fn every_key_and_variable_once() {
        let mut keys: Vec<_> = OPTION_KEYS.iter().map(|k| k.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), OPTION_KEYS.len());
        let mut vars: Vec<_> = ENV_VARS.iter().map(|v| v.name).collect();
        vars.sort();
        vars.dedup();
        assert_eq!(vars.len(), ENV_VARS.len());
    }

    #[test]
    fn env_warnings_name_the_variable() {
        let w = env_warnings(vec![
            ("K6_VUS".into(), "1".into()),
            ("K6_CLOUD_TOKEN".into(), "x".into()),
            ("K6_NOPE".into(), "x".into()),
            ("K6_PROMETHEUS_RW_HEADERS_X".into(), "x".into()),
            ("STAMPEDE_METRIC_SAMPLES_BUFFER_SIZE".into(), "1".into()),
            ("HOME".into(), "/".into()),
        ]);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("K6_CLOUD_TOKEN is not supported by stampede yet; ignored"));
        assert!(w[1].starts_with("STAMPEDE_METRIC_SAMPLES_BUFFER_SIZE is not supported"));
    }

    /// docs/k6-options.md is the table's; `STAMPEDE_BLESS=1` rewrites it.
    #[test]
    fn k6_keys_doc_matches_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/k6-options.md");
        let want = options_doc();
        if std::env::var_os("STAMPEDE_BLESS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/k6-options.md differs from the table in k6_keys.rs; \
             run `STAMPEDE_BLESS=1 cargo test -p stampede-core k6_keys` and commit it"
        );
    }
}
