//! TLS client configuration: root certificates and rustls settings.
//!
//! Building a [`rustls::ClientConfig`] parses every root certificate, so do it
//! once per process and share the `Arc` among all clients: either pass it in
//! [`crate::ClientConfig::tls`], or leave that `None` and let the client use
//! [`shared_tls`], which builds each variant (verifying / insecure) once.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::HttpError;

/// ALPN protocols offered, like Go's transport with HTTP/2 enabled.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Builds a TLS client configuration offering ALPN `h2` and `http/1.1`.
///
/// With `insecure` the server certificate is not verified at all (k6's
/// `insecureSkipTLSVerify`; handshake signatures are still checked). Otherwise
/// the roots come from [`system_roots`].
pub fn build_tls(insecure: bool) -> Result<Arc<rustls::ClientConfig>, HttpError> {
    if insecure {
        build_tls_with_roots(Arc::new(RootCertStore::empty()), true)
    } else {
        build_tls_with_roots(Arc::new(system_roots()?), false)
    }
}

/// Like [`build_tls`] with explicit roots (ignored when `insecure`).
pub fn build_tls_with_roots(
    roots: Arc<RootCertStore>,
    insecure: bool,
) -> Result<Arc<rustls::ClientConfig>, HttpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth()
    } else {
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The process-wide TLS configuration for `insecure`, built on first use with
/// [`build_tls`] and shared afterwards.
pub fn shared_tls(insecure: bool) -> Result<Arc<rustls::ClientConfig>, HttpError> {
    static SECURE: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    static INSECURE: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    let cell = if insecure { &INSECURE } else { &SECURE };
    cell.get_or_init(|| build_tls(insecure).map_err(|e| e.to_string()))
        .clone()
        .map_err(|reason| HttpError::BadCerts {
            path: "(system roots)".into(),
            reason,
        })
}

/// The platform's trusted roots, like Go's: `SSL_CERT_FILE` / `SSL_CERT_DIR`
/// when set, else the system store; falls back to the bundled Mozilla roots
/// (webpki-roots) when nothing usable is found.
///
/// A `SSL_CERT_FILE` that cannot be read or holds no certificate is an error
/// (a user's mistake should not silently fall back).
pub fn system_roots() -> Result<RootCertStore, HttpError> {
    if let Some(path) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) {
        let mut roots = load_pem_roots(Path::new(&path))?;
        if std::env::var_os("SSL_CERT_DIR").is_some() {
            add_native(&mut roots);
        }
        return Ok(roots);
    }
    let mut roots = RootCertStore::empty();
    add_native(&mut roots);
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    Ok(roots)
}

fn add_native(roots: &mut RootCertStore) {
    let native = rustls_native_certs::load_native_certs();
    // Unparsable system certificates are skipped, as Go does.
    let _ = roots.add_parsable_certificates(native.certs);
}

/// Loads the PEM certificates of `path` as trusted roots.
pub fn load_pem_roots(path: &Path) -> Result<RootCertStore, HttpError> {
    let data = std::fs::read(path).map_err(|source| HttpError::CertFile {
        path: path.to_owned(),
        source,
    })?;
    let mut roots = RootCertStore::empty();
    let mut first_error = None;
    for cert in CertificateDer::pem_slice_iter(&data) {
        match cert {
            Ok(cert) => {
                if let Err(e) = roots.add(cert) {
                    first_error.get_or_insert_with(|| e.to_string());
                }
            }
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    if roots.is_empty() {
        return Err(HttpError::BadCerts {
            path: path.to_owned(),
            reason: first_error.unwrap_or_else(|| "no PEM certificate found".into()),
        });
    }
    Ok(roots)
}

/// The `ServerName` to verify and send as SNI for `host`.
pub(crate) fn server_name(host: &url::Host<&str>) -> Option<ServerName<'static>> {
    match host {
        url::Host::Domain(d) => ServerName::try_from(d.to_string()).ok(),
        url::Host::Ipv4(ip) => Some(ServerName::IpAddress((*ip).into())),
        url::Host::Ipv6(ip) => Some(ServerName::IpAddress((*ip).into())),
    }
}

/// Accepts any server certificate (k6's `insecureSkipTLSVerify`).
#[derive(Debug)]
struct NoVerify {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_config_offers_h2() {
        let c = build_tls(true).expect("config");
        assert_eq!(c.alpn_protocols[0], b"h2");
        assert_eq!(c.alpn_protocols[1], b"http/1.1");
    }

    #[test]
    fn missing_cert_file_is_an_error() {
        let err = load_pem_roots(Path::new("/nonexistent/ca.pem")).expect_err("must fail");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
