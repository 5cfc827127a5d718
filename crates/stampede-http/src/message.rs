//! The public request/response types and the conversion of a finished
//! exchange into a k6-style [`Response`].

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::{Method, StatusCode, Version};
use url::Url;

use crate::decode::decode_body;
use crate::error::Failure;
use crate::headers::response_headers;
use crate::pool::ConnMeta;
use crate::timing::Timings;

/// The `User-Agent` sent when [`ClientConfig::user_agent`] is `None`.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "stampede/",
    env!("CARGO_PKG_VERSION"),
    " (https://github.com/stampede)"
);

/// Settings shared by the clients of a test run (wrap in an `Arc`).
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Accept any server certificate (k6's `insecureSkipTLSVerify`). Only used
    /// when [`ClientConfig::tls`] is `None`.
    pub insecure_skip_tls_verify: bool,
    /// `User-Agent` header (k6's `userAgent`): `None` sends
    /// [`DEFAULT_USER_AGENT`], an empty string sends none. A script's own
    /// `User-Agent` header wins.
    pub user_agent: Option<String>,
    /// Close every connection after its request (k6's `noConnectionReuse`).
    pub no_connection_reuse: bool,
    /// TLS configuration shared by all clients; `None` uses
    /// [`crate::tls::shared_tls`]`(insecure_skip_tls_verify)`, built once per process.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Idle HTTP/1.1 connections kept per host.
    pub max_idle_per_host: usize,
    /// `hosts`, `blockHostnames`, `blacklistIPs` and `dns`.
    pub net: crate::NetRules,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            insecure_skip_tls_verify: false,
            user_agent: None,
            no_connection_reuse: false,
            tls: None,
            max_idle_per_host: 32,
            net: crate::NetRules::default(),
        }
    }
}

/// One HTTP request as a script describes it (k6's `http.request` params).
#[derive(Clone, Debug)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Absolute `http` or `https` URL.
    pub url: Url,
    /// Headers as given by the script, in order. `Host`, `User-Agent` and
    /// `Content-Length` are added when absent (`Content-Length` is always
    /// computed from the body).
    pub headers: Vec<(String, String)>,
    /// Request body, sent with a `Content-Length`.
    pub body: Bytes,
    /// Deadline for the whole request, redirects included (k6 default 60s).
    pub timeout: Duration,
    /// Redirects to follow (k6 default 10); 0 returns the first 3xx.
    pub max_redirects: u32,
    /// Read and count the body but do not keep it (`responseType: "none"`).
    pub discard_body: bool,
    /// Per-request cookies (k6's `params.cookies`), sent on every hop before
    /// the jar's cookies.
    pub cookies: Vec<(String, String)>,
    /// Names of jar cookies not to send because [`Request::cookies`] replaces
    /// them (k6's `{ value, replace: true }`).
    pub replace_jar_cookies: Vec<String>,
    /// Send cookies from, and store `Set-Cookie` into, a jar: [`Request::jar`] or else the
    /// client's.
    pub use_jar: bool,
    /// The jar to use instead of the client's (k6's `jar` param).
    pub jar: Option<crate::CookieJar>,
    /// k6's `auth` param: the handshake beyond Basic credentials, if any.
    pub auth: crate::AuthScheme,
    /// Dump each round trip into [`Hop::debug`] (k6's `httpDebug`).
    pub debug: crate::HttpDebug,
}

impl Request {
    /// A request with k6's defaults: no headers or body, 60s timeout, 10
    /// redirects, the jar in use.
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: Vec::new(),
            body: Bytes::new(),
            timeout: Duration::from_secs(60),
            max_redirects: 10,
            discard_body: false,
            cookies: Vec::new(),
            replace_jar_cookies: Vec::new(),
            use_jar: true,
            jar: None,
            auth: crate::AuthScheme::Basic,
            debug: crate::HttpDebug::Off,
        }
    }
}

