//! OTLP/gRPC: tonic's generated `MetricsService` client on a current-thread tokio runtime that
//! belongs to the output's thread. The connection is made on the first export and remade after a
//! failure; every export has a deadline, so a dead collector costs at most [`EXPORT_TIMEOUT`].

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tonic::metadata::{Ascii, MetadataKey, MetadataValue};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint, Identity};

use super::config::{Config, Tls};
use super::{Delivery, CONNECT_TIMEOUT, EXPORT_TIMEOUT};

pub(crate) struct GrpcSender {
    rt: tokio::runtime::Runtime,
    client: MetricsServiceClient<Channel>,
    metadata: Vec<(MetadataKey<Ascii>, MetadataValue<Ascii>)>,
    target: String,
}

impl GrpcSender {
    /// Builds the client (no connection yet). Call on the thread that will export.
    pub(crate) fn new(config: &Config) -> Result<GrpcSender, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("can't start its gRPC runtime: {e}"))?;
        let insecure = config.grpc_insecure;
        let target = format!(
            "{}://{}",
            if insecure { "http" } else { "https" },
            config.grpc_endpoint
        );
        let mut endpoint = Endpoint::from_shared(target.clone())
            .map_err(|e| {
                format!(
                    "invalid gRPC exporter endpoint {:?}: {e}",
                    config.grpc_endpoint
                )
            })?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(EXPORT_TIMEOUT)
            .user_agent(concat!(
                "stampede/",
                env!("CARGO_PKG_VERSION"),
                " (OTLP over gRPC)"
            ))
            .map_err(|e| format!("can't set the gRPC user agent: {e}"))?;
        if !insecure {
            endpoint = tls(endpoint, &config.tls)?;
        }
        let channel = {
            let _entered = rt.enter();
            endpoint.connect_lazy()
        };
        let mut metadata = Vec::new();
        for (k, v) in &config.headers {
            let key = MetadataKey::from_bytes(k.as_bytes())
                .map_err(|e| format!("header {k:?} can't be sent as gRPC metadata: {e}"))?;
            let value = MetadataValue::try_from(v.as_str()).map_err(|e| {
                format!("the value of header {k:?} can't be sent as gRPC metadata: {e}")
            })?;
            metadata.push((key, value));
        }
        Ok(GrpcSender {
            rt,
            client: MetricsServiceClient::new(channel),
            metadata,
            target: config.grpc_endpoint.clone(),
        })
    }

    /// Sends one request and waits for the answer (at most [`EXPORT_TIMEOUT`] and a little).
    /// A connection the collector dropped while the output was idle fails fast as
    /// `Unavailable`: such a failure is tried once more, on a new connection.
    pub(crate) fn export(&mut self, req: ExportMetricsServiceRequest) -> Result<Delivery, String> {
        let started = std::time::Instant::now();
        match self.call(req.clone()) {
            Err(status)
                if status.code() == tonic::Code::Unavailable
                    && started.elapsed() < std::time::Duration::from_secs(1) =>
            {
                self.call(req).map_err(|s| self.failure(&s))
            }
            other => other.map_err(|s| self.failure(&s)),
        }
        .map(|resp| match resp.partial_success {
            Some(p) if p.rejected_data_points > 0 => Delivery::Partial {
                rejected: p.rejected_data_points as u64,
                why: format!(
                    "the collector at {} rejected {} data points: {}",
                    self.target, p.rejected_data_points, p.error_message
                ),
            },
            _ => Delivery::Complete,
        })
    }

    fn call(
        &mut self,
        req: ExportMetricsServiceRequest,
    ) -> Result<ExportMetricsServiceResponse, tonic::Status> {
        let mut request = tonic::Request::new(req);
        for (k, v) in &self.metadata {
            request.metadata_mut().insert(k.clone(), v.clone());
        }
        let call = self.client.export(request);
        let deadline = EXPORT_TIMEOUT + std::time::Duration::from_secs(1);
        match self
            .rt
            .block_on(async { tokio::time::timeout(deadline, call).await })
        {
            Ok(answer) => answer.map(tonic::Response::into_inner),
            Err(_) => Err(tonic::Status::deadline_exceeded(format!(
                "no answer within {} s",
                deadline.as_secs()
            ))),
        }
    }

    fn failure(&self, status: &tonic::Status) -> String {
        format!(
            "gRPC export to {} failed: {:?}: {}",
            self.target,
            status.code(),
            with_causes(status.message(), status)
        )
    }
}

/// `message: cause: its cause`, leaving out what the text already says.
fn with_causes(message: &str, e: &dyn std::error::Error) -> String {
    let mut out = message.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

/// TLS for the endpoint. Without `K6_OTEL_TLS_*` options: Mozilla's roots (webpki-roots). With
/// any of them, as k6 does: the given roots (or Mozilla's), the client certificate, verification
/// skipped if asked, and TLS 1.3 required.
fn tls(endpoint: Endpoint, tls: &Tls) -> Result<Endpoint, String> {
    let bad = |e: tonic::transport::Error| {
        format!(
            "invalid TLS configuration: {}",
            with_causes(&e.to_string(), &e)
        )
    };
    if !tls.any() {
        return endpoint
            .tls_config(ClientTlsConfig::new().with_webpki_roots())
            .map_err(bad);
    }
    let mut config = ClientTlsConfig::new();
    if let Some(id) = &tls.client {
        config = config.identity(Identity::from_pem(&id.cert_pem, &id.key_pem));
    }
    endpoint
        .tls_config_with_verifier(config, Arc::new(Tls13Verifier::new(tls)?))
        .map_err(bad)
}

/// k6's TLS settings when any TLS option is set: TLS 1.3 only (a TLS 1.2 handshake fails at the
/// server's signature), the server's chain checked against the roots unless verification is
/// skipped.
#[derive(Debug)]
struct Tls13Verifier {
    /// `None`: `K6_OTEL_TLS_INSECURE_SKIP_VERIFY`.
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Tls13Verifier {
    fn new(tls: &Tls) -> Result<Tls13Verifier, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let chain = if tls.skip_verify() {
            None
        } else {
            let mut roots = RootCertStore::empty();
            match &tls.roots {
                Some(ders) => {
                    for der in ders {
                        roots.add(CertificateDer::from(der.clone())).map_err(|e| {
                            format!("failed to append root certificate to the pool: {e}")
                        })?;
                    }
                }
                None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|e| format!("invalid TLS roots: {e}"))?,
            )
        };
        Ok(Tls13Verifier { chain, algorithms })
    }
}

impl ServerCertVerifier for Tls13Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.chain {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General(
            "the collector speaks TLS 1.2; with K6_OTEL_TLS_* options set, TLS 1.3 is required (as in k6)"
                .into(),
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
