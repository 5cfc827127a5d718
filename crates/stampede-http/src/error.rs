//! Configuration errors ([`HttpError`]) and the mapping of transport failures
//! to k6's error codes and messages (k6 `lib/netext/httpext/error_codes.go`).
//!
//! Transport failures never surface as `Err`: they become
//! [`crate::Response::error`] / [`crate::Response::error_code`], like k6's
//! `res.error` / `res.error_code`.

use std::error::Error as StdError;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors building a client configuration (TLS roots and the like).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// A CA bundle named by `SSL_CERT_FILE` (or given explicitly) could not be read.
    #[error("reading CA certificates from {path}: {source}")]
    CertFile {
        /// The file.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// A CA bundle held no usable certificate.
    #[error("no valid CA certificate in {path}: {reason}")]
    BadCerts {
        /// The file.
        path: PathBuf,
        /// Why the certificates were rejected.
        reason: String,
    },
    /// rustls rejected the configuration.
    #[error("building the TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// k6's numeric error codes (`res.error_code`), see k6's "Error codes" docs.
pub mod code {
    /// Unspecified error.
    pub const GENERIC: u32 = 1000;
    /// A non-TCP network error.
    pub const NET_NON_TCP: u32 = 1010;
    /// The request timed out (`timeout` param).
    pub const REQUEST_TIMEOUT: u32 = 1050;
    /// Generic DNS error.
    pub const DNS: u32 = 1100;
    /// DNS: no such host.
    pub const DNS_NO_SUCH_HOST: u32 = 1101;
    /// The address is in a `blacklistIPs` range.
    pub const BLACKLISTED_IP: u32 = 1110;
    /// The host name matches a `blockHostnames` pattern.
    pub const BLOCKED_HOSTNAME: u32 = 1111;
    /// Generic TCP error.
    pub const TCP: u32 = 1200;
    /// Broken pipe on write.
    pub const TCP_BROKEN_PIPE: u32 = 1201;
    /// Unknown errno on a TCP operation other than dial.
    pub const NET_UNKNOWN_ERRNO: u32 = 1202;
    /// Generic TCP dial error.
    pub const TCP_DIAL: u32 = 1210;
    /// Dial timed out.
    pub const TCP_DIAL_TIMEOUT: u32 = 1211;
    /// Dial refused (ECONNREFUSED).
    pub const TCP_DIAL_REFUSED: u32 = 1212;
    /// Dial failed with an unknown errno.
    pub const TCP_DIAL_UNKNOWN_ERRNO: u32 = 1213;
    /// Connection reset by peer.
    pub const TCP_RESET_BY_PEER: u32 = 1220;
    /// Generic TLS error.
    pub const TLS: u32 = 1300;
    /// Certificate signed by an unknown authority.
    pub const X509_UNKNOWN_AUTHORITY: u32 = 1310;
    /// Certificate does not match the host name.
    pub const X509_HOSTNAME: u32 = 1311;
    /// HTTP/2 GOAWAY received; `+ 1 + http2 error code` when known.
    pub const HTTP2_GO_AWAY: u32 = 1610;
    /// HTTP/2 stream error; `+ 1 + http2 error code` when known.
    pub const HTTP2_STREAM: u32 = 1630;
    /// HTTP/2 connection error; `+ 1 + http2 error code` when known.
    pub const HTTP2_CONNECTION: u32 = 1650;
    /// The response body could not be decompressed.
    pub const RESPONSE_DECOMPRESSION: u32 = 1701;
}

/// A transport failure as k6 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) code: u32,
    /// What k6 puts in `res.error`.
    pub(crate) message: String,
    /// Go's own text for the error where it says more than `message` (k6 logs and throws
    /// that one): `dial tcp 127.0.0.1:9: connect: connection refused`.
    pub(crate) cause: Option<String>,
}

