//! The OpenTelemetry output's settings: `K6_OTEL_*` (and `OTEL_SERVICE_NAME`) and the config
//! file's `collectors.experimental-opentelemetry` (or `collectors.opentelemetry`), in k6's order
//! of precedence (defaults < config file < environment). The `-o` argument is ignored, as k6
//! ignores it.

use std::time::Duration;

use stampede_core::parse_duration;

use crate::{OutputError, OutputParams};

/// The name k6 v1.1.0 gives this output; config errors carry it, as k6's do.
pub(crate) const OUTPUT: &str = "experimental-opentelemetry";

/// How the metrics travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exporter {
    /// OTLP/gRPC (`MetricsService/Export`).
    Grpc,
    /// OTLP/HTTP with a protobuf body.
    Http,
}

/// `K6_OTEL_TLS_*`: the TLS material, read and checked when the output is created.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tls {
    /// `K6_OTEL_TLS_INSECURE_SKIP_VERIFY` as given (`None`: not set).
    pub skip_verify: Option<bool>,
    /// `K6_OTEL_TLS_CERTIFICATE`: the trusted roots (DER), instead of the built-in ones.
    pub roots: Option<Vec<Vec<u8>>>,
    /// `K6_OTEL_TLS_CLIENT_CERTIFICATE` and `K6_OTEL_TLS_CLIENT_KEY`, as PEM.
    pub client: Option<ClientIdentity>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClientIdentity {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl Tls {
    /// Whether any TLS option is set: k6 then also requires TLS 1.3.
    pub(crate) fn any(&self) -> bool {
        self.skip_verify.is_some() || self.roots.is_some() || self.client.is_some()
    }

    pub(crate) fn skip_verify(&self) -> bool {
        self.skip_verify.unwrap_or(false)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub exporter: Exporter,
    /// `host:port`.
    pub grpc_endpoint: String,
    pub grpc_insecure: bool,
    /// `host:port`, no scheme.
    pub http_endpoint: String,
    pub http_url_path: String,
    pub http_insecure: bool,
    pub export_interval: Duration,
    /// Checked, but it has no effect here: the metrics stream reaches the output every second.
    pub flush_interval: Duration,
    pub metric_prefix: String,
    pub service_name: String,
    pub service_version: String,
    /// Sent with every export (HTTP headers, or gRPC metadata).
    pub headers: Vec<(String, String)>,
    pub tls: Tls,
}

fn err(reason: impl std::fmt::Display) -> OutputError {
    OutputError::config(OUTPUT, reason)
}

/// What the sources set before validation; `None` is "not set" (k6's null values).
#[derive(Debug, Default)]
struct Raw {
    exporter_type: Option<String>,
    exporter_protocol: Option<String>,
    grpc_endpoint: Option<String>,
    grpc_insecure: Option<bool>,
    http_endpoint: Option<String>,
    http_url_path: Option<String>,
    http_insecure: Option<bool>,
    export_interval: Option<Duration>,
    flush_interval: Option<Duration>,
    metric_prefix: Option<String>,
    service_name: Option<String>,
    service_version: Option<String>,
    headers: Option<String>,
    tls_skip_verify: Option<bool>,
    tls_certificate: Option<String>,
    tls_client_certificate: Option<String>,
    tls_client_key: Option<String>,
    single_counter_for_rate: Option<bool>,
}

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bool,
    Duration,
}

/// Every setting: its config-file key, its variable, and its type. The last two are from k6
/// versions after v1.1.0, accepted as those versions spell them.
const KEYS: &[(&str, &str, Kind)] = &[
    ("exporterType", "K6_OTEL_EXPORTER_TYPE", Kind::Str),
    (
        "grpcExporterEndpoint",
        "K6_OTEL_GRPC_EXPORTER_ENDPOINT",
        Kind::Str,
    ),
    (
        "grpcExporterInsecure",
        "K6_OTEL_GRPC_EXPORTER_INSECURE",
        Kind::Bool,
    ),
    (
        "httpExporterEndpoint",
        "K6_OTEL_HTTP_EXPORTER_ENDPOINT",
        Kind::Str,
    ),
    (
        "httpExporterURLPath",
        "K6_OTEL_HTTP_EXPORTER_URL_PATH",
        Kind::Str,
    ),
    (
        "httpExporterInsecure",
        "K6_OTEL_HTTP_EXPORTER_INSECURE",
        Kind::Bool,
    ),
    ("exportInterval", "K6_OTEL_EXPORT_INTERVAL", Kind::Duration),
    ("flushInterval", "K6_OTEL_FLUSH_INTERVAL", Kind::Duration),
    ("metricPrefix", "K6_OTEL_METRIC_PREFIX", Kind::Str),
    ("serviceName", "K6_OTEL_SERVICE_NAME", Kind::Str),
    ("serviceVersion", "K6_OTEL_SERVICE_VERSION", Kind::Str),
    ("headers", "K6_OTEL_HEADERS", Kind::Str),
    (
        "tlsInsecureSkipVerify",
        "K6_OTEL_TLS_INSECURE_SKIP_VERIFY",
        Kind::Bool,
    ),
    ("tlsCertificate", "K6_OTEL_TLS_CERTIFICATE", Kind::Str),
    (
        "tlsClientCertificate",
        "K6_OTEL_TLS_CLIENT_CERTIFICATE",
        Kind::Str,
    ),
    ("tlsClientKey", "K6_OTEL_TLS_CLIENT_KEY", Kind::Str),
    ("exporterProtocol", "K6_OTEL_EXPORTER_PROTOCOL", Kind::Str),
    (
        "singleCounterForRate",
        "K6_OTEL_SINGLE_COUNTER_FOR_RATE",
        Kind::Bool,
    ),
];

enum Value {
    Str(String),
    Bool(bool),
    Duration(Duration),
}

impl Raw {
    fn set(&mut self, key: &str, v: Value) {
        let s = |v: Value| match v {
            Value::Str(s) => Some(s),
            _ => None,
        };
        let b = |v: Value| match v {
            Value::Bool(b) => Some(b),
            _ => None,
        };
        let d = |v: Value| match v {
            Value::Duration(d) => Some(d),
            _ => None,
        };
        match key {
            "exporterType" => self.exporter_type = s(v),
            "grpcExporterEndpoint" => self.grpc_endpoint = s(v),
            "grpcExporterInsecure" => self.grpc_insecure = b(v),
            "httpExporterEndpoint" => self.http_endpoint = s(v),
            "httpExporterURLPath" => self.http_url_path = s(v),
            "httpExporterInsecure" => self.http_insecure = b(v),
            "exportInterval" => self.export_interval = d(v),
            "flushInterval" => self.flush_interval = d(v),
            "metricPrefix" => self.metric_prefix = s(v),
            "serviceName" => self.service_name = s(v),
            "serviceVersion" => self.service_version = s(v),
            "headers" => self.headers = s(v),
            "tlsInsecureSkipVerify" => self.tls_skip_verify = b(v),
            "tlsCertificate" => self.tls_certificate = s(v),
            "tlsClientCertificate" => self.tls_client_certificate = s(v),
            "tlsClientKey" => self.tls_client_key = s(v),
            "exporterProtocol" => self.exporter_protocol = s(v),
            "singleCounterForRate" => self.single_counter_for_rate = b(v),
            _ => {}
        }
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The config file's section: keys matched exactly, else ignoring case (as Go's JSON decoder
/// does); a key it does not know is warned about (k6 ignores it without a word).
fn from_json(section: &serde_json::Value, raw: &mut Raw) -> Result<(), OutputError> {
    let Some(obj) = section.as_object() else {
        if section.is_null() {
            return Ok(());
        }
        return Err(err(format!(
            "parse JSON options failed: the collectors section of this output must be an object, not {section}"
        )));
    };
    for (given, value) in obj {
        let known = KEYS
            .iter()
            .find(|(k, _, _)| k == given)
            .or_else(|| KEYS.iter().find(|(k, _, _)| k.eq_ignore_ascii_case(given)));
        let Some(&(key, _, kind)) = known else {
            stampede_core::log(
                stampede_core::LogLevel::Warning,
                &format!("the OpenTelemetry output does not know the config file key {given:?}; it is ignored"),
                &[],
            );
            continue;
        };
        if value.is_null() {
            continue;
        }
        let bad = |what: &str| {
            err(format!(
                "parse JSON options failed: {key}: expected {what}, got {value}"
            ))
        };
        let v = match kind {
            Kind::Str => Value::Str(value.as_str().ok_or_else(|| bad("a string"))?.to_string()),
            Kind::Bool => Value::Bool(value.as_bool().ok_or_else(|| bad("true or false"))?),
            Kind::Duration => Value::Duration(
                parse_duration(value, key)
                    .map_err(|e| err(format!("parse JSON options failed: {e}")))?,
            ),
        };
        raw.set(key, v);
    }
    Ok(())
}

/// The environment: `OTEL_SERVICE_NAME`, then every `K6_OTEL_*` variable (an empty one counts as
/// not set, as k6's null types read it).
fn from_env(p: &OutputParams, raw: &mut Raw) -> Result<(), OutputError> {
    if let Some(name) = p.env("OTEL_SERVICE_NAME") {
        raw.service_name = Some(name.to_string());
    }
    for &(key, var, kind) in KEYS {
        let Some(v) = p.env(var).filter(|v| !v.is_empty()) else {
            continue;
        };
        let failed = |why: String| {
            err(format!(
                "parse environment variables options failed: {var}: {why}"
            ))
        };
        let v = match kind {
            Kind::Str => Value::Str(v.to_string()),
            Kind::Bool => {
                Value::Bool(parse_bool(v).ok_or_else(|| failed(format!("{v:?} is not a boolean")))?)
            }
            Kind::Duration => Value::Duration(
                parse_duration(&serde_json::Value::String(v.to_string()), var)
                    .map_err(|e| failed(e.to_string()))?,
            ),
        };
        raw.set(key, v);
    }
    Ok(())
}

impl Config {
    /// Defaults < the config file's section < the environment; then k6's validation.
    pub(crate) fn from(p: &OutputParams) -> Result<Config, OutputError> {
        let mut raw = Raw::default();
        if let Some(section) = &p.config {
            from_json(section, &mut raw)?;
        }
        from_env(p, &mut raw)?;
        Config::validate(raw)
    }

    fn validate(raw: Raw) -> Result<Config, OutputError> {
        let invalid = |why: &str| {
            err(format!(
                "error validating OpenTelemetry output config: {why}"
            ))
        };
        let service_name = raw.service_name.unwrap_or_else(|| "stampede".into());
        if service_name.is_empty() {
            return Err(invalid("providing service name is required"));
        }
        let service_version = raw
            .service_version
            .unwrap_or_else(|| env!("CARGO_PKG_VERSION").into());
        if service_version.is_empty() {
            return Err(invalid("providing service version is required"));
        }
        let from_type = match raw.exporter_type.as_deref() {
            None => None,
            Some("grpc") => Some(Exporter::Grpc),
            Some("http") => Some(Exporter::Http),
            Some(other) => {
                return Err(invalid(&format!(
                    "unsupported exporter type {other:?}, currently only \"grpc\" and \"http\" are supported"
                )))
            }
        };
        // Later k6 versions name it K6_OTEL_EXPORTER_PROTOCOL (grpc | http/protobuf).
        let from_protocol = match raw.exporter_protocol.as_deref() {
            None => None,
            Some("grpc") => Some(Exporter::Grpc),
            Some("http/protobuf") => Some(Exporter::Http),
            Some(other) => {
                return Err(invalid(&format!(
                    "unsupported exporter protocol {other:?}, only \"grpc\" and \"http/protobuf\" are supported"
                )))
            }
        };
        let exporter = match (from_type, from_protocol) {
            (Some(a), Some(b)) if a != b => {
                return Err(invalid(
                    "K6_OTEL_EXPORTER_TYPE (exporterType) and K6_OTEL_EXPORTER_PROTOCOL (exporterProtocol) disagree; set only one",
                ))
            }
            (Some(e), _) | (None, Some(e)) => e,
            (None, None) => Exporter::Grpc,
        };
        if raw.single_counter_for_rate == Some(true) {
            return Err(invalid(
                "K6_OTEL_SINGLE_COUNTER_FOR_RATE=true is not supported by stampede: it sends each Rate \
                 as k6 v1.1.0 does, as two counters <name>.occurred and <name>.total",
            ));
        }
        let grpc_endpoint = raw.grpc_endpoint.unwrap_or_else(|| "localhost:4317".into());
        let http_endpoint = raw.http_endpoint.unwrap_or_else(|| "localhost:4318".into());
        let mut http_url_path = raw.http_url_path.unwrap_or_else(|| "/v1/metrics".into());
        match exporter {
            Exporter::Grpc => {
                if grpc_endpoint.is_empty() {
                    return Err(invalid("gRPC exporter endpoint is required"));
                }
                if grpc_endpoint.contains("://") {
                    return Err(invalid(
                        "gRPC exporter endpoint must only be host and port, no scheme",
                    ));
                }
                if !valid_authority(&grpc_endpoint) {
                    return Err(invalid(&format!(
                        "gRPC exporter endpoint {grpc_endpoint:?} is not a host:port"
                    )));
                }
            }
            Exporter::Http => {
                if http_endpoint.is_empty() {
                    return Err(invalid("HTTP exporter endpoint is required"));
                }
                if http_endpoint.starts_with("http://") || http_endpoint.starts_with("https://") {
                    return Err(invalid(
                        "HTTP exporter endpoint must only be host and port, no scheme",
                    ));
                }
                if !valid_authority(&http_endpoint) {
                    return Err(invalid(&format!(
                        "HTTP exporter endpoint {http_endpoint:?} is not a host:port"
                    )));
                }
                if !http_url_path.starts_with('/') {
                    http_url_path.insert(0, '/');
                }
            }
        }
        let export_interval = raw.export_interval.unwrap_or(Duration::from_secs(10));
        if export_interval.is_zero() {
            return Err(invalid("the export interval must be more than 0"));
        }
        let flush_interval = raw.flush_interval.unwrap_or(Duration::from_secs(1));
        if flush_interval.is_zero() {
            return Err(err("periodic flusher period should be positive"));
        }
        let headers = match raw.headers.as_deref() {
            Some(h) => parse_headers(h).map_err(|e| {
                err(format!(
                    "failed to create OpenTelemetry exporter: failed to parse headers: {e}"
                ))
            })?,
            None => Vec::new(),
        };
        let tls = load_tls(
            raw.tls_skip_verify,
            raw.tls_certificate.as_deref(),
            raw.tls_client_certificate.as_deref(),
            raw.tls_client_key.as_deref(),
        )
        .map_err(|e| err(format!("failed to create OpenTelemetry exporter: {e}")))?;
        Ok(Config {
            exporter,
            grpc_endpoint,
            grpc_insecure: raw.grpc_insecure.unwrap_or(false),
            http_endpoint,
            http_url_path,
            http_insecure: raw.http_insecure.unwrap_or(false),
            export_interval,
            flush_interval,
            metric_prefix: raw.metric_prefix.unwrap_or_default(),
            service_name,
            service_version,
            headers,
            tls,
        })
    }

    /// Whether the exporter sends in plain text.
    pub(crate) fn insecure(&self) -> bool {
        match self.exporter {
            Exporter::Grpc => self.grpc_insecure,
            Exporter::Http => self.http_insecure,
        }
    }

    /// Where OTLP/HTTP requests go.
    pub(crate) fn http_url(&self) -> String {
        format!(
            "http{}://{}{}",
            if self.http_insecure { "" } else { "s" },
            self.http_endpoint,
            self.http_url_path
        )
    }

    /// The banner's text, as k6 writes it.
    pub(crate) fn description(&self) -> String {
        match self.exporter {
            Exporter::Grpc => format!(
                "opentelemetry (grpc{}, {})",
                if self.grpc_insecure {
                    " (insecure)"
                } else {
                    ""
                },
                self.grpc_endpoint
            ),
            Exporter::Http => format!("opentelemetry (http, {})", self.http_url()),
        }
    }
}

/// `host:port` (a name, an IPv4 address or a bracketed IPv6 one) that makes a valid URL.
fn valid_authority(endpoint: &str) -> bool {
    !endpoint.contains(['/', '?', '#', '@', ' '])
        && url::Url::parse(&format!("http://{endpoint}/"))
            .is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
}

/// `k1=v1,k2=v2`, keys and values percent-decoded as Go's `url.PathUnescape` does (no `+` to
/// space). A key given twice keeps its last value.
pub(crate) fn parse_headers(raw: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for header in raw.split(',') {
        let Some((k, v)) = header.split_once('=') else {
            return Err(format!(
                "invalid header {header:?}, expected format key=value"
            ));
        };
        let key =
            path_unescape(k).map_err(|e| format!("failed to unescape header key {k:?}: {e}"))?;
        let value =
            path_unescape(v).map_err(|e| format!("failed to unescape header value {v:?}: {e}"))?;
        if key.is_empty() || !key.bytes().all(is_token_byte) {
            return Err(format!("invalid header name {key:?}"));
        }
        if value.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
            return Err(format!(
                "invalid value for header {key:?}: control characters are not allowed"
            ));
        }
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => out.push((key, value)),
        }
    }
    Ok(out)
}

/// RFC 7230's `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn path_unescape(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match byte {
                Some(b) => out.push(b),
                None => {
                    let bad: String = s[i..].chars().take(3).collect();
                    return Err(format!("invalid URL escape {bad:?}"));
                }
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the unescaped text is not UTF-8".to_string())
}

