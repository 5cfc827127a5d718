//! The per-VU cookie jar (k6's `http.cookieJar()`) on top of `cookie_store`,
//! and parsing of `Set-Cookie` values for k6's `res.cookies`.

use std::cell::RefCell;
use std::rc::Rc;

use cookie_store::{CookieStore, RawCookie};
use http::HeaderMap;
use url::Url;

/// A cookie jar shared by a client and the script (cheap to clone; clones
/// share the same cookies).
#[derive(Clone, Default)]
pub struct CookieJar {
    store: Rc<RefCell<CookieStore>>,
}

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieJar").finish_non_exhaustive()
    }
}

/// Attributes for [`CookieJar::set`] (k6's `jar.set(url, name, value, options)`), with Go's
/// `http.Cookie` meanings.
#[derive(Clone, Debug, Default)]
pub struct CookieOptions {
    /// `Domain` attribute; the cookie is host-only when `None`.
    pub domain: Option<String>,
    /// `Path` attribute; defaults to the URL's directory.
    pub path: Option<String>,
    /// Expiry, Unix seconds (k6 parses the script's RFC 1123 date); `None`: a session cookie.
    pub expires_unix: Option<i64>,
    /// Go's `MaxAge`: 0 unset, negative deletes the cookie, positive is seconds from now.
    pub max_age: i64,
    /// `Secure` attribute.
    pub secure: bool,
    /// `HttpOnly` attribute.
    pub http_only: bool,
}

/// A cookie from a `Set-Cookie` header, as k6 exposes it in `res.cookies`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseCookie {
    /// Cookie name.
    pub name: String,
    /// Cookie value.
    pub value: String,
    /// `Domain` attribute, or empty.
    pub domain: String,
    /// `Path` attribute, or empty.
    pub path: String,
    /// `HttpOnly` attribute.
    pub http_only: bool,
    /// `Secure` attribute.
    pub secure: bool,
    /// `Max-Age` in seconds, 0 when absent.
    pub max_age: i64,
    /// `Expires` as Unix milliseconds, 0 when absent.
    pub expires_unix_ms: i64,
}

