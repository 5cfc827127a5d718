//! Redirect rules, following Go's `net/http` client as k6 does.

use http::Method;
use url::Url;

use crate::error::{code, Failure};

/// What to do with a response of `status` to a `method` request: `None` to
/// return it, or the method of the next request and whether the body is
/// re-sent.
///
/// 301/302/303 turn anything but GET/HEAD into GET and drop the body;
/// 307/308 keep method and body (our bodies are always replayable). A missing
/// `Location` returns the response as is.
pub(crate) fn next_method(
    status: u16,
    method: &Method,
    has_location: bool,
) -> Option<(Method, bool)> {
    if !has_location {
        return None;
    }
    match status {
        301..=303 => {
            let m = if method == Method::GET || method == Method::HEAD {
                method.clone()
            } else {
                Method::GET
            };
            Some((m, false))
        }
        307 | 308 => Some((method.clone(), true)),
        _ => None,
    }
}

/// Resolves a `Location` header against the URL that answered with it.
pub(crate) fn resolve_location(base: &Url, location: &str) -> Result<Url, Failure> {
    let url = base.join(location).map_err(|e| {
        Failure::new(
            code::GENERIC,
            format!("failed to parse Location header {location:?}: {e}"),
        )
    })?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(Failure::new(
            code::GENERIC,
            format!("unsupported protocol scheme {other:?}"),
        )),
    }
}

/// Whether headers such as `Authorization` may follow a redirect from `prev`
/// to `next`: only to the same host or one of its subdomains (Go's
/// `shouldCopyHeaderOnRedirect`).
pub(crate) fn may_copy_sensitive(prev: &Url, next: &Url) -> bool {
    let (Some(p), Some(n)) = (prev.host_str(), next.host_str()) else {
        return false;
    };
    if p.eq_ignore_ascii_case(n) {
        return true;
    }
    // IP literals have no subdomains.
    if n.starts_with('[') || n.parse::<std::net::Ipv4Addr>().is_ok() {
        return false;
    }
    n.len() > p.len()
        && n[n.len() - p.len()..].eq_ignore_ascii_case(p)
        && n.as_bytes()[n.len() - p.len() - 1] == b'.'
}

/// Header names (lower-case) that are dropped when
/// [`may_copy_sensitive`] is false.
pub(crate) fn is_sensitive(name: &str) -> bool {
    ["authorization", "www-authenticate", "cookie", "cookie2"]
        .iter()
        .any(|s| name.eq_ignore_ascii_case(s))
}

/// The `Referer` for a request to `next` that was redirected from `prev`:
/// `prev` without credentials and fragment, none from https to http.
pub(crate) fn referer(prev: &Url, next: &Url) -> Option<String> {
    if prev.scheme() == "https" && next.scheme() == "http" {
        return None;
    }
    if prev.username().is_empty() && prev.password().is_none() && prev.fragment().is_none() {
        return Some(prev.as_str().to_string());
    }
    let mut r = prev.clone();
    let _ = r.set_username("");
    let _ = r.set_password(None);
    r.set_fragment(None);
    Some(r.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn methods_follow_go() {
        assert_eq!(
            next_method(302, &Method::POST, true),
            Some((Method::GET, false))
        );
        assert_eq!(
            next_method(303, &Method::HEAD, true),
            Some((Method::HEAD, false))
        );
        assert_eq!(
            next_method(307, &Method::POST, true),
            Some((Method::POST, true))
        );
        assert_eq!(next_method(308, &Method::PUT, false), None);
        assert_eq!(next_method(304, &Method::GET, true), None);
    }

    #[test]
    fn sensitive_headers_stay_on_the_same_domain() {
        let a = url("http://example.com/x");
        assert!(may_copy_sensitive(&a, &url("http://example.com:8080/y")));
        assert!(may_copy_sensitive(&a, &url("http://api.example.com/y")));
        assert!(!may_copy_sensitive(&a, &url("http://badexample.com/")));
        assert!(!may_copy_sensitive(
            &url("http://127.0.0.1/"),
            &url("http://127.0.0.2/")
        ));
    }

    #[test]
    fn referer_rules() {
        let r = referer(&url("http://u:p@h/a#f"), &url("http://h/b"));
        assert_eq!(r.as_deref(), Some("http://h/a"));
        assert_eq!(referer(&url("https://h/a"), &url("http://h/b")), None);
    }

    #[test]
    fn location_resolution() {
        let base = url("http://h:1/a/b?q");
        assert_eq!(
            resolve_location(&base, "c").expect("ok").as_str(),
            "http://h:1/a/c"
        );
        assert_eq!(
            resolve_location(&base, "/z").expect("ok").as_str(),
            "http://h:1/z"
        );
        assert!(resolve_location(&base, "ftp://x/").is_err());
    }
}
