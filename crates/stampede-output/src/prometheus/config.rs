//! The remote-write output's settings: `K6_PROMETHEUS_RW_*` and the config file's
//! `collectors.experimental-prometheus-rw`, in k6's order (defaults < config file < environment).
//! k6 1.1.0 ignores the `=arg` of `-o experimental-prometheus-rw=...`, and so does stampede.

use std::collections::BTreeMap;
use std::time::Duration;

use stampede_core::parse_duration;

use super::series::TrendStat;
use crate::{OutputError, OutputParams};

pub(crate) const NAME: &str = "experimental-prometheus-rw";

const DEFAULT_URL: &str = "http://localhost:9090/api/v1/write";
const DEFAULT_PUSH_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_TREND_STATS: &[&str] = &["p(99)"];
const ENV: &str = "K6_PROMETHEUS_RW_";
const HEADER_ENV: &str = "K6_PROMETHEUS_RW_HEADERS_";

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    /// As configured (the banner shows it so).
    pub url: String,
    pub push_interval: Duration,
    /// The trend stats sent for each trend series, in the order given, one per suffix.
    pub trend_stats: Vec<TrendStat>,
    pub native_histograms: bool,
    pub stale_markers: bool,
    pub insecure_skip_tls_verify: bool,
    /// Basic authentication is on once a username is set (even an empty one), as in k6.
    pub username: Option<String>,
    pub password: Option<String>,
    pub bearer_token: Option<String>,
    /// Extra request headers (names as given).
    pub headers: BTreeMap<String, String>,
}

fn err(reason: impl std::fmt::Display) -> OutputError {
    OutputError::config(NAME, reason)
}

/// The options as read from one source, before they are laid over the defaults.
#[derive(Default)]
struct Layer {
    url: Option<String>,
    push_interval: Option<Duration>,
    trend_stats: Option<Vec<String>>,
    native_histograms: Option<bool>,
    stale_markers: Option<bool>,
    insecure_skip_tls_verify: Option<bool>,
    username: Option<String>,
    password: Option<String>,
    bearer_token: Option<String>,
    headers: BTreeMap<String, String>,
    client_certificate: Option<String>,
    client_certificate_key: Option<String>,
    sigv4: [Option<String>; 3],
}

impl Config {
    pub(crate) fn from(p: &OutputParams) -> Result<Config, OutputError> {
        let json = match &p.config {
            Some(v) if !v.is_null() => {
                from_json(v).map_err(|e| err(format!("parse JSON options failed: {e}")))?
            }
            _ => Layer::default(),
        };
        let env = from_env(p)
            .map_err(|e| err(format!("parse environment variables options failed: {e}")))?;
        let mut all = Layer::default();
        for layer in [json, env] {
            all.lay(layer);
        }
        refuse_unsupported(&all)?;
        let url = all.url.unwrap_or_else(|| DEFAULT_URL.to_string());
        check_url(&url)?;
        let push_interval = all.push_interval.unwrap_or(DEFAULT_PUSH_INTERVAL);
        if push_interval.is_zero() {
            return Err(err(
                "the push interval (K6_PROMETHEUS_RW_PUSH_INTERVAL) must be more than 0",
            ));
        }
        let stats = all
            .trend_stats
            .unwrap_or_else(|| DEFAULT_TREND_STATS.iter().map(|s| s.to_string()).collect());
        let mut trend_stats: Vec<TrendStat> = Vec::new();
        for s in &stats {
            let stat = TrendStat::parse(s).map_err(err)?;
            // k6 keeps one stat per series name (p(99) and p(9.9) are both `_p99`).
            if !trend_stats.iter().any(|t| t.suffix == stat.suffix) {
                trend_stats.push(stat);
            }
        }
        for (name, value) in &all.headers {
            check_header(name, value)?;
        }
        if let Some(token) = &all.bearer_token {
            check_header("Authorization", &format!("Bearer {token}"))?;
        }
        Ok(Config {
            url,
            push_interval,
            trend_stats,
            native_histograms: all.native_histograms.unwrap_or(false),
            stale_markers: all.stale_markers.unwrap_or(false),
            insecure_skip_tls_verify: all.insecure_skip_tls_verify.unwrap_or(false),
            username: all.username,
            password: all.password,
            bearer_token: all.bearer_token.filter(|t| !t.is_empty()),
            headers: all.headers,
        })
    }