impl Failure {
    pub(crate) fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            cause: None,
        }
    }

    pub(crate) fn timeout() -> Self {
        Self::new(code::REQUEST_TIMEOUT, "request timeout")
    }

    /// A failed `connect()` to `addr`.
    pub(crate) fn dial(addr: SocketAddr, e: &io::Error) -> Self {
        let connect = format!("dial tcp {addr}: connect: {}", os_message(e));
        let (code, message, cause) = match e.kind() {
            io::ErrorKind::ConnectionRefused => {
                (code::TCP_DIAL_REFUSED, "dial: connection refused", connect)
            }
            io::ErrorKind::TimedOut => (
                code::TCP_DIAL_TIMEOUT,
                "dial: i/o timeout",
                format!("dial tcp {addr}: i/o timeout"),
            ),
            _ => return Self::new(code::TCP_DIAL, connect),
        };
        Self {
            cause: Some(cause),
            ..Self::new(code, message)
        }
    }

    /// A failed DNS lookup of `host`.
    pub(crate) fn dns(host: &str, e: &io::Error) -> Self {
        let msg = e.to_string();
        if msg.contains("not known") || msg.contains("No address") || msg.contains("no such host") {
            Self::new(code::DNS_NO_SUCH_HOST, "lookup: no such host")
        } else {
            Self::new(code::DNS, format!("lookup {host}: {msg}"))
        }
    }

    fn unknown_authority() -> Self {
        Self::new(
            code::X509_UNKNOWN_AUTHORITY,
            "tls: failed to verify certificate: x509: certificate signed by unknown authority",
        )
    }

    /// A failed TLS handshake (or other TLS-layer IO error).
    pub(crate) fn tls(e: &io::Error) -> Self {
        match find_rustls(e) {
            Some(rustls::Error::InvalidCertificate(cert)) => {
                use rustls::CertificateError as C;
                // Go's words, which k6 shows.
                const VERIFY: &str = "tls: failed to verify certificate";
                match cert {
                    // A self-signed server certificate is a CA used as an end entity to
                    // webpki, and one signed by an unknown authority to Go.
                    C::UnknownIssuer | C::BadSignature => Self::unknown_authority(),
                    C::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
                        Self::unknown_authority()
                    }
                    C::NotValidForName | C::NotValidForNameContext { .. } => Self::new(
                        code::X509_HOSTNAME,
                        format!("{VERIFY}: x509: certificate is not valid for this host name"),
                    ),
                    C::Expired | C::ExpiredContext { .. } | C::NotValidYet => Self::new(
                        code::TLS,
                        format!("{VERIFY}: x509: certificate has expired or is not yet valid"),
                    ),
                    other => Self::new(code::TLS, format!("{VERIFY}: {other:?}")),
                }
            }
            // The peer refused the handshake: Go's `remote error`, which k6 files under 1010.
            Some(rustls::Error::AlertReceived(alert)) => Self::new(
                code::NET_NON_TCP,
                format!("remote error: tls: {}", go_alert(*alert)),
            ),
            Some(other) => Self::new(code::TLS, format!("tls: {other}")),
            None => Self::io(e, "read"),
        }
    }

    /// An IO error on an established connection during operation `op`
    /// (`"read"` or `"write"`; a broken pipe is always a write).
    pub(crate) fn io(e: &io::Error, op: &str) -> Self {
        if find_rustls(e).is_some() {
            return Self::tls(e);
        }
        match e.kind() {
            io::ErrorKind::ConnectionReset => Self::new(
                code::TCP_RESET_BY_PEER,
                format!("{op}: connection reset by peer"),
            ),
            io::ErrorKind::BrokenPipe => Self::new(code::TCP_BROKEN_PIPE, "write: broken pipe"),
            io::ErrorKind::UnexpectedEof => Self::new(code::GENERIC, "unexpected EOF"),
            _ => Self::new(code::TCP, format!("{op}: {}", os_message(e))),
        }
    }

    /// A failure reported by hyper while sending a request or reading the
    /// response head (`in_body == false`) or body.
    pub(crate) fn hyper(e: &hyper::Error, in_body: bool) -> Self {
        // Look for the root cause first: HTTP/2 codes, IO errors.
        let mut source: Option<&(dyn StdError + 'static)> = e.source();
        while let Some(s) = source {
            if let Some(h2e) = s.downcast_ref::<h2::Error>() {
                if let Some(f) = Self::h2(h2e) {
                    return f;
                }
            }
            if let Some(ioe) = s.downcast_ref::<io::Error>() {
                // Failures after the request went out surface on read, as in Go.
                return Self::io(ioe, "read");
            }
            source = s.source();
        }
        if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
            // Go reports a connection closed before (or while) the response
            // arrived as a bare EOF / unexpected EOF.
            return if in_body {
                Self::new(code::GENERIC, "unexpected EOF")
            } else {
                Self::new(code::GENERIC, "EOF")
            };
        }
        if e.is_parse() || e.is_parse_status() {
            return Self::new(code::GENERIC, format!("malformed HTTP response: {e}"));
        }
        Self::new(code::GENERIC, e.to_string())
    }

    fn h2(e: &h2::Error) -> Option<Self> {
        if let Some(ioe) = e.get_io() {
            return Some(Self::io(ioe, "read"));
        }
        let reason = e.reason()?;
        let raw = u32::from(reason);
        let (offset, name) = match h2_code_name(raw) {
            Some(name) => (1 + raw, name.to_string()),
            None => (0, format!("unknown error code 0x{raw:x}")),
        };
        Some(if e.is_go_away() {
            Self::new(
                code::HTTP2_GO_AWAY + offset,
                format!("http2: received GoAway with http2 ErrCode {name}"),
            )
        } else if e.is_reset() {
            Self::new(
                code::HTTP2_STREAM + offset,
                format!("http2: stream error with http2 ErrCode {name}"),
            )
        } else {
            Self::new(
                code::HTTP2_CONNECTION + offset,
                format!("http2: connection error with http2 ErrCode {name}"),
            )
        })
    }
}