/// One HTTP round trip; a request that follows redirects has several.
#[derive(Clone, Debug)]
pub struct Hop {
    /// Method of this round trip.
    pub method: Method,
    /// URL of this round trip.
    pub url: Url,
    /// Status, 0 on a transport error.
    pub status: u16,
    /// `"HTTP/1.1"`, `"HTTP/2.0"`, or empty on a transport error.
    pub proto: &'static str,
    /// `"tls1.2"` / `"tls1.3"`, empty for plain HTTP.
    pub tls_version: &'static str,
    /// Phase timings.
    pub timings: Timings,
    /// Bytes written on the wire for this round trip (a new connection's TLS
    /// handshake included), k6's `data_sent`.
    pub bytes_sent: u64,
    /// Bytes read from the wire, k6's `data_received`.
    pub bytes_received: u64,
    /// k6 error code: transport error, or `1000 + status` for 4xx/5xx.
    pub error_code: u32,
    /// The request and response as `httpDebug` shows them, when asked for.
    pub debug: Option<Box<crate::HopDump>>,
}

/// The outcome of [`crate::HttpClient::request`]; transport errors are reported in
/// it, never as a panic or `Err`.
#[derive(Clone, Debug)]
pub struct Response {
    /// Final status, 0 on a transport error.
    pub status: u16,
    /// Status line text, e.g. `"200 OK"`; empty on a transport error.
    pub status_text: String,
    /// `"HTTP/1.1"`, `"HTTP/2.0"`, `"HTTP/1.0"`, or empty on a transport error.
    pub proto: &'static str,
    /// Headers with Go-canonical names; repeated headers joined by `", "`. Copied out of hyper's
    /// map when the response completes: its values are slices of the connection's read buffer,
    /// and a map kept with the response kept that buffer alive while the connection allocated
    /// another (+4 KiB per VU at 10,000 VUs, measured).
    pub headers: Vec<(String, String)>,
    /// Raw `Set-Cookie` values of the final response (not joined).
    pub set_cookies: Vec<String>,
    /// The `Cookie` header the final request carried (empty if none): the script's own header,
    /// the request's cookies, then the jar's, as sent.
    pub sent_cookie: String,
    /// Body, decompressed (`gzip`, `deflate`, `br`, `zstd`); empty when discarded.
    pub body: Bytes,
    /// Final URL after redirects.
    pub url: Url,
    /// Peer IP, `None` when no connection was made.
    pub remote_ip: Option<IpAddr>,
    /// Peer port, 0 when no connection was made.
    pub remote_port: u16,
    /// `"tls1.2"` / `"tls1.3"`, empty for plain HTTP.
    pub tls_version: &'static str,
    /// Negotiated cipher suite (Go's name), empty for plain HTTP.
    pub tls_cipher_suite: &'static str,
    /// k6-style transport error message (`res.error`).
    pub error: Option<String>,
    /// Go's text for the same error where it says more (k6 logs and throws that one, see
    /// [`Response::go_error`]): `dial tcp 127.0.0.1:9: connect: connection refused`.
    pub cause: Option<String>,
    /// k6 error code: transport error, or `1000 + status` for 4xx/5xx, else 0.
    pub error_code: u32,
    /// Every round trip, redirects included; the last is the final response.
    pub hops: Vec<Hop>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The error as Go's HTTP client words it, which k6 logs ("Request Failed") and throws
    /// (`throw` option): `Get "http://127.0.0.1:9/": dial tcp 127.0.0.1:9: connect: connection
    /// refused`. `None` when the request did not fail.
    pub fn go_error(&self, method: &Method) -> Option<String> {
        let error = self.error.as_deref()?;
        let m = method.as_str();
        let (first, rest) = m.split_at(m.chars().next().map_or(0, char::len_utf8));
        let mut url = std::borrow::Cow::Borrowed(&self.url);
        if url.password().is_some() {
            // Go prints the URL with its password masked.
            let _ = url.to_mut().set_password(Some("***"));
        }
        Some(format!(
            "{first}{} \"{url}\": {}",
            rest.to_ascii_lowercase(),
            self.cause.as_deref().unwrap_or(error)
        ))
    }