/// Parses one `Set-Cookie` header value; `None` when it is not a cookie.
pub fn parse_set_cookie(value: &str) -> Option<ResponseCookie> {
    let c = RawCookie::parse(value).ok()?;
    Some(ResponseCookie {
        name: c.name().to_string(),
        value: c.value().to_string(),
        domain: c.domain().unwrap_or_default().to_string(),
        path: c.path().unwrap_or_default().to_string(),
        http_only: c.http_only().unwrap_or(false),
        secure: c.secure().unwrap_or(false),
        max_age: c.max_age().map(|d| d.whole_seconds()).unwrap_or(0),
        expires_unix_ms: c
            .expires_datetime()
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
            .unwrap_or(0),
    })
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cookies that would be sent to `url`, grouped by name in send order
    /// (k6's `jar.cookiesForURL(url)`: name -> values).
    pub fn cookies_for_url(&self, url: &Url) -> Vec<(String, Vec<String>)> {
        let store = self.store.borrow();
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for c in sorted_matches(&store, url) {
            match out.iter_mut().find(|(n, _)| n == c.name()) {
                Some((_, values)) => values.push(c.value().to_string()),
                None => out.push((c.name().to_string(), vec![c.value().to_string()])),
            }
        }
        out
    }

    /// Sets a cookie for `url` as if the server at `url` had sent it (k6's `jar.set`). As Go's
    /// jar, a cookie the URL may not set (another domain) is dropped without an error, and an
    /// expired one deletes the cookie it replaces.
    pub fn set(&self, url: &Url, name: &str, value: &str, opts: &CookieOptions) {
        let mut c = RawCookie::new(name.to_string(), value.to_string());
        if let Some(d) = opts.domain.as_deref().filter(|d| !d.is_empty()) {
            c.set_domain(d.to_string());
        }
        if let Some(p) = opts.path.as_deref().filter(|p| !p.is_empty()) {
            c.set_path(p.to_string());
        }
        let expired = cookie::time::Duration::ZERO;
        if opts.max_age < 0 {
            c.set_max_age(expired);
        } else if opts.max_age > 0 {
            c.set_max_age(cookie::time::Duration::seconds(opts.max_age));
        } else if let Some(t) = opts.expires_unix {
            match cookie::time::OffsetDateTime::from_unix_timestamp(t) {
                Ok(t) if t > cookie::time::OffsetDateTime::now_utc() => c.set_expires(t),
                _ => c.set_max_age(expired),
            }
        }
        if opts.secure {
            c.set_secure(true);
        }
        if opts.http_only {
            c.set_http_only(true);
        }
        // Rejected cookies (domain mismatch, already expired) are dropped, as Go's jar does.
        let _ = self.store.borrow_mut().insert_raw(&c, url);
    }

    /// k6's `jar.clear(url)`: Go's jar deletes each cookie `cookiesForURL(url)` names, but only
    /// under the key a server at `url` would set it with (the URL's host and directory).
    pub fn clear(&self, url: &Url) {
        let names: Vec<String> = {
            let store = self.store.borrow();
            sorted_matches(&store, url)
                .into_iter()
                .map(|c| c.name().to_string())
                .collect()
        };
        for n in names {
            self.delete(url, &n);
        }
    }

    /// k6's `jar.delete(url, name)`: deletes the cookie `name` stored under the URL's host and
    /// directory (Go's jar keys a cookie by domain, path and name).
    pub fn delete(&self, url: &Url, name: &str) {
        let Some(host) = url.host_str() else { return };
        let host = host.to_ascii_lowercase();
        self.store
            .borrow_mut()
            .remove(&host, &default_path(url.path()), name);
    }

    /// Deletes all cookies.
    pub fn clear_all(&self) {
        self.store.borrow_mut().clear();
    }

    /// Whether a clone of this jar exists (the script holds it).
    pub(crate) fn is_shared(&self) -> bool {
        Rc::strong_count(&self.store) > 1
    }

    /// Whether the jar holds no cookie (expired ones aside).
    pub fn is_empty(&self) -> bool {
        self.store.borrow().iter_unexpired().next().is_none()
    }

    /// Stores the `Set-Cookie` headers of a response to `url`.
    pub(crate) fn store_response(&self, url: &Url, headers: &HeaderMap) {
        let mut values = headers.get_all(http::header::SET_COOKIE).iter().peekable();
        if values.peek().is_none() {
            return;
        }
        let mut store = self.store.borrow_mut();
        for v in values {
            if let Ok(s) = v.to_str() {
                // Invalid or rejected cookies are ignored, as browsers and Go do.
                let _ = store.parse(s, url);
            }
        }
    }

    /// Appends `name=value` pairs for `url` to a Cookie header value, skipping
    /// names in `skip`.
    pub(crate) fn append_request_cookies(&self, url: &Url, out: &mut String, skip: &[String]) {
        let store = self.store.borrow();
        if store.iter_any().next().is_none() {
            return;
        }
        for c in sorted_matches(&store, url) {
            if skip.iter().any(|s| s == c.name()) {
                continue;
            }
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(c.name());
            out.push('=');
            out.push_str(c.value());
        }
    }
}

/// The directory a server at `path` sets a cookie for when it names none (RFC 6265 5.1.4).
fn default_path(path: &str) -> String {
    match path.rfind('/') {
        Some(i) if i > 0 && path.starts_with('/') => path[..i].to_string(),
        _ => "/".to_string(),
    }
}