    /// Every request's headers besides the protocol's own: the configured ones, then the
    /// bearer token or basic authentication.
    ///
    /// k6 1.1.0 drops basic authentication as soon as any header or a bearer token is
    /// configured (it replaces the request's headers after setting it); stampede keeps it
    /// unless an `Authorization` header or a bearer token takes its place.
    pub(crate) fn request_headers(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(k, _)| !is_protocol_header(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let has_auth = |out: &[(String, String)]| {
            out.iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        };
        if let Some(token) = &self.bearer_token {
            out.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
            out.push(("Authorization".into(), format!("Bearer {token}")));
        } else if let (Some(user), false) = (&self.username, has_auth(&out)) {
            out.push(crate::http::basic_auth(
                user,
                self.password.as_deref().unwrap_or_default(),
            ));
        }
        out.extend(
            [
                ("Content-Encoding", "snappy"),
                ("Content-Type", "application/x-protobuf"),
                ("X-Prometheus-Remote-Write-Version", "0.1.0"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        out
    }
}

/// The headers the protocol sets itself (k6 sets them after the configured ones).
fn is_protocol_header(name: &str) -> bool {
    [
        "content-encoding",
        "content-type",
        "x-prometheus-remote-write-version",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

impl Layer {
    /// Lays `over` on top of `self`: what it sets wins; headers merge.
    fn lay(&mut self, over: Layer) {
        fn set<T>(slot: &mut Option<T>, v: Option<T>) {
            if v.is_some() {
                *slot = v;
            }
        }
        set(&mut self.url, over.url);
        set(&mut self.push_interval, over.push_interval);
        set(&mut self.trend_stats, over.trend_stats);
        set(&mut self.native_histograms, over.native_histograms);
        set(&mut self.stale_markers, over.stale_markers);
        set(
            &mut self.insecure_skip_tls_verify,
            over.insecure_skip_tls_verify,
        );
        set(&mut self.username, over.username);
        set(&mut self.password, over.password);
        set(&mut self.bearer_token, over.bearer_token);
        set(&mut self.client_certificate, over.client_certificate);
        set(
            &mut self.client_certificate_key,
            over.client_certificate_key,
        );
        for (slot, v) in self.sigv4.iter_mut().zip(over.sigv4) {
            set(slot, v);
        }
        self.headers.extend(over.headers);
    }
}

/// Go's `strconv.ParseBool`, with its error text.
fn parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {v:?}: invalid syntax")),
    }
}

fn from_env(p: &OutputParams) -> Result<Layer, String> {
    let get = |k: &str| p.env(&format!("{ENV}{k}")).map(str::to_string);
    let boolean =
        |k: &str| -> Result<Option<bool>, String> { get(k).map(|v| parse_bool(&v)).transpose() };
    let mut l = Layer {
        url: get("SERVER_URL"),
        push_interval: get("PUSH_INTERVAL")
            .map(|v| {
                parse_duration(
                    &serde_json::Value::String(v),
                    "K6_PROMETHEUS_RW_PUSH_INTERVAL",
                )
                .map_err(|e| e.to_string())
            })
            .transpose()?,
        // Split at every comma and not trimmed, as k6 does: "p(99), med" is refused.
        trend_stats: get("TREND_STATS").map(|v| v.split(',').map(str::to_string).collect()),
        native_histograms: boolean("TREND_AS_NATIVE_HISTOGRAM")?,
        stale_markers: boolean("STALE_MARKERS")?,
        insecure_skip_tls_verify: boolean("INSECURE_SKIP_TLS_VERIFY")?,
        username: get("USERNAME"),
        password: get("PASSWORD"),
        bearer_token: get("BEARER_TOKEN"),
        headers: BTreeMap::new(),
        client_certificate: get("CLIENT_CERTIFICATE"),
        client_certificate_key: get("CLIENT_CERTIFICATE_KEY"),
        sigv4: [
            get("SIGV4_REGION"),
            get("SIGV4_ACCESS_KEY"),
            get("SIGV4_SECRET_KEY"),
        ],
    };
    for (k, v) in &p.env {
        if let Some(name) = k.strip_prefix(HEADER_ENV) {
            l.headers.insert(name.to_string(), v.clone());
        }
    }
    if let Some(list) = get("HTTP_HEADERS") {
        for pair in list.split(',') {
            match pair.split(':').collect::<Vec<_>>().as_slice() {
                [k, v] => {
                    l.headers.insert(k.to_string(), v.to_string());
                }
                _ => {
                    return Err(format!(
                        "the provided header ({pair}) does not respect the expected format <header key>:<value>"
                    ))
                }
            }
        }
    }
    Ok(l)
}

fn from_json(v: &serde_json::Value) -> Result<Layer, String> {
    let serde_json::Value::Object(map) = v else {
        return Err(format!("expected an object, got {v}"));
    };
    let at = |k: &str| format!("collectors.{NAME}.{k}");
    let string = |k: &str| -> Result<Option<String>, String> {
        match map.get(k) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("{}: expected a string, got {other}", at(k))),
        }
    };
    let boolean = |k: &str| -> Result<Option<bool>, String> {
        match map.get(k) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(format!("{}: expected true or false, got {other}", at(k))),
        }
    };
    let push_interval = match map.get("pushInterval") {
        None | Some(serde_json::Value::Null) => None,
        Some(d) => Some(parse_duration(d, &at("pushInterval")).map_err(|e| e.to_string())?),
    };
    let trend_stats = match map.get("trendStats") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Array(items)) => {
            let mut stats = Vec::with_capacity(items.len());
            for i in items {
                match i {
                    serde_json::Value::String(s) => stats.push(s.clone()),
                    other => {
                        return Err(format!(
                            "{}: expected a list of strings, got {other} in it",
                            at("trendStats")
                        ))
                    }
                }
            }
            // An empty list keeps the default, as in k6.
            Some(stats).filter(|s| !s.is_empty())
        }
        Some(other) => {
            return Err(format!(
                "{}: expected a list of strings, got {other}",
                at("trendStats")
            ))
        }
    };
    let mut headers = BTreeMap::new();
    match map.get("headers") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(h)) => {
            for (k, v) in h {
                match v {
                    serde_json::Value::String(s) => {
                        headers.insert(k.clone(), s.clone());
                    }
                    other => {
                        return Err(format!(
                            "{}.{k}: expected a string, got {other}",
                            at("headers")
                        ))
                    }
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "{}: expected an object, got {other}",
                at("headers")
            ))
        }
    }
    Ok(Layer {
        url: string("url")?,
        push_interval,
        trend_stats,
        native_histograms: boolean("trendAsNativeHistogram")?,
        stale_markers: boolean("staleMarkers")?,
        insecure_skip_tls_verify: boolean("insecureSkipTLSVerify")?,
        username: string("username")?,
        password: string("password")?,
        bearer_token: string("bearerToken")?,
        headers,
        client_certificate: string("clientCertificate")?,
        client_certificate_key: string("clientCertificateKey")?,
        sigv4: [
            string("sigV4Region")?,
            string("sigV4AccessKey")?,
            string("sigV4SecretKey")?,
        ],
    })
}

