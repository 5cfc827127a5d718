//! k6's `httpDebug`: each round trip's request and response as Go's `httputil.DumpRequestOut`
//! and `DumpResponse` write them (`headers`, or `full` with the bodies).

use http::header::{self, HeaderMap};
use url::{Position, Url};

use crate::headers::canonical_name;

/// What `httpDebug` asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpDebug {
    #[default]
    Off,
    /// Request and response heads.
    Headers,
    /// The heads and the bodies.
    Full,
}

impl HttpDebug {
    /// k6's option value: empty is off, `full` adds the bodies, anything else is the heads.
    pub fn from_option(v: Option<&str>) -> HttpDebug {
        match v {
            None | Some("") => HttpDebug::Off,
            Some("full") => HttpDebug::Full,
            Some(_) => HttpDebug::Headers,
        }
    }
}

/// One round trip as dumped: the request, and the response when one came.
#[derive(Clone, Debug, Default)]
pub struct HopDump {
    pub request: String,
    pub response: Option<String>,
}

fn push_header(out: &mut String, name: &str, value: &[u8]) {
    out.push_str(name);
    out.push_str(": ");
    out.push_str(&String::from_utf8_lossy(value));
    out.push('\n');
}

/// The request as sent (lines end in `\n`, as k6 prints them): Host, User-Agent and
/// Content-Length first, the other headers sorted by name, then the body if `full`.
/// The headers of `head` but those in `skip`, by Go-canonical name (Go's dump sorts them).
fn push_sorted(out: &mut String, head: &HeaderMap, skip: &[header::HeaderName]) {
    let mut rest: Vec<(String, &[u8])> = head
        .iter()
        .filter(|(k, _)| !skip.contains(k))
        .map(|(k, v)| (canonical_name(k.as_str()), v.as_bytes()))
        .collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in rest {
        push_header(out, &k, v);
    }
}

pub(crate) fn request(
    method: &http::Method,
    url: &Url,
    host: &str,
    head: &HeaderMap,
    body: &[u8],
    full: bool,
) -> String {
    let mut out = format!(
        "{method} {} HTTP/1.1\nHost: {host}\n",
        &url[Position::BeforePath..Position::AfterQuery]
    );
    for first in [header::USER_AGENT, header::CONTENT_LENGTH] {
        for v in head.get_all(&first) {
            push_header(&mut out, &canonical_name(first.as_str()), v.as_bytes());
        }
    }
    push_sorted(
        &mut out,
        head,
        &[header::HOST, header::USER_AGENT, header::CONTENT_LENGTH],
    );
    out.push('\n');
    if full {
        out.push_str(&String::from_utf8_lossy(body));
    }
    out
}

/// The response as received (the body before any decompression, if `full`): Go writes a
/// positive Content-Length (or chunked Transfer-Encoding) first, the other headers sorted, and
/// a zero Content-Length last.
pub(crate) fn response(
    proto: &str,
    status: &str,
    status_code: u16,
    head: &HeaderMap,
    body: &[u8],
    full: bool,
) -> String {
    let mut out = format!("{proto} {status}\n");
    let length = head
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = head
        .get(header::TRANSFER_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    if chunked {
        out.push_str("Transfer-Encoding: chunked\n");
    } else if let Some(n) = length.filter(|n| *n > 0) {
        out.push_str(&format!("Content-Length: {n}\n"));
    }
    push_sorted(
        &mut out,
        head,
        &[
            header::CONTENT_LENGTH,
            header::TRANSFER_ENCODING,
            header::TRAILER,
        ],
    );
    let body_allowed =
        !(100..200).contains(&status_code) && status_code != 204 && status_code != 304;
    if !chunked && length == Some(0) && body_allowed {
        out.push_str("Content-Length: 0\n");
    }
    out.push('\n');
    if full {
        out.push_str(&String::from_utf8_lossy(body));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dumps_as_go() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "h".parse().expect("v"));
        h.insert("x-b", "2".parse().expect("v"));
        h.insert(header::CONTENT_LENGTH, "3".parse().expect("v"));
        h.insert("a-a", "1".parse().expect("v"));
        h.insert(header::USER_AGENT, "ua".parse().expect("v"));
        let url = Url::parse("http://h/p?q=1").expect("url");
        let r = request(&http::Method::POST, &url, "h", &h, b"abc", true);
        assert_eq!(
            r,
            "POST /p?q=1 HTTP/1.1\nHost: h\nUser-Agent: ua\nContent-Length: 3\nA-A: 1\nX-B: 2\n\nabc"
        );
        let mut h = HeaderMap::new();
        h.insert(header::LOCATION, "/get".parse().expect("v"));
        h.insert(header::CONTENT_LENGTH, "0".parse().expect("v"));
        h.insert(header::DATE, "d".parse().expect("v"));
        let r = response("HTTP/1.1", "302 Found", 302, &h, b"", false);
        assert_eq!(
            r,
            "HTTP/1.1 302 Found\nDate: d\nLocation: /get\nContent-Length: 0\n\n"
        );
    }
}
