//! Request head construction and response header conversion, matching what
//! k6 (Go's `net/http`) puts on the wire and hands to scripts.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Uri, Version};
use http_body_util::Full;
use url::{Position, Url};

use crate::auth::AuthHeader;
use crate::error::{code, Failure};
use crate::redirect;

/// The request body type sent through hyper.
pub(crate) type ReqBody = Full<Bytes>;

/// Everything needed to build the head of one hop.
#[derive(Clone, Copy)]
pub(crate) struct HeadSpec<'a> {
    pub(crate) method: &'a Method,
    pub(crate) url: &'a Url,
    /// The script's headers, in order.
    pub(crate) headers: &'a [(String, String)],
    pub(crate) body: &'a Bytes,
    pub(crate) user_agent: Option<&'a str>,
    /// The complete Cookie header value (may be empty).
    pub(crate) cookie: &'a str,
    /// Whether this is a redirect hop (Go keeps the original headers,
    /// including Content-Type, even when the body is dropped).
    pub(crate) redirected: bool,
    /// On a redirect hop: whether Authorization and friends may be sent.
    pub(crate) sensitive_ok: bool,
    pub(crate) referer: Option<&'a str>,
    pub(crate) h2: bool,
    /// What the `Authorization` header is (an auth handshake sets its own).
    pub(crate) authorization: AuthHeader<'a>,
}

fn invalid_name(name: &str) -> Failure {
    Failure::new(
        code::GENERIC,
        format!("net/http: invalid header field name {name:?}"),
    )
}

fn invalid_value(name: &str) -> Failure {
    Failure::new(
        code::GENERIC,
        format!("net/http: invalid header field value for {name:?}"),
    )
}

/// The `Host` header value for `url`: host and non-default port (the URL parser already
/// dropped a default port), without user info.
pub(crate) fn authority(url: &Url) -> &str {
    &url[Position::BeforeHost..Position::AfterPort]
}

/// Builds the hyper request for one hop.
pub(crate) fn build_request(spec: &HeadSpec<'_>) -> Result<http::Request<ReqBody>, Failure> {
    let mut host_override: Option<&str> = None;
    let mut has_ua = false;
    let mut has_auth = false;
    let mut has_referer = false;
    for (name, value) in spec.headers {
        if name.eq_ignore_ascii_case("host") {
            host_override = Some(value.as_str());
        } else if name.eq_ignore_ascii_case("user-agent") {
            has_ua = true;
        } else if name.eq_ignore_ascii_case("authorization") {
            has_auth = true;
        } else if name.eq_ignore_ascii_case("referer") {
            has_referer = true;
        }
    }

    // Go writes Host, User-Agent and Content-Length first.
    let mut head = HeaderMap::with_capacity(spec.headers.len() + 5);
    let host_value = match host_override {
        Some(h) => h,
        None => authority(spec.url),
    };
    if !spec.h2 {
        let v = HeaderValue::from_str(host_value).map_err(|_| invalid_value("Host"))?;
        head.insert(header::HOST, v);
    }
    if !has_ua {
        if let Some(ua) = spec.user_agent.filter(|u| !u.is_empty()) {
            let v = HeaderValue::from_str(ua).map_err(|_| invalid_value("User-Agent"))?;
            head.insert(header::USER_AGENT, v);
        }
    }
    let body_len = spec.body.len();
    if body_len > 0
        || *spec.method == Method::POST
        || *spec.method == Method::PUT
        || *spec.method == Method::PATCH
    {
        head.insert(header::CONTENT_LENGTH, HeaderValue::from(body_len));
    }
    for (name, value) in spec.headers {
        // Host went above; Content-Length is computed from the body; the
        // Cookie header is assembled by the caller.
        if name.eq_ignore_ascii_case("host")
            || name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("cookie")
        {
            continue;
        }
        if spec.redirected && !spec.sensitive_ok && redirect::is_sensitive(name) {
            continue;
        }
        if !matches!(spec.authorization, AuthHeader::Default)
            && name.eq_ignore_ascii_case("authorization")
        {
            continue;
        }
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid_name(name))?;
        let v = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| invalid_value(name))?;
        head.append(n, v);
    }
    match spec.authorization {
        AuthHeader::Default if !has_auth && !spec.url.username().is_empty() => {
            head.insert(header::AUTHORIZATION, basic_auth(spec.url)?);
        }
        AuthHeader::Value(v) => {
            let v = HeaderValue::from_str(v).map_err(|_| invalid_value("Authorization"))?;
            head.insert(header::AUTHORIZATION, v);
        }
        _ => {}
    }
    if !spec.cookie.is_empty() {
        let v = HeaderValue::from_str(spec.cookie).map_err(|_| invalid_value("Cookie"))?;
        head.insert(header::COOKIE, v);
    }
    if let (Some(r), false) = (spec.referer, has_referer) {
        if let Ok(v) = HeaderValue::from_str(r) {
            head.insert(header::REFERER, v);
        }
    }

    let uri = if spec.h2 {
        let s = format!(
            "{}://{}{}",
            spec.url.scheme(),
            host_value,
            &spec.url[Position::BeforePath..Position::AfterQuery]
        );
        Uri::try_from(s)
    } else {
        Uri::try_from(&spec.url[Position::BeforePath..Position::AfterQuery])
    }
    .map_err(|e| Failure::new(code::GENERIC, format!("invalid request URL: {e}")))?;

    let mut req = http::Request::new(Full::new(spec.body.clone()));
    *req.method_mut() = spec.method.clone();
    *req.uri_mut() = uri;
    *req.version_mut() = if spec.h2 {
        Version::HTTP_2
    } else {
        Version::HTTP_11
    };
    *req.headers_mut() = head;
    Ok(req)
}