/// Cookies for `url` in Go's order: longest path first, then oldest first
/// (the store keeps insertion order). `Secure` cookies go to `https` URLs only, as in Go's jar
/// (`cookie_store` would also send them to plain-HTTP loopback hosts).
fn sorted_matches<'a>(store: &'a CookieStore, url: &Url) -> Vec<&'a cookie_store::Cookie<'static>> {
    let mut v = store.matches(url);
    if url.scheme() != "https" {
        v.retain(|c| !c.secure().unwrap_or(false));
    }
    v.sort_by_key(|c| std::cmp::Reverse(String::from(&c.path).len()));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    fn names(jar: &CookieJar, u: &str) -> Vec<String> {
        let mut v: Vec<String> = jar
            .cookies_for_url(&url(u))
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn set_get_delete_clear() {
        let jar = CookieJar::new();
        let u = url("http://127.0.0.1:8080/a/b");
        jar.set(&u, "a", "1", &CookieOptions::default());
        let opts = CookieOptions {
            path: Some("/".into()),
            ..Default::default()
        };
        jar.set(&u, "b", "2", &opts);
        let got = jar.cookies_for_url(&u);
        assert_eq!(
            got,
            vec![
                ("a".into(), vec!["1".into()]),
                ("b".into(), vec!["2".into()])
            ]
        );
        // "a" has the default path /a: not sent to /other.
        assert_eq!(names(&jar, "http://127.0.0.1:8080/other"), ["b"]);

        let mut header = String::new();
        jar.append_request_cookies(&u, &mut header, &["b".to_string()]);
        assert_eq!(header, "a=1");

        // Go's keys: "a" lives under /a, "b" under /.
        jar.delete(&url("http://127.0.0.1:8080/x"), "a");
        assert_eq!(names(&jar, "http://127.0.0.1:8080/a/b"), ["a", "b"]);
        jar.delete(&url("http://127.0.0.1:8080/a/x"), "a");
        assert_eq!(names(&jar, "http://127.0.0.1:8080/a/b"), ["b"]);
        jar.clear(&url("http://127.0.0.1:8080/a/b"));
        assert_eq!(names(&jar, "http://127.0.0.1:8080/a/b"), ["b"]);
        jar.clear(&url("http://127.0.0.1:8080/"));
        assert!(jar.is_empty());
    }

    #[test]
    fn max_age_and_expiry() {
        let jar = CookieJar::new();
        let u = url("http://127.0.0.1/");
        jar.set(&u, "a", "1", &CookieOptions::default());
        // Go's MaxAge 0 is "unset": the cookie stays.
        jar.set(&u, "zero", "1", &CookieOptions::default());
        let delete = CookieOptions {
            max_age: -1,
            ..Default::default()
        };
        jar.set(&u, "a", "1", &delete);
        let past = CookieOptions {
            expires_unix: Some(1_000_000),
            ..Default::default()
        };
        jar.set(&u, "old", "1", &past);
        let future = CookieOptions {
            expires_unix: Some(4_000_000_000),
            ..Default::default()
        };
        jar.set(&u, "new", "1", &future);
        assert_eq!(names(&jar, "http://127.0.0.1/"), ["new", "zero"]);
    }

    #[test]
    fn foreign_domains_are_dropped_and_secure_needs_https() {
        let jar = CookieJar::new();
        let u = url("http://127.0.0.1/");
        let other = CookieOptions {
            domain: Some("example.com".into()),
            ..Default::default()
        };
        jar.set(&u, "other", "1", &other);
        let secure = CookieOptions {
            secure: true,
            ..Default::default()
        };
        jar.set(&u, "s", "1", &secure);
        assert!(names(&jar, "http://127.0.0.1/").is_empty());
        assert_eq!(names(&jar, "https://127.0.0.1/"), ["s"]);
        let mut header = String::new();
        jar.append_request_cookies(&u, &mut header, &[]);
        assert_eq!(header, "");
    }

    #[test]
    fn parses_set_cookie() {
        let c = parse_set_cookie("sid=xyz; Path=/; HttpOnly; Max-Age=60").expect("cookie");
        assert_eq!(c.name, "sid");
        assert_eq!(c.value, "xyz");
        assert_eq!(c.path, "/");
        assert!(c.http_only);
        assert_eq!(c.max_age, 60);
    }
}
