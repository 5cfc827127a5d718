//! The per-VU cookie jar (k6's `http.cookieJar()`) on top of `cookie_store`,
//! and parsing of `Set-Cookie` values for k6's `res.cookies`.

use std::cell::RefCell;
use std::fmt::Write as _;
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

/// Attributes for [`CookieJar::set`] (k6's `jar.set(url, name, value, options)`).
#[derive(Clone, Debug, Default)]
pub struct CookieOptions {
    /// `Domain` attribute; the cookie is host-only when `None`.
    pub domain: Option<String>,
    /// `Path` attribute; defaults to the URL's directory.
    pub path: Option<String>,
    /// `Expires` attribute as an HTTP date (RFC 1123).
    pub expires: Option<String>,
    /// `Max-Age` in seconds (0 or negative deletes the cookie).
    pub max_age: Option<i64>,
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

    /// Sets a cookie for `url` as if the server at `url` had sent it
    /// (k6's `jar.set`). Errors say why the cookie was rejected.
    pub fn set(
        &self,
        url: &Url,
        name: &str,
        value: &str,
        opts: &CookieOptions,
    ) -> Result<(), String> {
        let mut s = String::with_capacity(name.len() + value.len() + 32);
        let _ = write!(s, "{name}={value}");
        if let Some(d) = &opts.domain {
            let _ = write!(s, "; Domain={d}");
        }
        if let Some(p) = &opts.path {
            let _ = write!(s, "; Path={p}");
        }
        if let Some(e) = &opts.expires {
            let _ = write!(s, "; Expires={e}");
        }
        if let Some(m) = opts.max_age {
            let _ = write!(s, "; Max-Age={m}");
        }
        if opts.secure {
            s.push_str("; Secure");
        }
        if opts.http_only {
            s.push_str("; HttpOnly");
        }
        match self.store.borrow_mut().parse(&s, url) {
            Ok(_) => Ok(()),
            // Setting an already expired cookie deletes it: not an error.
            Err(cookie_store::CookieError::Expired) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Deletes every cookie that would be sent to `url` (k6's `jar.clear(url)`).
    pub fn clear(&self, url: &Url) {
        self.remove_matching(url, None);
    }

    /// Deletes the cookies named `name` that would be sent to `url`
    /// (k6's `jar.delete(url, name)`).
    pub fn delete(&self, url: &Url, name: &str) {
        self.remove_matching(url, Some(name));
    }

    /// Deletes all cookies.
    pub fn clear_all(&self) {
        self.store.borrow_mut().clear();
    }

    fn remove_matching(&self, url: &Url, name: Option<&str>) {
        let mut store = self.store.borrow_mut();
        let keys: Vec<(String, String, String)> = store
            .matches(url)
            .into_iter()
            .filter(|c| name.is_none_or(|n| c.name() == n))
            .map(|c| {
                (
                    String::from(&c.domain),
                    String::from(&c.path),
                    c.name().to_string(),
                )
            })
            .collect();
        for (d, p, n) in keys {
            store.remove(&d, &p, &n);
        }
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

/// Cookies for `url` in Go's order: longest path first, then oldest first
/// (the store keeps insertion order).
fn sorted_matches<'a>(store: &'a CookieStore, url: &Url) -> Vec<&'a cookie_store::Cookie<'static>> {
    let mut v = store.matches(url);
    v.sort_by_key(|c| std::cmp::Reverse(String::from(&c.path).len()));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn set_get_delete_clear() {
        let jar = CookieJar::new();
        let u = url("http://127.0.0.1:8080/a/b");
        jar.set(&u, "a", "1", &CookieOptions::default())
            .expect("set");
        let opts = CookieOptions {
            path: Some("/".into()),
            ..Default::default()
        };
        jar.set(&u, "b", "2", &opts).expect("set");
        let got = jar.cookies_for_url(&u);
        assert_eq!(
            got,
            vec![
                ("a".into(), vec!["1".into()]),
                ("b".into(), vec!["2".into()])
            ]
        );
        // "a" has the default path /a: not sent to /other.
        assert_eq!(
            jar.cookies_for_url(&url("http://127.0.0.1:8080/other"))
                .len(),
            1
        );

        let mut header = String::new();
        jar.append_request_cookies(&u, &mut header, &["b".to_string()]);
        assert_eq!(header, "a=1");

        jar.delete(&u, "a");
        assert_eq!(jar.cookies_for_url(&u).len(), 1);
        jar.clear(&u);
        assert!(jar.cookies_for_url(&u).is_empty());
    }

    #[test]
    fn max_age_zero_deletes() {
        let jar = CookieJar::new();
        let u = url("http://127.0.0.1/");
        jar.set(&u, "a", "1", &CookieOptions::default())
            .expect("set");
        let opts = CookieOptions {
            max_age: Some(0),
            ..Default::default()
        };
        jar.set(&u, "a", "1", &opts).expect("set");
        assert!(jar.cookies_for_url(&u).is_empty());
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