pub(crate) fn basic_auth(url: &Url) -> Result<HeaderValue, Failure> {
    use base64::Engine as _;
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let creds = format!(
        "{}:{}",
        decode(url.username()),
        decode(url.password().unwrap_or_default())
    );
    let v = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(creds)
    );
    HeaderValue::from_str(&v).map_err(|_| invalid_value("Authorization"))
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: `content-type` -> `Content-Type`;
/// names with characters outside the token set are returned unchanged.
pub fn canonical_name(name: &str) -> String {
    let valid = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for b in name.bytes() {
        let c = if upper {
            b.to_ascii_uppercase()
        } else {
            b.to_ascii_lowercase()
        };
        out.push(c as char);
        upper = b == b'-';
    }
    out
}

/// Response headers as k6 gives them to scripts: canonical names, repeated
/// headers joined with ", ", first-seen order.
pub(crate) fn response_headers(map: &HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(map.keys_len());
    for name in map.keys() {
        let mut values = map.get_all(name).iter();
        let mut joined = match values.next() {
            Some(v) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
            None => continue,
        };
        for v in values {
            joined.push_str(", ");
            joined.push_str(&String::from_utf8_lossy(v.as_bytes()));
        }
        out.push((canonical_name(name.as_str()), joined));
    }
    out
}

/// Whether the request or response asks to close the connection.
pub(crate) fn wants_close(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"close"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_is_host_and_non_default_port() {
        let host = |u: &str| authority(&Url::parse(u).unwrap()).to_string();
        assert_eq!(host("http://127.0.0.1:8080/a?b"), "127.0.0.1:8080");
        assert_eq!(host("http://example.test:80/"), "example.test");
        assert_eq!(host("https://example.test:443/"), "example.test");
        assert_eq!(host("https://example.test:80/"), "example.test:80");
        assert_eq!(host("http://user:pw@example.test:81/"), "example.test:81");
        assert_eq!(host("http://[::1]:8080/"), "[::1]:8080");
        assert_eq!(host("http://[::1]/"), "[::1]");
    }

    #[test]
    fn canonical_names_like_go() {
        assert_eq!(canonical_name("content-type"), "Content-Type");
        assert_eq!(canonical_name("x-lower-case"), "X-Lower-Case");
        assert_eq!(canonical_name("www-authenticate"), "Www-Authenticate");
        assert_eq!(canonical_name("weird name"), "weird name");
    }

    #[test]
    fn head_has_go_defaults() {
        let url = Url::parse("http://u:p@127.0.0.1:8080/p?q=1#frag").expect("url");
        let headers = vec![
            ("x-custom".to_string(), "v".to_string()),
            ("Content-Length".to_string(), "999".to_string()),
        ];
        let spec = HeadSpec {
            method: &Method::POST,
            url: &url,
            headers: &headers,
            body: &Bytes::from_static(b"abc"),
            user_agent: Some("ua/1"),
            cookie: "a=1",
            redirected: false,
            sensitive_ok: true,
            referer: None,
            h2: false,
            authorization: AuthHeader::Default,
        };
        let req = build_request(&spec).expect("request");
        assert_eq!(req.uri(), "/p?q=1");
        let h = req.headers();
        assert_eq!(h["host"], "127.0.0.1:8080");
        assert_eq!(h["user-agent"], "ua/1");
        assert_eq!(h["content-length"], "3");
        assert_eq!(h["x-custom"], "v");
        assert_eq!(h["cookie"], "a=1");
        assert_eq!(h["authorization"], "Basic dTpw");
        let names: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(&names[..3], &["host", "user-agent", "content-length"]);
    }

    #[test]
    fn get_without_body_has_no_content_length() {
        let url = Url::parse("https://[::1]/").expect("url");
        let spec = HeadSpec {
            method: &Method::GET,
            url: &url,
            headers: &[],
            body: &Bytes::new(),
            user_agent: None,
            cookie: "",
            redirected: false,
            sensitive_ok: true,
            referer: None,
            h2: true,
            authorization: AuthHeader::Default,
        };
        let req = build_request(&spec).expect("request");
        assert_eq!(req.uri(), "https://[::1]/");
        assert!(req.headers().get("content-length").is_none());
        assert!(req.headers().get("host").is_none());
    }
}
