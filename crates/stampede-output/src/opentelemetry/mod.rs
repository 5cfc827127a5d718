//! `-o experimental-opentelemetry` (also `-o opentelemetry`, as later k6 versions name it): the
//! run's metrics as OTLP, over gRPC (the default) or HTTP/protobuf, as k6 v1.1.0's output sends
//! them through the OpenTelemetry Go SDK: one stream per metric and full tag set, cumulative
//! since the start of the test, every stream seen so far in every export (see [`encode`]).
//!
//! Differences from k6 v1.1.0, on purpose: the last export at the end of the run holds
//! everything (k6 loses the samples of its last flush interval); the resource says
//! `service.name=stampede` by default and `telemetry.sdk.name=stampede`; what could not be
//! delivered is counted and reported.

mod config;
mod encode;
mod grpc;

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use stampede_metrics::{Delta, UnixNanos};

use crate::{Names, Needs, Output, OutputError, OutputParams, Report, RunInfo};
use config::{Config, Exporter};
use encode::Streams;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long one export may take. At the end of the run an export still in flight and the last
/// one add up to at most twice this.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Requests are kept under this size (receivers commonly refuse gRPC messages over 4 MiB).
const MAX_REQUEST: usize = 3 << 20;

pub(crate) fn make(p: &OutputParams) -> Result<Box<dyn Output>, OutputError> {
    let config = Config::from(p)?;
    if p.arg.as_deref().is_some_and(|a| !a.is_empty()) {
        // k6 ignores it without a word; someone who wrote an address there should know.
        stampede_core::log(
            stampede_core::LogLevel::Warning,
            "the OpenTelemetry output takes no -o argument (k6 ignores it too): it is configured \
             with K6_OTEL_* variables or the config file's collectors section",
            &[],
        );
    }
    Ok(Box::new(OtelOutput::new(config)))
}

/// What the collector did with a request it answered.
pub(crate) enum Delivery {
    Complete,
    /// It took the request but refused some of its data points.
    Partial {
        rejected: u64,
        why: String,
    },
}

enum Sender {
    Http(HttpSender),
    Grpc(Box<grpc::GrpcSender>),
}

impl Sender {
    fn export(&mut self, req: ExportMetricsServiceRequest) -> Result<Delivery, String> {
        match self {
            Sender::Http(h) => h.export(&req),
            Sender::Grpc(g) => g.export(req),
        }
    }
}

struct OtelOutput {
    config: Config,
    names: Option<Names>,
    streams: Streams,
    resource: Resource,
    /// When the output started (the start time of every cumulative stream), Unix nanoseconds.
    start: u64,
    sender: Option<Sender>,
}

impl OtelOutput {
    fn new(config: Config) -> OtelOutput {
        let resource = encode::resource(&config.service_name, &config.service_version);
        OtelOutput {
            config,
            names: None,
            streams: Streams::new(),
            resource,
            start: 0,
            sender: None,
        }
    }

    /// The requests of one export: every stream, as of `now`.
    fn batches(&mut self, now: UnixNanos) -> Vec<encode::Batch> {
        let Some(names) = self.names.as_mut() else {
            return Vec::new();
        };
        let metrics = encode::metrics(
            &self.streams,
            &self.config.metric_prefix,
            |id| {
                let d = names.def(id);
                (d.name.clone(), d.contains)
            },
            self.start,
            nanos(now),
        );
        encode::requests(&self.resource, metrics, MAX_REQUEST)
    }
}

fn nanos(t: UnixNanos) -> u64 {
    u64::try_from(t.0).unwrap_or(0)
}

impl Output for OtelOutput {
    fn description(&self) -> String {
        self.config.description()
    }

    fn needs(&self) -> Needs {
        Needs {
            samples: false,
            all_tags: true,
            ..Needs::default()
        }
    }

    fn flush_every(&self) -> Option<Duration> {
        Some(self.config.export_interval)
    }