/// Go's names of the HTTP/2 error codes.
fn h2_code_name(raw: u32) -> Option<&'static str> {
    const NAMES: [&str; 14] = [
        "NO_ERROR",
        "PROTOCOL_ERROR",
        "INTERNAL_ERROR",
        "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT",
        "STREAM_CLOSED",
        "FRAME_SIZE_ERROR",
        "REFUSED_STREAM",
        "CANCEL",
        "COMPRESSION_ERROR",
        "CONNECT_ERROR",
        "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED",
    ];
    NAMES.get(raw as usize).copied()
}

/// A TLS alert as Go names it (`handshake failure`, `bad certificate`, ...).
fn go_alert(alert: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    match alert {
        A::ProtocolVersion => "protocol version not supported".into(),
        A::UnknownCA => "unknown certificate authority".into(),
        A::CertificateRequired => "certificate required".into(),
        A::NoApplicationProtocol => "no application protocol".into(),
        other => {
            // `HandshakeFailure` → `handshake failure`.
            let name = format!("{other:?}");
            let mut words = String::new();
            for (i, c) in name.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    words.push(' ');
                }
                words.push(c.to_ascii_lowercase());
            }
            words
        }
    }
}

fn find_rustls(e: &io::Error) -> Option<&rustls::Error> {
    let mut source: Option<&(dyn StdError + 'static)> = e.get_ref().map(|r| r as _);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        source = s.source();
    }
    None
}

/// Go's text for a failed `connect()` to `addr` (what k6's `ws.connect` reports):
/// `dial tcp 127.0.0.1:9: connect: connection refused`.
pub fn go_dial_error(addr: SocketAddr, e: &io::Error) -> String {
    let f = Failure::dial(addr, e);
    f.cause.unwrap_or(f.message)
}

/// The OS message of `e` without Rust's " (os error N)" suffix, lowercased
/// like Go's syscall messages ("connection refused").
fn os_message(e: &io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => &s,
    };
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    if let Some(c) = chars.next() {
        out.extend(c.to_lowercase());
    }
    out.extend(chars);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_refused_matches_k6() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        let f = Failure::dial(([127, 0, 0, 1], 1).into(), &e);
        assert_eq!(f.code, 1212);
        assert_eq!(f.message, "dial: connection refused");
        assert_eq!(
            f.cause.as_deref(),
            Some("dial tcp 127.0.0.1:1: connect: connection refused")
        );
    }

    #[test]
    fn os_message_strips_errno() {
        let e = io::Error::from_raw_os_error(101);
        assert_eq!(os_message(&e), "network is unreachable");
    }

    #[test]
    fn h2_names() {
        assert_eq!(h2_code_name(0), Some("NO_ERROR"));
        assert_eq!(h2_code_name(13), Some("HTTP_1_1_REQUIRED"));
        assert_eq!(h2_code_name(14), None);
    }
}
