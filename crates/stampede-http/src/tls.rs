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

/// k6's TLS options: `insecureSkipTLSVerify`, `tlsVersion`, `tlsCipherSuites`, `tlsAuth`.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    pub insecure: bool,
    /// `tlsVersion`'s min and max (`tls1.2`, `tls1.3`).
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    /// Go's names of the TLS 1.2 suites allowed (TLS 1.3's are always offered, as in Go).
    pub cipher_suites: Option<Vec<String>>,
    /// Client certificates and their keys, PEM.
    pub client_certs: Vec<(String, String)>,
}

impl TlsSettings {
    /// Whether these are the defaults (then the process-wide configuration serves).
    pub fn is_default(&self) -> bool {
        self.min_version.is_none()
            && self.max_version.is_none()
            && self.cipher_suites.is_none()
            && self.client_certs.is_empty()
    }
}

/// The versions k6 names, those rustls speaks as themselves, the others `None`.
fn version(name: &str) -> Result<Option<&'static rustls::SupportedProtocolVersion>, String> {
    match name {
        "tls1.2" => Ok(Some(&rustls::version::TLS12)),
        "tls1.3" => Ok(Some(&rustls::version::TLS13)),
        "ssl3.0" | "tls1.0" | "tls1.1" => Ok(None),
        other => Err(format!("tlsVersion: unknown TLS version '{other}'")),
    }
}

/// The suite k6 calls `name` (Go's names), if rustls has it; an error for an unknown name.
fn suite_by_go_name(name: &str) -> Result<Option<rustls::CipherSuite>, String> {
    use rustls::CipherSuite as C;
    Ok(Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
            C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_AES_128_GCM_SHA256" => C::TLS13_AES_128_GCM_SHA256,
        "TLS_AES_256_GCM_SHA384" => C::TLS13_AES_256_GCM_SHA384,
        "TLS_CHACHA20_POLY1305_SHA256" => C::TLS13_CHACHA20_POLY1305_SHA256,
        // k6 knows these; rustls implements none of them (RSA key exchange, CBC, RC4, 3DES).
        "TLS_RSA_WITH_RC4_128_SHA"
        | "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
        | "TLS_RSA_WITH_AES_128_CBC_SHA"
        | "TLS_RSA_WITH_AES_256_CBC_SHA"
        | "TLS_RSA_WITH_AES_128_CBC_SHA256"
        | "TLS_RSA_WITH_AES_128_GCM_SHA256"
        | "TLS_RSA_WITH_AES_256_GCM_SHA384"
        | "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"
        | "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
        | "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_RC4_128_SHA"
        | "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"
        | "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"
        | "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" => return Ok(None),
        other => return Err(format!("unknown cipher suite '{other}'")),
    }))
}

/// A TLS client configuration for `settings`, and warnings: the listed suites rustls lacks are
/// left out, said so (TLS 1.3 and the other listed suites still serve). An error names what
/// can't be honoured at all: a maximum version below TLS 1.2, an unknown name.
pub fn build_tls_settings(
    settings: &TlsSettings,
) -> Result<(Arc<rustls::ClientConfig>, Vec<String>), String> {
    let mut warnings = Vec::new();
    let unsupported = "rustls, stampede's TLS stack, speaks TLS 1.2 and 1.3 only";
    // A minimum below TLS 1.2 allows 1.2 and 1.3 too (an old-only server then fails to
    // connect, with an error); only a maximum below 1.2 can't be met at all.
    let min = match settings.min_version.as_deref() {
        Some(v) => version(v)?,
        None => None,
    };
    let max = match settings.max_version.as_deref() {
        Some(v) => Some(
            version(v)?
                .ok_or_else(|| format!("tlsVersion: {v} is not supported: {unsupported}"))?,
        ),
        None => None,
    };
    let rank = |v: &rustls::SupportedProtocolVersion| {
        u8::from(v.version == rustls::ProtocolVersion::TLSv1_3)
    };
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = rustls::ALL_VERSIONS
        .iter()
        .copied()
        .filter(|v| {
            min.is_none_or(|m| rank(v) >= rank(m)) && max.is_none_or(|m| rank(v) <= rank(m))
        })
        .collect();
    if versions.is_empty() {
        return Err("tlsVersion: min is above max".into());
    }
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(names) = &settings.cipher_suites {
        let mut wanted = Vec::new();
        for name in names {
            match suite_by_go_name(name)? {
                Some(s) => wanted.push(s),
                None => warnings.push(format!(
                    "tlsCipherSuites: {name} is left out: rustls, stampede's TLS stack, \
                     implements ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 only \
                     (TLS 1.3 and the other suites listed still serve)"
                )),
            }
        }
        // As Go: the list chooses among the TLS 1.2 suites; TLS 1.3's are not configurable.
        provider.cipher_suites.retain(|s| {
            s.version().version == rustls::ProtocolVersion::TLSv1_3 || wanted.contains(&s.suite())
        });
    }
    let provider = Arc::new(provider);
    let algorithms = provider.signature_verification_algorithms;
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls: {e}"))?;
    let builder = if settings.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify { algorithms }))
    } else {
        builder.with_root_certificates(Arc::new(system_roots().map_err(|e| e.to_string())?))
    };
    let mut config = if settings.client_certs.is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut keys = Vec::new();
        for (i, (cert, key)) in settings.client_certs.iter().enumerate() {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("tlsAuth[{i}].cert: {e}"))?;
            if chain.is_empty() {
                return Err(format!("tlsAuth[{i}].cert: no PEM certificate found"));
            }
            let der = rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|e| format!("tlsAuth[{i}].key: {e}"))?;
            let signing = provider
                .key_provider
                .load_private_key(der)
                .map_err(|e| format!("tlsAuth[{i}].key: {e}"))?;
            keys.push(Arc::new(rustls::sign::CertifiedKey::new(chain, signing)));
        }
        builder.with_client_cert_resolver(Arc::new(ClientCerts(keys)))
    };
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok((Arc::new(config), warnings))
}

/// `tlsAuth`'s certificates: the first whose key signs with a scheme the server accepts, as
/// Go's client picks (k6 does not match the entries' `domains`).
#[derive(Debug)]
struct ClientCerts(Vec<Arc<rustls::sign::CertifiedKey>>);

impl rustls::client::ResolvesClientCert for ClientCerts {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.0
            .iter()
            .find(|k| k.key.choose_scheme(sigschemes).is_some())
            .cloned()
    }

    fn has_certs(&self) -> bool {
        !self.0.is_empty()
    }
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