    fn start(&mut self, run: &RunInfo, _report: &Report) -> Result<(), OutputError> {
        let failed = |reason: String| OutputError::Start {
            output: config::OUTPUT.to_string(),
            reason,
        };
        self.names = Some(Names::new(&run.registry));
        self.start = nanos(UnixNanos::now());
        if self.config.insecure() && self.config.tls.any() {
            stampede_core::log(
                stampede_core::LogLevel::Warning,
                "the K6_OTEL_TLS_* options have no effect: the OpenTelemetry exporter is insecure (plain text), as k6 does it",
                &[],
            );
        }
        self.sender = Some(match self.config.exporter {
            Exporter::Http => Sender::Http(HttpSender::new(&self.config).map_err(failed)?),
            Exporter::Grpc => Sender::Grpc(Box::new(
                grpc::GrpcSender::new(&self.config).map_err(failed)?,
            )),
        });
        Ok(())
    }

    fn interval(&mut self, delta: &Delta, _report: &Report) {
        for e in &delta.entries {
            match self.streams.get_mut(&(e.metric, e.tags.clone())) {
                Some(agg) => agg.merge(&e.agg),
                None => {
                    self.streams
                        .insert((e.metric, e.tags.clone()), e.agg.clone());
                }
            }
        }
    }

    fn flush(&mut self, report: &Report, _last: bool) {
        if self.streams.is_empty() {
            return;
        }
        let batches = self.batches(UnixNanos::now());
        let Some(sender) = self.sender.as_mut() else {
            let points = batches.iter().map(|b| b.points).sum();
            report.lost(points, "the exporter was not started");
            return;
        };
        let mut failed: Option<String> = None;
        for b in batches {
            if let Some(why) = &failed {
                // The collector just failed: the rest of this export would wait for it again.
                report.lost(b.points, why);
                continue;
            }
            match sender.export(b.request) {
                Ok(Delivery::Complete) => report.delivered(b.points),
                Ok(Delivery::Partial { rejected, why }) => {
                    let rejected = rejected.min(b.points);
                    report.delivered(b.points - rejected);
                    report.lost(rejected, &why);
                }
                Err(why) => {
                    report.lost(b.points, &why);
                    failed = Some(why);
                }
            }
        }
    }
}

/// OTLP/HTTP: a blocking POST of the protobuf request, on the output's thread.
struct HttpSender {
    agent: ureq::Agent,
    url: String,
    headers: Vec<(String, String)>,
}

impl HttpSender {
    fn new(config: &Config) -> Result<HttpSender, String> {
        let mut headers = config.headers.clone();
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        headers.push(("Content-Type".into(), "application/x-protobuf".into()));
        Ok(HttpSender {
            agent: http_agent(config)?,
            url: config.http_url(),
            headers,
        })
    }

    fn export(&self, req: &ExportMetricsServiceRequest) -> Result<Delivery, String> {
        crate::http::post(&self.agent, &self.url, &self.headers, &req.encode_to_vec())
            .map(|()| Delivery::Complete)
    }
}

/// A client with the export timeouts and k6's TLS options: with any `K6_OTEL_TLS_*` option,
/// TLS 1.3 only (as k6), the given roots instead of Mozilla's, the client certificate, and
/// verification skipped if asked.
fn http_agent(config: &Config) -> Result<ureq::Agent, String> {
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
    let tls = &config.tls;
    let mut b = TlsConfig::builder();
    if tls.any() {
        let mut provider = rustls::crypto::ring::default_provider();
        provider
            .cipher_suites
            .retain(|s| matches!(s, rustls::SupportedCipherSuite::Tls13(_)));
        b = b
            .unversioned_rustls_crypto_provider(Arc::new(provider))
            .disable_verification(tls.skip_verify());
        if let Some(roots) = &tls.roots {
            let certs: Vec<Certificate<'static>> = roots
                .iter()
                .map(|der| Certificate::from_der(der).to_owned())
                .collect();
            b = b.root_certs(RootCerts::new_with_certs(&certs));
        }
        if let Some(id) = &tls.client {
            let certs = ureq::tls::parse_pem(&id.cert_pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect::<Vec<_>>();
            let key = PrivateKey::from_pem(&id.key_pem)
                .map_err(|e| format!("failed to load client certificate: {e}"))?;
            b = b.client_cert(Some(ClientCert::new_with_certs(&certs, key)));
        }
    }
    Ok(ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(EXPORT_TIMEOUT))
        .http_status_as_error(false)
        .user_agent(concat!(
            "stampede/",
            env!("CARGO_PKG_VERSION"),
            " (OTLP over HTTP/protobuf)"
        ))
        .tls_config(b.build())
        .build()
        .into())
}

#[cfg(test)]
mod tests;