/// TLS client certificates and AWS SigV4 signing are refused rather than ignored: a run that
/// seemed configured would send unauthenticated requests.
fn refuse_unsupported(l: &Layer) -> Result<(), OutputError> {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    if set(&l.client_certificate) || set(&l.client_certificate_key) {
        return Err(err(
            "TLS client certificates (K6_PROMETHEUS_RW_CLIENT_CERTIFICATE, \
             K6_PROMETHEUS_RW_CLIENT_CERTIFICATE_KEY) are not supported by stampede; \
             unset them, or authenticate with a username and password, a bearer token or headers",
        ));
    }
    let sigv4 = l.sigv4.iter().filter(|v| set(v)).count();
    if sigv4 > 0 && sigv4 < 3 {
        return Err(err(
            "sigv4 seems to be partially configured. All of K6_PROMETHEUS_RW_SIGV4_REGION, \
             K6_PROMETHEUS_RW_SIGV4_ACCESS_KEY, K6_PROMETHEUS_RW_SIGV4_SECRET_KEY must all be set. \
             Unset all to bypass sigv4",
        ));
    }
    if sigv4 == 3 {
        return Err(err(
            "AWS SigV4 request signing (K6_PROMETHEUS_RW_SIGV4_*) is not supported by stampede; \
             unset K6_PROMETHEUS_RW_SIGV4_REGION, K6_PROMETHEUS_RW_SIGV4_ACCESS_KEY and \
             K6_PROMETHEUS_RW_SIGV4_SECRET_KEY",
        ));
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), OutputError> {
    let parsed = url::Url::parse(url).map_err(|e| {
        err(format!(
            "failed to initialize the Prometheus remote write client: invalid URL {url:?}: {e}"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(err(format!(
            "failed to initialize the Prometheus remote write client: {url:?} is not an http:// or https:// URL"
        )));
    }
    Ok(())
}

/// A header ureq could not send would lose every push: refused up front.
fn check_header(name: &str, value: &str) -> Result<(), OutputError> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(err(format!("invalid HTTP header name {name:?}")));
    }
    if value
        .chars()
        .any(|c| (c.is_control() && c != '\t') || c == '\u{7f}')
    {
        return Err(err(format!("invalid value for the HTTP header {name:?}")));
    }
    Ok(())
}