    /// Timings of the final round trip.
    pub fn timings(&self) -> Timings {
        self.hops.last().map(|h| h.timings).unwrap_or_default()
    }
}

/// A finished round trip that got a response.
pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) reason: Option<hyper::ext::ReasonPhrase>,
    pub(crate) body: Bytes,
}

pub(crate) fn proto_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

pub(crate) fn http_error_code(status: u16) -> u32 {
    if status >= 400 {
        1000 + u32::from(status)
    } else {
        0
    }
}

/// A response for a transport failure.
pub(crate) fn failed(url: Url, f: Failure, meta: Option<ConnMeta>, hops: Vec<Hop>) -> Response {
    Response {
        status: 0,
        status_text: String::new(),
        proto: "",
        headers: Vec::new(),
        set_cookies: Vec::new(),
        sent_cookie: String::new(),
        body: Bytes::new(),
        url,
        remote_ip: meta.map(|m| m.remote.ip()),
        remote_port: meta.map(|m| m.remote.port()).unwrap_or(0),
        tls_version: meta.map(|m| m.tls_version).unwrap_or(""),
        tls_cipher_suite: meta.map(|m| m.tls_cipher).unwrap_or(""),
        error: Some(f.message),
        cause: f.cause,
        error_code: f.code,
        hops,
    }
}

impl Response {
    /// The response of a request that was never sent: its params were refused (k6 returns
    /// such a response, status 0 and no metrics, when `throw` is off).
    pub fn not_sent(url: Url, error: String) -> Response {
        failed(url, Failure::new(0, error), None, Vec::new())
    }
}

/// The response for a completed final round trip.
pub(crate) fn finish(
    raw: RawResponse,
    url: Url,
    meta: Option<ConnMeta>,
    discard: bool,
    hops: Vec<Hop>,
) -> Response {
    let status = raw.status.as_u16();
    let status_text = match (&raw.reason, raw.status.canonical_reason()) {
        (Some(r), _) => format!("{status} {}", String::from_utf8_lossy(r.as_bytes())),
        (None, Some(r)) => format!("{status} {r}"),
        (None, None) => status.to_string(),
    };
    let (body, error) = if discard {
        (Bytes::new(), None)
    } else {
        match decode_body(&raw.headers, raw.body) {
            Ok(b) => (b, None),
            Err(f) => (Bytes::new(), Some(f)),
        }
    };
    let set_cookies = raw
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let (error, cause, error_code) = match error {
        Some(f) => (Some(f.message), f.cause, f.code),
        None => (None, None, http_error_code(status)),
    };
    Response {
        status,
        status_text,
        proto: proto_str(raw.version),
        headers: response_headers(&raw.headers),
        set_cookies,
        sent_cookie: String::new(),
        body,
        url,
        remote_ip: meta.map(|m| m.remote.ip()),
        remote_port: meta.map(|m| m.remote.port()).unwrap_or(0),
        tls_version: meta.map(|m| m.tls_version).unwrap_or(""),
        tls_cipher_suite: meta.map(|m| m.tls_cipher).unwrap_or(""),
        error,
        cause,
        error_code,
        hops,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_error_names_method_url_and_cause_as_go_does() {
        let url = Url::parse("http://user:secret@127.0.0.1:9/x?y=1").unwrap();
        let refused = Failure {
            cause: Some("dial tcp 127.0.0.1:9: connect: connection refused".into()),
            ..Failure::new(1212, "dial: connection refused")
        };
        let r = failed(url.clone(), refused, None, Vec::new());
        assert_eq!(r.error.as_deref(), Some("dial: connection refused"));
        assert_eq!(
            r.go_error(&Method::DELETE).as_deref(),
            Some(
                "Delete \"http://user:***@127.0.0.1:9/x?y=1\": \
                 dial tcp 127.0.0.1:9: connect: connection refused"
            )
        );
        let r = failed(url, Failure::timeout(), None, Vec::new());
        assert!(r
            .go_error(&Method::GET)
            .unwrap()
            .ends_with("\": request timeout"));
    }
}