/// Reads the TLS files now, so a bad path or file stops the run before it starts, with k6's
/// messages.
fn load_tls(
    skip_verify: Option<bool>,
    ca: Option<&str>,
    client_cert: Option<&str>,
    client_key: Option<&str>,
) -> Result<Tls, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let mut tls = Tls {
        skip_verify,
        ..Tls::default()
    };
    if let Some(path) = ca {
        let pem = std::fs::read(path)
            .map_err(|e| format!("failed to read root certificate from {path:?}: {e}"))?;
        let roots: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&pem)
            .filter_map(Result::ok)
            .map(|c| c.as_ref().to_vec())
            .collect();
        if roots.is_empty() {
            return Err("failed to append root certificate to the pool".into());
        }
        tls.roots = Some(roots);
    }
    match (client_cert, client_key) {
        (Some(cert), Some(key)) => {
            let load = |path: &str| {
                std::fs::read(path)
                    .map_err(|e| format!("failed to load client certificate: open {path}: {e}"))
            };
            let cert_pem = load(cert)?;
            let key_pem = load(key)?;
            let certs = CertificateDer::pem_slice_iter(&cert_pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("failed to load client certificate: {cert}: {e}"))?;
            if certs.is_empty() {
                return Err(format!(
                    "failed to load client certificate: tls: failed to find any PEM data in certificate input ({cert})"
                ));
            }
            PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
                format!("failed to load client certificate: no private key in {key}: {e}")
            })?;
            tls.client = Some(ClientIdentity { cert_pem, key_pem });
        }
        (Some(_), None) => {
            return Err(
                "failed to load client certificate: K6_OTEL_TLS_CLIENT_CERTIFICATE is set but \
                 K6_OTEL_TLS_CLIENT_KEY is not"
                    .into(),
            )
        }
        (None, Some(_)) => {
            // k6 ignores a key without its certificate; a forgotten half is refused here instead.
            return Err(
                "K6_OTEL_TLS_CLIENT_KEY is set but K6_OTEL_TLS_CLIENT_CERTIFICATE is not: a client \
                 key needs its certificate"
                    .into(),
            );
        }
        (None, None) => {}
    }
    Ok(tls)
}
